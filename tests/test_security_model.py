"""The model of the code (estimator, index) on hostile checkouts: bounded memory, time and recursion.

Every case runs the real CLI in a subprocess under a 1 GiB address-space limit, a CPU-time limit and a timeout,
so a regression fails the test instead of taking the machine down; the wrapper reports the linter's peak RSS.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

_MEASURED = textwrap.dedent("""
    import resource, subprocess, sys
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
    resource.setrlimit(resource.RLIMIT_CPU, (90, 90))  # a C-level computation ignores SIGALRM; not this
    done = subprocess.run(sys.argv[1:])
    print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024, file=sys.stderr)
    sys.exit(done.returncode)
""")
# Far above the linter's own peak on these tiny files, far below what the bombs below allocate.
_PEAK_MB = 250


def _lint(root: Path, *args: str) -> tuple[int, str, str, int]:
    """(exit code, stdout, stderr, peak RSS in MB) of `fastinit-lint --no-cache ... .` in `root`."""
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            _MEASURED,
            sys.executable,
            "-m",
            "fastinit_lint",
            "--no-cache",
            "--output-format",
            "concise",
            *args,
            ".",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=180,
    )
    *stderr, peak = done.stderr.splitlines()
    return done.returncode, done.stdout, "\n".join(stderr), int(peak)


def _project(root: Path, module: str, files: dict[str, str] | None = None) -> Path:
    # max-file-seconds: an old quadratic or unbounded loop ends as a one-line timeout, within the test's timeout;
    # it is wall time, so it leaves room for a loaded machine.
    (root / "pyproject.toml").write_text("[tool.fastinit-lint]\nmax-file-seconds = 60\n")
    (root / "model.py").write_text(module)
    (root / "train.py").write_text(
        'import lightning as L\nfrom model import Model\n\ntrainer = L.Trainer(strategy="fsdp")\ntrainer.fit(Model())\n'
    )
    for name, text in (files or {}).items():
        (root / name).write_text(text)
    return root


def _module(*init_lines: str, head: str = "") -> str:
    body = "\n".join(f"        {line}" for line in init_lines)
    return (
        f"import lightning as L\nimport torch\nfrom torch import nn\n{head}\n\nclass Model(L.LightningModule):\n"
        f"    def __init__(self):\n        super().__init__()\n{body}\n"
    )


def _assert_clean(code: int, stdout: str, stderr: str, peak: int) -> None:
    assert "Traceback" not in stderr and "internal error" not in stdout + stderr, stdout + stderr
    assert "took longer" not in stdout + stderr and "out of memory" not in stdout + stderr, stdout + stderr
    assert code in (0, 1), stdout + stderr
    assert peak < _PEAK_MB, f"peak RSS {peak} MB"
    assert max(map(len, stdout.splitlines()), default=0) < 2_000  # no gigantic number or text in a message


# Item: each construct would build a huge value (or integer) from a few bytes of source; each must be unknown.
_BOMBS = {
    "str-repetition": 'nn.Linear(2, "x" * 4 * 10**8)',
    "str-repetition-reported": 'nn.Linear(2, "x" * 3 * 10**9)',
    "bytes-repetition": 'nn.Linear(2, b"x" * 4 * 10**8)',
    "list-repetition": "nn.Linear(2, [0, 1] * 5 * 10**7)",
    "tuple-repetition": "nn.Linear(2, (0,) * 5 * 10**7)",
    "printf-width": 'nn.Linear(2, "%0400000000d" % 0)',
    "power-tower": "nn.Linear(2, 10 ** 10 ** 10)",
    "huge-power": "nn.Linear(2, 2 ** 10 ** 8)",
    "shift": "nn.Linear(2, 1 << 10 ** 9)",
    "hex-literal": "nn.Linear(2, 0x" + "f" * 300_000 + ")",
    "int-from-str": 'nn.Linear(2, int("9" * 4000))',
    "shape-product": "nn.Conv3d(2, 2, (2 ** 1000, 2 ** 1000, 2 ** 1000))",
    "comprehension-count": "nn.ModuleList([nn.Linear(4, 4) for _ in range(2 ** 100000)])",
    "stack-count": "nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2), 2 ** 100000)",
}
# Not numbers: unknown, and not presumed large (nothing multiplies), so nothing to report; still never built.
_NOT_NUMBERS = {
    "list-times-one": "nn.Linear(2, [0] * 5 * 10**7)",  # `[x] * n` repeats one object: [0]
    "stack-count-not-a-number": 'nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2), "six")',
}


@pytest.mark.parametrize("expression", _BOMBS.values(), ids=_BOMBS.keys())
def test_huge_constant_values_are_unknown_not_built(tmp_path, expression):
    code, stdout, stderr, peak = _lint(_project(tmp_path, _module(f"self.layer = {expression}")))
    _assert_clean(code, stdout, stderr, peak)
    assert code == 1 and "FI001" in stdout and "size unknown" in stdout, stdout + stderr


@pytest.mark.parametrize("expression", _NOT_NUMBERS.values(), ids=_NOT_NUMBERS.keys())
def test_non_numbers_are_unknown_not_built(tmp_path, expression):
    code, stdout, stderr, peak = _lint(_project(tmp_path, _module(f"self.layer = {expression}")))
    _assert_clean(code, stdout, stderr, peak)
    assert code == 0, stdout + stderr


def test_loop_count_too_large_is_unknown(tmp_path):
    module = _module(
        "self.layers = nn.ModuleList()", "for _ in range(2 ** 100000):", "    self.layers.append(nn.Linear(4, 4))"
    )
    code, stdout, stderr, peak = _lint(_project(tmp_path, module))
    _assert_clean(code, stdout, stderr, peak)
    assert code == 1 and "size unknown" in stdout, stdout + stderr


def test_doubling_constants_stay_bounded(tmp_path):
    head = "S0 = 'x' * 1000\n" + "".join(f"S{i} = S{i - 1} + S{i - 1}\n" for i in range(1, 20))
    code, stdout, stderr, peak = _lint(_project(tmp_path, _module("self.layer = nn.Linear(2, S19)", head=head)))
    _assert_clean(code, stdout, stderr, peak)
    assert code == 1 and "size unknown" in stdout, stdout + stderr


def test_shared_nested_constants_are_not_walked_or_printed(tmp_path):
    """Eight references per level: 5000 * 8**5 items reachable from 6 short lines (a walk, or the memo key's
    `repr` of the call's arguments, would visit every one)."""
    head = "A0 = (0,) * 5000\n" + "".join(f"A{i} = ({', '.join([f'A{i - 1}'] * 8)})\n" for i in range(1, 6))
    block = (
        "\n\nclass Block(nn.Module):\n    def __init__(self, data):\n        super().__init__()\n"
        "        self.data = nn.Parameter(torch.tensor(data))\n        self.proj = nn.Linear(4096, 4096)\n"
    )
    code, stdout, stderr, peak = _lint(_project(tmp_path, _module("self.block = Block(A5)", head=head + block)))
    _assert_clean(code, stdout, stderr, peak)
    assert code == 1 and "FI001" in stdout, stdout + stderr


def test_rnn_with_a_huge_layer_count_is_counted_without_a_loop(tmp_path):
    code, stdout, stderr, peak = _lint(_project(tmp_path, _module("self.rnn = nn.LSTM(4, 8, num_layers=10 ** 12)")))
    _assert_clean(code, stdout, stderr, peak)
    # First layer 4*8*(4+8) + 2*4*8 = 448, each later one 4*8*(8+8) + 64 = 576.
    assert f"{448 + 576 * (10**12 - 1):,} parameters" in stdout, stdout + stderr


# Item: recursion over user-controlled structure ends in a bounded walk or a one-line outcome, never a traceback.
def _chain(count: int, body: str) -> str:
    """Classes C0(C1), C1(C2), ..., the last one a LightningModule: checked from C0, the deepest."""
    classes = [f"class C{i}({f'C{i + 1}' if i < count - 1 else 'L.LightningModule'}):\n{body}\n" for i in range(count)]
    return "import lightning as L\nfrom torch import nn\n\n\n" + "\n\n".join(classes)


def test_long_inheritance_chain(tmp_path):
    code, stdout, stderr, peak = _lint(_project(tmp_path, _chain(2000, "    pass\n")))
    _assert_clean(code, stdout, stderr, peak)
    assert code == 0, stdout + stderr


def test_long_super_init_chain_is_sized_to_a_bound(tmp_path):
    body = "    def __init__(self):\n        super().__init__()\n        self.l = nn.Linear(2048, 2048)\n"
    train = "import lightning as L\nfrom model import C0\n\ntrainer = L.Trainer(strategy='fsdp')\ntrainer.fit(C0())\n"
    code, stdout, stderr, peak = _lint(_project(tmp_path, _chain(400, body), {"train.py": train}))
    _assert_clean(code, stdout, stderr, peak)
    assert code == 1 and "FI001" in stdout, stdout + stderr


def test_inheritance_cycle_across_files(tmp_path):
    files = {
        "a.py": "from b import B\n\n\nclass A(B):\n    pass\n",
        "b.py": "from a import A\n\n\nclass B(A):\n    pass\n",
    }
    module = _module("self.a = A()", head="from a import A")
    code, stdout, stderr, peak = _lint(_project(tmp_path, module, files))
    _assert_clean(code, stdout, stderr, peak)


def test_deep_constant_chain(tmp_path):
    head = "N0 = 1\n" + "".join(f"N{i} = N{i - 1} + 1\n" for i in range(1, 3000))
    code, stdout, stderr, peak = _lint(_project(tmp_path, _module("self.layer = nn.Linear(4096, N2999)", head=head)))
    _assert_clean(code, stdout, stderr, peak)
    assert code == 1 and "FI001" in stdout and "nested too deeply" in stdout, stdout + stderr


_DEEP_TERMS = 2900  # `ast` accepts a 2,900-term sum (its tree is 2,900 deep); LibCST and our visitors recurse on it


@pytest.mark.parametrize(
    "expression",
    [
        "nn.Linear(4096, " + "+".join(["1"] * _DEEP_TERMS) + ")",
        "nn.Linear(4096, x[" + "+".join(["1"] * _DEEP_TERMS) + "])",
        "nn.Linear(4096, " + "-" * _DEEP_TERMS + "4096)",
        "nn.Sequential(" * 199 + "nn.Linear(4096, 4096)" + ")" * 199,  # the parser's limit is 200
    ],
    ids=["sum", "subscript-of-sum", "unary-chain", "nested-calls"],
)
def test_deep_expression_in_a_project_class_another_file_builds(tmp_path, expression):
    """The deep code is in `deep.py`, which LibCST may refuse to parse (a one-line error for that file);
    `model.py` builds `Deep()`, so the estimator interprets `Deep.__init__` from the `ast` tree."""
    deep = (
        "import torch\nfrom torch import nn\n\n\nclass Deep(nn.Module):\n    def __init__(self, x=()):\n"
        f"        super().__init__()\n        self.layer = {expression}\n"
    )
    module = _module("self.deep = Deep()", head="from deep import Deep")
    code, stdout, stderr, peak = _lint(_project(tmp_path, module, {"deep.py": deep}))
    assert "Traceback" not in stderr and "internal error" not in stdout + stderr, stdout + stderr
    assert peak < _PEAK_MB, f"peak RSS {peak} MB"
    # model.py is checked whatever became of deep.py; Deep's size is unknown, not a crash nor a guess.
    assert "model.py:" in stdout and "FI001" in stdout and "nested too deeply" in stdout, stdout + stderr
    assert all(
        line.startswith(("model.py:", "deep.py:", "Found", "[*]", "No fixes", "error: ")) or not line
        for line in stdout.splitlines() + stderr.splitlines()
    ), stdout + stderr


def test_deep_expression_on_a_trainer_line_is_a_one_line_error(tmp_path):
    """Phase 1 walks the expressions of lines that can build a Trainer: a 900-deep one there. (A true
    precision, so that FI003 wants this Trainer and phase 2 looks at the file too.)"""
    deep = (
        "import lightning as L\n\ntrainer = L.Trainer(precision='bf16-true', x=" + "+".join(["1"] * _DEEP_TERMS) + ")\n"
    )
    module = _module("self.layer = nn.Linear(4096, 4096)")
    code, stdout, stderr, peak = _lint(_project(tmp_path, module, {"deep.py": deep}))
    assert "Traceback" not in stderr and "internal error" not in stdout + stderr, stdout + stderr
    assert code == 2 and "deep.py" in stdout + stderr, stdout + stderr
    assert "model.py:" in stdout and "FI001" in stdout, stdout + stderr


# Item: FI001's fix planning was quadratic in the number of statements of `__init__`.
def test_fi001_fix_on_a_long_init(tmp_path):
    count = 1500
    module = _module(*(f"self.l{i} = nn.Linear(2048, 2048)" for i in range(count)))
    root = _project(tmp_path, module)
    code, stdout, stderr, peak = _lint(root, "--fix", "--select", "FI001")
    assert code == 0 and "Traceback" not in stderr, stdout + stderr
    fixed = (root / "model.py").read_text()
    assert "def configure_model(self):" in fixed
    assert fixed.count("= wrap(nn.Linear(2048, 2048))") == count  # FSDP: each moved layer is wrapped
    assert fixed.index("def configure_model") < fixed.index("self.l0 = wrap(nn.Linear")


def test_deep_file_read_back_from_the_cache_deep_in_the_estimator(tmp_path):
    """A warm run rebuilds a cached file's module-level names when the estimator first needs them, from deep in
    its stack: a 2,900-deep expression there (harmless to phase 1, which parsed it near the top) must not fail."""
    deep = (
        "import torch\nfrom torch import nn\n\nX = " + "+".join(["1"] * _DEEP_TERMS) + "\n\n\n"
        "class Deep(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.layer = nn.Linear(4096, 4096)\n"
    )
    root = _project(tmp_path, _module("self.deep = Deep()", head="from deep import Deep"), {"deep.py": deep})
    outputs = []
    for edit in ("", "  # edited: checked again, deep.py's facts from the cache"):
        model = root / "model.py"
        model.write_text(model.read_text().replace("self.deep = Deep()", "self.deep = Deep()" + edit))
        done = subprocess.run(
            [sys.executable, "-m", "fastinit_lint", "--output-format", "concise", "."],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert "Traceback" not in done.stderr and "internal error" not in done.stdout + done.stderr, done.stderr
        outputs.append(done.stdout)
    assert "16,781,312 parameters" in outputs[0] and "16,781,312 parameters" in outputs[1], outputs


def test_nested_loops_over_unknown_iterables_are_interpreted_once(tmp_path):
    """Each `for` over an unknown iterable interpreted its body twice: 2**30 times for 30 nested loops."""
    loops = [f"{'    ' * i}for a{i} in self.items:" for i in range(30)]
    module = _module(
        "self.items = load_items()",
        "self.layers = nn.ModuleList()",
        *loops,
        "    " * 30 + "self.layers.append(nn.Linear(4096, 4096))",
    )
    code, stdout, stderr, peak = _lint(_project(tmp_path, module))
    _assert_clean(code, stdout, stderr, peak)
    assert code == 1 and "FI001" in stdout, stdout + stderr


def test_module_name_of_a_package_nested_thousands_deep(tmp_path):
    """Phase 1 names a module by walking up its packages; a checkout can nest them deeper than the recursion limit.
    (In-process: discovery, another part, is what the CLI meets first in such a tree.)"""
    from fastinit_lint.model.facts import forget_layout, module_name

    directory = tmp_path
    for _ in range(1200):
        directory = directory / "a"
        directory.mkdir()
        (directory / "__init__.py").write_text("")
    try:
        forget_layout()
        module, is_package = module_name(str(directory / "m.py"))
        assert module == ".".join(["a"] * 1200 + ["m"]) and not is_package
        assert module_name(str(directory / "__init__.py")) == (".".join(["a"] * 1200), True)
    finally:
        forget_layout()
        while directory != tmp_path:  # bottom up: pytest's own clean-up (shutil.rmtree) recurses per level
            (directory / "__init__.py").unlink()
            directory.rmdir()
            directory = directory.parent

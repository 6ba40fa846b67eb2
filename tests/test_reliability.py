"""Never crash, hang or damage a file: generated programs, real corpora, kills mid-fix, concurrent runs."""

from __future__ import annotations

import ast
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import hypothesmith
import torch
from engine_rules import TEST_RULES
from hypothesis import HealthCheck, given, settings, strategies as st

from fastinit_lint.engine.checker import CheckOptions
from fastinit_lint.workspace.config import load_settings
from fastinit_lint.engine.pipeline import RunRequest, run
from fastinit_lint.engine.registry import Registry

REPO = Path(__file__).parent.parent
SITE = Path(torch.__file__).parent.parent
LINT = [sys.executable, "-m", "fastinit_lint"]


def _lint_tree(root: Path, fix: bool, rules=None):
    registry = Registry.default(TEST_RULES)
    request = RunRequest(
        ["."],
        load_settings(str(root)),
        rules or registry.all(),
        CheckOptions(fix=fix, unsafe_fixes=True),
        jobs=1,
        use_cache=False,
    )
    cwd = os.getcwd()
    os.chdir(root)
    try:
        return run(request, registry.expand)
    finally:
        os.chdir(cwd)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(code=hypothesmith.from_grammar())
def test_generated_programs_never_crash_and_fixes_reparse(tmp_path_factory, code):
    root = tmp_path_factory.mktemp("gen")
    (root / "pyproject.toml").write_text("[tool.fastinit-lint]\n")
    (root / "m.py").write_text(code, encoding="utf-8")
    result = _lint_tree(root, fix=True)
    assert not [e for e in result.errors if "internal error" in e.message], result.errors
    fixed = [r for r in result.files if r.fixed_source is not None]
    for file_result in fixed:
        ast.parse(file_result.fixed_source)
        (root / "m.py").write_text(file_result.fixed_source, encoding="utf-8")
        again = _lint_tree(root, fix=True)
        assert all(r.fixed_source is None for r in again.files)


LAYERS = st.lists(
    st.one_of(
        st.tuples(st.just("Linear"), st.integers(1, 64), st.integers(1, 64)),
        st.tuples(st.just("Embedding"), st.integers(1, 200), st.integers(1, 32)),
        st.tuples(st.just("LayerNorm"), st.integers(1, 64)),
        st.tuples(st.just("Conv1d"), st.integers(1, 8), st.integers(1, 8), st.integers(1, 3)),
    ),
    min_size=1,
    max_size=6,
)


def _module_code(layers, use_hparams: bool, param_dim: int | None, tie: bool) -> str:
    lines = ["super().__init__()"]
    if use_hparams:
        lines.append("self.save_hyperparameters()")
    signature = f", dim={param_dim}" if param_dim else ""
    for i, (kind, *dims) in enumerate(layers):
        args = [("dim" if param_dim and j == 0 else str(d)) for j, d in enumerate(dims)]
        lines.append(f"self.layer{i} = nn.{kind}({', '.join(args)})")
    linear = [i for i, (kind, *_d) in enumerate(layers) if kind == "Linear"]
    if tie and len(linear) >= 2 and layers[linear[0]][1:] == layers[linear[1]][1:]:
        lines.append(f"self.layer{linear[1]}.weight = self.layer{linear[0]}.weight")
    body = textwrap.indent("\n".join(lines), " " * 8)
    return f"import lightning as L\nfrom torch import nn\n\n\nclass Gen(L.LightningModule):\n    def __init__(self{signature}):\n{body}\n"


def _layout(model):
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    groups = {}
    for name, param in model.named_parameters(remove_duplicate=False):
        groups.setdefault(id(param), []).append(name)
    return shapes, sorted(sorted(g) for g in groups.values())


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(layers=LAYERS, use_hparams=st.booleans(), param_dim=st.one_of(st.none(), st.integers(1, 32)), tie=st.booleans())
def test_fi001_safe_fix_preserves_layout(tmp_path_factory, layers, use_hparams, param_dim, tie):
    root = tmp_path_factory.mktemp("fi001")
    (root / "pyproject.toml").write_text("[tool.fastinit-lint]\nlarge-layer-threshold = 1\n")
    (root / "train.py").write_text("import lightning as L\ntrainer = L.Trainer(strategy='fsdp')\n")
    code = _module_code(layers, use_hparams, param_dim, tie)
    (root / "m.py").write_text(code)
    registry = Registry.default()
    request = RunRequest(
        ["m.py"], load_settings(str(root)), [registry.by_code["FI001"]], CheckOptions(fix=True), jobs=1, use_cache=False
    )
    cwd = os.getcwd()
    os.chdir(root)
    try:
        result = run(request, registry.expand)
    finally:
        os.chdir(cwd)
    fixed = (root / "m.py").read_text()
    if fixed == code:
        return  # no safe fix offered (e.g. an argument that would have to be stored): nothing claimed
    namespace_before, namespace_after = {}, {}
    exec(compile(code, "before", "exec"), namespace_before)
    exec(compile(fixed, "after", "exec"), namespace_after)
    with torch.device("meta"):
        reference = namespace_before["Gen"]()
        model = namespace_after["Gen"]()
        model.configure_model()
    assert _layout(model) == _layout(reference), fixed
    assert not result.errors


def _copy_packages(target: Path, names: list[str]) -> None:
    for name in names:
        shutil.copytree(
            SITE / name,
            target / name,
            ignore=shutil.ignore_patterns("__pycache__", "*.so", "lib", "bin", "include", "*.pyc"),
        )
    (target / "pyproject.toml").write_text("[tool.fastinit-lint]\n")


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*.py")}


def test_corpus_torch_lightning_fix_is_crash_free_and_idempotent(tmp_path):
    _copy_packages(tmp_path, ["torch", "lightning", "pytorch_lightning"])
    before = _snapshot(tmp_path)
    first = subprocess.run(
        [*LINT, "--no-cache", "--fix", "--unsafe-fixes", "--output-format", "json", "."],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert "internal error" not in first.stderr and "Traceback" not in first.stderr
    errors = [line for line in first.stderr.splitlines() if ": error: " in line]
    assert all("syntax error" in line for line in errors), errors  # only files newer Python syntax
    after = _snapshot(tmp_path)
    changed = [name for name in after if after[name] != before.get(name)]
    for name in changed:
        ast.parse(after[name])
    second = subprocess.run(
        [*LINT, "--no-cache", "--fix", "--unsafe-fixes", "--output-format", "json", "."],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert _snapshot(tmp_path) == after
    counts = {}
    for finding in json.loads(second.stdout):
        counts[finding["code"]] = counts.get(finding["code"], 0) + 1
    print(f"corpus: {len(before)} files, {len(changed)} fixed, remaining findings per rule {counts}")


def _generated(root: Path, projects: int) -> None:
    sys.path.insert(0, str(REPO / "bench"))
    try:
        from generate import generate
    finally:
        sys.path.remove(str(REPO / "bench"))
    generate(str(root), projects, utils=5)
    (root / "pyproject.toml").write_text("[tool.fastinit-lint]\n")


def test_sigkill_during_fix_leaves_each_file_old_or_new(tmp_path):
    original = tmp_path / "original"
    _generated(original, 12)
    expected = tmp_path / "expected"
    shutil.copytree(original, expected)
    subprocess.run([*LINT, "--no-cache", "--fix", "--unsafe-fixes", "-q", "."], cwd=expected, capture_output=True)
    old, new = _snapshot(original), _snapshot(expected)
    assert old != new
    for delay in (0.4, 0.8, 1.2, 1.6):
        victim = tmp_path / f"killed-{delay}"
        shutil.copytree(original, victim)
        process = subprocess.Popen(
            [*LINT, "--no-cache", "--fix", "--unsafe-fixes", "-q", "--jobs", "2", "."],
            cwd=victim,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        time.sleep(delay)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        for name, data in _snapshot(victim).items():
            assert data in (old[name], new[name]), f"{name} is neither the original nor the fixed version"


def test_two_concurrent_runs_share_the_cache_safely(tmp_path):
    _generated(tmp_path, 6)
    reference = subprocess.run(
        [*LINT, "--no-cache", "--output-format", "json", "."], cwd=tmp_path, capture_output=True, text=True
    ).stdout
    runs = [
        subprocess.Popen(
            [*LINT, "--output-format", "json", "."],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate()[0] for p in runs]
    assert outputs == [reference, reference]
    warm = subprocess.run([*LINT, "--output-format", "json", "."], cwd=tmp_path, capture_output=True, text=True)
    assert warm.stdout == reference and warm.stderr == ""


def test_cold_warm_serial_parallel_identical(tmp_path):
    _generated(tmp_path, 4)
    outputs = [
        subprocess.run(
            [*LINT, *flags, "--output-format", "json", "."], cwd=tmp_path, capture_output=True, text=True
        ).stdout
        for flags in (["--no-cache", "--jobs", "1"], ["--no-cache", "--jobs", "2"], [], [])
    ]
    assert len(set(outputs)) == 1 and json.loads(outputs[0])


def test_foreign_cache_file_is_ignored(tmp_path):
    _generated(tmp_path, 1)
    reference = subprocess.run([*LINT, "--output-format", "json", "."], cwd=tmp_path, capture_output=True, text=True)
    for cache_file in (tmp_path / ".fastinit_cache").rglob("*.pickle"):
        import pickle

        cache_file.write_bytes(pickle.dumps({"not": "ours"}))
    again = subprocess.run([*LINT, "--output-format", "json", "."], cwd=tmp_path, capture_output=True, text=True)
    assert again.stdout == reference.stdout and again.returncode == reference.returncode

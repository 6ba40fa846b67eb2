"""The linted checkout is untrusted input: its configs, `.gitignore` files, file names and comments must
give one-line errors or correct output, never a traceback, a hang or a forged line in the report."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from fastinit_lint.workspace.config import ROOT_MARKERS
from fastinit_lint.workspace.ignore_patterns import PatternSet
from fastinit_lint.output.reporters import FORMATS

BF16 = 'import lightning as L\ntrainer = L.Trainer(precision="bf16")'  # FI012, with a safe fix
LARGE = (
    "import lightning as L\nfrom torch import nn\n\n\nclass M(L.LightningModule):\n    def __init__(self):\n"
    "        super().__init__()\n        self.embed = nn.Embedding(50000, 4096)\n"
)  # FI001 under a sharded strategy
FSDP = 'import lightning as L\nfrom model import M\ntrainer = L.Trainer(strategy="fsdp")\ntrainer.fit(M())\n'  # trains LARGE


def _lint(*args, cwd: Path, timeout: float = 300, **popen) -> subprocess.CompletedProcess:
    """The real command in a fresh process, output as bytes (names need not be UTF-8); `timeout` only
    guards against a hang."""
    return subprocess.run(
        [sys.executable, "-m", "fastinit_lint", *args], cwd=cwd, capture_output=True, timeout=timeout, **popen
    )


def _lines(stream: bytes) -> list[str]:
    return stream.decode("utf-8").splitlines()  # strict: every report must be valid UTF-8


def _write(root: Path, files: dict) -> None:
    for name, content in files.items():
        path = os.path.join(os.fsencode(root), os.fsencode(name))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(content if isinstance(content, bytes) else content.encode())


@pytest.mark.parametrize(
    ("pyproject", "expected"),
    [
        (b"tool = 5\n", "`tool` must be a table"),
        (b"[tool.fastinit-lint]\n# caf\xe9\n", "invalid TOML: not UTF-8"),
        (b"[tool.fastinit-lint]\nmax-file-seconds = 10000000000\n", "`max-file-seconds` must be at most"),
        (b'[tool.fastinit-lint]\nexclude = ["[z-a]"]\n', "`exclude`: invalid pattern '[z-a]'"),
        (b'[tool.fastinit-lint]\nextend-exclude = ["ok", "[z-a]"]\n', "`extend-exclude`: invalid pattern '[z-a]'"),
        (
            b'[tool.fastinit-lint.per-file-ignores]\n"[z-a]" = ["FI012"]\n',
            "`per-file-ignores`: invalid pattern '[z-a]'",
        ),
        (
            b'[tool.fastinit-lint.per-file-ignores]\n"*.py" = ["XX999"]\n',
            "`per-file-ignores.*.py`: unknown rule selector 'XX999'",
        ),
    ],
)
def test_bad_config_is_one_line_exit_2_naming_file_and_key(tmp_path, pyproject, expected):
    _write(tmp_path, {"pyproject.toml": pyproject, "a.py": BF16})
    result = _lint("a.py", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    (line,) = _lines(result.stderr)
    assert "pyproject.toml" in line and expected in line, line


@pytest.mark.parametrize("given", [".", "a.py"])  # "a.py": the .gitignore files are met by the context walk
def test_bad_gitignore_pattern_is_reported_once_and_ignored(tmp_path, given):
    _write(
        tmp_path,
        {
            "pyproject.toml": "[tool.fastinit-lint]\n",
            ".gitignore": "ignored.py\n[z-a]\n",
            "sub/.gitignore": "[b-a]x\n",
            "a.py": BF16,
            "ignored.py": BF16,
            "sub/s.py": BF16,
        },
    )
    result = _lint("--output-format", "concise", given, cwd=tmp_path)
    errors = _lines(result.stderr)
    assert sorted(errors) == [
        f"{tmp_path}/.gitignore:2:1: error: invalid pattern '[z-a]': bad character range z-a; pattern ignored",
        f"{tmp_path}/sub/.gitignore:1:1: error: invalid pattern '[b-a]x': bad character range b-a; pattern ignored",
    ]
    assert result.returncode == 2
    assert "a.py:2:21: FI012" in result.stdout.decode() and "ignored.py" not in result.stdout.decode()


def test_output_file_in_a_missing_directory_fails_before_fixes_are_written(tmp_path):
    _write(tmp_path, {"pyproject.toml": "[tool.fastinit-lint]\n", "a.py": BF16})
    result = _lint("--fix", "-o", "missing/out.txt", "a.py", cwd=tmp_path)
    assert result.returncode == 2
    assert _lines(result.stderr) == ["error: missing/out.txt: cannot write the report: No such file or directory"]
    assert (tmp_path / "a.py").read_text() == BF16


def test_non_utf8_and_control_character_names_come_out_valid_in_every_format(tmp_path):
    name = b"bad\xff\x01.py"
    _write(tmp_path, {"pyproject.toml": "[tool.fastinit-lint]\n", name: BF16, b"syn\xfe.py": "def f(:\n"})
    for output_format in sorted(FORMATS):
        for to_file in (False, True):
            args = ["--output-format", output_format, *(["-o", "report"] if to_file else []), "."]
            result = _lint(*args, cwd=tmp_path)
            assert result.returncode == 2, (output_format, result.stderr)
            assert _lines(result.stderr) == ["syn\\xfe.py:1:7: error: syntax error: invalid syntax"]
            report = (tmp_path / "report").read_bytes() if to_file else result.stdout
            text = report.decode("utf-8")
            # Machine formats also carry the file that does not parse, as an `invalid-syntax` diagnostic.
            if output_format == "json":
                finding, syntax = json.loads(text)
                assert os.fsencode(finding["filename"]) == name  # the exact bytes survive
                assert syntax["code"] == "invalid-syntax" and os.fsencode(syntax["filename"]) == b"syn\xfe.py"
            elif output_format == "json-lines":
                assert [os.fsencode(json.loads(line)["filename"]) for line in text.splitlines()] == [
                    name,
                    b"syn\xfe.py",
                ]
            elif output_format == "sarif":
                result_, _ = json.loads(text)["runs"][0]["results"]
                assert result_["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "bad%FF%01.py"
            elif output_format == "junit":
                suite = ET.fromstring(text).find("testsuite")  # fails on characters XML 1.0 forbids
                assert suite.get("name") == "bad\\xff\\x01.py"
            else:
                assert "bad\\xff\\x01.py:2:21" in text, output_format


def test_file_names_cannot_inject_lines_or_workflow_commands(tmp_path):
    """A finding's file, a file named in another finding's message, and a file with a syntax error, each
    named to forge a GitHub workflow command: no output line may start with `::` unless it is ours."""
    _write(
        tmp_path,
        {
            "pyproject.toml": "[tool.fastinit-lint]\n",
            "a\n::error file=x::pwned.py": BF16 + "\n",
            "model.py": LARGE,
            "t\n::error file=z::x.py": FSDP + BF16 + "\n",
            "b\n::error file=y::pwned.py": "def f(:\n",
        },
    )
    runs = [["--output-format", f] for f in sorted(FORMATS)] + [["--statistics"], ["--diff"], ["--fix", "--show-fixes"]]
    for args in runs:
        result = _lint("--no-cache", *args, ".", cwd=tmp_path)
        assert result.returncode in (1, 2), (args, result.stderr)
        lines = _lines(result.stdout) + _lines(result.stderr)
        forged = [
            line for line in lines if line.startswith("::") and not line.startswith("::error title=fastinit-lint (")
        ]
        assert not forged, (args, forged)
        assert any("b\\n::error file=y::pwned.py" in line for line in _lines(result.stderr)), args
    assert "::error file=x" not in (tmp_path / "a\n::error file=x::pwned.py").read_text()  # the fix was applied


def test_github_format_escapes_per_the_workflow_command_rules(tmp_path):
    _write(tmp_path, {"pyproject.toml": "[tool.fastinit-lint]\n", "p%,:\r\n.py": BF16})
    result = _lint("--output-format", "github", ".", cwd=tmp_path)
    (line,) = _lines(result.stdout)
    assert line.startswith("::error title=fastinit-lint (FI012),file=p%25%2C%3A%0D%0A.py,line=2,")
    assert line.split("::")[2].startswith("p%25,:%0D%0A.py:2:21: FI012")


def test_config_outside_the_project_does_not_move_the_project(tmp_path):
    """`--config` names settings, not the project: a Trainer beside the config file stays out of the index,
    and the cache is written in the project."""
    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    _write(project, {"model.py": LARGE, ".git/HEAD": "ref: refs/heads/main\n"})
    _write(elsewhere, {"fastinit-lint.toml": "select = ['ALL']\n", "train.py": FSDP})
    result = _lint("--output-format", "concise", "--config", "../elsewhere/fastinit-lint.toml", "model.py", cwd=project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (project / ".fastinit_cache").is_dir() and not (elsewhere / ".fastinit_cache").exists()


def test_a_file_outside_any_project_is_linted_without_walking_its_directory(tmp_path):
    """With no `.git`, `.hg` or `pyproject.toml` above it, a file is linted on its own: the tree around it
    (a home directory, `/tmp`) is not walked and indexed as if it were a project."""
    if any((directory / marker).exists() for directory in tmp_path.parents for marker in ROOT_MARKERS):
        pytest.skip(f"a project marker above {tmp_path}")
    _write(tmp_path, {"model.py": LARGE, "sub/train.py": FSDP})
    alone = _lint("--output-format", "concise", "model.py", cwd=tmp_path)
    assert alone.returncode == 0, alone.stdout
    assert b"FI001" in _lint("--output-format", "concise", ".", cwd=tmp_path).stdout  # a directory is its own context
    (tmp_path / ".git").mkdir()
    assert b"FI001" in _lint("--no-cache", "--output-format", "concise", "model.py", cwd=tmp_path).stdout


def test_directory_tree_deeper_than_the_recursion_limit(tmp_path):
    deepest = tmp_path / "tree"
    for _ in range(1100):
        deepest = deepest / "d"
    chain = [tmp_path / "tree"]
    while chain[-1] != deepest:
        chain.append(chain[-1] / "d")
    try:
        for directory in chain:
            directory.mkdir()
        (deepest / "m.py").write_text(BF16)
        _write(tmp_path, {"pyproject.toml": "[tool.fastinit-lint]\n"})
        result = _lint("--output-format", "concise", "tree", cwd=tmp_path)
        assert result.returncode == 1, result.stderr
        assert _lines(result.stdout)[0].endswith(
            '/d/m.py:2:21: FI012 [*] `precision="bf16"` is Lightning\'s legacy alias '
            'for "bf16-mixed": parameters stay float32 even inside `init_module()`; '
            'write "bf16-mixed" (or the "-true" flag if half-precision weights were '
            'intended); Lightning warns that the alias "is supported for historical '
            'reasons but its usage is discouraged"'
        )
    finally:
        (deepest / "m.py").unlink(missing_ok=True)
        for directory in reversed(chain):  # shutil.rmtree recurses too
            if directory.exists():
                directory.rmdir()


def test_adversarial_gitignore_globs_do_not_hang_discovery(tmp_path):
    long_name = "a" * 240 + ".py"
    nested = "/".join(["a"] * 40) + "/m.py"
    _write(
        tmp_path,
        {
            "pyproject.toml": "[tool.fastinit-lint]\n",
            ".gitignore": "*a*a*a*a*a*a*a*a*a*a*b\n" + "**/" * 12 + "x\n" + "**/a/" * 8 + "b\n" + "ignored_*.py\n",
            long_name: BF16,
            nested: BF16,
            "ignored_1.py": BF16,
        },
    )
    result = _lint("--output-format", "concise", ".", cwd=tmp_path, timeout=120)
    assert result.returncode == 1, result.stderr
    assert sorted(line.split(":")[0] for line in _lines(result.stdout)[:2]) == sorted([long_name, nested])
    assert "ignored_1" not in result.stdout.decode()


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("*a*a*b", "xaaxaab", True),
        ("*a*a*b", "xaaxaa", None),
        ("*a*a*b", "xa/ab", None),  # `*` stays in one component
        ("**/a/**/b", "a/x/a/y/b", True),
        ("**/a/**/b", "x/b", None),
        ("a/**", "a/x/y", True),
        ("a**b", "a/x/b", None),  # `**` not a whole component is `*`, as in git
        ("a**b", "axxb", True),
        ("x[/]y", "x/y", None),  # a class never matches `/`, as in git
        ("**", "a/b", True),
    ],
)
def test_glob_semantics_of_the_linear_translation(pattern, path, expected):
    assert PatternSet([pattern]).match(path, False) is expected


def test_long_suppression_comments_are_scanned_in_linear_time(tmp_path):
    """`# fastinit: noqa:` then 2 KB / 100 KB of blanks once backtracked cubically, and a long line of `noqa`
    without `#` quadratically; under a lowered per-file bound those files were reported as timed out."""
    _write(
        tmp_path,
        {
            "pyproject.toml": "[tool.fastinit-lint]\nmax-file-seconds = 20\n",
            "c2k.py": BF16 + "  # fastinit: noqa:" + " " * 2_500 + "!\n",
            "c100k.py": BF16 + "  # fastinit: noqa:" + "\t" * 100_000 + "!\n",
            "ignores.py": BF16 + "  " + "# fastinit: ignore[" * 6_000 + "\n",
            "line.py": BF16 + '\nx = "' + "noqa " * 400_000 + '"\n',
        },
    )
    result = _lint("--output-format", "concise", ".", cwd=tmp_path)
    assert result.returncode == 1 and not result.stderr, result.stderr
    assert sorted(line.split(":")[0] for line in _lines(result.stdout)[:4]) == [
        "c100k.py",
        "c2k.py",
        "ignores.py",
        "line.py",
    ]


def _busy_children(pid: int) -> int:
    """How many children of `pid` have used CPU time: forked workers that are past the fork and working."""
    busy = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            busy += int(fields[1]) == pid and int(fields[11]) + int(fields[12]) > 0  # ppid; utime + stime
    return busy


def test_ctrl_c_exits_130_with_one_line_from_parent_and_workers(tmp_path):
    """Ctrl-C signals the whole process group, as a terminal does, while phase-1 workers are running."""
    body = "".join(f"value_{i} = [{i}, {i} + 1, {{'k': {i}}}]\n" for i in range(2000))
    _write(tmp_path, {"pyproject.toml": "[tool.fastinit-lint]\n", **{f"m{i}.py": body for i in range(80)}})
    process = subprocess.Popen(
        [sys.executable, "-m", "fastinit_lint", "--no-cache", "--jobs", "2", "."],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        # Until the pool's workers are parsing: a signal during the fork itself can hit the parent inside
        # the interpreter's own at-fork hooks, which swallow the KeyboardInterrupt (as they would without us).
        while _busy_children(process.pid) < 2 and process.poll() is None:
            time.sleep(0.01)
        assert process.poll() is None, "the run ended before its workers were seen"
        os.killpg(process.pid, signal.SIGINT)
        stdout, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stderr
    assert stderr.decode().splitlines() == ["error: interrupted"]
    assert stdout == b""

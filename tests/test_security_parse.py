"""The linted checkout is untrusted: no file in it may crash, hang or exhaust a run; each bad file is one
error line naming it, and every other file is still checked. Runs the real CLI in subprocesses (crashes
and limits must not touch the test process), with the engine's test rules: FI990 flags `nn.Linear(1, 2)`."""

from __future__ import annotations

import ast
import os
import resource
import subprocess
import sys
from pathlib import Path

import hypothesmith
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from fastinit_lint.engine.checker import _syntax_depth
from fastinit_lint.engine.limits import MAX_SYNTAX_DEPTH
from fastinit_lint.engine.rule import Rule
from fastinit_lint.diagnostics import SourceError
from fastinit_lint.workspace.source import read_bytes

GOOD = "import torch.nn as nn\nnn.Linear(1, 2)\n"
TESTS = os.path.dirname(__file__)
# The CLI with the test rules registered; an optional rule module from this file is added by name.
_MAIN = (
    "import sys; sys.path.insert(0, {tests!r}); from engine_rules import TEST_RULES; "
    "from fastinit_lint.cli import main; from fastinit_lint.engine.registry import Registry; "
    "main(sys.argv[1:], obj=Registry.default(TEST_RULES))"
)


def _lint(project: Path, *args: str, preexec=None, timeout: float = 120) -> subprocess.CompletedProcess:
    """`timeout` only guards against a hang (which today's bugs include); nothing asserts on time."""
    return subprocess.run(
        [sys.executable, "-c", _MAIN.format(tests=TESTS), "--output-format", "concise", *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=preexec,
    )


def _memory_guard(gigabytes: float = 3):
    """Keeps the code under test (and today's, which reads endless files) from exhausting the machine."""
    limit = int(gigabytes * 2**30)
    return lambda: resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _errors(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if ": error: " in line]


def _assert_others_checked(result, bad: str, message: str) -> None:
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    assert _errors(result) == [f"{bad}:1:1: error: {message}"], result.stderr
    assert "good.py:2:1: FI990" in result.stdout, result.stdout
    assert result.returncode == 2, (result.returncode, result.stderr)


def _config(project: Path, **keys: int) -> None:
    lines = "".join(f"{key.replace('_', '-')} = {value}\n" for key, value in keys.items())
    (project / "pyproject.toml").write_text(f"[tool.fastinit-lint]\n{lines}")


def _chain(terms: int, operator: str = "and") -> str:
    return "x = " + f" {operator} ".join(["a"] * terms) + "\n"


# 1. Parsing: LibCST's native parser must never take the run down with it.


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_chain_too_deep_for_libcst_is_reported_before_parsing(project, jobs):
    # 20,000 terms parse with `ast` but overflow LibCST's stack (SIGSEGV at ~7,100 levels, measured).
    (project / "deep.py").write_text(GOOD + _chain(20_000))
    (project / "good.py").write_text(GOOD)
    result = _lint(project, "--jobs", jobs, ".")
    _assert_others_checked(
        result,
        "deep.py",
        f"too deeply nested for the fixer's parser (20,003 levels > "
        f"{MAX_SYNTAX_DEPTH:,}); not checked by rules that need it",
    )


def _plain_depth(tree: ast.AST) -> int:
    """What `_syntax_depth` computes, written plainly (it runs on every file phase 2 parses, so it is not)."""
    deepest, stack = 0, [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        depth += (
            len(node.values) - 1
            if isinstance(node, ast.BoolOp)
            else len(node.ops)
            if isinstance(node, ast.Compare)
            else 1
        )
        deepest = max(deepest, depth)
        stack.extend((child, depth) for child in ast.iter_child_nodes(node))
    return deepest


@pytest.mark.parametrize(
    "code",
    [
        "x = " + " and ".join(["a"] * 1200),
        "x = a" + ".b" * 1200,
        "x = " + " < ".join(["a"] * 1100),
        "if a:\n    pass\n" + "elif b:\n    pass\n" * 1100,
        "del a.b[0]\n(x, *y) = z\n",
        GOOD,
    ],
    ids=["and-chain", "attribute-chain", "comparison-chain", "elif-ladder", "targets", "good"],
)
def test_syntax_depth_is_the_depth_of_a_plain_walk(code):
    assert _syntax_depth(ast.parse(code)) == _plain_depth(ast.parse(code))


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(code=st.one_of(hypothesmith.from_grammar(), hypothesmith.from_node()))
def test_syntax_depth_is_the_depth_of_a_plain_walk_on_generated_programs(code):
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError):
        return
    assert _syntax_depth(tree) == _plain_depth(tree)


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_native_parser_crash_costs_only_that_file(project, jobs):
    # Under a 512 KB stack a 900-term chain passes the depth pre-check and still overflows LibCST's native
    # parser: the crash must cost its worker only, with the file reported and the others checked.
    (project / "crash.py").write_text(GOOD + _chain(900))
    for name in ("good.py", "a.py", "b.py", "c.py"):
        (project / name).write_text(GOOD)
    result = _lint(
        project,
        "--jobs",
        jobs,
        ".",
        preexec=lambda: resource.setrlimit(resource.RLIMIT_STACK, (512 * 1024, resource.RLIM_INFINITY)),
    )
    assert "Traceback" not in result.stderr, result.stderr
    assert _errors(result) == [
        "crash.py:1:1: error: crashed while checking (SIGSEGV: nested too deeply for the parser's stack?); skipped"
    ], result.stderr
    assert all(f"{name}:2:1: FI990" in result.stdout for name in ("good.py", "a.py", "b.py", "c.py"))
    assert result.returncode == 2


def test_native_code_past_max_file_seconds_is_killed(project):
    # Converting a 1,000,000-digit literal takes `ast.parse` over a minute of C code, where the alarm's
    # handler cannot run: the parent kills the worker at the bound and goes on.
    _config(project, max_file_seconds=2)
    (project / "slow.py").write_text("x = " + "9" * 1_000_000 + "\n")
    (project / "good.py").write_text(GOOD)
    result = _lint(project, "--jobs", "1", ".", timeout=60)
    _assert_others_checked(result, "slow.py", "indexing took longer than 2 s (max-file-seconds); skipped")


@pytest.mark.parametrize(
    "body",
    [
        _chain(700, "+"),
        _chain(700, "and"),
        "if a:\n    pass\n" + "".join(f"elif a{i}:\n    pass\n" for i in range(600)),
        "x = " + "9" * 4_400 + "\n",
    ],
    ids=["700-term-sum", "700-term-and", "600-branch-elif", "4400-digit-int"],
)
def test_valid_python_is_accepted(cli, project, body):
    (project / "valid.py").write_text(GOOD + body)
    result = cli("--output-format", "concise", "--jobs", "1", ".")
    assert result.stderr == "" and "valid.py:2:1: FI990" in result.stdout
    assert result.exit_code == 1


# 2. Per-file bounds: stat first, read at most the limit, bound memory in the workers.


def test_fifo_is_refused_without_blocking(project):
    _config(project, max_file_seconds=5)  # today's code blocks on opening it until this bound
    os.mkfifo(project / "pipe.py")
    (project / "good.py").write_text(GOOD)
    result = _lint(project, "--jobs", "1", ".", timeout=60)
    _assert_others_checked(result, "pipe.py", "not a regular file (a FIFO, socket or device); skipped")


def test_symlink_to_dev_zero_is_refused_without_reading(project):
    """A link out of the project is not followed at all; a device reached anyway is refused before reading."""
    _config(project, max_file_bytes=1000)
    os.symlink("/dev/zero", project / "zero.py")
    (project / "good.py").write_text(GOOD)
    result = _lint(project, "--jobs", "1", ".", preexec=_memory_guard(), timeout=60)
    _assert_others_checked(result, "zero.py", "symlink to a file outside the project; skipped")
    with pytest.raises(SourceError, match=r"not a regular file \(a FIFO, socket or device\); skipped"):
        read_bytes("/dev/zero", 1000)


def test_sparse_file_over_the_limit_is_not_read(project):
    _config(project, max_file_bytes=1000)
    with open(project / "sparse.py", "wb") as handle:
        handle.truncate(5 * 10**9)  # 5 GB that take no disk: only reading them costs memory
    (project / "good.py").write_text(GOOD)
    result = _lint(project, "--jobs", "1", ".", preexec=_memory_guard(), timeout=60)
    _assert_others_checked(result, "sparse.py", "file too large to check (5000.0 MB > limit 0.0 MB)")


def test_file_grown_past_the_limit_after_stat_is_cut_at_the_limit(project):
    from fastinit_lint.diagnostics import SourceError
    from fastinit_lint.workspace.source import read_source

    path = project / "grows.py"
    path.write_bytes(b"x = 1\n" * 10)
    with pytest.raises(SourceError, match="file too large"):
        read_source(str(path), 59)
    assert read_source(str(path), 60).text == "x = 1\n" * 10


def test_libcst_memory_is_bounded_per_worker(project):
    # Token-dense text needs ~2,300 bytes of LibCST tree per source byte, 6x the pre-parse estimate: 300 KB
    # pass the estimate under 200 MB and then need ~700 MB. The worker's address-space limit stops it.
    _config(project, max_file_memory_mb=200)
    (project / "dense.py").write_text(GOOD + "x=1\n" * 75_000)
    (project / "good.py").write_text(GOOD)
    result = _lint(project, "--jobs", "1", ".", preexec=_memory_guard())
    assert "Traceback" not in result.stderr, result.stderr
    [error] = _errors(result)
    assert error.startswith("dense.py:1:1: error: ") and "max-file-memory-mb = 200" in error, error
    assert "good.py:2:1: FI990" in result.stdout and result.returncode == 2


def test_yaml_memory_is_bounded_per_worker(project):
    _config(project, max_file_memory_mb=20, max_file_seconds=600)  # PyYAML is slow: memory must be what stops it
    (project / "config.yaml").write_text("trainer:\n  callbacks:\n" + "    - {a: 1, b: 2}\n" * 60_000)
    (project / "good.py").write_text(GOOD)
    result = _lint(project, "--jobs", "1", ".", preexec=_memory_guard(), timeout=600)
    _assert_others_checked(result, "config.yaml", "ran out of memory while indexing (max-file-memory-mb = 20); skipped")


# 3. A file saved between the phases (an editor's save during a pre-commit run).


class _SavesSyntaxErrorBetweenPhases(Rule):
    """Its gate runs in the parent between phase 1 and phase 2: it saves a syntax error into the file."""

    code = "FI995"
    name = "test-saves-between-phases"

    @classmethod
    def relevant(cls, facts, index, settings) -> bool:
        if facts.filename.endswith("edited.py"):
            Path(facts.path).write_text("def f(:\n")
        return True


def test_file_saved_with_syntax_error_between_phases_is_reported(project):
    from click.testing import CliRunner
    from engine_rules import TEST_RULES

    from fastinit_lint.cli import main
    from fastinit_lint.engine.registry import Registry

    (project / "edited.py").write_text(GOOD + "def f():\n    return 1\n")
    (project / "good.py").write_text(GOOD)
    cwd = os.getcwd()
    os.chdir(project)
    try:
        result = CliRunner().invoke(
            main,
            ["--output-format", "concise", "--jobs", "1", "."],
            catch_exceptions=False,
            obj=Registry.default([*TEST_RULES, _SavesSyntaxErrorBetweenPhases]),
        )
    finally:
        os.chdir(cwd)
    assert result.stderr == "edited.py:1:1: error: file changed on disk while being checked; skipped (run again)\n"
    assert "good.py:2:1: FI990" in result.stdout and result.exit_code == 2


# 4. No processes left to fork (a container's process limit).


def _no_forks(tmp_path: Path):
    """A preexec_fn after which the process cannot fork: RLIMIT_NPROC for users, which root ignores; for
    root, a pids cgroup (v1) limited to the process itself. None if neither is available here."""
    if os.geteuid() != 0:
        return lambda: resource.setrlimit(resource.RLIMIT_NPROC, (0, resource.getrlimit(resource.RLIMIT_NPROC)[1]))
    group = Path("/sys/fs/cgroup/pids") / f"fastinit-test-{os.getpid()}-{tmp_path.name}"
    try:
        group.mkdir()
        (group / "pids.max").write_text("1")
    except OSError:
        return None

    def enter() -> None:
        (group / "cgroup.procs").write_text(str(os.getpid()))

    enter.group = group
    return enter


def test_fork_failure_falls_back_to_in_process_work(project, tmp_path):
    preexec = _no_forks(tmp_path)
    if preexec is None:
        pytest.skip("no way to forbid fork() here (root without a writable pids cgroup)")
    for name in ("good.py", "a.py", "b.py", "c.py", "d.py"):
        (project / name).write_text(GOOD)
    try:
        result = _lint(project, "--jobs", "2", ".", preexec=preexec, timeout=60)
    finally:
        if hasattr(preexec, "group"):
            preexec.group.rmdir()
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stderr.startswith("fastinit-lint: warning: cannot start worker processes (")
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert all(f"{name}:2:1: FI990" in result.stdout for name in ("good.py", "a.py", "b.py", "c.py", "d.py"))
    assert result.returncode == 1

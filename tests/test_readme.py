"""The README's snippets are real: its config blocks parse with our loader and its YAML, its abridged output
is what `fastinit-lint examples/` prints, its pre-commit configs run under the real pre-commit."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml
from conftest import run_installed

from fastinit_lint.workspace.config import parse_table

REPO = Path(__file__).parent.parent
README = (REPO / "README.md").read_text()


def _blocks(language: str) -> list[str]:
    """The fenced blocks opened with ```language (fences taken in order: a closing fence opens nothing)."""
    found, current, opened = [], None, None
    for line in README.splitlines(keepends=True):
        if line.startswith("```"):
            if current is None:
                current, opened = [], line[3:].strip()
            else:
                if opened == language:
                    found.append("".join(current))
                current = None
        elif current is not None:
            current.append(line)
    return found


def _output_block() -> str:
    return next(b for b in _blocks("") if b.startswith("examples/"))


def test_config_blocks_parse_with_our_loader():
    tables = [tomllib.loads(block) for block in _blocks("toml")]  # every block is TOML (Helix's config too)
    ours = [table["tool"]["fastinit-lint"] for table in tables if "tool" in table]
    assert ours
    for table in ours:
        parse_table(table, "README.md")


def test_yaml_blocks_parse():
    for block in _blocks("yaml"):
        assert yaml.safe_load(block)["repos"]


def test_abridged_output_is_what_the_first_command_prints():
    done = run_installed("--no-cache", "examples/", cwd=REPO)
    printed = done.stdout.splitlines()
    for line in _output_block().splitlines():
        shown = line.split(" ...", 1)[0]
        assert any(p.startswith(shown) for p in printed), f"README shows {line!r}, not printed:\n{done.stdout}"


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


@pytest.mark.skipif(
    shutil.which("pre-commit") is None or shutil.which("git") is None, reason="pre-commit and git are needed"
)
@pytest.mark.parametrize("variant", [0, 1], ids=["remote-pinned-to-a-commit", "repo-local"])
def test_pre_commit_configs_run(tmp_path, variant):
    config = _blocks("yaml")[variant]
    if variant == 0:  # this repository, at its current commit, stands in for the published one
        config = re.sub(r"repo: \S+", f"repo: {REPO}", config)
        config = re.sub(r"rev: \S+", f"rev: {_git(REPO, 'rev-parse', 'HEAD')}", config)
    user = tmp_path / "user"
    shutil.copytree(REPO / "examples", user, ignore=shutil.ignore_patterns(".fastinit_cache", "__pycache__"))
    (user / ".pre-commit-config.yaml").write_text(config)
    _git(user, "init", "-q")
    _git(user, "add", "-A")
    _git(user, "commit", "-qm", "init")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "home")}
    done = subprocess.run(
        ["pre-commit", "run", "fastinit-lint", "--files", "src/mylm/model.py"],
        cwd=user,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 1 and "src/mylm/model.py:15:9: FI001" in done.stdout, done.stdout + done.stderr


# Every command of the README's ```bash blocks is run below, or named here with why it cannot run in a test.
_CANNOT_RUN = {
    "pip install": "installs into the environment, from the network or the package index",
    "python -m pytest": "the whole suite, which holds this test",
    "fastinit-lint server": "a language server talking over stdio until its client exits: tests/test_server.py drives it",
}


def _commands() -> list[str]:
    """The commands of the ```bash blocks: each line without its comment, split at `&&`."""
    return [
        part.strip()
        for block in _blocks("bash")
        for line in block.splitlines()
        for part in line.split("#", 1)[0].split("&&")
        if part.strip()
    ]


def _copy_of_examples(tmp_path: Path) -> Path:
    """A copy of the repository's examples (`examples/` in it, as the README's first command names it)."""
    shutil.copytree(
        REPO / "examples", tmp_path / "examples", ignore=shutil.ignore_patterns(".fastinit_cache", "__pycache__")
    )
    return tmp_path


def _run(command: str, cwd: Path) -> subprocess.CompletedProcess:
    return run_installed(*command.removeprefix("fastinit-lint").split(), cwd=cwd)


def _snapshot(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*.py"))}


def _check_paths(done, tmp_path):
    checked = _run("fastinit-lint check .", tmp_path / "examples")
    assert done.returncode == checked.returncode == 1 and "FI001" in done.stdout
    assert done.stdout == checked.stdout


def _check_first_command(done, tmp_path):
    assert done.returncode == 1 and "examples/src/mylm/model.py:15:9: FI001" in done.stdout


def _check_fix(done, tmp_path):
    model = (tmp_path / "examples" / "src" / "mylm" / "model.py").read_text()
    assert "def configure_model(self):" in model and "fixed" in done.stdout, done.stdout
    assert _run("fastinit-lint --diff src/", tmp_path / "examples").returncode == 0  # no safe fix left


def _check_diff(done, tmp_path):
    assert done.returncode == 1 and "+    def configure_model(self):" in done.stdout, done.stdout
    assert _snapshot(tmp_path / "examples") == _snapshot(REPO / "examples")  # nothing written


def _check_rules(done, tmp_path):
    assert done.returncode == 0 and "FI001  large-layer-in-init" in done.stdout


def _check_explain(done, tmp_path):
    assert done.returncode == 0 and "## Fix safety" in done.stdout


def _check_ci(done, tmp_path):
    assert done.returncode == 1 and "::error title=fastinit-lint (FI" in done.stdout


_RUNS = {
    "fastinit-lint examples/": (".", _check_first_command),
    "fastinit-lint [PATHS]": ("examples", _check_paths),
    "fastinit-lint --fix src/": ("examples", _check_fix),
    "fastinit-lint --diff src/": ("examples", _check_diff),
    "fastinit-lint rules": ("examples", _check_rules),
    "fastinit-lint explain FI001": ("examples", _check_explain),
    "fastinit-lint --fix --exit-non-zero-on-fix --output-format github .": ("examples", _check_ci),
}


def test_every_command_is_run_or_says_why_not():
    left = [c for c in _commands() if c not in _RUNS and not c.startswith(tuple(_CANNOT_RUN))]
    assert not left, f"README commands neither run by a test nor listed in _CANNOT_RUN: {left}"
    assert set(_RUNS) <= set(_commands()), "a command run here is no longer in the README"


@pytest.mark.parametrize("command", list(_RUNS))
def test_usage_command_runs(tmp_path, command):
    where, check = _RUNS[command]
    root = _copy_of_examples(tmp_path)
    done = _run(command.replace("[PATHS]", "."), root / where)
    check(done, root)

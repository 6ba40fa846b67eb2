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
    return subprocess.run(["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args], cwd=cwd, check=True,
                          capture_output=True, text=True).stdout.strip()


@pytest.mark.skipif(shutil.which("pre-commit") is None or shutil.which("git") is None, reason="pre-commit and git are needed")
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
    done = subprocess.run(["pre-commit", "run", "fastinit-lint", "--files", "src/mylm/model.py"], cwd=user, env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 1 and "src/mylm/model.py:15:9: FI001" in done.stdout, done.stdout + done.stderr

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

sys.path.insert(0, os.path.dirname(__file__))

from engine_rules import TEST_RULES  # noqa: E402

from fastinit_lint.cli import main  # noqa: E402
from fastinit_lint.engine.registry import Registry  # noqa: E402

# A Trainer that trains on the CPU and writes nothing (no logs, checkpoints, progress bar or summary).
QUIET_CPU_TRAINER = {
    "accelerator": "cpu",
    "logger": False,
    "enable_checkpointing": False,
    "enable_progress_bar": False,
    "enable_model_summary": False,
}

# Projects the linter is tested on (their `tests/test_*.py` are theirs, not ours).
collect_ignore_glob = ["fixtures/*"]


class Cli:
    """Runs the real CLI in-process, with the engine's test-only rules registered beside the real ones."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def __call__(self, *args: str, input: str | None = None):
        cwd = os.getcwd()
        os.chdir(self.root)
        try:
            return CliRunner().invoke(
                main, list(args), obj=Registry.default(TEST_RULES), input=input, catch_exceptions=False
            )
        finally:
            os.chdir(cwd)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("[tool.fastinit-lint]\n")
    return tmp_path


@pytest.fixture
def cli(project: Path) -> Cli:
    return Cli(project)


def run_installed(*args: str, cwd: Path, input: str | None = None) -> subprocess.CompletedProcess:
    """The installed console script, as pre-commit and CI call it."""
    return subprocess.run(
        [sys.executable, "-m", "fastinit_lint", *args],
        cwd=cwd,
        input=input,
        capture_output=True,
        text=True,
        timeout=300,
    )

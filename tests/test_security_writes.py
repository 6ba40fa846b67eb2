"""The linted checkout is untrusted: where we read and write files, and how a write keeps what was there."""

from __future__ import annotations

import ast
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from fastinit_lint.source import digest_bytes

GOOD = "import torch.nn as nn\nnn.Linear(1, 2)\n"
FIXED = GOOD.replace("nn.Linear(1, 2)", "nn.Linear(1, 2, bias=True)")
REPO = Path(__file__).parent.parent
LINT = [sys.executable, "-m", "fastinit_lint"]
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to chown files to another user")


def _errors(result):
    return [line for line in result.stderr.splitlines() if ": error: " in line]


def _temps(directory: Path) -> list[str]:
    return [name for name in os.listdir(directory) if name.startswith(".fastinit-")]


@pytest.fixture
def outside(tmp_path_factory) -> Path:
    """A file outside the project, holding a finding and a secret: a symlink in the checkout points at it."""
    victim = tmp_path_factory.mktemp("outside") / "victim.py"
    victim.write_text(GOOD.replace("\n", "  # SECRET-TOKEN\n"))
    return victim


# 1. Symlinks out of the project are neither read nor written, and are reported once.

def test_fix_does_not_write_through_a_file_symlink_out_of_the_project(cli, project, outside):
    before = outside.read_bytes()
    os.symlink(outside, project / "innocent.py")
    (project / "good.py").write_text(GOOD)
    result = cli("--fix", ".")
    assert outside.read_bytes() == before
    assert _errors(result) == ["innocent.py:1:1: error: symlink to a file outside the project; skipped"]
    assert (project / "good.py").read_text() == FIXED  # the rest of the run goes on
    assert result.exit_code == 2


@pytest.mark.parametrize("fix", [False, True])
def test_symlink_out_of_the_project_given_explicitly(cli, project, outside, fix):
    """As pre-commit passes it: the link named on the command line, alone."""
    before = outside.read_bytes()
    os.symlink(outside, project / "innocent.py")
    result = cli(*(["--fix"] if fix else []), "innocent.py")
    assert outside.read_bytes() == before
    assert "SECRET-TOKEN" not in result.stdout + result.stderr and "FI990" not in result.stdout
    assert _errors(result) == ["innocent.py:1:1: error: symlink to a file outside the project; skipped"]
    assert result.exit_code == 2


def test_no_excerpt_of_a_file_outside_the_project(cli, project, outside):
    os.symlink(outside, project / "innocent.py")
    os.symlink(outside.parent, project / "vendored")  # a directory link: not followed by the walk
    for args in ([], ["--output-format", "json"], ["--fix", "--diff"]):
        result = cli(*args, ".")
        assert "SECRET-TOKEN" not in result.stdout + result.stderr and "victim" not in result.stdout
        assert _errors(result) == ["innocent.py:1:1: error: symlink to a file outside the project; skipped"]


def test_directory_symlink_out_of_the_project_given_explicitly(cli, project, outside):
    before = outside.read_bytes()
    os.symlink(outside.parent, project / "vendored")
    result = cli("--fix", "vendored")
    assert outside.read_bytes() == before
    assert _errors(result) == ["vendored:1:1: error: symlink to a directory outside the project; skipped"]


def test_file_given_through_a_directory_symlink_out_of_the_project(cli, project, outside):
    """pre-commit names `vendored/victim.py`; the directory link resolves outside, so does the file."""
    before = outside.read_bytes()
    os.symlink(outside.parent, project / "vendored")
    result = cli("--fix", "vendored/victim.py")
    assert outside.read_bytes() == before
    assert _errors(result) == ["vendored/victim.py:1:1: error: symlink to a file outside the project; skipped"]


def test_symlinks_inside_the_project_still_work(cli, project):
    (project / "pkg").mkdir()
    (project / "pkg" / "real.py").write_text(GOOD)
    os.symlink("pkg/real.py", project / "alias.py")
    result = cli("--fix", "alias.py")
    assert result.exit_code == 0 and not _errors(result)
    assert (project / "pkg" / "real.py").read_text() == FIXED and os.path.islink(project / "alias.py")


def test_ci_autofix_recipe_leaves_files_outside_the_checkout_alone(tmp_path):
    trainer = 'import lightning as L\ntrainer = L.Trainer(precision="bf16")\n'
    victim = tmp_path / "victim.py"
    victim.write_text(trainer)
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    (checkout / "pyproject.toml").write_text("[tool.fastinit-lint]\n")
    (checkout / "train.py").write_text(trainer)
    os.symlink("../victim.py", checkout / "innocent.py")
    for args in (["init", "-q"], ["add", "-A"], ["-c", "user.email=t@e", "-c", "user.name=t", "commit", "-qm", "x"]):
        subprocess.run(["git", *args], cwd=checkout, check=True, capture_output=True)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(["bash", str(REPO / "examples" / "ci" / "autofix.sh"), "."], cwd=checkout,
                          capture_output=True, text=True, env=env, timeout=300)
    assert victim.read_text() == trainer
    assert "innocent.py:1:1: error: symlink to a file outside the project; skipped" in done.stderr
    assert '"bf16-mixed"' in (checkout / "train.py").read_text() and done.returncode == 2

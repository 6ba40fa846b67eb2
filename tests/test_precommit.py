"""The published hooks, run by the real pre-commit in a throwaway repository (try-repo)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).parent.parent
EXAMPLES = REPO / "examples"

pytestmark = pytest.mark.skipif(
    shutil.which("pre-commit") is None or shutil.which("git") is None, reason="pre-commit and git are needed"
)


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args], cwd=cwd, check=True, capture_output=True
    )


@pytest.fixture(scope="module")
def user_repo(tmp_path_factory):
    root = tmp_path_factory.mktemp("user")
    shutil.copytree(EXAMPLES, root, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".fastinit_cache", "__pycache__"))
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "init")
    return root


def _try(user_repo: Path, hook: str, *files: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PRE_COMMIT_HOME": str(user_repo.parent / "pre-commit-home")}
    return subprocess.run(
        ["pre-commit", "try-repo", str(REPO), hook, "--files", *files],
        cwd=user_repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_check_hook_sees_project_facts_from_one_changed_file(user_repo):
    done = _try(user_repo, "fastinit-lint", "src/mylm/model.py")
    assert done.returncode == 1, done.stdout + done.stderr
    # The strategy lives in train.py / config.yaml, which pre-commit did not pass: FI001 still fires.
    assert "src/mylm/model.py:15:9: FI001" in done.stdout
    assert "FI005" in done.stdout and "train.py:" not in done.stdout.split("FI001", 1)[0]


def test_fix_hook_rewrites_and_fails(user_repo):
    before = (user_repo / "src/mylm/model.py").read_text()
    done = _try(user_repo, "fastinit-lint-fix", "src/mylm/model.py")
    after = (user_repo / "src/mylm/model.py").read_text()
    assert done.returncode == 1 and after != before
    assert "def configure_model(self):\n        if self.embed is not None:" in after
    _git(user_repo, "checkout", "--", ".")


def test_no_files_is_fine(user_repo):
    done = _try(user_repo, "fastinit-lint", "notes.txt")
    assert done.returncode == 0, done.stdout + done.stderr

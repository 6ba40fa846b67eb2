"""The documented CI recipe (examples/ci) runs as written: fix, annotate, show the diff, fail on change."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).parent.parent
CI = REPO / "examples" / "ci"


def _git(cwd, *args):
    subprocess.run(
        ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args], cwd=cwd, check=True, capture_output=True
    )


def test_autofix_script(tmp_path):
    shutil.copytree(
        REPO / "examples",
        tmp_path,
        dirs_exist_ok=True,
        ignore=shutil.ignore_patterns(".fastinit_cache", "__pycache__", "ci"),
    )
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-qm", "init")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(
        ["bash", str(CI / "autofix.sh"), "."], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 1
    assert "::error title=fastinit-lint (FI004),file=train.py" in done.stdout
    assert "fastinit-lint changed these files" in done.stdout and "+    def configure_model(self):" in done.stdout
    again = subprocess.run(["bash", str(CI / "autofix.sh"), "."], cwd=tmp_path, capture_output=True, text=True, env=env)
    assert again.returncode == 1 and "::error" in again.stdout  # unfixable findings still fail the job
    sarif = subprocess.run(
        [sys.executable, "-m", "fastinit_lint", "--exit-zero", "--output-format", "sarif", "."],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert sarif.returncode == 0 and json.loads(sarif.stdout)["runs"][0]["results"]
    assert json.loads(sarif.stdout)["runs"][0]["columnKind"] == "unicodeCodePoints"


def test_workflow_uses_the_script_and_uploads_sarif():
    workflow = yaml.safe_load((CI / "github-workflow.yml").read_text())
    steps = workflow["jobs"]["fastinit-lint"]["steps"]
    runs = " ".join(step.get("run", "") for step in steps)
    assert "examples/ci/autofix.sh" in runs and "--output-format sarif" in runs
    assert any(step.get("uses", "").startswith("github/codeql-action/upload-sarif") for step in steps)

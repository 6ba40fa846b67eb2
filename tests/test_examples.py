"""The README's first command: `fastinit-lint examples/` shows every rule; fixing it is safe to repeat."""

from __future__ import annotations

import ast
import json
import shutil
from pathlib import Path

from conftest import run_installed

from fastinit_lint.engine.registry import Registry

EXAMPLES = Path(__file__).parent.parent / "examples"


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "examples"
    shutil.copytree(EXAMPLES, target, ignore=shutil.ignore_patterns(".fastinit_cache", "__pycache__"))
    return target


def test_examples_show_every_rule(tmp_path):
    root = _copy(tmp_path)
    done = run_installed("--no-cache", "--output-format", "json", ".", cwd=root)
    assert done.returncode == 1, done.stderr
    codes = {f["code"] for f in json.loads(done.stdout)}
    expected = {rule.code for rule in Registry.default().all()} - {"FI900"}
    assert codes == expected


def test_fixing_examples_reparses_and_is_idempotent(tmp_path):
    root = _copy(tmp_path)
    first = run_installed("--no-cache", "--fix", "--unsafe-fixes", ".", cwd=root)
    assert first.returncode == 1 and "error:" not in first.stderr  # unfixable findings remain, nothing broke
    snapshot = {p: p.read_text() for p in root.rglob("*.py")}
    for text in snapshot.values():
        ast.parse(text)
    second = run_installed("--no-cache", "--fix", "--unsafe-fixes", ".", cwd=root)
    assert {p: p.read_text() for p in root.rglob("*.py")} == snapshot
    assert second.returncode == 1
    remaining = {
        f["code"] for f in json.loads(run_installed("--no-cache", "--output-format", "json", ".", cwd=root).stdout)
    }
    assert remaining <= {"FI002", "FI004", "FI008", "FI009", "FI010", "FI011", "FI013", "FI015"}

"""scripts/new_rule.py writes a rule that the registry finds, the harness passes and the docs include."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
_CHECK = """
from fastinit_lint.engine.registry import Registry
from fastinit_lint.engine.testing import check_example, examples
from fastinit_lint.output.docs import pages

registry = Registry.default()
rule = registry.lookup("FI099")
assert rule is not None and rule.name == "example-check", rule
cases = [case for case in examples([rule])]
assert len(cases) == 2, cases
for _, rule, example in cases:
    check_example(rule, example)
on_disk = {p: open(os.path.join("docs", "rules", p)).read() for p in os.listdir(os.path.join("docs", "rules"))}
assert on_disk == pages(registry), "docs not regenerated"
for section in ("## What it flags", "## Why it matters", "## Example", "## Fix", "## Options", "## References"):
    assert section in rule.docs(), section
print("ok")
"""


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    for part in ("fastinit_lint", "fastinit_rules", "docs", "scripts"):
        shutil.copytree(REPO / part, root / part, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def _script(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(root / "scripts" / "new_rule.py"), "--root", str(root), *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_new_rule_passes_the_harness_and_is_documented(tmp_path):
    root = _copy(tmp_path)
    made = _script(root, "--code", "FI099", "--name", "example-check")
    assert made.returncode == 0, made.stderr
    assert (root / "fastinit_rules" / "example_check.py").is_file() and (root / "docs" / "rules" / "FI099.md").is_file()
    checked = subprocess.run(
        [sys.executable, "-c", "import os\n" + _CHECK],
        cwd=root,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(root)},
        timeout=300,
    )
    assert checked.stdout.strip() == "ok", checked.stdout + checked.stderr


def test_taken_or_malformed_codes_and_names_are_refused(tmp_path):
    root = _copy(tmp_path)
    for args in (
        ("--code", "FI001", "--name", "fresh-name"),
        ("--code", "FI099", "--name", "large-layer-in-init"),
        ("--code", "FI900", "--name", "fresh-name"),
        ("--code", "F1", "--name", "fresh-name"),
        ("--code", "FI099", "--name", "Not_Kebab"),
    ):
        refused = _script(root, *args)
        assert refused.returncode == 2, (args, refused.stdout)
    assert not list((root / "fastinit_rules").glob("fresh_name.py"))

"""The committed rule pages are exactly what the rule docstrings generate."""

from pathlib import Path

from fastinit_lint.output.docs import pages
from fastinit_lint.engine.registry import Registry

DOCS = Path(__file__).parent.parent / "docs" / "rules"


def test_rule_pages_up_to_date():
    expected = pages(Registry.default())
    on_disk = {p.name: p.read_text() for p in DOCS.glob("*.md")}
    assert on_disk == expected, "run `python -m fastinit_lint.output.docs` and commit docs/rules"


def test_every_fixable_rule_documents_fix_safety():
    for rule in Registry.default().all():
        if rule.fixable != "never":
            assert "## Fix safety" in rule.docs(), rule.code

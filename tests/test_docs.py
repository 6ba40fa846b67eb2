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


def test_options_sections_name_real_config_keys():
    """A rule's `## Options` names keys `[tool.fastinit-lint]` accepts, and every setting its module reads."""
    import inspect
    import re

    from fastinit_lint.workspace.config import parse_table

    for rule in Registry.default().all():
        docs = rule.docs()
        options = docs.split("## Options", 1)[1].split("\n## ", 1)[0] if "## Options" in docs else ""
        for key in re.findall(r"`([a-z]+(?:-[a-z]+)+|strategy)`", options):
            parse_table({key: "fsdp" if key == "strategy" else "large" if key == "unknown-size" else 1}, rule.code)
        read = {name.replace("_", "-") for name in re.findall(r"settings\.(\w+)", inspect.getsource(inspect.getmodule(rule)))}
        assert read <= set(re.findall(r"`([a-z-]+)`", options)), f"{rule.code} reads {read} but documents {options!r}"

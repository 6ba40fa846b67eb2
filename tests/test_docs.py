"""The committed rule pages are exactly what the rule docstrings generate."""

import re
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
            value = {"strategy": "fsdp", "unknown-size": "large", "lightning-version": "2.1"}.get(key, 1)
            parse_table({key: value}, rule.code)
        read = {
            name.replace("_", "-")
            for name in re.findall(r"settings\.(\w+)", inspect.getsource(inspect.getmodule(rule)))
        }
        assert read <= set(re.findall(r"`([a-z-]+)`", options)), f"{rule.code} reads {read} but documents {options!r}"


def test_readme_rule_table_is_generated_from_the_rules():
    from fastinit_lint.output.docs import TABLE_START, with_rule_table

    readme = (DOCS.parent.parent / "README.md").read_text()
    assert TABLE_START in readme
    assert readme == with_rule_table(readme, Registry.default(), "docs/rules/"), (
        "run `python -m fastinit_lint.output.docs` and commit README.md"
    )


def test_the_fix_safety_column_is_each_rules_own_first_sentence():
    from fastinit_lint.output.docs import fix_safety

    for rule in Registry.default().all():
        said = fix_safety(rule)
        assert (
            said == "none" if rule.fixable == "never" else said.startswith(("Safe", "Unsafe")) and said.endswith(".")
        ), f"{rule.code}: {said!r}"


_LINK = re.compile(r"\]\((https://[^)\s]+)\)")
_LIGHTNING_SOURCE = re.compile(
    r"https://github\.com/Lightning-AI/pytorch-lightning/blob/[\w.]+/src/lightning/([\w/]+\.py)(?:#L(\d+))?"
)


def test_every_rule_cites_references_and_lightning_source_links_point_at_definitions():
    """Each rule's `## References` has links; one into Lightning's sources names a file of the installed Lightning
    and, with a line, a `def` or `class` there (the pinned version matches the tag the link names)."""
    import lightning

    installed = Path(lightning.__file__).parent
    for rule in Registry.default().all():
        references = rule.docs().partition("## References\n")[2].split("\n## ", 1)[0]
        links = _LINK.findall(references)
        assert links, f"{rule.code} has no links under ## References"
        for link in links:
            source = _LIGHTNING_SOURCE.fullmatch(link)
            if source is None:
                continue
            path, row = installed / source[1], source[2]
            assert path.is_file(), f"{rule.code}: {link} names no file of the installed Lightning"
            if row:
                line = path.read_text().splitlines()[int(row) - 1].strip()
                assert line.startswith(("def ", "class ")), f"{rule.code}: {link} points at {line!r}"

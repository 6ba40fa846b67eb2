"""Every rule's own VALID/INVALID examples, its docs' code blocks and its fixture projects
(tests/fixtures/rules/<CODE>/<case>/), run through the real engine (see fastinit_lint.engine.testing)."""

from pathlib import Path

import pytest
from engine_rules import TEST_RULES

from fastinit_lint.engine.registry import Registry
from fastinit_lint.engine.testing import check_example, check_fixture, doc_examples, examples, fixture_cases

FIXTURES = Path(__file__).parent / "fixtures" / "rules"
RULES = Registry.default(TEST_RULES).all()
CASES = list(examples(RULES))
DOCS = list(doc_examples(Registry.default().all()))
PROJECTS = list(fixture_cases(RULES, FIXTURES))


@pytest.mark.parametrize(("rule", "example"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_rule_example(rule, example):
    check_example(rule, example)


@pytest.mark.parametrize(("rule", "example"), [c[1:] for c in DOCS], ids=[c[0] for c in DOCS])
def test_rule_docs_example(rule, example):
    check_example(rule, example)


@pytest.mark.parametrize(("rule", "case"), [c[1:] for c in PROJECTS], ids=[c[0] for c in PROJECTS])
def test_rule_fixture(rule, case):
    check_fixture(rule, case)


def test_every_fixture_directory_belongs_to_a_rule():
    codes = {rule.code for rule in RULES}
    assert {p.name for p in FIXTURES.iterdir() if p.is_dir()} <= codes


def test_every_real_rule_has_examples_and_docs():
    for rule in Registry.default().all():
        docs = rule.docs()
        assert rule.code.startswith("FI") and len(rule.code) == 5, rule
        assert rule.name == rule.name.lower() and " " not in rule.name, rule
        for section in ("## What it flags", "## Why it matters", "## Example"):
            assert section in docs, f"{rule.code} docs lack {section}"
        if rule.code != "FI900":
            assert rule.VALID and rule.INVALID, f"{rule.code} has no examples"
            assert any(case[0].startswith(f"{rule.code}-docs-example") for case in DOCS), (
                f"{rule.code} docs show no Example code"
            )

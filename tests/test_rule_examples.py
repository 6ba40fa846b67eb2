"""Every rule's own VALID/INVALID examples, run through the real engine (see fastinit_lint.engine.testing)."""

import pytest
from engine_rules import TEST_RULES

from fastinit_lint.engine.registry import Registry
from fastinit_lint.engine.testing import check_example, examples

CASES = list(examples(Registry.default(TEST_RULES).all()))


@pytest.mark.parametrize(("rule", "example"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_rule_example(rule, example):
    check_example(rule, example)


def test_every_real_rule_has_examples_and_docs():
    for rule in Registry.default().all():
        docs = rule.docs()
        assert rule.code.startswith("FI") and len(rule.code) == 5, rule
        assert rule.name == rule.name.lower() and " " not in rule.name, rule
        for section in ("## What it flags", "## Why it matters", "## Example"):
            assert section in docs, f"{rule.code} docs lack {section}"
        if rule.code != "FI900":
            assert rule.VALID and rule.INVALID, f"{rule.code} has no examples"

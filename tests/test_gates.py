"""Gates before LibCST: a rule about runners parses a file only when one of the file's runners is of a kind,
strategy and precision the rule can report on (findings are those of an open gate: the rule examples and
the real-repository runs show it)."""

from __future__ import annotations

import ast

import pytest

from fastinit_lint.facts import python_facts
from fastinit_lint.registry import Registry

RULES = {rule.code: rule for rule in Registry.default().all()}


def _gate(code: str, runner: str) -> bool:
    text = f"import lightning as L\n\ndef main(args):\n    runner = {runner}\n"
    facts = python_facts("train.py", "train.py", ast.parse(text), text)
    return RULES[code].relevant(facts, None, None)


@pytest.mark.parametrize(("runner", "wanted_by"), [
    ('L.Trainer(precision="bf16-mixed")', {"FI006", "FI009"}),
    ('L.Trainer(precision="bf16-true")', {"FI003", "FI006", "FI009"}),
    ('L.Trainer(strategy="fsdp")', {"FI004", "FI009", "FI010"}),
    ('L.Trainer(strategy="deepspeed_stage_3")', {"FI004", "FI006", "FI009", "FI014"}),
    ('L.Fabric(strategy="fsdp")', {"FI003", "FI009", "FI010", "FI011"}),
    ('L.Fabric(precision="16-true")', {"FI003", "FI006", "FI009"}),
    ("L.Trainer(strategy=args.strategy)", {"FI009"}),  # not a literal: nothing these rules can report
])
def test_runner_rules_parse_only_files_with_a_runner_they_can_report_on(runner, wanted_by):
    codes = ("FI003", "FI004", "FI006", "FI009", "FI010", "FI011", "FI014")
    assert {code for code in codes if _gate(code, runner)} == wanted_by

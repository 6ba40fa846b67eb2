"""The example harness must itself be able to fail, or the rule tests prove nothing."""

import pytest
from engine_rules import HalfCall, LinearWithoutBias

from fastinit_lint.diagnostics import Location, Note
from fastinit_lint.engine.rule import Invalid, Rule, Valid
from fastinit_lint.engine.testing import check_invalid, check_valid

CODE = "import torch.nn as nn\nnn.Linear(1, 2)\n"


def test_wrong_row_fails():
    with pytest.raises(AssertionError, match="expected findings on rows"):
        check_invalid(LinearWithoutBias, Invalid(CODE, rows=(1,), fixed=CODE.replace("2)", "2, bias=True)")))


def test_unexpected_fix_fails():
    with pytest.raises(AssertionError, match="offered a fix the example does not expect"):
        check_invalid(LinearWithoutBias, Invalid(CODE, rows=(2,)))


def test_wrong_fix_text_fails():
    with pytest.raises(AssertionError, match="fixed code differs"):
        check_invalid(LinearWithoutBias, Invalid(CODE, rows=(2,), fixed=CODE))


def test_wrong_safety_fails():
    with pytest.raises(AssertionError, match="applicability"):
        check_invalid(HalfCall, Invalid("y = x.half()\n", rows=(1,), fixed="y = x.to(torch.float16)\n"))


def test_valid_that_fires_fails():
    with pytest.raises(AssertionError, match="fired on VALID"):
        check_valid(LinearWithoutBias, Valid(CODE))


class CitesInText(Rule):
    """Says where its evidence is in the message, or in a note pointing past the end of the file (test rule)."""

    code = "FI994"
    name = "test-cites-in-text"
    markers = ("evidence",)

    def visit_Name(self, node) -> None:
        if node.value == "evidence_in_text":
            self.report(node, "strategy 'fsdp' at train.py:3")
        elif node.value == "evidence_nowhere":
            self.report(node, "with strategy 'fsdp'", notes=(Note("strategy 'fsdp'", "train.py", Location(30, 1)),))


def test_a_message_saying_where_its_evidence_is_fails():
    with pytest.raises(AssertionError, match="the message cites train.py:3; give that fact a located note"):
        check_invalid(CitesInText, Invalid("evidence_in_text\n", rows=(1,)))


def test_a_note_pointing_at_no_line_fails():
    with pytest.raises(AssertionError, match="points at no line of a project file"):
        check_invalid(CitesInText, Invalid("evidence_nowhere\n", rows=(1,), files={"train.py": "import lightning\n"}))

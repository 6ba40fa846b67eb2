"""The example harness must itself be able to fail, or the rule tests prove nothing."""

import pytest
from engine_rules import HalfCall, LinearWithoutBias

from fastinit_lint.engine.rule import Invalid, Valid
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

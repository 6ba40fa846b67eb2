"""The example harness must itself be able to fail, or the rule tests prove nothing."""

import pytest
from engine_rules import HalfCall, LinearWithoutBias

from fastinit_lint.diagnostics import Location, Note
from fastinit_lint.engine.rule import Invalid, Rule, Valid
from fastinit_lint.engine.testing import (
    UPDATE,
    check_fixture,
    check_flagged,
    check_invalid,
    check_valid,
    doc_examples,
    examples,
    fixture_cases,
)

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


def test_wrong_column_fails():
    with pytest.raises(AssertionError, match=r"expected findings at \(\(2, 2\),\), got \(\(2, 1\),\)"):
        check_invalid(LinearWithoutBias, Invalid(CODE, at=((2, 2),), fixed=CODE.replace("2)", "2, bias=True)")))


def test_an_invalid_example_says_where_it_is_flagged():
    with pytest.raises(ValueError, match="`rows` or `at`"):
        Invalid(CODE)


def test_named_cases_are_their_test_ids_and_unique():
    class Named(LinearWithoutBias):
        VALID = [Valid("x = 1\n", name="no-linear"), Valid("y = 2\n")]
        INVALID = [Invalid(CODE, at=((2, 1),), name="module-alias")]

    assert [case_id for case_id, _, _ in examples([Named])] == [
        "FI990-no-linear",
        "FI990-valid-1",
        "FI990-module-alias",
    ]
    Named.INVALID = [Invalid(CODE, rows=(2,), name="no-linear")]
    with pytest.raises(ValueError, match="names two examples 'no-linear'"):
        list(examples([Named]))


def test_a_docs_example_the_rule_does_not_flag_fails():
    class Documented(LinearWithoutBias):
        """`torch.nn.Linear` without `bias=` (test rule).

        ## Example
        ```python
        import torch.nn as nn
        nn.Linear(1, 2, bias=False)
        ```

        Use instead:
        ```python
        import torch.nn as nn
        nn.Linear(1, 2)
        ```
        """

    (_, _, shown), (_, _, instead) = doc_examples([Documented])
    with pytest.raises(AssertionError, match="does not flag the code its docs show as an Example"):
        check_flagged(Documented, shown)
    with pytest.raises(AssertionError, match="fired on VALID"):
        check_valid(Documented, instead)


def test_a_fixture_case_is_checked_against_its_expected_files_and_can_rewrite_them(tmp_path, monkeypatch):
    case = tmp_path / "FI990" / "two-files"
    (case / "pkg").mkdir(parents=True)
    (case / "pkg" / "a.py").write_text(CODE)
    (case / "b.py").write_text("x = 1\n")
    [(case_id, rule, found)] = fixture_cases([LinearWithoutBias], tmp_path)
    assert case_id == "FI990-two-files" and found == case
    with pytest.raises(AssertionError, match="findings differ from expected.txt"):
        check_fixture(LinearWithoutBias, case)  # no expected.txt: the case would have to be clean
    monkeypatch.setenv(UPDATE, "1")
    check_fixture(LinearWithoutBias, case)
    assert (case / "expected.txt").read_text() == (
        "pkg/a.py:2:1: FI990 `nn.Linear` without `bias=`\n  fix (safe): Add `bias=True`\n"
    )
    assert (case / "pkg" / "a.py.fixed").read_text() == CODE.replace("2)", "2, bias=True)")
    monkeypatch.delenv(UPDATE)
    check_fixture(LinearWithoutBias, case)
    (case / "pkg" / "a.py.fixed").write_text(CODE)
    with pytest.raises(AssertionError, match="fixed files"):
        check_fixture(LinearWithoutBias, case)

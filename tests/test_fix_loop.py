"""The fix loop never writes a fix that its own rule flags again, and sees fixed text as a fresh run would."""

from engine_rules import Refires

import pytest

from fastinit_lint.engine.rule import Invalid
from fastinit_lint.engine.testing import check_invalid


def test_a_fix_flagged_again_by_its_rule_is_an_internal_error_and_nothing_is_written(cli, project):
    source = "x = refire_here()\n"
    (project / "a.py").write_text(source)
    result = cli("check", "--fix", "--no-cache", "--select", "FI996", "a.py")
    assert (project / "a.py").read_text() == source
    assert "internal error: the fix for FI996 is flagged again by its rule on its own output" in result.output
    assert "file left unchanged" in result.output
    assert result.exit_code == 2  # a file error


def test_the_harness_fails_a_rule_whose_fix_refires():
    with pytest.raises(AssertionError, match="flagged again"):
        check_invalid(Refires, Invalid("x = refire_here()\n", rows=(1,), fixed="x = refire_here(refire_here())\n"))


FI002_CHECKPOINT = """\
import pytorch_lightning as pl
trainer = pl.Trainer()
with trainer.init_module(empty_init=True):
    model = Net.load_from_checkpoint("pre.ckpt", strict=False, lr=1e-3)
"""


def test_fi002_fix_that_adds_its_import_is_applied_once(cli, project):
    """The pass after the fix resolved names with the file's old imports and rewrote its own output 9 more times."""
    (project / "a.py").write_text(FI002_CHECKPOINT)
    result = cli("check", "--fix", "--unsafe-fixes", "--no-cache", "--select", "FI002", "a.py")
    fixed = (project / "a.py").read_text()
    assert (
        'fastinit_runtime.lightning.load_from_checkpoint(\n        Net, "pre.ckpt", strict=False, lr=1e-3\n    )'
        in fixed
    ), fixed
    assert "Found 1 error (1 fixed, 0 remaining)" in result.output, result.output

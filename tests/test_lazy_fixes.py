"""Fixes that rewrite a whole class are built only when applied or shown (JSON, SARIF, --diff, --fix): human
output never shows them, and a class rewrite costs more than the rest of checking it."""

from __future__ import annotations

import ast
import textwrap

import libcst as cst
import pytest

from fastinit_lint.engine.checker import _run
from fastinit_lint.engine.rule import Context
from fastinit_lint.model.facts import python_facts
from fastinit_lint.model.index import ProjectIndex
from fastinit_lint.workspace.config import load_settings
from fastinit_rules.deprecated_configure_sharded_model import DeprecatedConfigureShardedModel
from fastinit_rules.large_layer_in_init import LargeLayerInInit

CASES = {
    "FI001": (
        LargeLayerInInit,
        """
        import lightning as L
        from torch import nn

        class GPT(L.LightningModule):
            def __init__(self):
                super().__init__()
                self.embed = nn.Embedding(50_000, 4096)

        trainer = L.Trainer(strategy="fsdp")
        trainer.fit(GPT())
    """,
    ),
    "FI008": (
        DeprecatedConfigureShardedModel,
        """
        import lightning as L

        class GPT(L.LightningModule):
            def configure_sharded_model(self):
                self.layer = None
    """,
    ),
}


@pytest.mark.parametrize("code", sorted(CASES))
def test_a_class_rewrite_is_built_when_asked(code, tmp_path):
    rule, source = CASES[code]
    text = textwrap.dedent(source)
    facts = python_facts("model.py", str(tmp_path / "model.py"), ast.parse(text), text)
    context = Context("model.py", cst.parse_module(text), facts, ProjectIndex([facts]), load_settings(str(tmp_path)))
    _run([rule], context)
    plans = [report.fix for report in context.reports]
    assert plans and all(callable(plan._changes) for plan in plans)  # a builder, not yet the changes
    assert all(plan.changes for plan in plans)

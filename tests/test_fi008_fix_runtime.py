"""FI008's fix in a hierarchy of `configure_sharded_model` overrides, run with a real Trainer on CPU: renaming
one class alone makes Lightning raise (the class has both hooks), so the fix is unsafe there; renaming every
class, `super().configure_sharded_model()` calls included, trains as before."""

from __future__ import annotations

import importlib
import sys
import warnings

from conftest import QUIET_CPU_TRAINER
import pytest

from fastinit_lint.diagnostics import UNSAFE
from fastinit_lint.engine.testing import lint_snippet
from fastinit_rules.deprecated_configure_sharded_model import DeprecatedConfigureShardedModel

BASE = """
import lightning as L
import torch
from torch import nn


class Base(L.LightningModule):
    def __init__(self):
        super().__init__()
        self.encoder = None

    def configure_sharded_model(self):
        self.encoder = nn.Linear(4, 4)

    def training_step(self, batch, _):
        x, y = batch
        return nn.functional.mse_loss(self.head(self.encoder(x)), y)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)
"""
CHILD = """
from torch import nn
from base import Base


class Child(Base):
    def configure_sharded_model(self):
        super().configure_sharded_model()
        self.head = nn.Linear(4, 1)
"""


def _fixed(snippet: str, code: str, other: str, other_code: str) -> str:
    found = lint_snippet(DeprecatedConfigureShardedModel, code, {other: other_code}, snippet=snippet).findings
    assert len(found) == 1 and found[0].fix.applicability == UNSAFE
    return lint_snippet(
        DeprecatedConfigureShardedModel, code, {other: other_code}, snippet=snippet, fix=True, unsafe=True
    ).fixed_source


def _fit(tmp_path, name: str, base: str, child: str):
    import lightning as L
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    folder = tmp_path / name
    folder.mkdir()
    (folder / "base.py").write_text(base)
    (folder / "child.py").write_text(child)
    sys.path.insert(0, str(folder))
    for module in ("base", "child"):
        sys.modules.pop(module, None)
    try:
        model = importlib.import_module("child").Child()
    finally:
        sys.path.remove(str(folder))
    data = DataLoader(TensorDataset(torch.randn(16, 4), torch.randn(16, 1)), batch_size=8)
    trainer = L.Trainer(max_epochs=1, **QUIET_CPU_TRAINER)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trainer.fit(model, data)
    return model, [str(w.message) for w in caught if "configure_sharded_model" in str(w.message)]


def test_renaming_the_whole_hierarchy_trains_as_before_and_one_class_alone_raises(tmp_path):
    base_fixed = _fixed("base.py", BASE, "child.py", CHILD)
    child_fixed = _fixed("child.py", CHILD, "base.py", BASE)
    assert "super().configure_model()" in child_fixed

    model, deprecated = _fit(tmp_path, "original", BASE, CHILD)
    assert model.encoder is not None and model.head is not None and deprecated

    model, deprecated = _fit(tmp_path, "fixed", base_fixed, child_fixed)
    assert model.encoder is not None and model.head is not None and not deprecated

    with pytest.raises(RuntimeError, match="Both `Child.configure_model`, and `Child.configure_sharded_model`"):
        _fit(tmp_path, "child_only", BASE, child_fixed)

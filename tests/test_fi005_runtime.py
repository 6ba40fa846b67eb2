"""FI005 on builds the hook makes inside a block or through a helper method, run with a real Trainer on CPU:
the original loses its trained weights on `validate()` after `fit()`, the fixed one keeps them."""

from __future__ import annotations

import importlib.util
import sys
import warnings

from conftest import QUIET_CPU_TRAINER
import torch

from fastinit_lint.engine.testing import lint_snippet
from fastinit_rules.configure_model_not_idempotent import ConfigureModelNotIdempotent

SOURCE = """
import lightning as L
import torch
from torch import nn


class Net(L.LightningModule):
    def __init__(self):
        super().__init__()
        self.example = None

    def configure_model(self):
        try:
            self.layer = self._make()
        except RuntimeError:
            self.layer = nn.Linear(4, 1)

    def _make(self):
        return nn.Linear(4, 1)

    def training_step(self, batch, _):
        x, y = batch
        return nn.functional.mse_loss(self.layer(x), y)

    def validation_step(self, batch, _):
        x, y = batch
        self.log("val", nn.functional.mse_loss(self.layer(x), y))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)
"""


def _weights_after_fit_then_validate(tmp_path, name: str, source: str) -> tuple[torch.Tensor, torch.Tensor]:
    import lightning as L
    from torch.utils.data import DataLoader, TensorDataset

    path = tmp_path / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    torch.manual_seed(0)
    data = DataLoader(TensorDataset(torch.randn(32, 4), torch.randn(32, 1)), batch_size=8)
    model = module.Net()
    trainer = L.Trainer(max_epochs=2, **QUIET_CPU_TRAINER)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer.fit(model, data, data)
        trained = model.layer.weight.detach().clone()
        trainer.validate(model, data, verbose=False)
    return trained, model.layer.weight.detach().clone()


def test_fix_keeps_trained_weights_across_validate(tmp_path):
    found = lint_snippet(ConfigureModelNotIdempotent, SOURCE).findings
    assert len(found) == 1 and "builds `self.layer` through `self._make()`" in found[0].message
    fixed = lint_snippet(ConfigureModelNotIdempotent, SOURCE, fix=True).fixed_source
    assert "if self.layer is not None:" in fixed
    sys.modules.pop("original", None)
    trained, after = _weights_after_fit_then_validate(tmp_path, "original", SOURCE)
    assert not torch.equal(trained, after)  # the bug: validate() rebuilt the layer
    trained, after = _weights_after_fit_then_validate(tmp_path, "fixed", fixed)
    assert torch.equal(trained, after)

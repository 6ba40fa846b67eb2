"""fastinit_runtime.lightning with real Trainers on CPU."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import warnings

from conftest import QUIET_CPU_TRAINER
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import lightning as L
from fastinit_runtime import verify_initialized
from fastinit_runtime.lightning import configured_once, load_from_checkpoint, strategy_info

warnings.filterwarnings("ignore")


class Net(L.LightningModule):
    def __init__(self, extra_head: bool = False):
        super().__init__()
        self.save_hyperparameters()
        self.backbone = None

    @configured_once
    def configure_model(self):
        self.backbone = nn.Linear(8, 8)
        self.head = nn.Linear(8, 2)
        if self.hparams.extra_head:
            self.extra = nn.Linear(8, 3)

    def forward(self, x):
        return self.head(torch.relu(self.backbone(x)))

    def training_step(self, batch, _):
        x, y = batch
        return nn.functional.cross_entropy(self(x), y)

    validation_step = test_step = lambda self, batch, _: self.log("loss", self.training_step(batch, _))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.5)


def _trainer(**kw):
    return L.Trainer(**{**QUIET_CPU_TRAINER, "max_steps": 3, **kw})


def _data():
    torch.manual_seed(0)
    return DataLoader(TensorDataset(torch.randn(16, 8), torch.randint(0, 2, (16,))), batch_size=4)


def test_configured_once_keeps_weights_across_fit_validate_test():
    model, trainer = Net(), _trainer()
    trainer.fit(model, _data())
    trained = {k: v.clone() for k, v in model.state_dict().items()}
    params = [id(p) for p in model.parameters()]
    trainer.validate(model, _data(), verbose=False)
    trainer.test(model, _data(), verbose=False)
    assert [id(p) for p in model.parameters()] == params
    assert all(torch.equal(trained[k], v) for k, v in model.state_dict().items())


def test_load_from_checkpoint_strict_and_partial(tmp_path):
    model, trainer = Net(), _trainer(enable_checkpointing=False)
    trainer.fit(model, _data())
    path = tmp_path / "m.ckpt"
    trainer.save_checkpoint(path)
    loaded = load_from_checkpoint(Net, path, trainer=_trainer(precision="bf16-true"))
    assert loaded.backbone.weight.dtype == torch.bfloat16
    assert torch.equal(loaded.backbone.weight, model.backbone.weight.to(torch.bfloat16))
    partial = load_from_checkpoint(Net, path, strict=False, extra_head=True)
    assert not verify_initialized(partial)
    assert torch.equal(partial.head.weight, model.head.weight)
    assert partial.extra.weight.abs().max() <= 1 / 8**0.5


def test_strategy_info_across_namespaces():
    import lightning_fabric
    import pytorch_lightning
    from lightning.pytorch.strategies import FSDPStrategy, ModelParallelStrategy

    assert strategy_info(FSDPStrategy()).meta_init
    assert strategy_info(pytorch_lightning.strategies.FSDPStrategy()).sharded
    assert strategy_info(lightning_fabric.strategies.FSDPStrategy()).meta_init
    info = strategy_info(L.Trainer(accelerator="cpu", strategy=ModelParallelStrategy(), logger=False))
    assert info.sharded and info.meta_init
    info = strategy_info(L.Fabric(accelerator="cpu", devices=1, precision="bf16-true"))
    assert not info.sharded and info.dtype == torch.bfloat16


DDP_SCRIPT = textwrap.dedent("""
    import sys, warnings, torch
    warnings.filterwarnings("ignore")
    sys.path.insert(0, {tests!r})
    from test_runtime_lightning import Net, _data, _trainer
    model, trainer = Net(), _trainer(strategy="ddp", devices=2)
    trainer.fit(model, _data())
    before = model.backbone.weight.detach().clone()
    trainer.validate(model, _data(), verbose=False)
    assert torch.equal(before, model.backbone.weight)
    if trainer.global_rank == 0:
        print("OK world", trainer.world_size)
""")


def test_ddp_two_cpu_processes(tmp_path):
    script = tmp_path / "ddp.py"
    script.write_text(DDP_SCRIPT.format(tests=os.path.dirname(__file__)))
    env = {**os.environ, "PL_DISABLE_FORK": "1", "PYTHONWARNINGS": "ignore"}
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=240, env=env, cwd=tmp_path
    )
    if "gloo" in done.stderr and "not available" in done.stderr:
        pytest.skip("gloo backend unavailable here")
    assert "OK world 2" in done.stdout, done.stderr[-2000:]


class Mixer(L.LightningModule):
    """Layers in __init__, a non-persistent buffer filled by nn.init, an optional head, and an optional
    hyperparameter only `weights_only=False` can unpickle."""

    def __init__(self, extra_head: bool = False, loose: bool = False, tag=None):
        super().__init__()
        self.save_hyperparameters()
        self.strict_loading = not loose
        self.body = nn.Linear(8, 8)
        self.register_buffer("mix", torch.empty(64, 64), persistent=False)
        nn.init.normal_(self.mix)
        if extra_head:
            self.extra = nn.Linear(8, 3)


class Tag:
    """Not an allowed global for `torch.load(weights_only=True)`."""


def _mixer_checkpoint(tmp_path, **hparams):
    torch.manual_seed(0)
    trainer = _trainer()
    trainer.strategy.connect(Mixer(**hparams))
    path = tmp_path / "mixer.ckpt"
    trainer.save_checkpoint(path)
    return path, trainer.lightning_module


def test_helper_honours_strict_loading_and_recomputes_skipped_buffers(tmp_path):
    path, source = _mixer_checkpoint(tmp_path)
    # Lightning's default strict=None lets the module's strict_loading=False accept the missing head
    model = load_from_checkpoint(Mixer, path, extra_head=True, loose=True)
    assert torch.equal(model.body.weight, source.body.weight)
    assert model.extra.weight.abs().max() <= 1 / 8**0.5 and not verify_initialized(model)
    # the buffer's nn.init.normal_ was skipped by the empty init: replayed, not left as raw memory
    assert model.mix.std().item() == pytest.approx(1.0, rel=0.2)
    strict = load_from_checkpoint(Mixer, path)
    assert strict.mix.std().item() == pytest.approx(1.0, rel=0.2)
    with pytest.raises(RuntimeError, match="extra"):
        load_from_checkpoint(Mixer, path, extra_head=True)


def test_helper_passes_weights_only_on_the_partial_path(tmp_path):
    path, source = _mixer_checkpoint(tmp_path, tag=Tag())
    model = load_from_checkpoint(Mixer, path, strict=False, weights_only=False, extra_head=True, loose=True)
    assert isinstance(model.hparams.tag, Tag)
    assert torch.equal(model.body.weight, source.body.weight) and not verify_initialized(model)

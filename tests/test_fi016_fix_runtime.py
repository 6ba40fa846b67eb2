"""FI016's `load_from_checkpoint` fix, run on a real Lightning checkpoint: the fixed load builds the module in
the cast's dtype (no float32 copy) and ends with exactly the weights and dtypes the load-then-cast gave."""

from __future__ import annotations

import importlib.util
import os
import sys
import warnings

from conftest import QUIET_CPU_TRAINER
import torch
from click.testing import CliRunner

from fastinit_lint.cli import main

MODEL = """
import lightning as L
import torch
from torch import nn


class Net(L.LightningModule):
    def __init__(self, width: int = 64):
        super().__init__()
        self.save_hyperparameters()
        self.built_in = torch.get_default_dtype()  # float32 here means a float32 copy was made
        self.proj = nn.Linear(width, width)
        self.norm = nn.LayerNorm(width)

    def training_step(self, batch, batch_idx):
        return self.norm(self.proj(batch[0])).pow(2).mean()

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)
"""
SCRIPT = """import torch
from model import Net


def load(path):
    model = Net.load_from_checkpoint(path).to(torch.bfloat16)
    return model
"""


def _run(tmp_path, *args: str):
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        return CliRunner().invoke(main, list(args))
    finally:
        os.chdir(cwd)


def _load(script, name: str, checkpoint):
    spec = importlib.util.spec_from_file_location(name, script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.load(str(checkpoint))


def test_fixed_load_from_checkpoint_builds_in_the_cast_dtype(tmp_path):
    import lightning as L
    from torch.utils.data import DataLoader, TensorDataset

    # The project declares the runtime library: the fix importing it is safe.
    (tmp_path / "pyproject.toml").write_text(
        "[project]\nname = 'p'\ndependencies = ['fastinit-lint[runtime]']\n"
        "[tool.fastinit-lint]\ncreate-then-cast-threshold = 1000\n"
    )
    (tmp_path / "model.py").write_text(MODEL)
    script = tmp_path / "script.py"
    script.write_text(SCRIPT)
    (tmp_path / "original.py").write_text(SCRIPT)
    sys.path.insert(0, str(tmp_path))
    try:
        from model import Net

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            trainer = L.Trainer(max_steps=2, **QUIET_CPU_TRAINER)
            trainer.fit(Net(), DataLoader(TensorDataset(torch.randn(8, 64)), batch_size=4))
            checkpoint = tmp_path / "net.ckpt"
            trainer.save_checkpoint(checkpoint)

        before = _run(tmp_path, "--select", "FI016", "--output-format", "concise", "script.py")
        assert before.exit_code == 1 and "FI016" in before.stdout, before.output
        assert _run(tmp_path, "--select", "FI016", "--fix", "script.py").exit_code == 0
        assert "fastinit_runtime.init_module(dtype=torch.bfloat16)" in script.read_text()
        assert _run(tmp_path, "--select", "FI016", "script.py").exit_code == 0

        cast = _load(tmp_path / "original.py", "fi016_original", checkpoint)
        fixed = _load(script, "fi016_fixed", checkpoint)
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("model", None)
    assert cast.built_in == torch.float32 and fixed.built_in == torch.bfloat16
    expected = cast.state_dict()
    assert {k: (v.dtype, v.device) for k, v in fixed.state_dict().items()} == {
        k: (v.dtype, v.device) for k, v in expected.items()
    }
    assert all(torch.equal(v, expected[k]) for k, v in fixed.state_dict().items())
    assert torch.get_default_dtype() == torch.float32

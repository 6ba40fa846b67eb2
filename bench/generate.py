"""Generated trees for benchmarks. `generate`: realistic Lightning projects where every rule fires somewhere,
and most files are the ordinary model/data/util code that surrounds them in real repositories.
`generate_monorepo`: one Lightning monorepo with Hydra config groups and hundreds of YAML files.

Usage: python bench/generate.py OUTDIR [--projects 40] [--monorepo]
"""

from __future__ import annotations

import argparse
import os
import shutil

EXAMPLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples")
STRATEGIES = ["fsdp", "deepspeed_stage_2", "deepspeed_stage_3", "ddp", "auto"]

UTIL = '''"""Data and metric utilities ({i})."""

import math

import torch
from torch import nn
from torch.utils.data import Dataset


class Tokens{i}(Dataset):
    def __init__(self, n: int, length: int = 128):
        self.data = torch.randint(0, 50_000, (n, length))

    def __len__(self):
        return len(self.data)

    def __getitem__(self, idx):
        return self.data[idx, :-1], self.data[idx, 1:]


def cosine_schedule(step: int, total: int, warmup: int = 100) -> float:
    if step < warmup:
        return step / warmup
    return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))


class SwiGLU{i}(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.w1 = nn.Linear(dim, hidden, bias=False)
        self.w2 = nn.Linear(hidden, dim, bias=False)
        self.w3 = nn.Linear(dim, hidden, bias=False)

    def forward(self, x):
        return self.w2(nn.functional.silu(self.w1(x)) * self.w3(x))


def perplexity(losses: list[float]) -> float:
    return math.exp(sum(losses) / max(1, len(losses)))
'''


def generate(outdir: str, projects: int, utils: int = 40) -> int:
    count = 0
    for p in range(projects):
        root = os.path.join(outdir, f"project_{p:03}")
        shutil.copytree(EXAMPLES, root, ignore=shutil.ignore_patterns(".fastinit_cache", "__pycache__", "ci"))
        train = os.path.join(root, "train.py")
        with open(train) as handle:
            text = handle.read()
        with open(train, "w") as handle:
            handle.write(text.replace('strategy="fsdp"', f'strategy="{STRATEGIES[p % len(STRATEGIES)]}"'))
        for u in range(utils):
            with open(os.path.join(root, "src", "mylm", f"util_{u:02}.py"), "w") as handle:
                handle.write(UTIL.format(i=u))
        count += sum(1 for _, _, files in os.walk(root) for f in files if f.endswith((".py", ".yaml", ".yml")))
    return count


# A Lightning monorepo as research groups grow them: many LightningModules and data modules, a Hydra entry
# point whose Trainer comes from a config group, LightningCLI configs naming models by class path, and
# hundreds of YAML files (config groups and experiments) that mostly mention the Trainer only in
# interpolations. Its Python is ordinary model code: most of it is for no rule to look at.
MODULE = '''"""Model family {i}: a transformer language model with its training loop."""

import lightning as L
import torch
from torch import nn


class Block{i}(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))

    def forward(self, x):
        h = self.norm1(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        return x + self.mlp(self.norm2(x))


class Model{i}(L.LightningModule):
    def __init__(self, vocab: int = 32_000, dim: int = {dim}, depth: int = 8, heads: int = 8, lr: float = 3e-4):
        super().__init__()
        self.save_hyperparameters()
        self.embed = nn.Embedding(vocab, dim)
        self.blocks = nn.ModuleList([Block{i}(dim, heads) for _ in range(depth)])
        self.head = nn.Linear(dim, vocab, bias=False)

    def forward(self, idx):
        x = self.embed(idx)
        for block in self.blocks:
            x = block(x)
        return self.head(x)

    def training_step(self, batch, batch_idx):
        idx, targets = batch
        loss = nn.functional.cross_entropy(self(idx).flatten(0, 1), targets.flatten())
        self.log("train/loss", loss, prog_bar=True)
        return loss

    def validation_step(self, batch, batch_idx):
        idx, targets = batch
        self.log("val/loss", nn.functional.cross_entropy(self(idx).flatten(0, 1), targets.flatten()))

    def configure_optimizers(self):
        optimizer = torch.optim.AdamW(self.parameters(), lr=self.hparams.lr, weight_decay=0.1)
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=self.trainer.max_steps)
        return {{"optimizer": optimizer, "lr_scheduler": scheduler}}
'''

DATAMODULE = '''"""Data for family {i}."""

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset


class Tokens{i}(Dataset):
    def __init__(self, n: int, length: int):
        self.data = torch.randint(0, 32_000, (n, length + 1))

    def __len__(self):
        return len(self.data)

    def __getitem__(self, idx):
        return self.data[idx, :-1], self.data[idx, 1:]


class Data{i}(L.LightningDataModule):
    def __init__(self, batch_size: int = 8, length: int = 256):
        super().__init__()
        self.batch_size, self.length = batch_size, length

    def setup(self, stage=None):
        self.train, self.val = Tokens{i}(1024, self.length), Tokens{i}(64, self.length)

    def train_dataloader(self):
        return DataLoader(self.train, batch_size=self.batch_size, shuffle=True)

    def val_dataloader(self):
        return DataLoader(self.val, batch_size=self.batch_size)
'''

TEST = """import lightning as L
import torch

from lab.models.model_{i:03} import Model{i}
from lab.data.data_{i:03} import Data{i}


def test_model_{i}_runs_one_batch(tmp_path):
    trainer = L.Trainer(accelerator="cpu", fast_dev_run=True, default_root_dir=tmp_path, logger=False)
    trainer.fit(Model{i}(vocab=128, dim=32, depth=1, heads=2), datamodule=Data{i}(batch_size=2, length=8))


def test_model_{i}_shapes():
    model = Model{i}(vocab=128, dim=32, depth=1, heads=2)
    assert model(torch.zeros(2, 8, dtype=torch.long)).shape == (2, 8, 128)
"""

HYDRA_TRAIN = '''"""Hydra entry point: `python -m lab.train experiment=exp_007`."""

import hydra
import lightning as L
from omegaconf import DictConfig


@hydra.main(version_base=None, config_path="../../configs", config_name="config")
def main(cfg: DictConfig) -> None:
    L.seed_everything(cfg.seed)
    datamodule = hydra.utils.instantiate(cfg.data)
    model = hydra.utils.instantiate(cfg.model)
    trainer = hydra.utils.instantiate(cfg.trainer)
    trainer.fit(model, datamodule=datamodule)


if __name__ == "__main__":
    main()
'''

CLI = '''"""LightningCLI entry point: `python -m lab.cli fit --config configs/cli/fit_003.yaml`."""

from lightning.pytorch.cli import LightningCLI


def main():
    LightningCLI(save_config_callback=None)


if __name__ == "__main__":
    main()
'''

TRAINER_GROUP = """_target_: lightning.pytorch.Trainer
accelerator: gpu
devices: {devices}
strategy: {strategy}
precision: bf16-mixed
max_steps: 100_000
val_check_interval: 1000
gradient_clip_val: 1.0
log_every_n_steps: 50
"""

MODEL_GROUP = """_target_: lab.models.model_{i:03}.Model{i}
vocab: 32_000
dim: {dim}
depth: 8
heads: 8
lr: ${{optimizer.lr}}
# the scheduler length follows ${{trainer.max_steps}}
"""

EXPERIMENT = """# @package _global_
defaults:
  - override /trainer: {group}
  - override /model: model_{i:03}
  - override /data: data_{i:03}

seed: {i}
tags: ["family-{i}", "sweep"]

trainer:
  max_steps: 50_000
  accumulate_grad_batches: 4

model:
  lr: 6e-4
"""

CLI_CONFIG = """trainer:
  accelerator: gpu
  devices: 8
  strategy: {strategy}
  precision: bf16-mixed
  max_steps: 100_000
model:
  class_path: lab.models.model_{i:03}.Model{i}
  init_args:
    dim: {dim}
data:
  class_path: lab.data.data_{i:03}.Data{i}
"""

DATA_GROUP = """_target_: lab.data.data_{i:03}.Data{i}
batch_size: 8
length: 2048
# the number of workers follows ${{trainer.devices}}
shards:
{shards}"""


def generate_monorepo(outdir: str, families: int = 200) -> int:
    """`families` model families, each a LightningModule, a data module, a test, a model and data config
    and an experiment; six Trainer config groups; a LightningCLI config for every tenth family (the only
    link from a sharded Trainer to a model, as in real monorepos whose Hydra configs name no class)."""
    files = {
        "pyproject.toml": "[tool.fastinit-lint]\n",
        "src/lab/__init__.py": "",
        "src/lab/models/__init__.py": "",
        "src/lab/data/__init__.py": "",
        "src/lab/train.py": HYDRA_TRAIN,
        "src/lab/cli.py": CLI,
        "configs/config.yaml": "defaults:\n  - trainer: ddp\n  - model: model_000\n  - data: data_000\n"
        "  - _self_\nseed: 0\noptimizer:\n  lr: 3e-4\n",
    }
    groups = {
        "default": ("auto", 1),
        "ddp": ("ddp", 8),
        "fsdp": ("fsdp", 8),
        "deepspeed": ("deepspeed_stage_2", 8),
        "debug": ("auto", 1),
        "multinode": ("ddp", 16),
    }
    for group, (strategy, devices) in groups.items():
        files[f"configs/trainer/{group}.yaml"] = TRAINER_GROUP.format(strategy=strategy, devices=devices)
    for i in range(families):
        dim = 512 + 128 * (i % 8)
        files[f"src/lab/models/model_{i:03}.py"] = MODULE.format(i=i, dim=dim)
        files[f"src/lab/data/data_{i:03}.py"] = DATAMODULE.format(i=i)
        files[f"tests/test_model_{i:03}.py"] = TEST.format(i=i)
        files[f"configs/model/model_{i:03}.yaml"] = MODEL_GROUP.format(i=i, dim=dim)
        shards = "".join(f"  - s3://corpus/family-{i}/shard-{s:05}.tar\n" for s in range(40 + 5 * (i % 10)))
        files[f"configs/data/data_{i:03}.yaml"] = DATA_GROUP.format(i=i, shards=shards)
        files[f"configs/experiment/exp_{i:03}.yaml"] = EXPERIMENT.format(i=i, group=list(groups)[i % len(groups)])
        if i % 10 == 0:
            strategy = ("fsdp", "ddp", "deepspeed_stage_3")[i // 10 % 3]
            files[f"configs/cli/fit_{i:03}.yaml"] = CLI_CONFIG.format(i=i, dim=dim, strategy=strategy)
    for name, text in files.items():
        path = os.path.join(outdir, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as handle:
            handle.write(text)
    return len(files)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("outdir")
    parser.add_argument("--projects", type=int, default=40)
    parser.add_argument("--monorepo", action="store_true", help="one monorepo of 5 x --projects model families")
    args = parser.parse_args()
    count = generate_monorepo(args.outdir, 5 * args.projects) if args.monorepo else generate(args.outdir, args.projects)
    print(count, "files")

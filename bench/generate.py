"""A generated tree of realistic Lightning projects for benchmarks: every rule fires somewhere, and most
files are the ordinary model/data/util code that surrounds them in real repositories.

Usage: python bench/generate.py OUTDIR [--projects 40]
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


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("outdir")
    parser.add_argument("--projects", type=int, default=40)
    args = parser.parse_args()
    print(generate(args.outdir, args.projects), "files")

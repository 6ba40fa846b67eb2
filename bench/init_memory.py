"""Building a ~1B-parameter GPT-style model on CPU in bfloat16, six ways, each in a fresh process, and a
transformers Llama of similar size three ways (needs transformers; nothing is downloaded).

Usage: python bench/init_memory.py [--depth 18] [--dim 2048]. Prints one table: wall time and peak RSS
(ru_maxrss of the child), and their ratios to the bf16 parameter bytes (above the interpreter+torch baseline,
or interpreter+torch+transformers for the Llama rows) / to allocation alone.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import textwrap

MODEL = textwrap.dedent("""
    import torch
    from torch import nn

    class Block(nn.Module):
        def __init__(self, d):
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
            self.fc, self.out = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

    class GPT(nn.Module):
        def __init__(self, vocab, d, depth):
            super().__init__()
            self.embed = nn.Embedding(vocab, d)
            self.blocks = nn.ModuleList(Block(d) for _ in range(depth))
            self.norm = nn.LayerNorm(d)
            self.head = nn.Linear(d, vocab, bias=False)
            self.head.weight = self.embed.weight
""")

ROWS = {
    "allocation alone (torch.empty, bf16)": """
with torch.device("meta"):
    shapes = [p.shape for p in GPT(VOCAB, D, DEPTH).parameters()]
t0 = time.perf_counter()
tensors = [torch.empty(s, dtype=torch.bfloat16) for s in shapes]
for t in tensors:
    t.view(-1)[::2048].zero_()  # touch every 4 KiB page, as initialization would
""",
    "plain Model().bfloat16()": "t0 = time.perf_counter()\nmodel = GPT(VOCAB, D, DEPTH).bfloat16()\n",
    "fastinit_runtime.init_module(dtype=bf16)": """
import fastinit_runtime
t0 = time.perf_counter()
with fastinit_runtime.init_module(dtype=torch.bfloat16):
    model = GPT(VOCAB, D, DEPTH)
""",
    "fastinit_runtime.init_module(dtype=bf16, empty_init=True)": """
import fastinit_runtime
t0 = time.perf_counter()
with fastinit_runtime.init_module(dtype=torch.bfloat16, empty_init=True):
    model = GPT(VOCAB, D, DEPTH)
for p in model.parameters():
    p.data.view(-1)[::2048].zero_()  # touch every page: the memory a load will write
""",
    "Fabric(precision='bf16-true').init_module()": """
import warnings; warnings.filterwarnings("ignore")
import lightning as L
fabric = L.Fabric(accelerator="cpu", devices=1, precision="bf16-true")
t0 = time.perf_counter()
with fabric.init_module():
    model = GPT(VOCAB, D, DEPTH)
""",
    "meta_init() + materialize(dtype=bf16)": """
import fastinit_runtime
t0 = time.perf_counter()
with fastinit_runtime.meta_init():
    model = GPT(VOCAB, D, DEPTH)
fastinit_runtime.materialize(model, "cpu", dtype=torch.bfloat16)
""",
    "transformers Llama: plain Model(config).bfloat16()": """
t0 = time.perf_counter()
model = LlamaForCausalLM(LLAMA).bfloat16()
""",
    "transformers Llama: init_module(dtype=bf16)": """
import fastinit_runtime
t0 = time.perf_counter()
with fastinit_runtime.init_module(dtype=torch.bfloat16):
    model = LlamaForCausalLM(LLAMA)
""",
    "transformers Llama: meta_init() + materialize(dtype=bf16)": """
import fastinit_runtime
t0 = time.perf_counter()
with fastinit_runtime.meta_init():
    model = LlamaForCausalLM(LLAMA)
fastinit_runtime.materialize(model, "cpu", dtype=torch.bfloat16)
""",
    "accelerate init_empty_weights + to_empty + init": """
from accelerate import init_empty_weights
t0 = time.perf_counter()
with init_empty_weights():
    model = GPT(VOCAB, D, DEPTH)
model = model.to_empty(device="cpu").bfloat16()
for m in model.modules():
    if hasattr(m, "reset_parameters"):
        m.reset_parameters()
""",
}


# The Llama rows: 4 attention and 3 MLP matrices per layer, the MLP width chosen so that a layer has about
# the GPT block's 12 * D**2 parameters (its head is not tied); each row reports its own bf16 bytes.
LLAMA = """
import os; os.environ["HF_HUB_OFFLINE"] = "1"
from transformers import LlamaConfig, LlamaForCausalLM
LLAMA = LlamaConfig(vocab_size=VOCAB, hidden_size=D, intermediate_size=8 * D // 3, num_hidden_layers=DEPTH,
                    num_attention_heads=D // 128, num_key_value_heads=D // 128)
"""


def _child(code: str, vocab: int, dim: int, depth: int) -> dict:
    setup = LLAMA if "LlamaForCausalLM" in code else ""
    program = (
        f"import time, json, resource, torch\n{MODEL}\nVOCAB, D, DEPTH = {vocab}, {dim}, {depth}\n{setup}\n{code}\n"
        "elapsed = time.perf_counter() - t0\n"
        "size = sum(p.numel() * 2 for p in model.parameters()) if 'model' in globals() else None\n"
        "print(json.dumps({'seconds': elapsed, 'rss': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,"
        " 'bf16': size}))\n"
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True)
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--vocab", type=int, default=50_304)
    parser.add_argument("--dim", type=int, default=2048)
    parser.add_argument("--depth", type=int, default=18)
    args = parser.parse_args()
    baseline = _child("t0 = time.perf_counter()\n", args.vocab, args.dim, args.depth)["rss"]
    hf_baseline = _child(
        "# LlamaForCausalLM imported\nt0 = time.perf_counter()\n", args.vocab, args.dim, args.depth
    ).get("rss")
    params = args.vocab * args.dim + args.depth * (12 * args.dim**2 + 13 * args.dim) + 2 * args.dim
    bf16 = 2 * params
    print(
        f"GPT vocab={args.vocab} dim={args.dim} depth={args.depth}: {params / 1e9:.2f} B parameters, "
        f"{bf16 / 2**30:.2f} GiB in bf16; interpreter+torch baseline RSS {baseline / 2**20:.0f} MiB"
    )
    print(f"{'row':<58} {'wall s':>7} {'peak RSS GiB':>12} {'(RSS-base)/bf16':>15} {'time/alloc':>10}")
    results = {name: _child(code, args.vocab, args.dim, args.depth) for name, code in ROWS.items()}
    alloc = results["allocation alone (torch.empty, bf16)"].get("seconds", float("nan"))
    for name, r in results.items():
        if "error" in r:
            print(f"{name:<58} error: {r['error'][:60]}")
            continue
        base = hf_baseline if name.startswith("transformers") else baseline
        print(
            f"{name:<58} {r['seconds']:7.2f} {r['rss'] / 2**30:12.2f} {(r['rss'] - base) / (r['bf16'] or bf16):15.2f} "
            f"{r['seconds'] / alloc:10.2f}"
        )


if __name__ == "__main__":
    main()

"""Why FI007's cast fix has no dependency-free safe form: torch's `set_default_dtype` (what
`fastinit_runtime.init_module` and Lightning's `init_module` use) builds what `.to(dtype)` casts, except tensors a
constructor pins to a dtype. Real torch modules on CPU."""

from __future__ import annotations

import torch
from torch import nn

import fastinit_runtime
from fastinit_rules.create_then_cast import CreateThenCast


class Plain(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(64, 16)
        self.proj = nn.Linear(16, 16)
        self.norm = nn.BatchNorm1d(16)  # `num_batches_tracked`: an int64 buffer


class Rotary(Plain):
    def __init__(self):
        super().__init__()
        self.register_buffer("inv_freq", 1.0 / 10_000 ** (torch.arange(0, 16, 2, dtype=torch.float32) / 16))
        self.scale = nn.Parameter(torch.ones(16, dtype=torch.float32))


def _dtypes(module: nn.Module) -> dict[str, torch.dtype]:
    return {name: tensor.dtype for name, tensor in module.state_dict().items()}


def _built_with_default_dtype(cls, dtype):
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        return cls()
    finally:
        torch.set_default_dtype(previous)


def test_default_dtype_builds_what_the_cast_gives_for_torch_layers_integer_buffers_included():
    for dtype in (torch.bfloat16, torch.float16):
        assert _dtypes(_built_with_default_dtype(Plain, dtype)) == _dtypes(Plain().to(dtype))
        with fastinit_runtime.init_module(dtype=dtype):
            assert _dtypes(Plain()) == _dtypes(_built_with_default_dtype(Plain, dtype))
    assert _dtypes(Plain().half())["norm.num_batches_tracked"] == torch.int64
    assert torch.get_default_dtype() == torch.float32


def test_a_tensor_pinned_to_float32_is_not_converted_so_the_rewrite_is_not_exact():
    cast, built = _dtypes(Rotary().to(torch.bfloat16)), _dtypes(_built_with_default_dtype(Rotary, torch.bfloat16))
    assert {name for name in cast if cast[name] != built[name]} == {"inv_freq", "scale"}
    assert (cast["inv_freq"], built["inv_freq"]) == (torch.bfloat16, torch.float32)


def test_the_docs_say_why_the_cast_fix_stays_unsafe_without_the_runtime():
    safety = CreateThenCast.docs().split("## Fix safety", 1)[1].split("\n## ", 1)[0]
    assert "torch.set_default_dtype" in safety and "explicit `dtype=torch.float32`" in safety

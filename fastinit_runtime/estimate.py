"""Model size without allocating it: build on the meta device and count."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch


@dataclass(frozen=True)
class Estimate:
    parameters: int
    bytes: int  # parameters + buffers, in their dtypes

    def __str__(self) -> str:
        return f"{self.parameters:,} parameters, {_binary_size(self.bytes)}"


def _binary_size(size: int) -> str:
    """The largest unit that keeps the number at 1 or more, so small models do not print "0.00 GiB"."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if size >= scale:
            return f"{size / scale:.2f} {unit}"
    return f"{size} bytes"


def estimate_parameters(factory: Callable[[], torch.nn.Module], dtype: torch.dtype | None = None) -> Estimate:
    """`factory()` built on meta (optionally in `dtype`): counts tied parameters once, as `parameters()` does."""
    from .context import init_module

    with init_module(device="meta", dtype=dtype):
        module = factory()
    params = list(module.parameters())
    size = sum(p.numel() * p.element_size() for p in params) + sum(
        b.numel() * b.element_size() for b in module.buffers()
    )
    return Estimate(sum(p.numel() for p in params), size)

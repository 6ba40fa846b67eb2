"""Building modules in place: on the target device, in the target dtype, optionally without init work.

What Lightning's `init_module` does for a Trainer (`root_device` + `_EmptyInit` + the precision's dtype),
for any PyTorch code. Thread-safety: the device part is a torch function mode (per thread); the dtype part
is `torch.set_default_dtype`, which is process-global: do not build models in different dtypes from
several threads at once.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

import torch

from .record import Recorder


@contextlib.contextmanager
def _default_dtype(dtype: torch.dtype | None) -> Iterator[None]:
    if dtype is None:
        yield
        return
    if not dtype.is_floating_point:
        raise ValueError(f"init_module(dtype=...) must be a floating dtype, got {dtype}")
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)


@contextlib.contextmanager
def init_module(
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
    *,
    empty_init: bool = False,
    poison: bool = False,
    init_dtype: torch.dtype | None = None,
) -> Iterator[None]:
    """Build modules directly on `device` in `dtype` (floating tensors only; explicit `dtype=` wins).

    `empty_init=True` skips every `torch.nn.init` call (also transformers' guarded wrappers of them):
    parameters are allocated but hold uninitialized memory, so load a full checkpoint afterwards (or use
    `load_partial`, which replays the skipped calls for what the checkpoint lacks). `poison=True` (with
    empty_init) fills those tensors with NaN instead, so any weight that is never loaded shows up in the first
    forward. On `device="meta"` the constructors' init calls are recorded for `materialize`.

    bfloat16 caveat: in `dtype=torch.bfloat16` the init math itself runs in bfloat16, as in Lightning's
    "bf16-true" `init_module`; `trunc_normal_(std=0.02)` then gives a std several times too large.
    `init_dtype=torch.float32` runs each `torch.nn.init` call in float32 and casts the result.
    Restores the previous default device and dtype on exit, also on exceptions; contexts nest.
    """
    with contextlib.ExitStack() as stack:
        if device is not None:
            stack.enter_context(torch.device(device))
        stack.enter_context(_default_dtype(dtype))
        if (
            empty_init
            or poison
            or init_dtype is not None
            or (device is not None and torch.device(device).type == "meta")
        ):
            stack.enter_context(Recorder(skip_init=empty_init or poison, poison=poison, init_dtype=init_dtype))
        yield


def meta_init() -> contextlib.AbstractContextManager:
    """Build on the meta device: shapes and dtypes only, no memory; the init calls the constructors make are
    recorded, and `materialize` replays them."""
    return init_module(device="meta")


def poison_empty(enabled: bool = True) -> contextlib.AbstractContextManager:
    """A debug mode for tests: `torch.nn.init` calls fill NaN instead of initializing."""
    return Recorder(skip_init=True, poison=True) if enabled else contextlib.nullcontext()

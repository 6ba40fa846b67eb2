"""Building modules in place: on the target device, in the target dtype, optionally without init work.

What Lightning's `init_module` does for a Trainer (`root_device` + `_EmptyInit` + the precision's dtype),
for any PyTorch code. Thread-safety: the device part is a torch function mode (per thread); the dtype part
is `torch.set_default_dtype`, which is process-global: do not build models in different dtypes from
several threads at once.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any, Callable, Iterator, Sequence

import torch
from torch.overrides import TorchFunctionMode


class _SkipInit(TorchFunctionMode):
    """Skips `torch.nn.init.*` (the tensor stays allocated, uninitialized), or fills it with NaN (poison)."""

    def __init__(self, poison: bool = False) -> None:
        super().__init__()
        self.poison = poison

    def __torch_function__(self, func: Callable, types: Sequence, args: Sequence[Any] = (), kwargs: dict | None = None):
        kwargs = kwargs or {}
        if getattr(func, "__module__", None) != "torch.nn.init":
            return func(*args, **kwargs)
        tensor = kwargs.get("tensor", args[0] if args else None)
        if self.poison and isinstance(tensor, torch.Tensor) and tensor.is_floating_point() and not tensor.is_meta:
            with torch.no_grad():
                tensor.fill_(math.nan)
        return tensor


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
def init_module(device: torch.device | str | None = None, dtype: torch.dtype | None = None, *,
                empty_init: bool = False, poison: bool = False) -> Iterator[None]:
    """Build modules directly on `device` in `dtype` (floating tensors only; explicit `dtype=` wins).

    `empty_init=True` skips every `torch.nn.init` call: parameters are allocated but hold uninitialized
    memory, so load a full checkpoint afterwards (or use `load_partial`). `poison=True` (with empty_init)
    fills those tensors with NaN instead, so any weight that is never loaded shows up in the first forward.
    Restores the previous default device and dtype on exit, also on exceptions; contexts nest.
    """
    with contextlib.ExitStack() as stack:
        if device is not None:
            stack.enter_context(torch.device(device))
        stack.enter_context(_default_dtype(dtype))
        if empty_init or poison:
            stack.enter_context(_SkipInit(poison=poison))
        yield


def meta_init() -> contextlib.AbstractContextManager:
    """Build on the meta device: shapes and dtypes only, no memory, no init; `materialize` afterwards."""
    return init_module(device="meta")


def poison_empty(enabled: bool = True) -> contextlib.AbstractContextManager:
    """A debug mode for tests: `torch.nn.init` calls fill NaN instead of initializing."""
    return _SkipInit(poison=True) if enabled else contextlib.nullcontext()

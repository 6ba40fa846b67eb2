"""Partial checkpoints into empty or meta models, without leaving a single uninitialized weight."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import torch
from torch import nn

from .materialize import Initializer, allocate, replayable, storages


@dataclass
class LoadResult:
    missing_keys: list[str] = field(default_factory=list)
    unexpected_keys: list[str] = field(default_factory=list)


def read_state_dict(source, *, weights_only: bool = True) -> dict:
    """A state dict from a dict or a path; Lightning checkpoints are unwrapped from their `state_dict` key."""
    if isinstance(source, (str, os.PathLike)):
        source = torch.load(source, map_location="cpu", weights_only=weights_only)
    if isinstance(source, dict) and "state_dict" in source and isinstance(source["state_dict"], dict):
        source = source["state_dict"]
    return dict(source)


def _device_of(module: nn.Module) -> torch.device:
    for tensor in (*module.parameters(), *module.buffers()):
        if not tensor.is_meta:
            return tensor.device
    return torch.device("cpu")


def non_persistent_buffers(module: nn.Module) -> list[torch.Tensor]:
    return [
        buffer
        for sub in module.modules()
        for name in sub._non_persistent_buffers_set
        if (buffer := sub._buffers.get(name)) is not None
    ]


def load_partial(
    module: nn.Module,
    state_dict_or_path,
    *,
    strict: bool = False,
    init_missing: bool = True,
    weights_only: bool = True,
    init_dtype: torch.dtype | None = None,
) -> LoadResult:
    """Load what the checkpoint has; initialize exactly the tensors it lacks.

    Every loaded tensor ends up bit for bit as in the checkpoint, whoever owns it (tied aliases, a child of
    `nn.MultiheadAttention`): the missing tensors are initialized first, with the init recorded when the model
    was built under `meta_init()`/`empty_init` (else their owners' `reset_parameters()`), and the checkpoint is
    loaded last. Non-persistent buffers, which no checkpoint holds, are recomputed the same way. Works on models
    built with `empty_init=True` and on meta models (materialized on the device of their real tensors, or CPU).
    """
    state = read_state_dict(state_dict_or_path, weights_only=weights_only)
    expected = module.state_dict(keep_vars=True)
    missing = [key for key in expected if key not in state]
    unexpected = [key for key in state if key not in expected]
    if strict and (missing or unexpected):
        raise RuntimeError(f"load_partial(strict=True): missing {missing}, unexpected {unexpected}")
    initialize_unloaded(module, [key for key in expected if key in state], init=init_missing, init_dtype=init_dtype)
    module.load_state_dict(state, strict=False)
    return LoadResult(missing, unexpected)


def initialize_unloaded(
    module: nn.Module, loaded: list[str], *, init: bool = True, init_dtype: torch.dtype | None = None
) -> None:
    """Allocate meta tensors; initialize every state-dict tensor not on the storage of a `loaded` key and the
    non-persistent buffers that need it (meta ones; real ones whose init call an empty init skipped).
    Loaded tensors may be written too (owners' `reset_parameters()`): load them after this."""
    expected = module.state_dict(keep_vars=True)
    key_of = lambda tensor: tensor.untyped_storage()._cdata  # noqa: E731
    done = {key_of(expected[key]) for key in loaded}
    lacking = {key_of(tensor) for key, tensor in expected.items() if key not in loaded}
    buffers = {key_of(b) for b in non_persistent_buffers(module)}

    def needs_init(key: int, storage) -> bool:
        if key in done:
            return False
        # a real non-persistent buffer was computed by its constructor, unless an init call on it was skipped
        return key in lacking or (key in buffers and (storage.sample.is_meta or replayable(storage.history, set())))

    found = storages(module)
    targets = [s for key, s in found.items() if needs_init(key, s)]
    meta = [s for s in found.values() if s.sample.is_meta]
    initializer = Initializer(module, targets, hf_init=bool(meta)) if init and targets else None
    device = _device_of(module)
    allocate(module, meta, device, None)
    if initializer is not None:
        initializer.run(device, init_dtype)


def verify_initialized(module: nn.Module) -> list[str]:
    """Names of parameters/buffers that are still meta or hold NaN/inf (never written, or poisoned by
    `poison_empty`): a debug check for models built with empty init."""
    bad = []
    for name, tensor in (*module.named_parameters(), *module.named_buffers()):
        if tensor.is_meta or (tensor.is_floating_point() and not torch.isfinite(tensor).all()):
            bad.append(name)
    return bad


__all__ = ["LoadResult", "initialize_unloaded", "load_partial", "read_state_dict", "verify_initialized"]

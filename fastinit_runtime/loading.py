"""Partial checkpoints into empty or meta models, without leaving a single uninitialized weight."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import torch
from torch import nn

from .materialize import materialize, owners, reinitialize, reset_method


@dataclass
class LoadResult:
    missing_keys: list[str] = field(default_factory=list)
    unexpected_keys: list[str] = field(default_factory=list)


def read_state_dict(source) -> dict:
    """A state dict from a dict or a path; Lightning checkpoints are unwrapped from their `state_dict` key."""
    if isinstance(source, (str, os.PathLike)):
        source = torch.load(source, map_location="cpu", weights_only=True)
    if isinstance(source, dict) and "state_dict" in source and isinstance(source["state_dict"], dict):
        source = source["state_dict"]
    return dict(source)


def _device_of(module: nn.Module) -> torch.device:
    for tensor in (*module.parameters(), *module.buffers()):
        if not tensor.is_meta:
            return tensor.device
    return torch.device("cpu")


def load_partial(module: nn.Module, state_dict_or_path, *, strict: bool = False, init_missing: bool = True) -> LoadResult:
    """Load what the checkpoint has; initialize exactly the tensors it lacks (through their owners'
    `reset_parameters`, then restoring the owners' loaded tensors bit for bit). Works on models built with
    `empty_init=True` and on meta models (materialized on the device of their real tensors, or CPU)."""
    state = read_state_dict(state_dict_or_path)
    recompute = []  # non-persistent buffers never come from a checkpoint: meta ones must be recomputed
    if any(t.is_meta for t in (*module.parameters(), *module.buffers())):
        recompute = [f"{'' if p == '<root>' else p + '.'}{name}" for p, sub in owners(module)
                     for name in sub._non_persistent_buffers_set if sub._buffers.get(name) is not None]
        materialize(module, _device_of(module), init=False)
    result = module.load_state_dict(state, strict=False)
    missing, unexpected = list(result.missing_keys), list(result.unexpected_keys)
    if strict and (missing or unexpected):
        raise RuntimeError(f"load_partial(strict=True): missing {missing}, unexpected {unexpected}")
    if init_missing and (missing or recompute):
        by_path = {path if path != "<root>" else "": sub for path, sub in owners(module, only_meta=False)}
        targets = {}
        for key in (*missing, *recompute):
            path = key.rsplit(".", 1)[0] if "." in key else ""
            if path in by_path:
                targets[path] = by_path[path]
        unfixable = [p or "<root>" for p, sub in targets.items() if reset_method(sub) is None]
        if unfixable:
            raise RuntimeError(f"missing keys belong to modules without reset_parameters(): {', '.join(unfixable)}")
        keep = {}
        for path, sub in targets.items():
            for name, tensor in (*sub.named_parameters(recurse=False), *sub.named_buffers(recurse=False)):
                key = f"{path}.{name}" if path else name
                if key not in missing and key not in recompute:
                    keep[key] = tensor.detach().clone()
        reinitialize(list(targets.items()))
        with torch.no_grad():
            current = dict((*module.named_parameters(), *module.named_buffers()))
            for key, value in keep.items():
                current[key].copy_(value)
    return LoadResult(missing, unexpected)


def verify_initialized(module: nn.Module) -> list[str]:
    """Names of parameters/buffers that are still meta or hold NaN/inf (never written, or poisoned by
    `poison_empty`): a debug check for models built with empty init."""
    bad = []
    for name, tensor in (*module.named_parameters(), *module.named_buffers()):
        if tensor.is_meta or (tensor.is_floating_point() and not torch.isfinite(tensor).all()):
            bad.append(name)
    return bad

"""Meta tensors to real ones: allocate once, initialize through each module's own reset method, keep ties.

`module.to_empty()` creates new Parameter objects per registration, which silently unties shared weights
(`head.weight = embed.weight`); here each distinct meta tensor is allocated once and installed in every
place it is registered. Initialization follows the `reset_parameters()` convention FSDP and Lightning use:
each module that directly owns tensors initializes only its own (torch #104187); `nn.MultiheadAttention`'s
`_reset_parameters` counts. Modules that cannot be initialized are named before anything is allocated.
"""

from __future__ import annotations

import torch
from torch import nn


class MaterializationError(RuntimeError):
    """Some modules own tensors but say nowhere how to initialize them."""


def reset_method(module: nn.Module):
    for name in ("reset_parameters", "_reset_parameters"):
        method = getattr(module, name, None)
        if callable(method):
            return method
    return None


def owners(module: nn.Module, only_meta: bool = True) -> list[tuple[str, nn.Module]]:
    """(path, submodule) for every submodule that directly owns (meta) parameters or buffers."""
    result = []
    for path, sub in module.named_modules(remove_duplicate=True):
        tensors = [*sub.parameters(recurse=False), *sub.buffers(recurse=False)]
        if tensors and (not only_meta or any(t.is_meta for t in tensors)):
            result.append((path or "<root>", sub))
    return result


def reinitialize(targets: list[tuple[str, nn.Module]]) -> None:
    """Run each module's reset method with every torch function mode disabled, so an enclosing
    empty-init context (ours or Lightning's `_EmptyInit`) cannot turn the initialization into a no-op."""
    with torch.no_grad(), torch._C.DisableTorchFunction():
        for _, sub in targets:
            reset_method(sub)()


def _check_initializable(targets: list[tuple[str, nn.Module]]) -> None:
    missing = [f"{path} ({type(sub).__name__})" for path, sub in targets if reset_method(sub) is None]
    if missing:
        raise MaterializationError(
            "cannot initialize these modules: they own parameters or buffers but define no reset_parameters(): "
            + ", ".join(missing))


def materialize(module: nn.Module, device: torch.device | str = "cpu", *, dtype: torch.dtype | None = None,
                init: bool = True) -> nn.Module:
    """Allocate every meta tensor of `module` on `device` (floating ones in `dtype`), then initialize them.

    With `init=False` the memory is left uninitialized (load a full checkpoint next). Raises
    MaterializationError naming every module that cannot be initialized, before allocating anything.
    """
    targets = owners(module)
    if init:
        _check_initializable(targets)
    replaced: dict[int, torch.Tensor] = {}
    for sub in module.modules():
        for store, is_param in ((sub._parameters, True), (sub._buffers, False)):
            for name, tensor in list(store.items()):
                if tensor is None or not tensor.is_meta:
                    continue
                if id(tensor) not in replaced:
                    target_dtype = dtype if dtype is not None and tensor.is_floating_point() else tensor.dtype
                    data = torch.empty(tensor.shape, dtype=target_dtype, device=device)
                    replaced[id(tensor)] = nn.Parameter(data, requires_grad=tensor.requires_grad) if is_param else data
                store[name] = replaced[id(tensor)]
    if init:
        reinitialize(targets)
    leftover = [n for n, t in (*module.named_parameters(), *module.named_buffers()) if t.is_meta]
    if leftover:
        raise MaterializationError(f"meta tensors left after materialization: {', '.join(leftover)}")
    return module

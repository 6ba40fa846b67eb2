"""Meta tensors to real ones: allocate each storage once, then initialize it as the eager build would.

`module.to_empty()` creates new Parameter objects per registration, which silently unties shared weights
(`head.weight = embed.weight`); here each distinct storage is allocated once and every tensor registered on
it becomes a view of that memory (the same Parameter object where it was one). Initialization replays what
the constructors did under `meta_init()` (see `record`), because FSDP's and Lightning's convention of calling
each module's `reset_parameters()` loses every init written elsewhere: a parent's `self.apply(_init_weights)`,
`nn.MultiheadAttention` zeroing its child's `out_proj.bias`, `nn.Transformer`'s xavier init. A tensor no
recorded call wrote falls back to its owner's `reset_parameters()` (torch #104187), a transformers
`PreTrainedModel` gets its own `initialize_weights()` (it skips init when built on meta). Tensors none of
these can initialize are named before anything is allocated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn

from .record import History, Replayer, forget, history_of, replayable


class MaterializationError(RuntimeError):
    """Some tensors have no recorded init and their modules say nowhere how to initialize them."""


def reset_method(module: nn.Module):
    for name in ("reset_parameters", "_reset_parameters"):
        method = getattr(module, name, None)
        if callable(method):
            return method
    return None


def is_hf_model(module: nn.Module) -> bool:
    """A transformers `PreTrainedModel` (duck-typed: transformers need not be installed)."""
    return type(module).__module__.startswith("transformers.") and callable(getattr(module, "initialize_weights", None))


@dataclass(eq=False)
class Storage:
    """One distinct storage of a module and every (name, owner path, owner) registered on it."""

    sample: torch.Tensor  # one tensor on it
    tensors: list[tuple[str, str, nn.Module]] = field(default_factory=list)
    history: History | None = None

    @property
    def name(self) -> str:
        return self.tensors[0][0]

    def describe(self) -> str:
        name, path, owner = self.tensors[0]
        return f"{name} ({path or '<root>'}: {type(owner).__name__})"

    def flat(self) -> torch.Tensor:
        """The whole storage as a 1-D tensor, to take every registered view from."""
        sample = self.sample
        return torch.empty(0, dtype=sample.dtype, device=sample.device).set_(sample.untyped_storage())


def storages(module: nn.Module) -> dict[int, Storage]:
    """Every distinct parameter/buffer storage of `module`, keyed by storage, in registration order."""
    found: dict[int, Storage] = {}
    for path, sub in module.named_modules():
        for store in (sub._parameters, sub._buffers):
            for name, tensor in store.items():
                if tensor is None:
                    continue
                key = tensor.untyped_storage()._cdata
                if key not in found:
                    found[key] = Storage(sample=tensor, history=history_of(tensor))
                found[key].tensors.append((f"{path}.{name}" if path else name, path, sub))
    return found


def allocate(module: nn.Module, meta: list[Storage], device, dtype: torch.dtype | None) -> None:
    """Real memory for each meta storage, installed in every place a tensor on it is registered."""
    replaced: dict[int, torch.Tensor] = {}
    for storage in meta:
        sample, key = storage.sample, id_of(storage)
        target = dtype if dtype is not None and sample.is_floating_point() else sample.dtype
        flat = torch.empty(sample.untyped_storage().nbytes() // sample.element_size(), dtype=target, device=device)
        for _, _, owner in storage.tensors:
            for store, is_param in ((owner._parameters, True), (owner._buffers, False)):
                for name, tensor in list(store.items()):
                    if tensor is None or not tensor.is_meta or tensor.untyped_storage()._cdata != key:
                        continue
                    if id(tensor) not in replaced:
                        view = flat.as_strided(tensor.size(), tensor.stride(), tensor.storage_offset())
                        replaced[id(tensor)] = (
                            nn.Parameter(view, requires_grad=tensor.requires_grad) if is_param else view
                        )
                    # a Parameter when `store` is `_parameters` (`is_param`); mypy types the pair as one kind of dict
                    store[name] = replaced[id(tensor)]  # type: ignore[assignment]
        forget(sample)
        storage.sample = flat


def id_of(storage: Storage) -> int:
    return storage.sample.untyped_storage()._cdata


class Initializer:
    """Decides, before anything is allocated, how each target storage gets its value, then does it.

    Order: owners' `reset_parameters()` for storages nothing recorded (checked: a reset that leaves one of
    them unwritten is an error, not silent garbage), then the recorded histories (construction order), then
    transformers' `initialize_weights()` for models built on meta, with every non-target tensor flagged
    `_is_hf_initialized` so HF's guarded init leaves it alone.
    """

    def __init__(self, module: nn.Module, targets: list[Storage], *, hf_init: bool) -> None:
        self.module, self.targets = module, targets
        histories = {s.history for s in targets if s.history is not None}
        self.replay = [s for s in targets if replayable(s.history, histories)]
        hf_paths = [path for path, sub in module.named_modules() if is_hf_model(sub)] if hf_init else []
        self.hf_paths = [p for p in hf_paths if not any(p.startswith(q + ".") or (q == "" and p) for q in hf_paths)]
        self.by_reset: list[Storage] = []
        self.resets: dict[int, tuple[str, nn.Module]] = {}
        unfixable = []
        replay = set(self.replay)
        for storage in targets:
            if storage in replay:
                continue
            owner = next(((path, sub) for _, path, sub in storage.tensors if reset_method(sub) is not None), None)
            if owner is not None:
                self.by_reset.append(storage)
                self.resets.setdefault(id(owner[1]), owner)
            elif not any(self._under_hf(path) for _, path, _ in storage.tensors):
                unfixable.append(storage.describe())
        if unfixable:
            raise MaterializationError(
                "cannot initialize these tensors: no init call was recorded for them and their modules define no "
                "reset_parameters(): " + ", ".join(unfixable)
            )

    def _under_hf(self, path: str) -> bool:
        return any(p == "" or path == p or path.startswith(p + ".") for p in self.hf_paths)

    def run(self, device, init_dtype: torch.dtype | None = None) -> None:
        self._reset()
        replayer = Replayer(device, init_dtype)
        for storage in self.replay:
            assert storage.history is not None  # replayable() said it has one
            replayer.initialize(storage.history, storage.flat())
        for path in self.hf_paths:
            self._hf_initialize(self.module.get_submodule(path))

    def _reset(self) -> None:
        with torch.no_grad(), torch._C.DisableTorchFunction():
            for storage in self.by_reset:
                if storage.sample.is_floating_point():
                    storage.flat().fill_(math.nan)
            for _, sub in self.resets.values():
                reset_method(sub)()
            left = [s for s in self.by_reset if s.sample.is_floating_point() and s.flat().isnan().any()]
        if left and not self.hf_paths:
            raise MaterializationError(
                "reset_parameters() left these tensors unwritten (they would hold uninitialized memory): "
                + ", ".join(s.describe() for s in left)
            )

    def _hf_initialize(self, model: nn.Module) -> None:
        targets = {id_of(s) for s in self.targets}
        kept = [t for t in (*model.parameters(), *model.buffers()) if t.untyped_storage()._cdata not in targets]
        for tensor in kept:
            tensor._is_hf_initialized = True  # type: ignore[attr-defined]  # transformers' marker, set on tensors
        for sub in model.modules():
            sub.__dict__.pop("_is_hf_initialized", None)
        try:
            with torch._C.DisableTorchFunction():
                # transformers' PreTrainedModel method; nn.Module.__getattr__ is typed as returning Tensor | Module
                model.initialize_weights()  # type: ignore[operator]
        finally:
            for tensor in kept:
                del tensor._is_hf_initialized  # type: ignore[attr-defined]


def materialize(
    module: nn.Module,
    device: torch.device | str = "cpu",
    *,
    dtype: torch.dtype | None = None,
    init: bool = True,
    init_dtype: torch.dtype | None = None,
) -> nn.Module:
    """Allocate every meta tensor of `module` on `device` (floating ones in `dtype`), then initialize them
    by replaying the init the constructors recorded under `meta_init()`.

    With `init=False` the memory is left uninitialized (load a full checkpoint next). `init_dtype=torch.float32`
    runs the replayed init math in float32 and casts: in bfloat16, `trunc_normal_(std=0.02)` and similar
    give visibly wrong statistics. Raises MaterializationError naming every tensor that cannot be
    initialized, before allocating anything.
    """
    meta = [s for s in storages(module).values() if s.sample.is_meta]
    initializer = Initializer(module, meta, hf_init=True) if init else None
    allocate(module, meta, device, dtype)
    if initializer is not None:
        initializer.run(device, init_dtype)
    leftover = [n for n, t in (*module.named_parameters(), *module.named_buffers()) if t.is_meta]
    if leftover:
        raise MaterializationError(f"meta tensors left after materialization: {', '.join(leftover)}")
    return module

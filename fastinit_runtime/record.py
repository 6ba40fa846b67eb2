"""Record and replay of construction-time initialization.

Under `meta_init()` a constructor's init calls write nothing; under `empty_init` they are skipped. Both
contexts install a `Recorder`, which keeps, per tensor storage, how its value came to be: the op that
produced it (meta only: `torch.ones`, `arange(...) / dim`, ...) and every initializer or in-place write
applied to it afterwards, in order, with their arguments. `Replayer` runs that history again on real
memory, so a materialized model gets the eager build's distributions (same functions, same order, not the
same random stream) whatever wrote them: `reset_parameters`, `self.apply(self._init_weights)`, a parent's
`nn.init` on a child's weight, `.data.normal_()`.

Initializers are recognized by identity, not by `__module__`: transformers' guarded wrappers
(`transformers.initialization`, patched into `torch.nn.init` while `initialize_weights` runs) are mapped to
the torch function they wrap.
"""

from __future__ import annotations

import functools
import math
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Sequence, overload

import torch
from torch.multiprocessing.reductions import StorageWeakRef
from torch.overrides import TorchFunctionMode, handle_torch_function, has_torch_function_unary
from torch.utils._device import _device_constructors

_TORCH_INIT = {
    getattr(torch.nn.init, name) for name in dir(torch.nn.init) if name.endswith("_") and not name.startswith("_")
}
# Trailing-underscore methods that change metadata or autograd state, not values.
_NOT_WRITES = frozenset(
    {
        "requires_grad_",
        "share_memory_",
        "retain_grad",
        "detach_",
        "resize_",
        "set_",
        "as_strided_",
        "pin_memory",
        "record_stream",
        "untyped_storage",
    }
)
# Producers whose value is never read: a storage made by one of these holds nothing until written.
_EMPTY_FACTORIES = frozenset({"empty", "empty_like", "empty_strided", "new_empty", "new_empty_strided"})


def canonical_init(func: Callable) -> Callable | None:
    """The `torch.nn.init` function `func` is or wraps (ours below, transformers' guarded copies), else None."""
    func = _ORIGINALS.get(func, func)
    if func in _TORCH_INIT:
        return func
    name = getattr(func, "__name__", "")
    hf = sys.modules.get("transformers.initialization")
    if hf is not None and getattr(hf, name, None) is func:
        wrapped = getattr(hf, "TORCH_INIT_FUNCTIONS", {}).get(name)
        return _ORIGINALS.get(wrapped, wrapped) if wrapped is not None else None
    return None


def _dispatching(original: Callable) -> Callable:
    """`original` routed through torch function modes, as `normal_` and `uniform_` already are: `trunc_normal_`,
    `xavier_uniform_`, `orthogonal_`... are not, and some return early on meta tensors, so no mode sees them."""

    @functools.wraps(original)
    def wrapper(tensor, *args, **kwargs):
        if has_torch_function_unary(tensor):
            return handle_torch_function(original, (tensor,), tensor, *args, **kwargs)
        return original(tensor, *args, **kwargs)

    return wrapper


_ORIGINALS: dict[Callable, Callable] = {}
_PATCHED: list[tuple[Any, str, Callable]] = []  # (module, name, original) while a Recorder is active


def _patch_init_functions() -> None:
    """Installs `_dispatching` wrappers in `torch.nn.init` and in the torch modules that imported its functions
    by name (`torch.nn.modules.activation` binds `xavier_uniform_` at import)."""
    wrappers = {}
    for module in [torch.nn.init, *(m for n, m in list(sys.modules.items()) if n.startswith("torch.nn.modules."))]:
        for name, value in list(vars(module).items()):
            if callable(value) and value in _TORCH_INIT and not _dispatches(value):
                if value not in wrappers:
                    wrappers[value] = _dispatching(value)
                    _ORIGINALS[wrappers[value]] = value
                setattr(module, name, wrappers[value])
                _PATCHED.append((module, name, value))


def _dispatches(func: Callable) -> bool:
    return "handle_torch_function" in func.__code__.co_names


def _is_write(func: Callable, args: Sequence) -> bool:
    name = getattr(func, "__name__", "")
    if not args or not isinstance(args[0], torch.Tensor):
        return False
    return name == "__setitem__" or (name.endswith("_") and not name.startswith("_") and name not in _NOT_WRITES)


@dataclass(eq=False)
class History:
    """How one storage got its value: `producer` (meta builds) then `ops`, oldest first."""

    producer: "Op | None" = None
    ops: list["Op"] = field(default_factory=list)

    def writes_value(self) -> bool:
        return bool(self.ops) or (
            self.producer is not None and getattr(self.producer.func, "__name__", "") not in _EMPTY_FACTORIES
        )


@dataclass(frozen=True, eq=False)
class Ref:
    """A tensor argument, as a view (size, stride, offset) of a storage's history."""

    history: History
    size: tuple
    stride: tuple
    offset: int


@dataclass(frozen=True, eq=False)
class Op:
    func: Callable
    args: tuple
    kwargs: dict
    out: Ref | None = None  # producers: where the result lives in its storage


# storage address -> (weak reference, history); a dead storage's entry is dropped on the next lookup or prune
_HISTORIES: dict[int, tuple[StorageWeakRef, History]] = {}


def _storage_key(tensor: torch.Tensor) -> int:
    return tensor.untyped_storage()._cdata


@overload
def history_of(tensor: torch.Tensor, create: Literal[True]) -> History: ...


@overload
def history_of(tensor: torch.Tensor, create: bool = False) -> History | None: ...


def history_of(tensor: torch.Tensor, create: bool = False) -> History | None:
    storage = tensor.untyped_storage()
    entry = _HISTORIES.get(storage._cdata)
    if entry is not None and not entry[0].expired():
        return entry[1]
    if not create:
        return None
    history = History()
    _HISTORIES[storage._cdata] = (StorageWeakRef(storage), history)
    return history


def forget(tensor: torch.Tensor) -> None:
    _HISTORIES.pop(_storage_key(tensor), None)


def _prune() -> None:
    for key in [k for k, (ref, _) in _HISTORIES.items() if ref.expired()]:
        del _HISTORIES[key]


def _ref(tensor: torch.Tensor) -> Ref:
    return Ref(
        history_of(tensor, create=True), tuple(tensor.size()), tuple(tensor.stride()), int(tensor.storage_offset())
    )


def _template(value: Any) -> Any:
    """Arguments with tensors replaced by Refs (meta tensors hold no value to keep; real ones are kept)."""
    if isinstance(value, torch.Tensor):
        return _ref(value) if value.is_meta else value
    if isinstance(value, (list, tuple)):
        return type(value)(_template(v) for v in value)
    return value


class Recorder(TorchFunctionMode):
    """Records initializers and in-place writes on meta tensors, and the ops producing meta tensors.

    `skip_init=True` (empty init) skips the initializers instead of running them, recording them for a
    later `load_partial`; `poison=True` fills their floating targets with NaN. `init_dtype` runs each
    initializer in that dtype on a copy and casts the result into its lower-precision target.
    """

    def __init__(self, *, skip_init: bool = False, poison: bool = False, init_dtype: torch.dtype | None = None) -> None:
        super().__init__()
        self.skip_init, self.poison, self.init_dtype = skip_init, poison, init_dtype

    _active = 0  # Recorders entered, process-wide: the init functions are patched while any is active

    def __enter__(self):
        if Recorder._active == 0:
            _patch_init_functions()
        Recorder._active += 1
        return super().__enter__()

    def __exit__(self, *exc):
        Recorder._active -= 1
        if Recorder._active == 0:
            while _PATCHED:
                module, name, original = _PATCHED.pop()
                setattr(module, name, original)
            _prune()
        return super().__exit__(*exc)

    def __torch_function__(self, func: Callable, types: Sequence, args: Sequence[Any] = (), kwargs: dict | None = None):
        kwargs = kwargs or {}
        init = canonical_init(func)
        if init is not None:
            return self._initializer(init, func, args, kwargs)
        if _is_write(func, args) and args[0].is_meta:
            history_of(args[0], create=True).ops.append(Op(func, _template(tuple(args)), _template(kwargs)))
            return func(*args, **kwargs)
        out = func(*args, **kwargs)
        if isinstance(out, torch.Tensor) and out.is_meta and history_of(out) is None:
            produced = Op(func, _template(tuple(args)), _template(kwargs))
            history = history_of(out, create=True)
            history.producer = Op(produced.func, produced.args, produced.kwargs, _ref(out))
        return out

    def _initializer(self, init: Callable, func: Callable, args: Sequence, kwargs: dict):
        tensor = kwargs.get("tensor", args[0] if args else None)
        if not isinstance(tensor, torch.Tensor):
            return func(*args, **kwargs)
        rest, options = tuple(args[1:]), {k: v for k, v in kwargs.items() if k != "tensor"}
        if tensor.is_meta or self.skip_init:
            target = _ref(tensor)
            target.history.ops.append(Op(init, (target, *_template(rest)), _template(options)))
        if self.skip_init:
            if self.poison and tensor.is_floating_point() and not tensor.is_meta:
                with torch.no_grad():
                    tensor.fill_(math.nan)
            return tensor
        if tensor.is_meta:
            return tensor
        return run_init(init, tensor, rest, options, self.init_dtype)


def run_init(init: Callable, tensor: torch.Tensor, args: tuple, kwargs: dict, init_dtype: torch.dtype | None):
    """`init(tensor, ...)`, computed in `init_dtype` and cast when the tensor is a lower-precision float."""
    if init_dtype is None or not tensor.is_floating_point() or tensor.dtype == init_dtype:
        return init(tensor, *args, **kwargs)
    work = torch.empty(tensor.shape, dtype=init_dtype, device=tensor.device)
    init(work, *args, **kwargs)
    with torch.no_grad():
        tensor.copy_(work)
    return tensor


class Replayer:
    """Runs recorded histories on real memory. `bases` maps a History to the real flat storage it
    initializes (module tensors); other histories (temporaries such as `arange(...)`) are recomputed on
    first use. Runs with every torch function mode disabled, so an enclosing empty-init context (ours or
    Lightning's `_EmptyInit`) cannot turn it into a no-op; factories get the target device explicitly."""

    def __init__(self, device: torch.device | str, init_dtype: torch.dtype | None = None) -> None:
        self.device, self.init_dtype = torch.device(device), init_dtype
        self.bases: dict[History, torch.Tensor] = {}

    def _value(self, value: Any) -> Any:
        if isinstance(value, Ref):
            base = self.bases.get(value.history)
            if base is None:
                base = self._compute(value.history)
            return base.as_strided(value.size, value.stride, value.offset)
        if isinstance(value, (list, tuple)):
            return type(value)(self._value(v) for v in value)
        if isinstance(value, torch.device) and value.type == "meta":
            return self.device
        return value

    def _run(self, op: Op) -> Any:
        args, kwargs = self._value(op.args), {k: self._value(v) for k, v in op.kwargs.items()}
        if op.func in _device_constructors() and kwargs.get("device") is None:
            kwargs["device"] = self.device
        if canonical_init(op.func) is not None:
            return run_init(op.func, args[0], args[1:], kwargs, self.init_dtype)
        return op.func(*args, **kwargs)

    def _compute(self, history: History) -> torch.Tensor:
        assert history.producer is not None  # replayable() checked that there is one
        out = self._run(history.producer)
        base = torch.empty(0, dtype=out.dtype, device=out.device).set_(out.untyped_storage())
        self.bases[history] = base
        for op in history.ops:
            self._run(op)
        return base

    def initialize(self, history: History, base: torch.Tensor) -> None:
        """Write `history` into `base` (a flat view of the storage it describes); with `init_dtype`, the
        whole history runs on a copy in that dtype, cast into `base` at the end."""
        lower = self.init_dtype is not None and base.is_floating_point() and base.dtype != self.init_dtype
        work = torch.empty(base.shape, dtype=self.init_dtype, device=base.device) if lower else base
        self.bases[history] = work
        with torch.no_grad(), torch._C.DisableTorchFunction():
            producer = history.producer
            if producer is not None and getattr(producer.func, "__name__", "") not in _EMPTY_FACTORIES:
                out = producer.out
                assert out is not None  # a producer records where its result lives
                work.as_strided(out.size, out.stride, out.offset).copy_(self._run(producer))
            for op in history.ops:
                self._run(op)
            if lower:
                base.copy_(work)
        self.bases[history] = base


def replayable(history: History | None, targets: set) -> bool:
    """Whether `history` writes a value and every tensor it reads is one of `targets` (histories being
    initialized) or can be recomputed from its recorded producer."""
    return history is not None and history.writes_value() and _reads_known(history, targets, set())


def _reads_known(history: History, targets: set, seen: set) -> bool:
    seen.add(history)
    ops = ([history.producer] if history.producer is not None else []) + history.ops
    for ref in _refs(tuple((op.args, tuple(op.kwargs.values())) for op in ops)):
        read = ref.history
        if read in seen or read in targets:
            continue
        if read.producer is None or not _reads_known(read, targets, seen):
            return False
    return True


def _refs(value: Any):
    if isinstance(value, Ref):
        yield value
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _refs(v)

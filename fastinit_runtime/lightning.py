"""Lightning-aware helpers: the fastest safe checkpoint load per strategy, idempotent `configure_model`,
and what a Trainer/Fabric's strategy means for initialization.

Strategy classes are matched by name across `lightning.pytorch`, `lightning.fabric`, `pytorch_lightning`
and `lightning_fabric`: the standalone packages ship separate copies of every class, so `isinstance`
against one namespace misses the others.
"""

from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass

import torch

from .context import init_module
from .loading import LoadResult, initialize_unloaded, load_partial

_PRECISION_DTYPES = {
    "16-true": torch.float16,
    "bf16-true": torch.bfloat16,
    "64-true": torch.float64,
    "transformer-engine": torch.bfloat16,
    "transformer-engine-float16": torch.float16,
}


@dataclass(frozen=True)
class StrategyInfo:
    name: str  # the strategy class name
    sharded: bool  # FSDP, DeepSpeed or ModelParallel
    meta_init: bool  # `init_module(empty_init=True)` builds on the meta device
    dtype: torch.dtype  # parameter dtype inside init_module / configure_model


def _class_names(obj) -> set[str]:
    return {cls.__name__ for cls in type(obj).__mro__}


def strategy_info(obj) -> StrategyInfo:
    """For a Trainer, a Fabric, or a strategy instance (any of the four namespaces)."""
    strategy = getattr(obj, "strategy", None) or getattr(obj, "_strategy", None) or obj
    names = _class_names(strategy)
    fsdp = bool(names & {"FSDPStrategy", "XLAFSDPStrategy"})
    deepspeed = "DeepSpeedStrategy" in names
    model_parallel = "ModelParallelStrategy" in names
    precision = getattr(
        getattr(strategy, "precision_plugin", None) or getattr(strategy, "precision", None), "precision", "32-true"
    )
    return StrategyInfo(
        type(strategy).__name__,
        fsdp or deepspeed or model_parallel,
        fsdp or model_parallel,
        _PRECISION_DTYPES.get(str(precision), torch.float32),
    )


def load_from_checkpoint(
    cls, checkpoint_path, *, trainer=None, strict: bool | None = None, weights_only: bool | None = None, **kwargs
):
    """`cls.load_from_checkpoint` by the fastest path that is safe for the Trainer's strategy.

    - meta strategies (FSDP, ModelParallel): no empty init (loading into meta tensors is a no-op and
      `model.to()` fails); prefer `trainer.fit(model, ckpt_path=...)` for sharded training;
    - elsewhere: empty init in the Trainer's dtype/device (every loaded tensor is overwritten), then the
      tensors the checkpoint lacks and the non-persistent buffers whose init was skipped are initialized
      (`load_partial`), the loaded ones kept bit for bit.

    `strict=None` is Lightning's default: the module's `strict_loading` decides. `weights_only` is passed
    to every `torch.load` (Lightning's default `None` means `True` for torch >= 2.6).
    """
    info = strategy_info(trainer) if trainer is not None else None
    if info is not None and info.meta_init:
        return cls.load_from_checkpoint(checkpoint_path, strict=strict, weights_only=weights_only, **kwargs)
    with contextlib.ExitStack() as stack:
        if trainer is not None:  # the Trainer's device and dtype; our empty init records what it skips
            stack.enter_context(trainer.init_module(empty_init=False))
        stack.enter_context(init_module(empty_init=True))
        model = cls.load_from_checkpoint(checkpoint_path, strict=strict, weights_only=weights_only, **kwargs)
    if model.strict_loading if strict is None else strict:  # everything was loaded: only skipped buffer init is left
        initialize_unloaded(model, list(model.state_dict()))
    else:
        load_partial(model, checkpoint_path, weights_only=True if weights_only is None else weights_only)
    return model


def configured_once(hook):
    """Decorator for `configure_model`: the first call runs the hook, later calls (validate/test after fit)
    return at once, so trained weights are never replaced. Declarative form of FI005's guard."""

    @functools.wraps(hook)
    def wrapper(self, *args, **kwargs):
        if getattr(self, "_fastinit_configured", False):
            return None
        result = hook(self, *args, **kwargs)
        self._fastinit_configured = True
        return result

    return wrapper


__all__ = ["LoadResult", "StrategyInfo", "configured_once", "load_from_checkpoint", "strategy_info"]

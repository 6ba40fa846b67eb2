"""fastinit_runtime: initialize PyTorch models fast and safely (importable without the linter).

- `init_module(device, dtype, empty_init=...)`: build directly on a device in a dtype, optionally skipping
  `torch.nn.init` work; `poison_empty()` fills skipped tensors with NaN so their use shows at once.
- `meta_init()` + `materialize(module, device)`: build without memory (recording the constructors' init),
  then allocate and replay that init, keeping tied weights tied.
- `load_partial(module, state_dict_or_path)`: load a partial checkpoint and initialize exactly what it lacks;
  loaded tensors stay bit for bit the checkpoint's.
- bfloat16 builds run the init math in bfloat16; `init_dtype=torch.float32` computes it in float32.
- `verify_initialized(module)`, `estimate_parameters(factory)`.
- `fastinit_runtime.lightning`: Trainer/Fabric-aware helpers (imported lazily; needs lightning).
"""

from .context import init_module, meta_init, poison_empty
from .estimate import Estimate, estimate_parameters
from .loading import LoadResult, load_partial, verify_initialized
from .materialize import MaterializationError, materialize

__all__ = [
    "Estimate",
    "LoadResult",
    "MaterializationError",
    "estimate_parameters",
    "init_module",
    "load_partial",
    "materialize",
    "meta_init",
    "poison_empty",
    "verify_initialized",
]


def __getattr__(name: str):
    if name == "lightning":  # lazy: plain-PyTorch users need not install lightning
        import importlib

        return importlib.import_module(".lightning", __name__)
    raise AttributeError(name)

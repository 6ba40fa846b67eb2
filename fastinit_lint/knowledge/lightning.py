"""What Lightning 2.6 does with strategy and precision names, runner classes and hooks, as plain data.

Sources: `lightning.pytorch.strategies.StrategyRegistry`, `lightning.fabric.strategies.STRATEGY_REGISTRY`
and `lightning/fabric/connector.py` (precision aliases). tests/test_knowledge.py checks these tables
against the installed Lightning (and the dtypes against real `Fabric.init_module()`), so they cannot drift
silently.
"""

from __future__ import annotations

from dataclasses import dataclass

NAMESPACES = ("lightning.pytorch", "lightning.fabric", "pytorch_lightning", "lightning_fabric")

FSDP_NAMES = frozenset({"fsdp", "fsdp_cpu_offload", "xla_fsdp"})
DEEPSPEED_NAMES = frozenset(
    {
        "deepspeed",
        "deepspeed_stage_1",
        "deepspeed_stage_1_offload",
        "deepspeed_stage_2",
        "deepspeed_stage_2_offload",
        "deepspeed_stage_3",
        "deepspeed_stage_3_offload",
        "deepspeed_stage_3_offload_nvme",
    }
)
# ModelParallelStrategy has no registry string; this is the name our config and --strategy accept for it.
MODEL_PARALLEL = "model_parallel"
OTHER_NAMES = frozenset(
    {
        "auto",
        "ddp",
        "ddp_spawn",
        "ddp_fork",
        "ddp_notebook",
        "ddp_find_unused_parameters_true",
        "ddp_find_unused_parameters_false",
        "ddp_spawn_find_unused_parameters_true",
        "ddp_spawn_find_unused_parameters_false",
        "ddp_fork_find_unused_parameters_true",
        "ddp_fork_find_unused_parameters_false",
        "ddp_notebook_find_unused_parameters_true",
        "ddp_notebook_find_unused_parameters_false",
        "dp",
        "single_device",
        "single_tpu",
        "single_xla",
        "xla",
        "xla_debug",
    }
)
KNOWN_STRATEGY_NAMES = FSDP_NAMES | DEEPSPEED_NAMES | OTHER_NAMES | {MODEL_PARALLEL}

STRATEGY_CLASSES = {
    "FSDPStrategy": "fsdp",
    "DeepSpeedStrategy": "deepspeed",
    "ModelParallelStrategy": MODEL_PARALLEL,
    "XLAFSDPStrategy": "xla_fsdp",
}

TRAINER_QNAMES = frozenset(
    {
        "lightning.Trainer",
        "lightning.pytorch.Trainer",
        "pytorch_lightning.Trainer",
        "lightning.pytorch.trainer.Trainer",
        "pytorch_lightning.trainer.Trainer",
        "lightning.pytorch.trainer.trainer.Trainer",
        "pytorch_lightning.trainer.trainer.Trainer",
    }
)
FABRIC_QNAMES = frozenset(
    {
        "lightning.Fabric",
        "lightning.fabric.Fabric",
        "lightning_fabric.Fabric",
        "lightning.fabric.fabric.Fabric",
        "lightning_fabric.fabric.Fabric",
    }
)


_FABRIC_ONLY = frozenset({"XLAFSDPStrategy"})  # the Trainer has no XLA FSDP strategy


def _strategy_class_qnames() -> dict[str, str]:
    table = {}
    for namespace in NAMESPACES:
        for cls, kind in STRATEGY_CLASSES.items():
            if cls in _FABRIC_ONLY and "fabric" not in namespace:
                continue
            submodule = {
                "fsdp": "fsdp",
                "deepspeed": "deepspeed",
                MODEL_PARALLEL: "model_parallel",
                "xla_fsdp": "xla_fsdp",
            }[kind]
            table[f"{namespace}.strategies.{cls}"] = kind
            table[f"{namespace}.strategies.{submodule}.{cls}"] = kind
    return table


STRATEGY_CLASS_QNAMES = _strategy_class_qnames()

# Lightning hooks that run on the model once `trainer.fit` (or validate/test/predict) has it.
LOADING_HOOKS = frozenset(
    {
        "setup",
        "configure_model",
        "on_fit_start",
        "on_train_start",
        "on_validation_start",
        "on_test_start",
        "on_predict_start",
        "on_load_checkpoint",
    }
)

TRUE_PRECISIONS = frozenset(
    {"16-true", "bf16-true", "64-true", "64", "transformer-engine", "transformer-engine-float16"}
)
# Lightning maps these legacy spellings to *mixed* precision (connector.py), parameters stay float32.
LEGACY_MIXED = {"16": "16-mixed", "bf16": "bf16-mixed"}
MIXED_PRECISIONS = frozenset({"16-mixed", "bf16-mixed"}) | frozenset(LEGACY_MIXED)
FULL_PRECISIONS = frozenset({"32", "32-true"})
# The parameter dtype (name, bytes per element) a true precision's plugin sets while `configure_model` and
# `init_module` run (`module_init_context`: plugins/precision/{half,double,fsdp,deepspeed,transformer_engine}.py);
# mixed and 32-bit flags leave float32.
TRUE_PRECISION_DTYPES = {
    "16-true": ("float16", 2),
    "bf16-true": ("bfloat16", 2),
    "64-true": ("float64", 8),
    "64": ("float64", 8),
    "transformer-engine": ("bfloat16", 2),
    "transformer-engine-float16": ("float16", 2),
}
FLOAT32 = ("float32", 4)

# The first Lightning release (major, minor) with each API the rules' advice uses (CHANGELOG.md of
# lightning.pytorch and lightning.fabric): the "-mixed"/"-true" precision flags in 2.0.0 (#16783, #16767);
# `configure_model`, `Trainer.init_module` and `Fabric.init_module` in 2.1.0 (#18004, #17462).
PRECISION_FLAGS_SINCE = (2, 0)
CONFIGURE_MODEL_SINCE = (2, 1)


def release_text(release: tuple[int, int]) -> str:
    """`(2, 1)` as Lightning numbers it: "2.1"."""
    return f"{release[0]}.{release[1]}"


# LightningModule hooks Lightning 2.0 removed and now raises NotImplementedError on ("Support for
# `training_epoch_end` has been removed in v2.0.0", trainer/configuration_validator.py): a module defining
# one runs on Lightning 1.x.
REMOVED_IN_2_0_HOOKS = frozenset({"training_epoch_end", "validation_epoch_end", "test_epoch_end"})


@dataclass(frozen=True)
class Strategy:
    """A strategy as far as static analysis can know it; `name` is None when it is not statically known."""

    name: str | None
    deepspeed_stage: int | None = None

    @property
    def known(self) -> bool:
        return self.name is not None

    @property
    def is_fsdp(self) -> bool:
        return self.name in FSDP_NAMES

    @property
    def is_deepspeed(self) -> bool:
        return self.name in DEEPSPEED_NAMES

    @property
    def is_model_parallel(self) -> bool:
        return self.name == MODEL_PARALLEL

    @property
    def sharded(self) -> bool:
        return self.is_fsdp or self.is_deepspeed or self.is_model_parallel

    @property
    def meta_init(self) -> bool:
        """Whether `init_module(empty_init=True)` puts parameters on the meta device (FSDP, ModelParallel)."""
        return self.is_fsdp or self.is_model_parallel

    @property
    def zero3(self) -> bool:
        return self.is_deepspeed and self.deepspeed_stage == 3

    def describe(self) -> str:
        if self.name is None:
            return "unknown strategy"
        if self.is_deepspeed and self.deepspeed_stage is not None:
            return f"'{self.name}' (ZeRO stage {self.deepspeed_stage})"
        return f"'{self.name}'"


def deepspeed_stage(stage: str | None) -> Strategy:
    """`DeepSpeedStrategy(stage=...)` from the stage as written; None (not given) is Lightning's default 2."""
    stage = "2" if stage is None else stage
    return Strategy("deepspeed", int(stage) if stage in ("0", "1", "2", "3") else None)


def strategy_from_name(name: str) -> Strategy:
    if name in DEEPSPEED_NAMES:
        stage = int(name.split("_")[2]) if name.startswith("deepspeed_stage_") else 2  # bare "deepspeed" is stage 2
        return Strategy(name, stage)
    return Strategy(name)


def init_dtype(precision: str | None) -> tuple[str, int] | None:
    """(dtype name, bytes per element) of parameters created under `precision`; None when it is not known."""
    if precision is None:
        return None
    kind = precision_kind(precision)
    if kind == "unknown":
        return None
    return TRUE_PRECISION_DTYPES[precision] if kind == "true" else FLOAT32


def precision_kind(value: str) -> str:
    """'true', 'mixed', 'full' or 'unknown' for a precision flag given as text (ints are passed as str)."""
    if value in TRUE_PRECISIONS:
        return "true"
    if value in MIXED_PRECISIONS:
        return "mixed"
    if value in FULL_PRECISIONS:
        return "full"
    return "unknown"

"""The linter's knowledge of Lightning (fastinit_lint/knowledge/lightning.py) against the installed Lightning:
the tables are plain data so the linter never imports Lightning; this test imports it so they cannot drift."""

from __future__ import annotations

import importlib
import inspect
import os
import typing

import pytest
import torch
from lightning.fabric import Fabric
from lightning.fabric.plugins.precision.precision import _PRECISION_INPUT_STR, _PRECISION_INPUT_STR_ALIAS_CONVERSION
from lightning.fabric.strategies import STRATEGY_REGISTRY
from lightning.fabric.strategies.deepspeed import DeepSpeedStrategy
from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.strategies import StrategyRegistry

from fastinit_lint.knowledge import lightning as known


def _registries():
    return {**STRATEGY_REGISTRY, **StrategyRegistry}


def test_strategy_names_are_lightnings_registry_names():
    """Every name the registries accept, plus "auto" and our name for ModelParallelStrategy (it has none)."""
    assert known.KNOWN_STRATEGY_NAMES == set(_registries()) | {"auto", known.MODEL_PARALLEL}


@pytest.mark.parametrize("name", sorted(set(STRATEGY_REGISTRY) | set(StrategyRegistry)))
def test_registry_names_are_classified_by_their_strategy_class(name):
    entry = (StrategyRegistry if name in StrategyRegistry else STRATEGY_REGISTRY)[name]  # `.get` instantiates
    cls = entry["strategy"].__name__
    strategy = known.strategy_from_name(name)
    assert strategy.is_fsdp == (cls in ("FSDPStrategy", "XLAFSDPStrategy"))
    assert strategy.is_deepspeed == (cls == "DeepSpeedStrategy")
    if strategy.is_deepspeed:
        default_stage = inspect.signature(DeepSpeedStrategy).parameters["stage"].default
        assert strategy.deepspeed_stage == entry.get("init_params", {}).get("stage", default_stage)


def test_strategy_class_names_import_as_those_classes():
    for qname, kind in known.STRATEGY_CLASS_QNAMES.items():
        if qname.startswith(("pytorch_lightning.", "lightning_fabric.")):
            continue  # the standalone packages are not installed here; their layout mirrors lightning's
        module, _, name = qname.rpartition(".")
        cls = getattr(importlib.import_module(module), name)
        assert known.STRATEGY_CLASSES[cls.__name__] == kind


@pytest.mark.parametrize("table, cls", [(known.TRAINER_QNAMES, Trainer), (known.FABRIC_QNAMES, Fabric)])
def test_runner_names_import_as_the_runner(table, cls):
    for qname in table:
        if qname.startswith(("pytorch_lightning.", "lightning_fabric.")):
            continue
        module, _, name = qname.rpartition(".")
        assert getattr(importlib.import_module(module), name) is cls


def test_loading_hooks_are_lightning_module_hooks():
    assert all(callable(getattr(LightningModule, hook, None)) for hook in known.LOADING_HOOKS)


def test_precision_aliases_are_lightnings():
    """Legacy spellings mean what Lightning converts them to; every precision flag Lightning accepts is classified."""
    aliases = _PRECISION_INPUT_STR_ALIAS_CONVERSION
    assert known.LEGACY_MIXED == {alias: flag for alias, flag in aliases.items() if flag.endswith("-mixed")}
    assert all(known.precision_kind(alias) == known.precision_kind(flag) for alias, flag in aliases.items())
    flags = set(typing.get_args(_PRECISION_INPUT_STR))
    assert known.TRUE_PRECISIONS | known.MIXED_PRECISIONS | known.FULL_PRECISIONS == flags | set(aliases)


@pytest.mark.parametrize("precision", ["16-true", "bf16-true", "64-true", "64", "16-mixed", "bf16", "32-true", "32"])
def test_init_dtype_is_the_dtype_parameters_get_under_init_module(precision):
    """What `fabric.init_module()` really creates parameters in, on CPU (transformer-engine needs its package)."""
    fabric = Fabric(accelerator="cpu", devices=1, precision=precision)
    with fabric.init_module():
        weight = torch.nn.Linear(2, 2).weight
    name, size = known.init_dtype(precision)
    assert (weight.dtype, weight.element_size()) == (getattr(torch, name), size)


@pytest.mark.parametrize("hook", sorted(known.REMOVED_IN_2_0_HOOKS))
def test_removed_hooks_make_the_trainer_raise(hook, tmp_path):
    """A LightningModule defining one of them cannot run on Lightning 2.x: its code is for 1.x."""
    from lightning.pytorch.demos.boring_classes import BoringModel

    model = type("Old", (BoringModel,), {hook: lambda self, outputs: None})()
    trainer = Trainer(
        default_root_dir=tmp_path,
        accelerator="cpu",
        max_steps=1,
        limit_val_batches=1,
        limit_test_batches=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
    )
    run = trainer.test if hook == "test_epoch_end" else trainer.fit
    with pytest.raises(NotImplementedError, match=f"`{hook}` has been removed in v2.0.0"):
        run(model)


def test_new_precision_flags_and_configure_model_are_in_the_changelog_releases():
    """The releases the version-aware rules cite: the flags in 2.0.0, `configure_model` in 2.1.0."""
    import lightning.pytorch

    changelog = open(os.path.join(os.path.dirname(lightning.pytorch.__file__), "CHANGELOG.md"), encoding="utf-8").read()
    section = {}
    for release in ("2.1.0", "2.0.0", "1.9.0"):
        section[release] = changelog.index(f"## [{release}]")
    flags = changelog.index('to ["64-true"|"32-true"|"16-mixed"|"bf16-mixed"]')
    hook = changelog.index("Added the `LightningModule.configure_model()` hook")
    assert section["2.0.0"] < flags < section["1.9.0"] and known.PRECISION_FLAGS_SINCE == (2, 0)
    assert section["2.1.0"] < hook < section["2.0.0"] and known.CONFIGURE_MODEL_SINCE == (2, 1)

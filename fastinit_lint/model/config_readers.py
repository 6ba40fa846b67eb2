"""Which YAML configs give Lightning their `trainer: precision:`: a top-level `trainer:` mapping configures a
Lightning Trainer only when something hands it to one.

A LightningCLI config does (LightningCLI builds the Trainer from it). A Hydra config does when a script
loading it (`@hydra.main`, NeMo's `@hydra_runner`, `OmegaConf.load`) passes `cfg.trainer` to a Lightning
Trainer; NeMo's Megatron scripts pass the whole config to their own `MegatronTrainerBuilder` instead, or set
`cfg.trainer.precision = None` after turning it into a precision plugin of their own, so Lightning never
gets the value as written. A config no script is known to load and that LightningCLI could not parse says
nothing about Lightning.
"""

from __future__ import annotations

import os
from functools import cached_property
from typing import TYPE_CHECKING

from ..diagnostics import Location, Note
from .facts import ConfigLoad, FileFacts, RunnerFact, Site

if TYPE_CHECKING:
    from .index import ProjectIndex

_SUFFIXES = (".yaml", ".yml")


class ConfigReaders:
    """The project's config loads, joined with the YAML configs they may read."""

    def __init__(self, index: ProjectIndex) -> None:
        self._index = index

    @cached_property
    def _loads(self) -> list[tuple[ConfigLoad, RunnerFact | None]]:
        """Every load, with the Lightning Trainer its function gives the config's precision to (or None)."""
        return [(load, _precision_taker(facts, load)) for facts in self._index.train_files() for load in facts.config_loads]

    def precision_reader(self, facts: FileFacts) -> tuple[Note, ...] | None:
        """Why Lightning gets `trainer: precision:` of the YAML config `facts` as written (the evidence, as notes),
        or None when nothing says it does.

        Scripts naming this very file decide (one passing it to a Lightning Trainer is enough). Otherwise the
        scripts whose Hydra config directory holds it (`--config-name` picks any config there, subdirectories
        included) decide when they all pass it to a Lightning Trainer. A config no script loads is read by
        Lightning when LightningCLI can read it."""
        path = os.path.normpath(facts.path or os.path.abspath(facts.filename))
        named = [(load, trainer) for load, trainer in self._loads if _names(load, path)]
        if named:
            return next(((_note(f"loaded by `{load.shown}`", load.site), _passed(load, trainer))
                         for load, trainer in named if trainer is not None), None)
        around = [(load, trainer) for load, trainer in self._loads if load.hydra and _holds(load, path)]
        if around:
            read = [(load, trainer) for load, trainer in around if trainer is not None]
            if len(read) < len(around):
                return None
            load, trainer = max(read, key=lambda pair: len(pair[0].directories[0]))  # the closest directory's
            others = f", as in the {len(around) - 1} other scripts reading that directory" if len(around) > 1 else ""
            return (_note(f"in the config directory of `{load.shown}`, whose `--config-name` can pick it", load.site),
                    _passed(load, trainer, others))
        if facts.cli_config:
            return (Note("a LightningCLI config (LightningCLI accepts all its top-level keys, or its model is a "
                         "`class_path`): LightningCLI passes `trainer:` to the Trainer"),)
        return None


def _precision_taker(facts: FileFacts, load: ConfigLoad) -> RunnerFact | None:
    """The Lightning Trainer in `load`'s function (or nested in it) given `**<config>.trainer` with the config's
    precision: not when the function sets `cfg.trainer.precision` itself, nor for a Trainer given `plugins=`
    too (with a precision plugin among them Lightning raises on any `precision`, so a working script passes
    none)."""
    if "precision" in load.overridden:
        return None
    wanted = f"{load.variable}.trainer"
    return next((r for r in facts.runners if r.kind == "trainer" and r.scope[:len(load.scope)] == load.scope
                 and wanted in r.expands and not r.plugins), None)


def _names(load: ConfigLoad, path: str) -> bool:
    if load.name is None:
        return False
    return any(os.path.join(directory, load.name + suffix) == path for directory in load.directories for suffix in _SUFFIXES)


def _holds(load: ConfigLoad, path: str) -> bool:
    return path.startswith(load.directories[0].rstrip(os.sep) + os.sep)


def _passed(load: ConfigLoad, trainer: RunnerFact, others: str = "") -> Note:
    return _note(f"`{load.variable}.trainer` goes to the Lightning Trainer{others}", trainer.site)


def _note(message: str, site: Site) -> Note:
    return Note(message, site.filename, Location(site.row, 1))

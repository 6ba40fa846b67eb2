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
from ..knowledge.lightning import TRAINER_QNAMES
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
        """Every load, with the Lightning Trainer its function, or a project function it hands the config to,
        gives the config's precision to (or None)."""
        return [(load, self._taker(facts, load)) for facts in self._index.train_files() for load in facts.config_loads]

    def _taker(self, facts: FileFacts, load: ConfigLoad) -> RunnerFact | None:
        if "precision" in load.overridden:
            return None
        wanted = f"{load.variable}.trainer"
        own = (r for r in facts.runners if r.scope[: len(load.scope)] == load.scope and wanted in r.expands)
        here = os.path.dirname(facts.path or os.path.abspath(facts.filename))
        helpers = (r for functions, argument in load.passes for r in self._helper_runners(functions, argument, here))
        return next((r for r in (*own, *helpers) if _takes_precision(r) and self._lightning_target(r, load)), None)

    @cached_property
    def _runner_files(self) -> dict[str, FileFacts]:
        """Files with runners by module name and by absolute path."""
        found: dict[str, FileFacts] = {}
        for facts in self._index.train_files():
            found.setdefault(facts.module, facts)
            found.setdefault(facts.path, facts)
        return found

    def _helper_runners(self, functions: tuple[str, ...], argument: int | str, here: str) -> list[RunnerFact]:
        """Runners of project function `functions` given `.trainer` of its parameter at `argument` (one level).
        The function's module is a project module, or a file below the script's directory (scripts run from
        their own directory import `src.train` from `src/train.py` there)."""
        found: list[RunnerFact] = []
        for qualname in functions:
            module, _, name = qualname.rpartition(".")
            facts = self._runner_files.get(module) or self._runner_files.get(
                os.path.join(here, *module.split(".")) + ".py"
            )
            found.extend(
                r
                for r in (facts.runners if facts else ())
                if r.scope == (("def", name),) and r.config_param is not None and argument in r.config_param
            )
        return found

    def _lightning_target(self, runner: RunnerFact, load: ConfigLoad) -> bool:
        """A Trainer, or an `instantiate(cfg.trainer)` where a config of the load's directory gives the trainer
        a Lightning Trainer `_target_` (the group's options, or a primary config's `trainer:`)."""
        if not runner.instantiated:
            return True
        return any(
            facts.trainer_target in TRAINER_QNAMES
            for facts in self._index.train_files()
            if _holds(load, facts.path or os.path.abspath(facts.filename))
        )

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
            return next(
                (
                    (_note(f"loaded by `{load.shown}`", load.site), _passed(load, trainer))
                    for load, trainer in named
                    if trainer is not None
                ),
                None,
            )
        around = [(load, trainer) for load, trainer in self._loads if load.hydra and _holds(load, path)]
        if around:
            read = [(load, trainer) for load, trainer in around if trainer is not None]
            if len(read) < len(around):
                return None
            load, trainer = max(read, key=lambda pair: len(pair[0].directories[0]))  # the closest directory's
            others = f", as in the {len(around) - 1} other scripts reading that directory" if len(around) > 1 else ""
            return (
                _note(
                    f"in the config directory of `{load.shown}`, whose command line can pick it (`--config-name`, "
                    f"a config group option)",
                    load.site,
                ),
                _passed(load, trainer, others),
            )
        if facts.cli_config:
            return (
                Note(
                    "a LightningCLI config (LightningCLI accepts all its top-level keys, or its model is a "
                    "`class_path`): LightningCLI passes `trainer:` to the Trainer"
                ),
            )
        return None


def _takes_precision(runner: RunnerFact) -> bool:
    """A Trainer given the config's precision: not one given `plugins=` too (with a precision plugin among them
    Lightning raises on any `precision`, so a working script passes none). (A function setting
    `cfg.trainer.precision` itself is the load's `overridden`.)"""
    return runner.kind == "trainer" and not runner.plugins


def _names(load: ConfigLoad, path: str) -> bool:
    if load.name is None:
        return False
    return any(
        os.path.join(directory, load.name + suffix) == path for directory in load.directories for suffix in _SUFFIXES
    )


def _holds(load: ConfigLoad, path: str) -> bool:
    return path.startswith(load.directories[0].rstrip(os.sep) + os.sep)


def _passed(load: ConfigLoad, trainer: RunnerFact, others: str = "") -> Note:
    taker = "`instantiate`, with a Lightning Trainer `_target_`," if trainer.instantiated else "the Lightning Trainer"
    return _note(f"`{load.variable}.trainer` goes to {taker}{others}", trainer.site)


def _note(message: str, site: Site) -> Note:
    return Note(message, site.filename, Location(site.row, 1))

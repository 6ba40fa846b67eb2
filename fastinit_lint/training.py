"""The training graph: which runner (Trainer, Fabric, LightningCLI + YAML) builds, trains or materializes
which model class, with the strategy it uses and how the model was built.

Rules ask it about one class ("is this model trained by a sharded Trainer?") instead of applying the first
sharded strategy found anywhere in the project to every class in it: in a monorepo, one FSDP script says
nothing about the single-device examples and tests beside it.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Iterator

from .facts import META_DEVICE, STRATEGY_CLASS_QNAMES, FileFacts, RunnerFact, TrainFact
from .lightning_facts import Strategy, deepspeed_stage

if TYPE_CHECKING:
    from .index import ProjectIndex

# Calls after which a model built on the meta device gets real storage (or is set up to get it).
_MATERIALIZING = frozenset({"fit", "validate", "test", "predict", "setup", "setup_module", "to_empty", "fully_shard"})
_VERBS = {"setup": "set up by", "setup_module": "set up by", "to_empty": "materialized by",
          "fully_shard": "sharded by", "LightningCLI": "trained through", "class_path": "trained through"}
_FACTORY_DEPTH = 3  # `build(cfg)` -> `_build_gpt(cfg)` -> `GPT(...)`
_YAML = (".yaml", ".yml")


@dataclass(frozen=True)
class Link:
    """One model class reached by one runner call."""

    model: str  # project class qualname
    train: TrainFact
    runner: RunnerFact | None  # None: no Trainer/Fabric (`to_empty`, `fully_shard`) or a YAML-less LightningCLI
    strategy: Strategy
    on_meta: bool  # built on the meta device before `train` (`torch.device("meta")`, FSDP/ModelParallel empty init)

    @property
    def sharded_trainer(self) -> bool:
        return self.strategy.sharded and self.runner is not None and self.runner.kind == "trainer"

    def describe(self) -> str:
        """'trained by `trainer.fit(...)` at train.py:31 with strategy 'fsdp' at train.py:12'."""
        text = f"{_VERBS.get(self.train.call, 'trained by')} {self.train}"
        if self.runner is not None:
            maybe = " (on some runs: the strategy is chosen by a condition)" if self.runner.conditional else ""
            text += f" with strategy {self.strategy.describe()} at {self.runner.strategy_site}{maybe}"
        return text


class TrainingGraph:
    def __init__(self, index: ProjectIndex) -> None:
        self._index = index
        self.links: dict[str, list[Link]] = {}
        for facts in index.train_files():
            for train in facts.trains:
                for runner in self._runners(facts, train):
                    strategy = self.strategy_of(runner) if runner is not None else Strategy(None)
                    on_meta = self._on_meta(facts, train)
                    for model in self._models(train.targets, _FACTORY_DEPTH):
                        self.links.setdefault(model, []).append(Link(model, train, runner, strategy, on_meta))

    def strategy_of(self, runner: RunnerFact) -> Strategy:
        """The runner's strategy, with a project subclass of a Lightning strategy class resolved to its kind."""
        if runner.strategy.known or not runner.strategy_classes:
            return runner.strategy
        for candidate in runner.strategy_classes:
            for qname, kind in STRATEGY_CLASS_QNAMES.items():
                if self._index.inherits(candidate, frozenset({qname})):
                    return deepspeed_stage(None) if kind == "deepspeed" else Strategy(kind)
        return runner.strategy

    def _runners(self, facts: FileFacts, train: TrainFact) -> list[RunnerFact | None]:
        if train.call == "class_path":  # a LightningCLI config: its own `trainer:` mapping
            return list(facts.runners)
        if train.call == "LightningCLI":  # the YAML configs not naming a model of their own
            return [r for f in self._index.train_files() if f.filename.endswith(_YAML) for r in f.runners
                    if not any(t.call == "class_path" for t in f.trains)] or [None]
        if train.receiver is None:
            return [None]
        return [r for r in [_bound_runner(facts, train.receiver, train.scope, train.site.row)] if r is not None]

    def _on_meta(self, facts: FileFacts, train: TrainFact) -> bool:
        if train.built_under is None:
            return False
        if train.built_under == META_DEVICE:
            return True
        runner = _bound_runner(facts, train.built_under, train.scope, train.site.row)
        return runner is not None and self.strategy_of(runner).meta_init

    def _models(self, targets: tuple[str, ...], depth: int) -> Iterator[str]:
        """Project classes among `targets`, following project model factories' returns `depth` calls deep."""
        for target in map(self._index.canonical, targets):
            if target in self._index.classes:
                yield target
            elif depth > 0:
                yield from self._models(self._index.function_returns(target), depth - 1)

    def links_to(self, qualname: str) -> list[Link]:
        """Links reaching `qualname` or a project subclass of it (whose construction runs its `__init__`)."""
        found = list(self.links.get(qualname, ()))
        target = frozenset({qualname})
        for model, links in self.links.items():
            if model != qualname and self._index.inherits(model, target):
                found.extend(links)
        return sorted(found, key=lambda link: (link.train.site.filename, link.train.site.row))

    def sharded_trainer_link(self, qualname: str) -> Link | None:
        """The first sharded Trainer that trains `qualname` on a model not already built on the meta device
        (`init_module(empty_init=True)` under FSDP/ModelParallel creates nothing in `__init__` to move)."""
        return next((link for link in self.links_to(qualname) if link.sharded_trainer and not link.on_meta), None)

    def reached(self, qualname: str) -> bool:
        return bool(self.links_to(qualname))

    @cached_property
    def meta_built(self) -> dict[str, Link]:
        """Every project class contained in a model that is built on the meta device and then materialized or
        set up (not a meta model built only to count shapes or FLOPs), with the link that does it."""
        contained: dict[str, Link] = {}
        for model, links in sorted(self.links.items()):
            link = next((l for l in links if l.on_meta and l.train.call in _MATERIALIZING and not l.train.raises), None)
            if link is None:
                continue
            pending = [model]
            while pending:
                current = pending.pop()
                if current in contained:
                    continue
                contained[current] = link
                pending.extend(self._index.built_in_init(current))
                pending.extend(self._index.project_lineage(current))
        return contained


def _bound_runner(facts: FileFacts, receiver: str, scope, row: int) -> RunnerFact | None:
    """The Trainer/Fabric `receiver` names at `row`: bound in the same scope (the last one before `row`),
    at module level, or (for `self.x`) in another method of the same class."""
    def visible(runner: RunnerFact) -> bool:
        if runner.bound_to != receiver:
            return False
        if runner.scope == scope or runner.scope == ():
            return True
        return receiver.startswith("self.") and len(scope) >= 2 and runner.scope[:-1] == scope[:-1]

    candidates = [r for r in facts.runners if visible(r)]
    earlier = [r for r in candidates if r.site.row <= row and r.scope == scope]
    return (earlier or candidates or [None])[-1]


def constructed_classes(init_source: str, resolve) -> set[str]:
    """Qualnames (by `resolve(dotted)`) of everything called in an `__init__` source: the submodules it builds."""
    try:
        tree = ast.parse(init_source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set()
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            found.update(resolve(node.func))
    return found

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

from ..diagnostics import Note
from ..knowledge.lightning import STRATEGY_CLASS_QNAMES, Strategy, deepspeed_stage
from .facts import META_DEVICE, CallFact, FileFacts, RunnerFact, TrainFact
from .site import Site

if TYPE_CHECKING:
    from .index import ProjectIndex

# Calls after which a model built on the meta device gets real storage (or is set up to get it).
_MATERIALIZING = frozenset({"fit", "validate", "test", "predict", "setup", "setup_module", "to_empty", "fully_shard"})
_VERBS = {
    "setup": "set up by",
    "setup_module": "set up by",
    "to_empty": "materialized by",
    "fully_shard": "sharded by",
    "LightningCLI": "trained through",
    "class_path": "trained through",
}
_FACTORY_DEPTH = 3  # `build(cfg)` -> `_build_gpt(cfg)` -> `GPT(...)`
_YAML = (".yaml", ".yml")
META, EMPTY = "meta", "empty"


@dataclass(frozen=True)
class Link:
    """One model class reached by one runner call."""

    model: str  # project class qualname
    train: TrainFact
    runner: RunnerFact | None  # None: no Trainer/Fabric (`to_empty`, `fully_shard`) or a YAML-less LightningCLI
    strategy: Strategy
    # How the model was built before `train`: META (`torch.device("meta")`, FSDP/ModelParallel empty init),
    # EMPTY (`init_module(empty_init=True)` elsewhere: allocated, never initialized), or None.
    built: str | None
    strategy_note: Note | None = None  # where the strategy is stated (or assumed); None without a runner
    built_note: Note | None = None  # where it was built on the meta device or empty, when it was

    @property
    def on_meta(self) -> bool:
        return self.built == META

    @property
    def precisions(self) -> tuple[str, ...]:
        """The precision flags the runner may use, as written: one (Lightning's default "32-true" when not
        given), each literal branch of a conditional, or none when not known statically or there is no runner."""
        if self.runner is None:
            return ()
        return (self.runner.precision,) if self.runner.precision else self.runner.precision_options

    @property
    def sharded_trainer(self) -> bool:
        return self.strategy.sharded and self.runner is not None and self.runner.kind == "trainer"

    def describe(self) -> str:
        """ "trained by `trainer.fit(...)` with strategy 'fsdp'": where each is, `notes()` says."""
        text = self._trained()
        return text + f" with strategy {self.strategy.describe()}" if self.runner is not None else text

    def notes(self) -> tuple[Note, ...]:
        """The build on meta (or empty), the runner's call and the strategy, each where it is stated."""
        return tuple(n for n in (self.built_note, self.train.site.note(self._trained()), self.strategy_note) if n)

    def _trained(self) -> str:
        return f"{_VERBS.get(self.train.call, 'trained by')} {self.train}"


class TrainingGraph:
    def __init__(self, index: ProjectIndex) -> None:
        self._index = index
        self.links: dict[str, list[Link]] = {}
        self._calls_to: dict[str, list[tuple[FileFacts, CallFact]]] = {}
        training_functions = {_function_of(facts, t) for facts in index.train_files() for t in facts.trains} - {None}
        for facts in index.train_files():
            for call in facts.calls:
                for function in call.function:
                    function = index.reexported(function, training_functions)
                    self._calls_to.setdefault(function, []).append((facts, call))
        for facts in index.train_files():
            for train in facts.trains:
                for runner, targets, (built, built_note) in self._contexts(facts, train):
                    strategy, note = self.strategy_of(runner) if runner is not None else (Strategy(None), None)
                    for model in self._models(targets, _FACTORY_DEPTH):
                        self.links.setdefault(model, []).append(
                            Link(model, train, runner, strategy, built, note, built_note)
                        )

    def _contexts(
        self, facts: FileFacts, train: TrainFact
    ) -> Iterator[tuple[RunnerFact | None, tuple[str, ...], tuple]]:
        """(runner, model targets, (how it was built, the note saying where)) for `train`: from its own function,
        or, when its runner or model is a parameter, from each call of that function passing a runner."""
        local = self._runners(facts, train)
        own = train.built_under, facts, train.scope, train.site.row
        function = _function_of(facts, train)
        if train.receiver_param is None and train.model_param is None or function is None:
            for runner in local:
                yield runner, train.targets, self._built(*own, runner, train.receiver, train.built_row)
            return
        for caller, call in self._calls_to.get(function, ()):
            runner = local[0] if local else None
            passed = _argument(call.runners, train.receiver_param) if train.receiver_param else None
            if passed is not None:
                runner = _bound_runner(caller, passed, call.scope, call.site.row)
            if runner is None and train.receiver is not None:
                continue
            if train.model_param is None:
                yield runner, train.targets, self._built(*own, runner, train.receiver, train.built_row)
                continue
            model = _argument(call.models, train.model_param)
            if model is not None:
                targets, under, built_row = model
                yield runner, targets, self._built(under, caller, call.scope, call.site.row, runner, passed, built_row)

    def strategy_of(self, runner: RunnerFact) -> tuple[Strategy, Note]:
        """The runner's strategy and the note saying where it is stated. A project subclass of a Lightning
        strategy class, or a project function returning one (`strategy=make_strategy()`), is resolved to its
        kind; a strategy not known statically (`strategy=args.strategy`) is the configured assumption
        (`strategy =` in the config, `--strategy`) when there is one."""
        if runner.strategy.known:
            return runner.strategy, runner.strategy_note()
        for candidate in (c for name in runner.strategy_classes for c in (name, *self._index.function_returns(name))):
            for qname, kind in STRATEGY_CLASS_QNAMES.items():
                if self._index.inherits(candidate, frozenset({qname})):
                    strategy = deepspeed_stage(None) if kind == "deepspeed" else Strategy(kind)
                    return strategy, runner.strategy_note(strategy)
        assumed = self._index.assumed
        if assumed is not None:
            return assumed.strategy, runner.strategy_site.note(f"{assumed}: the Trainer's own is not a literal")
        return runner.strategy, runner.strategy_note()

    @cached_property
    def _cli_config_runners(self) -> tuple[RunnerFact, ...]:
        """The runners of the LightningCLI YAML configs not naming a model of their own."""
        return tuple(
            r
            for f in self._index.train_files()
            if f.filename.endswith(_YAML) and f.cli_config
            for r in f.runners
            if not any(t.call == "class_path" for t in f.trains)
        )

    def _runners(self, facts: FileFacts, train: TrainFact) -> list[RunnerFact | None]:
        if train.call == "class_path":  # a LightningCLI config: its own `trainer:` mapping
            return list(facts.runners)
        if train.call == "LightningCLI":
            return list(self._cli_config_runners) or [None]
        if train.receiver is None:
            return [None]
        return [r for r in [_bound_runner(facts, train.receiver, train.scope, train.site.row)] if r is not None]

    def _built(
        self,
        under: str | None,
        facts: FileFacts,
        scope,
        row: int,
        runner: RunnerFact | None,
        receiver: str | None,
        built_row: int,
    ) -> tuple[str | None, Note | None]:
        """META or EMPTY for a model built under `under` (see TrainFact.built_under) on `built_row`, in `scope` of
        `facts` before `row`, and the note saying so there; `runner` is what `receiver` names (it may be a
        parameter)."""
        if under is None:
            return None, None
        if under == META_DEVICE:
            return META, Site(facts.filename, built_row).note(f"built under `{META_DEVICE}`")
        builder = runner if under == receiver else _bound_runner(facts, under, scope, row)
        if builder is None:
            return None, None
        built = META if self.strategy_of(builder)[0].meta_init else EMPTY
        on_meta = " on the meta device" if built == META else ""
        return built, Site(facts.filename, built_row).note(
            f"built{on_meta} under `{under}.init_module(empty_init=True)`"
        )

    def _models(self, targets: tuple[str, ...], depth: int) -> Iterator[str]:
        """Project classes among `targets`, following project model factories' returns `depth` calls deep."""
        for target in map(self._index.canonical, targets):
            if target in self._index.classes:
                yield target
            elif depth > 0:
                yield from self._models(self._index.function_returns(target), depth - 1)

    def links_to(self, qualname: str) -> list[Link]:
        """Links reaching `qualname` or a project subclass of it (whose construction runs its `__init__`)."""
        found = [*self.links.get(qualname, ()), *self._subclass_links.get(qualname, ())]
        return sorted(found, key=lambda link: (link.train.site.filename, link.train.site.row))

    @cached_property
    def _subclass_links(self) -> dict[str, list[Link]]:
        """Base class name -> the links of the linked models deriving from it through project classes: what
        `index.inherits(model, {name})` answers, walked once per linked model instead of once per model for
        every class a gate asks about (every LightningModule of a monorepo)."""
        found: dict[str, list[Link]] = {}
        for model, links in self.links.items():
            for name in self._base_names(model) - {model}:
                found.setdefault(name, []).extend(links)
        return found

    def _base_names(self, model: str) -> set[str]:
        """Every base name on `model`'s chains of project classes, as `index.inherits` compares them."""
        seen: set[str] = set()
        pending = [model]
        while pending:
            cls = self._index.classes.get(self._index.canonical(pending.pop()))
            for name in (c for base in (cls.bases if cls is not None else ()) for c in base):
                if name not in seen:
                    seen.add(name)
                    pending.append(name)
        return seen

    def sharded_trainer_link(self, qualname: str) -> Link | None:
        """The first sharded Trainer that trains `qualname` on a model not already built on the meta device
        (`init_module(empty_init=True)` under FSDP/ModelParallel creates nothing in `__init__` to move)."""
        return next((link for link in self.links_to(qualname) if link.sharded_trainer and not link.on_meta), None)

    def empty_init_trainer_link(self, qualname: str) -> Link | None:
        """The first Trainer that runs `qualname`'s hooks on a model built with `init_module(empty_init=True)`
        off the meta device: allocated, never initialized."""
        return next(
            (
                link
                for link in self.links_to(qualname)
                if link.built == EMPTY and link.runner is not None and link.runner.kind == "trainer"
            ),
            None,
        )

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
                pending.extend(
                    c
                    for base in self._index.classes[current].bases
                    for c in base  # their __init__ runs too
                    if c in self._index.classes
                )
        return contained


def _function_of(facts: FileFacts, train: TrainFact) -> str | None:
    """The qualname of the module-level function `train` is in, if it is in one."""
    if len(train.scope) != 1 or train.scope[0][0] != "def":
        return None
    return f"{facts.module}.{train.scope[0][1]}" if facts.module else train.scope[0][1]


def _argument(arguments: tuple, parameter: tuple[int, str]):
    """The rest of the `(argument, ...)` entry passed for `parameter` (position, name), or None."""
    for key, *rest in arguments:
        if key in parameter:
            return rest[0] if len(rest) == 1 else tuple(rest)
    return None


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
    return (earlier or candidates)[-1] if candidates else None


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

"""The project index: every file's phase-1 facts, joined so rules can ask cross-file questions."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property
from typing import Iterator, Mapping

from .config_readers import ConfigReaders
from .facts import ClassFact, FileFacts
from ..knowledge.lightning import REMOVED_IN_2_0_HOOKS, Strategy
from .lightning_versions import LightningVersions, Pin
from .load_summaries import Loads
from .store import FactsStore
from .training import TrainingGraph, constructed_classes

LIGHTNING_MODULE_QNAMES = frozenset(
    f"{ns}{suffix}"
    for ns in ("lightning", "lightning.pytorch", "pytorch_lightning")
    for suffix in (".LightningModule", ".core.LightningModule", ".core.module.LightningModule")
)
NN_MODULE_QNAMES = frozenset({"torch.nn.Module", "torch.nn.modules.module.Module", "torch.nn.modules.Module"})
_MAX_REEXPORTS = 32  # steps of a `pkg.Name` re-export chain followed before giving up


@dataclass(frozen=True)
class StrategyEvidence:
    """The strategy the configuration assumes for models no runner in the project reaches."""

    strategy: Strategy
    where: str  # "config fastinit-lint.toml", "--strategy"

    def __str__(self) -> str:
        return f"strategy {self.strategy.describe()} from {self.where}"


class ProjectIndex:
    def __init__(
        self,
        files: list[FileFacts] | FactsStore,
        assumed_strategy: Strategy | None = None,
        assumed_where: str = "",
        lightning: LightningVersions | None = None,
    ) -> None:
        """`files`: the project's facts, read through a store (made here from a list). `lightning`: the Lightning
        releases the project's declaration files pin. Made before any question; answers are memoized here, so
        after the store changes a new index is made."""
        self.files = files if isinstance(files, FactsStore) else FactsStore.of(files)  # order = output order
        self.classes: Mapping[str, ClassFact] = self.files.classes
        self.assumed = _assumption(assumed_strategy, assumed_where)
        self.lightning = lightning or LightningVersions()
        self._canonical: dict[str, str] = {}
        self._lineage: dict[str, tuple[str, ...]] = {}
        self._subclass_memo: dict[tuple[str, frozenset[str]], bool] = {}

    def train_files(self) -> Iterator[FileFacts]:
        """Facts of the files constructing a runner, handing a model to one or loading a YAML config, in file-name
        order."""
        return iter(self._train_files)

    @cached_property
    def _train_files(self) -> tuple[FileFacts, ...]:
        # Asked once per training question (thousands per run); an index never outlives its store's contents.
        return tuple(self.files[name] for name in self.files.runner_files)

    @cached_property
    def training(self) -> TrainingGraph:
        return TrainingGraph(self)

    @cached_property
    def config_readers(self) -> ConfigReaders:
        """What gives a YAML config's `trainer:` mapping to Lightning (LightningCLI, a Hydra script), if anything."""
        return ConfigReaders(self)

    @cached_property
    def loads(self) -> Loads:
        """What calls of project functions do with the models passed to them (loads, initializers)."""
        return Loads(self, self.files.loader_files)

    def older_lightning(self, path: str, release: tuple[int, int]) -> Pin | None:
        """Why the file at `path` (absolute) must also run on a Lightning release older than `release`: a pin of
        its nearest declaring directory, or a LightningModule there defining a hook Lightning 2.0 removed. None
        when nothing says so."""
        directory = self.lightning.declaring_directory(path)
        pins = (
            *(self.lightning.pins.get(directory, ()) if directory else ()),
            *(() if self.lightning.stated else self._removed_hooks.get(directory, ())),
        )
        return next((pin for pin in pins if pin.older_than(release)), None)

    @cached_property
    def _removed_hooks(self) -> dict[str | None, tuple[Pin, ...]]:
        """Module-level LightningModules defining a hook Lightning 2.0 raises on, by declaring directory (classes
        local to a function are left out: tests define them to check that Lightning raises)."""
        found: dict[str | None, list[Pin]] = {}
        for qualname in self.classes:
            cls = self.classes[qualname]
            hooks = sorted(REMOVED_IN_2_0_HOOKS.intersection(cls.methods))
            if hooks and all(kind == "class" for kind, _ in cls.scope) and self.is_lightning_module(qualname):
                directory = self.lightning.declaring_directory(self.files[cls.site.filename].path)
                found.setdefault(directory, []).append(
                    Pin(
                        f"`{cls.name}.{hooks[0]}`, a hook Lightning 2.0 removed (it raises on it)",
                        cls.site,
                        (2, 0),
                        True,
                    )
                )
        return {directory: tuple(pins) for directory, pins in found.items()}

    def function_returns(self, qualname: str) -> tuple[str, ...]:
        """Candidate qualnames of what project function `qualname` returns, when it is a model factory."""
        factories = self.files.factory_files
        filename = factories.get(self.reexported(qualname, factories))
        if filename is None:
            return ()
        qualname = self.reexported(qualname, factories)
        return next(targets for name, targets in self.files[filename].returns if name == qualname)

    def module_file(self, module: str) -> str | None:
        """The project file that is module `module`."""
        return self.files.module_files.get(module)

    def built_in_init(self, qualname: str) -> set[str]:
        """Project classes whose instances `qualname`'s own `__init__` builds (its bases' are theirs)."""
        cls = self.classes[qualname]
        if cls.init_source is None:
            return set()
        names = self.files[cls.site.filename].names
        return {
            q
            for q in constructed_classes(cls.init_source, lambda node: names.resolve_node(node, cls.scope))
            if q in self.classes and q != qualname
        }

    def project_lineage(self, qualname: str) -> tuple[str, ...]:
        """`qualname` and its project base classes, each once (cycles and long chains without recursion). Once per
        class: it is asked for every hook of every class (the load summaries behind FI002's gate)."""
        if qualname not in self._lineage:
            self._lineage[qualname] = self._project_lineage(qualname)
        return self._lineage[qualname]

    def _project_lineage(self, qualname: str) -> tuple[str, ...]:
        chain, seen, pending = [], set(), [qualname]
        while pending:
            current = self.canonical(pending.pop())
            if current in seen or current not in self.classes:
                continue
            seen.add(current)
            chain.append(current)
            pending.extend(c for base in self.classes[current].bases for c in base)
        return tuple(chain)

    def inherits(self, qualname: str, targets: frozenset[str]) -> bool:
        """Whether project class `qualname` derives from any of `targets`, through any chain of project classes.
        Iterative (a checkout can chain thousands of classes) and cycle-safe; every class on the found path is
        memoized True, and every class seen by a search that found nothing False (it reaches nothing more)."""
        memo = self._subclass_memo
        if (qualname, targets) in memo:
            return memo[(qualname, targets)]
        parent: dict[str, str | None] = {qualname: None}
        stack, found = [qualname], None
        while stack and found is None:
            current = stack.pop()
            cls = self.classes.get(self.canonical(current))
            for candidate in (c for base in (cls.bases if cls is not None else ()) for c in base):
                if candidate in targets or memo.get((candidate, targets)):
                    found = current
                    break
                if candidate not in parent and (candidate, targets) not in memo:
                    parent[candidate] = current
                    stack.append(candidate)
        if found is None:
            memo.update(((name, targets), False) for name in parent)
            return False
        while found is not None:
            memo[(found, targets)] = True
            found = parent[found]
        return True

    def canonical(self, qualname: str) -> str:
        """The project class `qualname` names through package re-exports (`from .model import GPT` in
        `pkg/__init__.py`, chains of them), else `qualname` itself."""
        if qualname in self.classes:
            return qualname
        if qualname not in self._canonical:
            self._canonical[qualname] = self.reexported(qualname, self.classes)
        return self._canonical[qualname]

    def reexported(self, qualname: str, defined) -> str:
        """The name in `defined` (a container of qualnames) that `qualname` re-exports, else `qualname`."""
        current, seen = qualname, set[str]()
        while current not in defined and current not in seen and len(seen) < _MAX_REEXPORTS:
            seen.add(current)
            current = self._reexport(current) or current
        return current if current in defined else qualname

    def _reexport(self, qualname: str) -> str | None:
        """What `pkg.Name` is bound to in `pkg`'s own module (one step of a re-export chain)."""
        module, _, name = qualname.rpartition(".")
        filename = self.files.module_files.get(module)
        if filename is None:
            return None
        return next((t for t in sorted(self.files[filename].names.resolve(name, ())) if t != qualname), None)

    def is_lightning_module(self, qualname: str) -> bool:
        return self.inherits(qualname, LIGHTNING_MODULE_QNAMES)

    def is_nn_module(self, qualname: str) -> bool:
        return self.inherits(qualname, NN_MODULE_QNAMES | LIGHTNING_MODULE_QNAMES)


def project_digest(
    store: FactsStore,
    assumed_strategy: Strategy | None = None,
    assumed_where: str = "",
    lightning: LightningVersions | None = None,
) -> str:
    """What every cached result's key holds of the project: changes whenever any cross-file fact changes.
    Made from each file's `FileFacts.digest()` (kept beside the stored facts), so checking that nothing
    changed never needs the facts themselves, nor a ProjectIndex; and the declared Lightning pins."""
    payload = repr(
        (
            sorted((name, stored.facts_digest) for name, stored in store.stored.items() if stored.has_facts),
            _assumption(assumed_strategy, assumed_where),
            lightning.digest() if lightning else "",
        )
    )
    return hashlib.blake2b(payload.encode(), digest_size=16).hexdigest()


def _assumption(strategy: Strategy | None, where: str) -> StrategyEvidence | None:
    return StrategyEvidence(strategy, where) if strategy else None

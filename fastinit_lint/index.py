"""The project index: every file's phase-1 facts, joined so rules can ask cross-file questions."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property
from typing import Iterator, Mapping, NamedTuple

from .facts import ClassFact, FileFacts, RunnerFact
from .lightning_facts import Strategy

LIGHTNING_MODULE_QNAMES = frozenset(
    f"{ns}{suffix}"
    for ns in ("lightning", "lightning.pytorch", "pytorch_lightning")
    for suffix in (".LightningModule", ".core.LightningModule", ".core.module.LightningModule")
)
NN_MODULE_QNAMES = frozenset({"torch.nn.Module", "torch.nn.modules.module.Module", "torch.nn.modules.Module"})


@dataclass(frozen=True)
class StrategyEvidence:
    strategy: Strategy
    where: str  # "train.py:12", "config fastinit-lint.toml", "--strategy"
    runner: RunnerFact | None = None

    def __str__(self) -> str:
        return f"strategy {self.strategy.describe()} at {self.where}"


class FactsSummary(NamedTuple):
    """What the index must know of a file without reading its facts: which classes it defines and whether
    it has runners or meta-device sites. Kept unpickled beside the facts, so a run that asks about a few
    classes (the gate of one touched file) reads the facts of only the files defining them."""

    classes: tuple[str, ...]
    runners: bool
    meta_sites: bool


def summarize(facts: FileFacts) -> FactsSummary:
    return FactsSummary(tuple(c.qualname for c in facts.classes), bool(facts.runners), bool(facts.meta_sites))


class _Classes(Mapping[str, ClassFact]):
    """Qualname -> ClassFact, reading a file's facts on first use. A qualname defined twice (two plain
    `train.py` scripts are both module `train`) is the first file's by name, then the first in that file."""

    def __init__(self, files: Mapping[str, FileFacts], summaries: Mapping[str, FactsSummary],
                 order: list[str]) -> None:
        self._files = files
        self._found: dict[str, ClassFact] = {}
        self._where: dict[str, str] = {}
        for filename in order:
            for qualname in summaries[filename].classes:
                self._where.setdefault(qualname, filename)

    def __getitem__(self, qualname: str) -> ClassFact:
        if qualname not in self._found:
            self._found[qualname] = next(c for c in self._files[self._where[qualname]].classes if c.qualname == qualname)
        return self._found[qualname]

    def __contains__(self, qualname: object) -> bool:
        return qualname in self._where

    def __iter__(self) -> Iterator[str]:
        return iter(self._where)

    def __len__(self) -> int:
        return len(self._where)


class ProjectIndex:
    def __init__(self, files: list[FileFacts] | Mapping[str, FileFacts], assumed_strategy: Strategy | None = None,
                 assumed_where: str = "", summaries: Mapping[str, FactsSummary] | None = None) -> None:
        """`files` as a list, or as a mapping from file name (in file-name order) that may read each file's
        facts only when asked, with their `summaries` given so that building the index reads none."""
        if not isinstance(files, Mapping):
            files = {f.filename: f for f in sorted(files, key=lambda f: f.filename)}
        if summaries is None:
            summaries = {name: summarize(facts) for name, facts in files.items()}
        self.files = files  # order = output order
        self.assumed = _assumption(assumed_strategy, assumed_where)
        order = sorted(summaries)
        self.classes: Mapping[str, ClassFact] = _Classes(files, summaries, order)
        self._runner_files = [name for name in order if summaries[name].runners]
        self._meta_files = [name for name in order if summaries[name].meta_sites]
        self._subclass_memo: dict[tuple[str, frozenset[str]], bool] = {}

    @cached_property
    def estimator(self):
        """One estimator per run (and per worker), so project-class sizes are computed once."""
        from .estimate import Estimator

        return Estimator(self)

    @cached_property
    def runners(self) -> list[RunnerFact]:
        return [runner for name in self._runner_files for runner in self.files[name].runners]

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
            cls = self.classes.get(current)
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

    def is_lightning_module(self, qualname: str) -> bool:
        return self.inherits(qualname, LIGHTNING_MODULE_QNAMES)

    def is_nn_module(self, qualname: str) -> bool:
        return self.inherits(qualname, NN_MODULE_QNAMES | LIGHTNING_MODULE_QNAMES)

    @cached_property
    def _strategy_evidence(self) -> tuple[StrategyEvidence, ...]:
        evidence = [StrategyEvidence(r.strategy, str(r.strategy_site), r) for r in self.runners]
        if self.assumed is not None:
            evidence.append(self.assumed)
        return tuple(evidence)

    def strategy_evidence(self) -> tuple[StrategyEvidence, ...]:
        """Every Trainer/Fabric strategy the project states, plus the configured assumption."""
        return self._strategy_evidence

    @cached_property
    def _sharded_trainer_evidence(self) -> StrategyEvidence | None:
        return next((item for item in self._strategy_evidence
                     if item.strategy.sharded and (item.runner is None or item.runner.kind == "trainer")), None)

    def sharded_trainer_evidence(self) -> StrategyEvidence | None:
        """The first sharded Trainer strategy in the project (deterministic: file order, then row);
        asked for every file checked, so computed once."""
        return self._sharded_trainer_evidence

    @cached_property
    def _meta_init_evidence(self) -> str | None:
        return self._find_meta_init()

    def meta_init_evidence(self) -> str | None:
        return self._meta_init_evidence

    def _find_meta_init(self) -> str | None:
        """Where the project builds on the meta device: `torch.device("meta")`, or `init_module(empty_init=True)`
        on a Trainer/Fabric whose strategy is FSDP or ModelParallel (others use `_EmptyInit`, not meta)."""
        for facts in (self.files[name] for name in self._meta_files):
            for receiver, scope, site in facts.meta_sites:
                if receiver is None:
                    return f'torch.device("meta") at {site}'
                runner = next((r for r in facts.runners if r.bound_to == receiver and r.scope in (scope, ())), None)
                strategy = runner.strategy if runner else (self.assumed.strategy if self.assumed else None)
                if strategy is not None and strategy.meta_init:
                    return f"{receiver}.init_module(empty_init=True) at {site} with strategy {strategy.describe()}"
        return None



def project_digest(file_digests: dict[str, str], assumed_strategy: Strategy | None = None, assumed_where: str = "") -> str:
    """What every cached result's key holds of the project: changes whenever any cross-file fact changes.
    Made from each file's `FileFacts.digest()` (kept beside the cached facts), so checking that nothing
    changed never needs the facts themselves, nor a ProjectIndex."""
    payload = repr((sorted(file_digests.items()), _assumption(assumed_strategy, assumed_where)))
    return hashlib.blake2b(payload.encode(), digest_size=16).hexdigest()


def _assumption(strategy: Strategy | None, where: str) -> StrategyEvidence | None:
    return StrategyEvidence(strategy, where) if strategy else None

"""The rule API: one class per rule, its docs and its examples beside it (Fixit's pattern, stricter).

A rule is a LibCST batchable visitor (`get_visitors()` is all `libcst.visit_batched` asks of one), so every
enabled rule shares one traversal of a file; it does not inherit LibCST's class, so that defining rules does
not import libcst (warm runs never need it). Two
cheap gates run before any LibCST parse: `markers` (text that must occur in the file) and `relevant`
(a question to the phase-1 facts and the project index). Most files fail both and are never parsed
with LibCST at all.
"""

from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, ClassVar, Mapping, TypeVar, Union

from ..syntax.lazy_libcst import cst

from ..diagnostics import SAFE, UNSAFE, Applicability, FixAvailability, LineInsert, Note

if TYPE_CHECKING:
    from ..workspace.config import Settings
    from ..model.facts import FileFacts
    from ..model.estimate import Estimator
    from ..model.index import ProjectIndex
    from ..model.names import ScopeKey

Replacement = Union["cst.CSTNode", "cst.RemovalSentinel", "cst.FlattenSentinel"]
_Node = TypeVar("_Node")
_T = TypeVar("_T")


@dataclass(frozen=True)
class Valid:
    """Code the rule must accept. `files` adds other project files (e.g. a `train.py` with a Trainer);
    `snippet` names the file `code` is written to (a `.yaml` one for LightningCLI configs); `name` names the
    case (its test id, as Fixit's)."""

    code: str
    files: Mapping[str, str] = field(default_factory=dict)
    settings: Mapping[str, object] = field(default_factory=dict)
    snippet: str = "snippet.py"
    name: str | None = None


@dataclass(frozen=True)
class Invalid:
    """Code the rule must flag: exactly at `rows` (one entry per finding) or at `at` (1-based (row, column)
    of each finding's start), with an exact fix outcome.

    `fixed` is the whole file after applying the rule's fixes (None = the rule must offer no fix);
    `unsafe` says the fix must be classed unsafe. The fixed code must itself produce no finding.
    """

    code: str
    rows: tuple[int, ...] = ()
    fixed: str | None = None
    unsafe: bool = False
    message_contains: tuple[str, ...] = ()
    files: Mapping[str, str] = field(default_factory=dict)
    settings: Mapping[str, object] = field(default_factory=dict)
    snippet: str = "snippet.py"
    at: tuple[tuple[int, int], ...] = ()
    name: str | None = None

    def __post_init__(self) -> None:
        if not self.rows and not self.at:
            raise ValueError("an Invalid example says where it is flagged: `rows` or `at`")


class FixPlan:
    """A fix: the nodes it replaces, the imports it needs, its message and safety. `changes` may be given as a
    function that builds them, for fixes costly to build (FI001 rewrites a whole class): a check then pays for
    them only when the fix is applied or its edit shown, not on every run. `imports` are (module, name or None)
    pairs, added by LibCST's `AddImportsVisitor` (after the docstring and `__future__` imports, merged with
    the file's own, skipped when already there). `elsewhere`: lines the fix adds to other project files,
    written with this one, all or none."""

    def __init__(
        self,
        changes: Mapping[cst.CSTNode, Replacement] | Callable[[], Mapping[cst.CSTNode, Replacement]],
        message: str,
        applicability: Applicability = SAFE,
        imports: tuple[tuple[str, str | None], ...] = (),
        elsewhere: tuple[LineInsert, ...] = (),
    ) -> None:
        self._changes = changes
        self.message = message
        self.applicability = applicability
        self.imports = imports
        self.elsewhere = elsewhere

    @functools.cached_property
    def changes(self) -> Mapping[cst.CSTNode, Replacement]:
        return self._changes() if callable(self._changes) else self._changes


@dataclass(frozen=True)
class TextReport:
    """A finding in a file that has no syntax tree (a LightningCLI YAML config): the character span it is
    about, and the text that replaces exactly that span when fixed (None: no fix)."""

    start: int
    end: int
    message: str
    replacement: str | None = None
    fix_message: str = ""
    notes: tuple[Note, ...] = ()  # the evidence (what reads the config)


@dataclass(frozen=True)
class NoteAt:
    """Evidence at a node of the checked file (the `init_module` block a model was built in): the engine
    gives it the node's position, as it does the finding's."""

    message: str
    node: cst.CSTNode


@dataclass
class Report:
    rule: "Rule"
    node: cst.CSTNode
    message: str
    fix: FixPlan | None
    no_fix_reason: str | None
    statement: int | None = None  # index of the top-level statement being walked when reported
    notes: tuple[Note | NoteAt, ...] = ()


class Context:
    """What a rule may know about the file it checks and the project around it."""

    def __init__(
        self, filename: str, module: cst.Module, facts: "FileFacts", index: "ProjectIndex", settings: "Settings"
    ) -> None:
        self.filename = filename
        self.module = module
        self.facts = facts
        self.index = index
        self.settings = settings
        self.scope: ScopeKey = ()
        self.statement: int | None = None  # index in `module.body` of the statement being walked
        self.reports: list[Report] = []
        self._shared: dict = {}

    def shared(self, analysis: Callable[["Context", _Node], _T], node: _Node) -> _T:
        """`analysis(self, node)`, computed once per file and node however many rules ask for it (the flow of
        a function, a statement parsed with `ast`): analyses rules share are memoized here, by the engine."""
        key = (analysis, id(node))  # the tree outlives the context, so a node's id is not reused meanwhile
        if key not in self._shared:
            self._shared[key] = analysis(self, node)
        return self._shared[key]

    def project_shared(self, analysis: Callable[["Context"], _T]) -> _T:
        """`analysis(self)`, computed once per project index (once per run in each worker, once per state of
        the project in the server) however many files ask: for what depends on the project alone (the text of
        its files, where a class is built), never on the file being checked."""
        memo = _project_memo(self.index)
        if analysis not in memo:
            memo[analysis] = analysis(self)
        return memo[analysis]

    @property
    def estimator(self) -> "Estimator":
        return _estimator(self.index)

    def qualified_names(self, node: cst.CSTNode) -> frozenset[str]:
        """Every qualified name `node` (a Name/Attribute chain) can denote in the current scope."""
        dotted = cst_dotted(node)
        return self.facts.names.resolve(dotted, self.scope) if dotted else frozenset()

    def matches(self, node: cst.CSTNode, qualified: frozenset[str] | set[str]) -> bool:
        return not self.qualified_names(node).isdisjoint(qualified)

    def code(self, node: cst.CSTNode) -> str:
        return self.module.code_for_node(node)

    def enclosing_class_qualname(self) -> str | None:
        """Qualified name of the innermost class whose body (or method) we are in."""
        for depth in range(len(self.scope), 0, -1):
            if self.scope[depth - 1][0] == "class":
                inner = ".".join(name for _, name in self.scope[:depth])
                return f"{self.facts.module}.{inner}" if self.facts.module else inner
        return None


@functools.lru_cache(maxsize=1)
def _project_memo(index: "ProjectIndex") -> dict:
    return {}


@functools.lru_cache(maxsize=1)
def _estimator(index: "ProjectIndex") -> "Estimator":
    """One estimator per project index (one per run, in each worker), so project-class sizes are computed once."""
    from ..model.estimate import Estimator  # the estimator's modules load only when a rule sizes something

    return Estimator(index)


def cst_dotted(node: cst.CSTNode) -> str | None:
    parts = []
    while isinstance(node, cst.Attribute):
        parts.append(node.attr.value)
        node = node.value
    if isinstance(node, cst.Name):
        parts.append(node.value)
        return ".".join(reversed(parts))
    return None


class Rule:
    code: ClassVar[str]
    name: ClassVar[str]
    markers: ClassVar[tuple[str, ...]] = ()  # text of which at least one must occur in the file
    required_markers: ClassVar[tuple[str, ...]] = ()  # text that must all occur in the file
    fixable: ClassVar[FixAvailability] = FixAvailability.NEVER
    VALID: ClassVar[list[Valid]] = []
    INVALID: ClassVar[list[Invalid]] = []
    _visitor_names: ClassVar[tuple[str, ...]]  # set per class on first use

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        cls.fixable = FixAvailability(cls.fixable)  # rules may write the plain string; a typo fails at import

    def __init__(self, context: Context) -> None:
        self.context = context

    @classmethod
    def visitor_names(cls) -> tuple[str, ...]:
        """`visit_*`/`leave_*` methods this rule defines (computed once per class)."""
        if "_visitor_names" not in cls.__dict__:
            cls._visitor_names = tuple(
                n for n in dir(cls) if n.startswith(("visit_", "leave_")) and callable(getattr(cls, n))
            )
        return cls._visitor_names

    def get_visitors(self) -> dict:
        """What `libcst.visit_batched` needs from a batchable visitor."""
        return {name: getattr(self, name) for name in self.visitor_names()}

    @classmethod
    def docs(cls) -> str:
        return inspect.getdoc(cls) or ""

    @classmethod
    def summary(cls) -> str:
        return cls.docs().split("\n", 1)[0]

    @classmethod
    def relevant(cls, facts: "FileFacts", index: "ProjectIndex", settings: "Settings") -> bool:
        """Cheap phase-1 gate: False means this file cannot hold a finding, so it is not parsed for us."""
        return True

    @classmethod
    def check_yaml(cls, text: str, facts: "FileFacts", index: "ProjectIndex") -> list[TextReport]:
        """Findings in a YAML config holding a `trainer:` mapping, from its phase-1 facts, the project index and its
        text (no LibCST)."""
        return []

    def report(
        self,
        node: cst.CSTNode,
        message: str,
        *,
        fix: FixPlan | None = None,
        no_fix_reason: str | None = None,
        notes: tuple[Note | NoteAt | str, ...] = (),
    ) -> None:
        """`message`: one sentence, naming its evidence (which runner, which strategy) but not where it is;
        `notes`: the evidence, one located note per fact (`Site.note`, `NoteAt`); `no_fix_reason`: said once,
        as a note."""
        located = tuple(Note(n) if isinstance(n, str) else n for n in notes)
        self.context.reports.append(Report(self, node, message, fix, no_fix_reason, self.context.statement, located))


def fix(
    changes: Mapping[cst.CSTNode, Replacement] | Callable[[], Mapping[cst.CSTNode, Replacement]],
    message: str,
    *,
    unsafe: bool = False,
    imports: tuple[tuple[str, str | None], ...] = (),
    elsewhere: tuple[LineInsert, ...] = (),
) -> FixPlan:
    return FixPlan(changes, message, UNSAFE if unsafe else SAFE, imports, elsewhere)

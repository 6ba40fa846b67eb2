"""Function summaries for loads: which parameters of a function reach a weight load or an initializer.

`load_checkpoint(fabric, model, path)` (a project helper doing `model.load_state_dict(sd, strict=strict)`)
loads `model`: FI009 must not call it "never loaded", and the same call with `strict=False` is FI002's
partial load. Phase 1 records, per function whose text can load (and per Lightning hook), where each
parameter goes (`LoaderFact`); `Loads` joins them across files, following helpers into helpers, with
`strict` passed through by keyword or position or fixed on the way.
"""

from __future__ import annotations

import ast
import bisect
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable

from ..knowledge.lightning import LOADING_HOOKS
from .names import FileNames, ScopeKey, dotted_name, marked_lines
from .site import Site
from ..syntax.lines import python_lines

if TYPE_CHECKING:
    from .facts import FileFacts
    from .index import ProjectIndex

LOAD, INIT, CALL, OPAQUE = "load", "init", "call", "opaque"
# Text a function must hold to be summarized (besides being a hook): a load, an initializer, or a call of one.
_LOAD_TEXT = (
    "load_state_dict",
    "load_raw",
    ".load(",
    "reset_parameters",
    "init_weights",
    "init.",
    ".apply(",
    "fastinit_runtime",
    "load_checkpoint",
)
_REINIT_METHODS = frozenset({"reset_parameters", "init_weights", "_init_weights", "apply"})
# Methods that cast, move or switch mode: they leave the weights as they are.
_KEEPS_WEIGHTS = frozenset(
    {"to", "cuda", "cpu", "half", "float", "double", "bfloat16", "eval", "train", "requires_grad_"}
)
# Calls that take a model only to read or report it (not `getattr(model, "load_state_dict")(...)`, `setattr`).
_READ_ONLY_MODULES = frozenset({"logging", "warnings", "pprint"})
_READ_ONLY_BUILTINS = frozenset(
    f"builtins.{name}"
    for name in ("print", "repr", "str", "len", "type", "id", "isinstance", "hasattr", "format", "hash", "callable")
)
_READ_ONLY_METHODS = frozenset(
    {"print", "log", "info", "debug", "warning", "error", "log_dict", "watch", "append", "format"}
)


def read_only(qnames: frozenset[str], method: str | None) -> bool:
    """Whether a call of `qnames` (or of a method named `method`) only reads or reports its arguments."""
    return (
        method in _READ_ONLY_METHODS
        or not qnames.isdisjoint(_READ_ONLY_BUILTINS)
        or any(q.split(".")[0] in _READ_ONLY_MODULES for q in qnames)
    )


_MAX_REACHES = 64  # per function: bounded work on untrusted input
_MAX_DEPTH = 8  # helpers followed into helpers
ABSENT, UNKNOWN = "", "?"  # `strict` not given (Lightning and torch default to strict) / not a literal


@dataclass(frozen=True)
class Reach:
    """One place a parameter goes: a load (with its `strict`), an initializer, a call of another function
    (resolved by the index), or something we cannot follow (OPAQUE: it may be loaded there)."""

    param: str
    kind: str  # LOAD | INIT | CALL | OPAQUE
    row: int
    what: str  # "load_state_dict", "fabric.load_raw", "reset_parameters", the callee as written
    strict: str = ABSENT  # LOAD: "True"/"False", "=name" (this function's parameter), UNKNOWN, ABSENT
    callee: tuple[str, ...] = ()  # CALL: candidate qualnames
    slot: int | str = 0  # CALL: the position or keyword the parameter is passed as
    bound: tuple[tuple[int | str, str], ...] = ()  # CALL: the call's arguments, as `strict` values


@dataclass(frozen=True)
class LoaderFact:
    qualname: str
    filename: str
    params: tuple[str, ...]  # in order, `self` included for methods
    defaults: tuple[tuple[str, str], ...]  # parameter -> default as a `strict` value
    reaches: tuple[Reach, ...]


def _strict_value(node: ast.AST | None, params: tuple[str, ...]) -> str:
    if node is None:
        return ABSENT
    if isinstance(node, ast.Constant) and isinstance(node.value, bool):
        return str(node.value)
    if isinstance(node, ast.Name) and node.id in params:
        return f"={node.id}"
    return UNKNOWN


def _argument(call: ast.Call, position: int, keyword: str) -> ast.AST | None:
    if len(call.args) > position and not any(isinstance(a, ast.Starred) for a in call.args[: position + 1]):
        return call.args[position]
    return next((k.value for k in call.keywords if k.arg == keyword), None)


def _head(node: ast.AST | None) -> str | None:
    name = dotted_name(node) if node is not None else None
    return name.split(".")[0] if name else None


class _Summarizer:
    """Reaches of one function's parameters. Each parameter's reads are counted against those classified, so
    that any read we did not classify (`model.parameters()`, `model.foo()`) makes it OPAQUE, not "not loaded"."""

    def __init__(
        self, node: ast.FunctionDef | ast.AsyncFunctionDef, names: FileNames, scope: ScopeKey, owner: str | None
    ) -> None:
        args = node.args
        self.params = tuple(a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs))
        self.names, self.scope, self.owner = names, scope, owner  # owner: the class qualname, for `self.m()`
        self.reaches: list[Reach] = []
        self.classified: dict[str, int] = {}
        self.opaque: set[str] = set()

    def run(self, node) -> list[Reach]:
        reads: dict[str, int] = {}
        for child in ast.walk(node):
            if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Load) and child.id in self.params:
                reads[child.id] = reads.get(child.id, 0) + 1
            elif isinstance(child, ast.Call) and len(self.reaches) < _MAX_REACHES:
                self._call(child)
        for param in self.params:
            if reads.get(param, 0) > self.classified.get(param, 0):
                self._reach(param, OPAQUE, node.lineno, "other uses")
        return self.reaches

    def _reach(self, param: str | None, kind: str, *args, **kwargs) -> bool:
        if param not in self.params:
            return False
        self.classified[param] = self.classified.get(param, 0) + 1
        if kind != OPAQUE or param not in self.opaque:  # one OPAQUE per parameter says it all
            self.reaches.append(Reach(param, kind, *args, **kwargs))
            self.opaque.update([param] if kind == OPAQUE else [])
        return True

    def _call(self, call: ast.Call) -> None:
        func, row = call.func, call.lineno
        attr, receiver = (func.attr, _head(func.value)) if isinstance(func, ast.Attribute) else (None, None)
        if attr == "load_state_dict":
            self._reach(
                receiver, LOAD, row, "load_state_dict", _strict_value(_argument(call, 1, "strict"), self.params)
            )
            return
        if attr == "load_raw":
            self._reach(
                _head(_argument(call, 1, "obj")),
                LOAD,
                row,
                "fabric.load_raw",
                _strict_value(_argument(call, 2, "strict"), self.params),
            )
            return
        state = _argument(call, 1, "state") if attr == "load" else None
        if isinstance(state, ast.Dict):
            for value in state.values:
                self._reach(
                    _head(value), LOAD, row, "fabric.load", _strict_value(_argument(call, 2, "strict"), self.params)
                )
            return
        if attr in _REINIT_METHODS and self._reach(receiver, INIT, row, attr):
            return
        if attr in _KEEPS_WEIGHTS and receiver in self.params:
            self.classified[receiver] = self.classified.get(receiver, 0) + 1
            return
        if not any(_head(a) in self.params for a in (*call.args, *(k.value for k in call.keywords))) and not (
            self.owner
            and self.params
            and receiver == self.params[0]
            and isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
        ):
            return  # no parameter passed: nothing to resolve (most calls)
        qnames = self.names.resolve_node(func, self.scope)
        if any(q.startswith(("torch.nn.init.", "fastinit_runtime")) for q in qnames):
            if call.args:
                self._reach(_head(call.args[0]), INIT, row, dotted_name(func) or "")
            return
        if read_only(qnames, attr):
            for arg in (*call.args, *(k.value for k in call.keywords)):
                if isinstance(arg, ast.Name) and arg.id in self.params:
                    self.classified[arg.id] = self.classified.get(arg.id, 0) + 1
            return
        self._forward(call, qnames)

    def _forward(self, call: ast.Call, qnames: frozenset[str]) -> None:
        """A parameter handed to another function: a CALL reach the index follows, with the call's arguments."""
        func = call.func
        slots: list[tuple[int | str, ast.AST]] = []
        if _head(func) in self.params:  # a parameter's method, or a function passed in: we cannot see it
            qnames = frozenset()
        if (
            self.owner
            and self.params
            and isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.value.id == self.params[0]
        ):
            qnames = frozenset({f"{self.owner}.{func.attr}"})  # `self.m(x)`: `self` is `m`'s first parameter
            slots.append((0, func.value))
        for arg in call.args:
            if isinstance(arg, ast.Starred):  # positions after `*args` are unknown
                break
            slots.append((len(slots), arg))
        slots += [(k.arg, k.value) for k in call.keywords if k.arg is not None]
        bound = tuple((slot, _strict_value(value, self.params)) for slot, value in slots)
        for slot, value in slots:
            param = _head(value)
            if param in self.params:
                if qnames:
                    self._reach(
                        param,
                        CALL,
                        call.lineno,
                        dotted_name(func) or "",
                        callee=tuple(sorted(qnames)),
                        slot=slot,
                        bound=bound,
                    )
                else:
                    self._reach(param, OPAQUE, call.lineno, dotted_name(func) or "a call")


def summarize_loads(facts: FileFacts, tree: ast.Module, text: str) -> tuple[LoaderFact, ...]:
    """Summaries of the module-level functions and the methods (of classes at any depth, not local to
    functions) whose text can load or initialize, and of the Lightning hooks of classes with bases and the
    methods (of any class of the file: a base's helper) they call through `self`, whatever their names, when
    they can reach a load: their text can load, hands `self` (or `self.model`) to a call, or calls such a method."""
    marked = marked_lines(text, _LOAD_TEXT)
    methods: list[tuple[ast.FunctionDef | ast.AsyncFunctionDef, ScopeKey]] = []  # of classes with bases
    found: list[LoaderFact] = []
    pending: list[tuple[list[ast.stmt], ScopeKey, ast.ClassDef | None]] = [(tree.body, (), None)]
    while pending:
        body, scope, cls = pending.pop()
        for node in body:
            if isinstance(node, ast.ClassDef):
                pending.append((node.body, (*scope, ("class", node.name)), node))
            elif not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            elif cls is None:
                if _body_marked(marked, node):
                    found.append(_summary(node, _qualname(facts, (), node), facts, (("def", node.name),), None))
            elif _body_marked(marked, node) or _may_be_a_model(cls):
                methods.append((node, scope))
    lines = python_lines(text) if methods else []
    in_hooks = _run_by_hooks([m for m, _ in methods], lines, marked)
    for node, scope in methods:
        if _body_marked(marked, node) or node.name in in_hooks:
            qualname = _qualname(facts, scope, node)
            found.append(_summary(node, qualname, facts, (*scope, ("def", node.name)), qualname.rpartition(".")[0]))
    return tuple(sorted(found, key=lambda f: f.qualname))


# Lightning's other hook-bearing classes (`Callback.setup`, `Strategy.setup`): the Trainer fits models only.
_NOT_MODELS = ("Callback", "DataModule", "Strategy", "Accelerator", "Logger", "Precision", "Plugin", "Loop")


def _may_be_a_model(cls: ast.ClassDef) -> bool:
    """Has bases, not all of them (by name) Lightning's callbacks, data modules, strategies..."""
    return any(not (dotted_name(base) or "").endswith(_NOT_MODELS) for base in cls.bases)


def _body_marked(marked: list[int], node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """A marked line in the body: a method merely named `load_state_dict` loads nothing by its name alone."""
    i = bisect.bisect_left(marked, node.body[0].lineno)
    return i < len(marked) and marked[i] <= (node.end_lineno or node.lineno)


def _qualname(facts: FileFacts, scope: ScopeKey, node: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    return ".".join(p for p in (facts.module, *(n for _, n in scope), node.name) if p)


_SELF_CALL = re.compile(r"\bself\.(\w+)\s*\(")
_HANDS_SELF = re.compile(r"[(,=]\s*self\b(?!\s*\.\s*\w+\s*\()")  # `f(self.model)`, `f(x, self)`, `f(m=self.m)`


def _run_by_hooks(
    methods: list[ast.FunctionDef | ast.AsyncFunctionDef], lines: list[str], marked: list[int]
) -> set[str]:
    """Names of the Lightning hooks among `methods`, and of the methods they call through `self` at any depth,
    that can reach a load: their text can load, or hands `self` (or an attribute of it) to a call. By text:
    this runs on every class of every file."""
    by_name: dict[str, list] = {}
    for method in methods:
        by_name.setdefault(method.name, []).append(method)
    pending = [name for name in by_name if name in LOADING_HOOKS]
    seen: set[str] = set()
    reaching: set[str] = set()
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        for method in by_name[name]:
            source = "".join(lines[method.lineno - 1 : method.end_lineno])
            calls = [c for c in _SELF_CALL.findall(source) if c in by_name and c != name]
            pending.extend(calls)
            if _body_marked(marked, method) or calls or _HANDS_SELF.search(source):
                reaching.add(name)
    return reaching


def _summary(node, qualname: str, facts: FileFacts, scope: ScopeKey, owner: str | None) -> LoaderFact:
    summarizer = _Summarizer(node, facts.names, scope, owner)
    reaches = summarizer.run(node)
    args = node.args
    positional = (*args.posonlyargs, *args.args)
    defaults = [
        (a.arg, _strict_value(d, ())) for a, d in zip(positional[len(positional) - len(args.defaults) :], args.defaults)
    ]
    defaults += [(a.arg, _strict_value(d, ())) for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None]
    return LoaderFact(qualname, facts.filename, summarizer.params, tuple(defaults), tuple(reaches))


@dataclass(frozen=True)
class Load:
    """A load a call leads to: where it is, what it is, and whether it is strict (None: not known)."""

    where: Site  # litgpt/utils.py:398
    what: str  # "load_state_dict"
    strict: bool | None


@dataclass(frozen=True)
class Outcome:
    """What a function does with the argument passed in one slot: the loads it reaches, whether it
    initializes it, and whether it hands it somewhere we cannot see (it may be loaded there)."""

    loads: tuple[Load, ...] = ()
    init: bool = False
    opaque: bool = False

    def __or__(self, other: Outcome) -> Outcome:
        return Outcome(
            self.loads + tuple(l for l in other.loads if l not in self.loads),
            self.init or other.init,
            self.opaque or other.opaque,
        )

    @property
    def partial(self) -> Load | None:
        """The first load that tolerates missing keys, unless the same path also initializes."""
        return None if self.init else next((l for l in self.loads if l.strict is False), None)


_OPAQUE = Outcome(opaque=True)
_BUDGET = 2_000  # summaries expanded per question: mutually recursive helpers cannot make it explode


class Loads:
    """The project's load summaries, joined: what a call of a project function does with an argument."""

    def __init__(self, index: ProjectIndex, files: dict[str, str]) -> None:
        self._index = index
        self._files = files  # function qualname -> file defining it
        self._memo: dict[tuple, Outcome | None] = {}

    def fact(self, qualname: str) -> LoaderFact | None:
        qualname = self._index.reexported(qualname, self._files)
        filename = self._files.get(qualname)
        if filename is None:
            cls, _, method = qualname.rpartition(".")
            for base in self._index.project_lineage(self._index.canonical(cls)) if cls else ():
                if f"{base}.{method}" in self._files:
                    return self.fact(f"{base}.{method}")
            return None
        return next((f for f in self._index.files[filename].loaders if f.qualname == qualname), None)

    def reached(
        self, candidates: Iterable[str], slot: int | str, bound: tuple[tuple[int | str, str], ...]
    ) -> Outcome | None:
        """What the project function called as one of `candidates` does with the argument in `slot`, given the
        call's arguments `bound` (slot -> "True"/"False"/UNKNOWN); None when none of them is summarized."""
        key = (tuple(sorted(candidates)), slot, bound)
        if key in self._memo:
            return self._memo[key]
        outcome, cut = self._reached(key[0], slot, bound, 0, set(), [_BUDGET])
        if not cut:
            self._memo[key] = outcome
        return outcome

    def _reached(
        self, candidates, slot, bound, depth: int, stack: set, budget: list[int]
    ) -> tuple[Outcome | None, bool]:
        """(outcome, whether a cycle or a bound cut it short: then it is not memoized)."""
        result, cut = None, False
        for candidate in candidates:
            fact = self.fact(candidate)
            if fact is None:
                continue
            param = (
                fact.params[slot]
                if isinstance(slot, int) and slot < len(fact.params)
                else slot
                if slot in fact.params
                else None
            )
            if param is None:
                result = (result or Outcome()) | _OPAQUE
                continue
            if (fact.qualname, param) in stack:  # a cycle: the frame below adds what this function does
                result, cut = result or Outcome(), True
                continue
            budget[0] -= 1
            if depth > _MAX_DEPTH or budget[0] < 0:
                return _OPAQUE, True
            stack.add((fact.qualname, param))
            outcome, inner_cut = self._through(fact, param, bound, depth, stack, budget)
            stack.discard((fact.qualname, param))
            result, cut = (result or Outcome()) | outcome, cut or inner_cut
        return result, cut

    def _through(
        self, fact: LoaderFact, param: str, bound, depth: int, stack: set, budget: list[int]
    ) -> tuple[Outcome, bool]:
        env = dict(fact.defaults)
        for slot, value in bound:
            name = fact.params[slot] if isinstance(slot, int) and slot < len(fact.params) else slot
            env[name] = value

        def value_of(strict: str) -> str:
            return env.get(strict[1:], UNKNOWN) if strict.startswith("=") else strict

        outcome, cut = Outcome(), False
        for reach in fact.reaches:
            if reach.param != param:
                continue
            if reach.kind == LOAD:
                strict = value_of(reach.strict)
                outcome |= Outcome(
                    loads=(
                        Load(
                            Site(fact.filename, reach.row),
                            reach.what,
                            {ABSENT: True, "True": True, "False": False}.get(strict),
                        ),
                    )
                )
            elif reach.kind == INIT:
                outcome |= Outcome(init=True)
            elif reach.kind == OPAQUE:
                outcome |= _OPAQUE
            else:
                inner = tuple((slot, value_of(value)) for slot, value in reach.bound)
                called, inner_cut = self._reached(reach.callee, reach.slot, inner, depth + 1, stack, budget)
                outcome |= called if called is not None else _OPAQUE
                cut = cut or inner_cut
        return outcome, cut

    def hook_loads(self, qualname: str) -> Outcome:
        """What the Lightning hooks of project class `qualname` (and of its project bases) do to the model:
        the loads they reach through helpers and `self` methods (OPAQUE ignored: the hooks of every
        module use `self` in ways we cannot follow)."""
        outcome = Outcome()
        for hook in LOADING_HOOKS:
            found = self.reached((f"{qualname}.{hook}",), 0, ())
            if found is not None:
                outcome |= Outcome(found.loads, found.init)
        return outcome

    def hook_methods(self, qualname: str) -> dict[str, str]:
        """Methods of `qualname` (or its project bases) that run in a hook: method name -> the hook."""
        reached: dict[str, str] = {}
        pending = [(hook, hook) for hook in sorted(LOADING_HOOKS)]
        while pending:
            method, hook = pending.pop()
            fact = self.fact(f"{qualname}.{method}")
            if fact is None or method in reached:
                continue
            reached[method] = hook
            for reach in fact.reaches:
                if reach.kind == CALL and reach.slot == 0 and len(reach.callee) == 1:
                    owner, _, name = reach.callee[0].rpartition(".")
                    if owner == fact.qualname.rpartition(".")[0]:
                        pending.append((name, hook))
        return reached

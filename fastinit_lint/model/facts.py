"""Phase 1: the facts one file contributes to the project index, gathered with the stdlib `ast`.

`ast` parses ~10x faster than LibCST, so every file pays only this; LibCST is reserved for files in
which some rule can fire. Facts are small and picklable so they cache and cross process boundaries.
"""

from __future__ import annotations

import ast
import hashlib
import os
import re
import textwrap
from dataclasses import dataclass, field, replace
from typing import Iterator, NamedTuple

from ..diagnostics import Note
from ..knowledge.lightning import (
    FABRIC_QNAMES,
    STRATEGY_CLASS_QNAMES,
    TRAINER_QNAMES,
    Strategy,
    deepspeed_stage,
    strategy_from_name,
)
from .load_summaries import LoaderFact, summarize_loads
from .module_identity import forget_layout, imports_of, module_name  # noqa: F401 (forget_layout: for callers)
from .site import Site
from .names import (
    ALIAS,
    FileNames,
    ScopeKey,
    ast_line_text,
    collect_names,
    dotted_name,
    lines_of,
    marked_lines,
    spans_marked_line,
)
from ..syntax.lines import python_lines


@dataclass(frozen=True)
class ClassFact:
    name: str
    qualname: str
    site: Site
    bases: tuple[tuple[str, ...], ...]  # sorted candidates per base: deterministic across hash seeds
    methods: tuple[str, ...]
    scope: ScopeKey = ()  # the class's own scope key, for resolving names inside its methods
    init_source: str | None = None  # `__init__`, dedented: the estimator re-parses it on demand
    fields: tuple[tuple[str, str], ...] = ()  # class-level `name[: T] = value` (config dataclass defaults)
    owns_tensors: bool = False  # `__init__` mentions nn.Parameter / register_parameter / non-persistent buffers
    post_init_source: str | None = None  # a dataclass's `__post_init__`, dedented: it fills derived config fields


@dataclass(frozen=True)
class RunnerFact:
    """A Trainer or Fabric construction (or a LightningCLI YAML `trainer:`)."""

    kind: str  # "trainer" or "fabric"
    bound_to: str | None  # dotted target of the assignment (`trainer`, `self.fabric`)
    scope: ScopeKey
    site: Site
    strategy: Strategy
    strategy_site: Site
    precision: str | None  # None when not statically known; Lightning's default is "32-true"
    # Candidate qualnames of the strategy object's class when it is not one of Lightning's (a project
    # subclass such as `MyFSDP(FSDPStrategy)`): the index decides what it derives from.
    strategy_classes: tuple[str, ...] = ()
    conditional: bool = False  # `FSDPStrategy() if n > 1 else "auto"`: sharded on some runs only
    # `precision="bf16-true" if gpu else "32-true"` (then `precision` is None): each literal branch.
    precision_options: tuple[str, ...] = ()
    # The `precision=` argument itself is a conditional expression or a literal `precision` does not hold (`+16`),
    # which only a syntax tree reads: FI012 parses the file only then (or for a legacy alias in `precision`).
    precision_expression: bool = False
    # What `**` hands it, as written (`cfg.trainer` for `**cfg.trainer`, and for `**to_dict(cfg.trainer)`):
    # links a Hydra config's `trainer:` mapping to the Trainer reading it (see ConfigLoad).
    expands: tuple[str, ...] = ()
    plugins: bool = False  # given `plugins=`: with a precision plugin among them Lightning takes no `precision`
    # Built by Hydra's `instantiate(cfg.trainer, ...)`: a Lightning Trainer only when the config's `_target_` is one.
    instantiated: bool = False
    # What `expands` names is a parameter of the enclosing module-level function, (position, name): a helper the
    # Hydra entry point calls with its config (`def train(config): Trainer(**config.trainer)`).
    config_param: tuple[int, str] | None = None

    def strategy_note(self, strategy: Strategy | None = None) -> Note:
        """Where the strategy (`strategy`: what it resolves to, when not a literal) is stated."""
        maybe = " (on some runs: chosen by a condition)" if self.conditional else ""
        return self.strategy_site.note(f"strategy {(strategy or self.strategy).describe()}{maybe}")


@dataclass(frozen=True)
class TrainFact:
    """A call that builds, trains or materializes a model: `trainer.fit(m)`, `fabric.setup(m)`,
    `LightningCLI(Cls)`, a YAML `model: class_path:`, `m.to_empty(...)`, `fully_shard(m)`."""

    call: str  # "fit", "setup", "LightningCLI", "class_path", "to_empty", ...
    receiver: str | None  # the runner variable (`trainer`, `self.fabric`); None when no runner is named
    scope: ScopeKey
    site: Site
    targets: tuple[str, ...]  # candidate qualnames of the model's class, or of a function returning it
    # How the model was built: the receiver of the `init_module(empty_init=True)` it was built under,
    # META_DEVICE under `torch.device("meta")`, else None.
    built_under: str | None = None
    raises: bool = False  # inside `pytest.raises(...)`/`pytest.warns(...)`: a test of the failure itself
    # The receiver or the model is a parameter of the enclosing module-level function, (position, name): the
    # index follows the calls of that function (`def train(model, trainer): trainer.fit(model)`).
    receiver_param: tuple[int, str] | None = None
    model_param: tuple[int, str] | None = None
    built_row: int = 0  # the row building the model (its assignment), for the note locating a build on meta

    def __str__(self) -> str:
        """The call as the user wrote it, roughly: "`trainer.fit(...)`"."""
        if self.call == "LightningCLI":
            shown = f"LightningCLI({self.targets[0].rsplit('.', 1)[-1] if self.targets else ''})"
        elif self.call == "class_path":
            shown = f"model: class_path: {self.targets[0]}"
        elif self.receiver is not None:
            shown = f"{self.receiver}.{self.call}(...)"
        else:  # a method of the model itself, or a function taking it
            shown = f".{self.call}(...)" if self.call == "to_empty" else f"{self.call}(...)"
        return f"`{shown}`"


META_DEVICE = 'torch.device("meta")'


@dataclass(frozen=True)
class ConfigLoad:
    """A function reading YAML configs: decorated with Hydra's `@hydra.main(config_path=..., config_name=...)`
    (or NeMo's `@hydra_runner(...)`), whose config arrives in its first parameter, or assigning
    `OmegaConf.load("path.yaml")` to a variable. The index links it to the YAML files it may read."""

    site: Site
    shown: str  # `@hydra_runner(config_path="conf", config_name="x")`, for messages
    scope: ScopeKey  # the function holding the config
    variable: str  # the parameter or variable holding it (`cfg`)
    # Absolute, normalized directories the file is looked up in: Hydra's config directory (the script's
    # directory joined with `config_path`); for `OmegaConf.load` of a relative path, the script's directory
    # and its parents (the run's working directory is not known).
    directories: tuple[str, ...]
    name: str | None  # the file name without its suffix, relative to those directories; None: not given
    hydra: bool  # Hydra's `--config-name` can pick any other config under the directory too
    # Keys of the `trainer` mapping the function sets or deletes (`cfg.trainer.precision = None`, as NeMo's
    # Megatron scripts do before building the Trainer with precision plugins of their own): Lightning does
    # not get the config's value for them.
    overridden: tuple[str, ...] = ()
    # Project functions the config is handed to, (candidate qualnames, position or keyword): `train(config)`.
    passes: tuple[tuple[tuple[str, ...], int | str], ...] = ()


@dataclass(frozen=True)
class CallFact:
    """A call passing a Trainer/Fabric to a function: `train(GPT(), trainer)`, `fabric.launch(main, cfg)`
    (which calls `main(fabric, cfg)`). Arguments by position (int) or keyword (str)."""

    function: tuple[str, ...]  # candidate qualnames of the called function
    scope: ScopeKey
    site: Site
    runners: tuple[tuple[int | str, str], ...]  # (argument, runner variable)
    models: tuple[
        tuple[int | str, tuple[str, ...], str | None, int], ...
    ]  # (argument, targets, built_under, built_row)


@dataclass
class FileFacts:
    filename: str
    module: str
    names: FileNames
    classes: list[ClassFact] = field(default_factory=list)
    path: str = ""  # absolute: how its imports resolve (module_identity) when phase 2 collects its whole names table
    runners: list[RunnerFact] = field(default_factory=list)
    constants: dict[str, str] = field(default_factory=dict)  # module-level NAME = <call-free expression>
    cast_hint: bool = False  # text looks like a module cast/move after construction (FI007's gate)
    empty_init_blocks: bool = False  # `with X.init_module(empty_init=True)` somewhere (FI002's gate)
    load_cast_hint: bool = False  # a cast after `from_pretrained`/`load_from_checkpoint` (FI016's gate)
    # First line (decorators included) of each top-level statement: lets phase 2 find where a statement
    # starts without generating the code before it. Local to this file, so not part of `digest()`.
    statement_lines: tuple[int, ...] = ()
    trains: list[TrainFact] = field(default_factory=list)
    calls: list[CallFact] = field(default_factory=list)
    # Module-level functions that return a model: (qualname, candidate qualnames of what they return).
    returns: tuple[tuple[str, tuple[str, ...]], ...] = ()
    loaders: tuple[LoaderFact, ...] = ()  # where the parameters of functions that can load go (load_summaries)
    config_loads: tuple[ConfigLoad, ...] = ()  # Hydra / OmegaConf reads of YAML configs
    # A YAML config LightningCLI can read: every top-level key is one of its parser's, or `model:`/`data:`
    # names a `class_path` (see yaml_facts).
    cli_config: bool = False
    # A YAML option of Hydra's `trainer` config group (`configs/trainer/ddp.yaml`): its top level is the
    # `trainer` mapping; and that mapping's `_target_`, which `instantiate` builds.
    trainer_group: bool = False
    trainer_target: str | None = None

    def digest(self) -> str:
        """What other files can see of this one; a comment or body-only edit leaves it unchanged.
        (repr, not pickle: facts hold only tuples and strings, whose repr does not depend on the hash seed.)"""
        payload = repr(
            (
                self.filename,
                self.module,
                self.classes,
                self.runners,
                sorted(self.constants.items()),
                self.trains,
                self.calls,
                self.returns,
                self.loaders,
                self.config_loads,
                self.cli_config,
                self.trainer_group,
                self.trainer_target,
            )
        )
        return hashlib.blake2b(payload.encode(), digest_size=16).hexdigest()

    def __getstate__(self) -> dict:
        # Of a partial names table (phase 1's), only the module-level bindings travel and are cached: they are all
        # other files ask of this one (re-exports, what a class the estimator sizes denotes); phase 2 collects the
        # whole table of a file it checks from its own parse.
        state = dict(self.__dict__)
        if not state["names"].complete:
            state["names"] = state["names"].module_level()
        return state


def _literal_text(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, int)) and not isinstance(node.value, bool):
        return str(node.value)
    return None


def _unread_literal(node: ast.AST) -> bool:
    """Whether `node` is a conditional expression, or a literal `ast.literal_eval` reads but `_literal_text` does
    not (`+16`)."""
    if isinstance(node, ast.IfExp):
        return True
    if isinstance(node, ast.Constant):
        return False
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


class _Assignment(NamedTuple):
    row: int
    value: ast.AST
    built_under: str | None  # see TrainFact
    branch: tuple[tuple[int, int], ...]  # the `if` branches it sits in


def _reaching(earlier: list[_Assignment]) -> list[_Assignment]:
    """Of a variable's assignments before a use (in order), those whose value may reach it: the last one, and
    the last one of each other branch of an `if` it is in (`if a: m = A() else: m = B()`, then `fit(m)`)."""
    if not earlier:
        return []
    last = earlier[-1]
    reaching = [last]
    for assignment in reversed(earlier[:-1]):
        exclusive = any(a[0] == b[0] and a[1] != b[1] for a, b in zip(assignment.branch, last.branch))
        if exclusive and not any(r.branch == assignment.branch for r in reaching):
            reaching.insert(0, assignment)
    return reaching


class _FactCollector(ast.NodeVisitor):
    """Classes and runner constructions, with the scope chain the names table uses."""

    def __init__(self, facts: FileFacts, marked: list[int], lines: list[str]) -> None:
        self.facts = facts
        self.marked = marked
        self.lines = lines
        self.scope: ScopeKey = ()
        # Per scope: name -> [(row, value, built_under)] for "a variable assigned in the same scope", with the
        # `init_module(empty_init=True)`/meta-device context the assignment ran in.
        self.assignments: dict[ScopeKey, dict[str, list[_Assignment]]] = {}
        self.branch: list[tuple[int, int]] = []  # (id of an enclosing `if`, 0 body / 1 else) down to here
        self.built_under: str | None = None  # innermost `with` building on meta / empty (see TrainFact)
        self.params: dict[ScopeKey, list[str]] = {}  # positional parameters of module-level functions
        self.runner_names: dict[ScopeKey, set[str]] = {}  # variables bound to a Trainer/Fabric, per scope
        self.passing: dict[frozenset[str], re.Pattern] = {}  # text that can pass one of those runners on
        self.raises = False  # inside `with pytest.raises(...)` / `pytest.warns(...)`
        self.class_nodes: dict[ScopeKey, ast.ClassDef] = {}  # by the class's own scope, for `self.attr` models

    def _site(self, node: ast.stmt | ast.expr) -> Site:
        return Site(self.facts.filename, node.lineno)

    def _scoped(self, kind: str, name: str, node: ast.AST) -> None:
        outer = self.scope
        self.scope = (*outer, (kind, name))
        self.statements(node.body)  # type: ignore[attr-defined]
        self.scope = outer

    def statements(self, body: list[ast.stmt]) -> None:
        """Statements of one scope. Only those spanning a marked line (one that can hold a Trainer/Fabric,
        an `init_module` or a meta device) are walked into; the rest just record their assignments, which
        `_value_of` reads. Walking every expression was most of phase 1 on Lightning's own sources."""
        for statement in body:
            if spans_marked_line(self.marked, statement):
                self._walk_statement(statement)
            elif not isinstance(statement, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                self._record_assignments(statement)
                if self._mentions_runner(statement):  # may hand this scope's runner to a function
                    for node in _scope_nodes(statement):
                        if isinstance(node, ast.Call):
                            self._maybe_passes_runner(node)

    def _mentions_runner(self, statement: ast.stmt) -> bool:
        """Whether the statement's text can pass this scope's runner as an argument (or `launch` with it):
        most statements of a training function mention the runner without handing it over."""
        names = self.runner_names.get(self.scope)
        if not names:
            return False
        key = frozenset(names)
        if key not in self.passing:
            alternatives = "|".join(sorted(map(re.escape, names)))
            self.passing[key] = re.compile(
                rf"(?:^|[(,])\s*(?:\w+\s*=\s*)?(?:{alternatives})\s*(?:[,)]|$)|"
                rf"(?:{alternatives})\.launch\(",
                re.MULTILINE,
            )
        text = "".join(self.lines[statement.lineno - 1 : statement.end_lineno or statement.lineno])
        return self.passing[key].search(text) is not None

    def _walk_statement(self, node: ast.AST) -> None:
        visit = getattr(self, f"visit_{type(node).__name__}", None)
        if visit is not None:  # Assign, ClassDef, FunctionDef
            visit(node)
            return
        for _, value in ast.iter_fields(node):
            items = value if isinstance(value, list) else [value]
            if items and isinstance(items[0], ast.stmt):
                self.statements(items)
                continue
            for item in items:
                if isinstance(item, (ast.excepthandler, ast.match_case)):
                    self._walk_statement(item)
                elif isinstance(item, ast.AST):
                    self.visit(item)

    def _record_assignments(self, node: ast.AST) -> None:
        if isinstance(node, ast.Assign):
            self._record_assignment(node)
            return
        for index, block in enumerate(("body", "orelse", "finalbody", "handlers", "cases")):
            items = getattr(node, block, None)
            if not items:
                continue
            self.branch.append((id(node), index if isinstance(node, ast.If) else 0))
            for item in items:
                if not isinstance(item, _DEFINITIONS):
                    self._record_assignments(item)
            self.branch.pop()

    def _record_assignment(self, node: ast.Assign) -> None:
        for target in node.targets:
            if isinstance(target, ast.Name):
                self.assignments.setdefault(self.scope, {}).setdefault(target.id, []).append(
                    _Assignment(node.lineno, node.value, self.built_under, tuple(self.branch))
                )

    def visit_If(self, node: ast.If) -> None:
        self.visit(node.test)
        for index, block in enumerate((node.body, node.orelse)):
            self.branch.append((id(node), index))
            self.statements(block)
            self.branch.pop()

    def visit_With(self, node: ast.With | ast.AsyncWith) -> None:
        outer = self.built_under, self.raises
        for item in node.items:
            self.visit(item)
            context = item.context_expr
            if isinstance(context, ast.Call):
                building = self._building_context(context)
                self.facts.empty_init_blocks = self.facts.empty_init_blocks or building not in (None, META_DEVICE)
                self.built_under = building or self.built_under
                self.raises = self.raises or not PYTEST_RAISES.isdisjoint(
                    self.facts.names.resolve_node(context.func, self.scope)
                )
        self.statements(node.body)
        self.built_under, self.raises = outer

    visit_AsyncWith = visit_With

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.class_nodes[(*self.scope, ("class", node.name))] = node
        self._scoped("class", node.name, node)

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        if not self.scope:
            self.params[(("def", node.name),)] = [a.arg for a in (*node.args.posonlyargs, *node.args.args)]
        self._scoped("def", node.name, node)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Assign(self, node: ast.Assign) -> None:
        self._record_assignment(node)
        if isinstance(node.value, ast.Call) and len(node.targets) == 1:
            qnames = self.facts.names.resolve_node(node.value.func, self.scope)
            self._maybe_runner(node.value, dotted_name(node.targets[0]), qnames)
            self._maybe_train(node.value, qnames)
            self._maybe_passes_runner(node.value)
            for arg in (*node.value.args, *(k.value for k in node.value.keywords)):
                self.visit(arg)
            return
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        qnames = self.facts.names.resolve_node(node.func, self.scope)
        self._maybe_runner(node, None, qnames)
        self._maybe_train(node, qnames)
        self._maybe_passes_runner(node)
        self.generic_visit(node)

    def _param(self, name: str) -> tuple[int, str] | None:
        params = self.params.get(self.scope, [])
        return (params.index(name), name) if name in params else None

    def _maybe_passes_runner(self, call: ast.Call) -> None:
        runners = self.runner_names.get(self.scope, set())
        if not runners:
            return
        func, args = call.func, list(call.args)
        arguments: list[tuple[int | str, ast.expr]]  # (position or keyword, value)
        if isinstance(func, ast.Attribute) and func.attr == "launch" and dotted_name(func.value) in runners and args:
            function, arguments = args[0], [(0, func.value), *((i + 1, a) for i, a in enumerate(args[1:]))]
        else:
            function, arguments = func, list(enumerate(args))
        arguments += [(k.arg, k.value) for k in call.keywords if k.arg is not None]
        passed = tuple(
            (key, name) for key, value in arguments if (name := dotted_name(value)) is not None and name in runners
        )
        if not passed:
            return
        models = []
        for key, value in arguments:
            built = self._model(value, call.lineno)
            if built is not None and built[0]:
                models.append((key, *built))
        self.facts.calls.append(
            CallFact(
                tuple(sorted(self.facts.names.resolve_node(function, self.scope))),
                self.scope,
                self._site(call),
                passed,
                tuple(models),
            )
        )

    def _building_context(self, call: ast.Call) -> str | None:
        """The receiver of `X.init_module(empty_init=True)`, META_DEVICE for `torch.device("meta")`, else None."""
        func = call.func
        if (
            isinstance(func, ast.Attribute)
            and func.attr == "init_module"
            and any(
                k.arg == "empty_init" and isinstance(k.value, ast.Constant) and k.value.value is True
                for k in call.keywords
            )
        ):
            return dotted_name(func.value)
        if (
            call.args
            and isinstance(call.args[0], ast.Constant)
            and call.args[0].value == "meta"
            and "torch.device" in self.facts.names.resolve_node(func, self.scope)
        ):
            return META_DEVICE
        return None

    def _maybe_train(self, call: ast.Call, qnames: frozenset[str]) -> None:
        """`qnames`: what `call.func` resolves to (resolved once per call for this and `_maybe_runner`)."""
        func = call.func
        if isinstance(func, ast.Attribute) and func.attr in _TRAIN_CALLS:
            receiver = dotted_name(func.value)
            model = (
                call.args[0]
                if call.args
                else next((k.value for k in call.keywords if k.arg == _TRAIN_CALLS[func.attr]), None)
            )
            if receiver is not None and model is not None:
                self._train(func.attr, receiver, model, call)
            return
        if isinstance(func, ast.Attribute) and func.attr == "to_empty":
            self._train("to_empty", None, func.value, call)
            return
        if qnames & _FULLY_SHARD and call.args:
            self._train("fully_shard", None, call.args[0], call)
        elif any(q.rsplit(".", 1)[-1] == "LightningCLI" and q.startswith(_CLI_NAMESPACES) for q in qnames):
            model = (
                call.args[0] if call.args else next((k.value for k in call.keywords if k.arg == "model_class"), None)
            )
            targets = tuple(sorted(self.facts.names.resolve_node(model, self.scope))) if model is not None else ()
            self.facts.trains.append(
                TrainFact("LightningCLI", None, self.scope, self._site(call), targets, raises=self.raises)
            )

    def _model(self, model: ast.expr, row: int) -> tuple[tuple[str, ...], str | None, int] | None:
        """What builds `model` (candidate qualnames), under which init context and on which row; a Name is
        followed to the value it was last given before `row` in this scope, `self.attr` to what the class's
        methods give it. None for a Name never assigned here."""
        if isinstance(model, ast.Attribute) and isinstance(model.value, ast.Name) and model.value.id == "self":
            return self._self_attribute(model.attr)
        if not isinstance(model, ast.Name):
            return constructed(model, self.facts.names, self.scope), None, model.lineno
        reaching = _reaching([a for a in self.assignments.get(self.scope, {}).get(model.id, []) if a.row < row])
        if not reaching:
            return None
        targets = sorted({q for a in reaching for q in constructed(a.value, self.facts.names, self.scope)})
        return tuple(targets), reaching[-1].built_under, reaching[-1].row

    def _self_attribute(self, attr: str) -> tuple[tuple[str, ...], str | None, int]:
        """What `self.<attr>` is given in the methods of the enclosing class (`self.model = GPT()` in `setup`,
        `self.trainer.fit(self.model)` in `run`), and under which init context and on which row (the last such
        assignment's)."""
        cls = self.class_nodes.get(self.scope[:-1]) if len(self.scope) >= 2 else None
        targets: set[str] = set()
        under, row = None, 0
        for method in cls.body if cls is not None else ():
            if not isinstance(method, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            scope = (*self.scope[:-1], ("def", method.name))
            for value, context in self._self_assignments(method.body, attr, None):
                built = constructed(value, self.facts.names, scope)
                if built:
                    targets.update(built)
                    under, row = context, value.lineno
        return tuple(sorted(targets)), under, row

    def _self_assignments(
        self, body: list[ast.stmt], attr: str, under: str | None
    ) -> Iterator[tuple[ast.expr, str | None]]:
        """Values assigned to `self.<attr>` in `body` (nested blocks included, nested definitions not), with the
        init context (see TrainFact.built_under) each ran in."""
        for statement in body:
            if isinstance(statement, ast.Assign):
                if any(
                    isinstance(t, ast.Attribute)
                    and t.attr == attr
                    and isinstance(t.value, ast.Name)
                    and t.value.id == "self"
                    for t in statement.targets
                ):
                    yield statement.value, under
                continue
            if isinstance(statement, _DEFINITIONS):
                continue
            inner = under
            if isinstance(statement, (ast.With, ast.AsyncWith)):
                for item in statement.items:
                    if isinstance(item.context_expr, ast.Call):
                        inner = self._building_context(item.context_expr) or inner
            for block in (
                *(getattr(statement, name, None) or () for name in _BLOCKS),
                *(h.body for h in getattr(statement, "handlers", None) or ()),
            ):
                yield from self._self_assignments(block, attr, inner)

    def _train(self, name: str, receiver: str | None, model: ast.expr, call: ast.Call) -> None:
        built = self._model(model, call.lineno)
        model_param = self._param(model.id) if built is None and isinstance(model, ast.Name) else None
        receiver_param = self._param(receiver) if receiver is not None else None
        targets, under, row = built or ((), None, 0)
        if targets or model_param:
            self.facts.trains.append(
                TrainFact(
                    name,
                    receiver,
                    self.scope,
                    self._site(call),
                    targets,
                    under,
                    self.raises,
                    receiver_param,
                    model_param,
                    row,
                )
            )

    def _value_of(self, node: ast.AST, row: int) -> tuple[ast.AST, int]:
        """Follow a Name to its last assignment before `row` in the same scope."""
        if isinstance(node, ast.Name):
            earlier = [a for a in self.assignments.get(self.scope, {}).get(node.id, []) if a.row <= row]
            if earlier:
                return earlier[-1].value, earlier[-1].row
        return node, getattr(node, "lineno", row)

    def _strategy(self, node: ast.AST | None, row: int) -> tuple[Strategy, int, tuple[str, ...], bool]:
        """The strategy, the row stating it, candidate project strategy classes, and whether it is conditional."""
        if node is None:
            return Strategy("auto"), row, (), False
        value, value_row = self._value_of(node, row)
        if isinstance(value, ast.IfExp):  # sharded if either branch is: "may be sharded", said so in messages
            branches = [self._strategy(branch, row) for branch in (value.body, value.orelse)]
            chosen = next((b for b in branches if b[0].sharded or b[2]), branches[0])
            return chosen[0], value_row, chosen[2], True
        text = _literal_text(value)
        if text is not None:
            return strategy_from_name(text), value_row, (), False
        if isinstance(value, ast.Call):
            qnames = self.facts.names.resolve_node(value.func, self.scope)
            for qname in qnames:
                kind = STRATEGY_CLASS_QNAMES.get(qname)
                if kind == "deepspeed":
                    stage = next((k.value for k in value.keywords if k.arg == "stage"), None)
                    return deepspeed_stage(_literal_text(stage) if stage is not None else None), value_row, (), False
                if kind is not None:
                    return Strategy(kind), value_row, (), False
            return Strategy(None), value_row, tuple(sorted(qnames)), False
        return Strategy(None), value_row, (), False

    def _maybe_runner(self, call: ast.Call, bound_to: str | None, qnames: frozenset[str]) -> None:
        kind = "trainer" if qnames & TRAINER_QNAMES else "fabric" if qnames & FABRIC_QNAMES else None
        if kind is None:
            if qnames & _INSTANTIATE and call.args and (_expanded(call.args[0]) or "").endswith(".trainer"):
                self._instantiated_trainer(call, bound_to)
            return
        keywords = {k.arg: k.value for k in call.keywords}
        has_star = None in keywords
        strategy_node = keywords.get("strategy")
        classes: tuple[str, ...]
        if strategy_node is None and has_star:
            strategy, row, classes, conditional = Strategy(None), call.lineno, (), False
        else:
            strategy, row, classes, conditional = self._strategy(strategy_node, call.lineno)
        precision_node = keywords.get("precision")
        precision = None if has_star and precision_node is None else "32-true"
        options: tuple[str, ...] = ()
        if precision_node is not None:
            value, _ = self._value_of(precision_node, call.lineno)
            precision = _literal_text(value)
            if isinstance(value, ast.IfExp):
                body, orelse = _literal_text(value.body), _literal_text(value.orelse)
                options = tuple(dict.fromkeys((body, orelse))) if body is not None and orelse is not None else ()
        expands = tuple(name for name in (_expanded(k.value) for k in call.keywords if k.arg is None) if name)
        self.facts.runners.append(
            RunnerFact(
                kind,
                bound_to,
                self.scope,
                self._site(call),
                strategy,
                Site(self.facts.filename, row),
                precision,
                classes,
                conditional,
                options,
                precision_node is not None and _unread_literal(precision_node),
                expands,
                "plugins" in keywords,
                config_param=self._config_param(expands),
            )
        )
        if bound_to is not None:
            self.runner_names.setdefault(self.scope, set()).add(bound_to)

    def _instantiated_trainer(self, call: ast.Call, bound_to: str | None) -> None:
        """`hydra.utils.instantiate(cfg.trainer, ...)`: what `Trainer(**cfg.trainer)` is when the config's
        `_target_` is a Lightning Trainer (the index checks that); the strategy and precision are the config's."""
        expands = tuple(name for name in (_expanded(call.args[0]),) if name)  # a `.trainer`, by the caller's test
        keywords = {k.arg for k in call.keywords}
        site = self._site(call)
        self.facts.runners.append(
            RunnerFact(
                "trainer",
                bound_to,
                self.scope,
                site,
                Strategy(None),
                site,
                None,
                expands=expands,
                plugins="plugins" in keywords,
                instantiated=True,
                config_param=self._config_param(expands),
            )
        )

    def _config_param(self, expands: tuple[str, ...]) -> tuple[int, str] | None:
        """The parameter of the enclosing module-level function whose `.trainer` a runner is given."""
        if len(self.scope) != 1:
            return None
        return next(
            (
                self._param(name[: -len(".trainer")])
                for name in expands
                if name.endswith(".trainer") and self._param(name[: -len(".trainer")])
            ),
            None,
        )


def _expanded(value: ast.AST) -> str | None:
    """`cfg.trainer` for `**cfg.trainer`, `**cfg["trainer"]` and `**to_container(cfg.trainer, ...)`: what a
    Trainer's `**` argument passes on (a conversion of a config passes its keys)."""
    if isinstance(value, ast.Call) and value.args:
        value = value.args[0]
    if isinstance(value, ast.Subscript) and _string(value.slice) is not None:
        mapping = dotted_name(value.value)
        return f"{mapping}.{_string(value.slice)}" if mapping else None
    return dotted_name(value)


# The calls that hand a model to a runner, and the keyword naming the model when it is not positional.
_TRAIN_CALLS = {
    "fit": "model",
    "validate": "model",
    "test": "model",
    "predict": "model",
    "setup": "module",
    "setup_module": "module",
}
_FULLY_SHARD = frozenset(
    {
        "torch.distributed.fsdp.fully_shard",
        "torch.distributed._composable.fsdp.fully_shard",
        "torch.distributed._composable.fsdp.fully_shard.fully_shard",
    }
)
_CLI_NAMESPACES = ("lightning.pytorch.", "pytorch_lightning.", "lightning.")
PYTEST_RAISES = frozenset({"pytest.raises", "pytest.warns", "pytest.deprecated_call"})
# Calls on a freshly built model that return it unchanged (for what a chain like `M().to(d).eval()` builds).
_SAME_MODEL = frozenset(
    {"to", "cuda", "cpu", "half", "bfloat16", "float", "double", "eval", "train", "requires_grad_", "to_empty"}
)


def _scope_nodes(node: ast.AST) -> Iterator[ast.AST]:
    """`node` and its descendants in the same scope (not inside nested functions or classes)."""
    pending = [node]
    while pending:
        current = pending.pop()
        yield current
        pending.extend(
            child
            for child in ast.iter_child_nodes(current)
            if not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        )


def constructed(value: ast.AST | None, names: FileNames, scope: ScopeKey) -> tuple[str, ...]:
    """Candidate qualnames of what builds the model `value`: the class of `Cls(...)`, of
    `Cls.load_from_checkpoint(...)`, or the function of `build_model(...)` (the index follows its returns)."""
    while isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and value.func.attr in _SAME_MODEL:
        value = value.func.value
    if not isinstance(value, ast.Call):
        return ()
    func = value.func
    if isinstance(func, ast.Attribute) and func.attr == "load_from_checkpoint":
        func = func.value
    return tuple(sorted(names.resolve_node(func, scope)))


_SIMPLE_VALUES = (ast.Constant, ast.Name, ast.Attribute, ast.BinOp, ast.UnaryOp, ast.Tuple)
# Text that must occur on a line (besides names aliasing a Trainer/Fabric) for it to construct a
# Trainer/Fabric, build on the meta device or hand a model to a runner: phase 1 walks into statements only
# on such lines.
_RUNNER_OR_META_TEXT = (
    "Trainer",
    "Fabric",
    "instantiate(",
    "init_module",
    '"meta"',
    "'meta'",
    ".fit(",
    ".validate(",
    ".test(",
    ".predict(",
    ".setup(",
    ".setup_module(",
    "LightningCLI",
    ".to_empty(",
    "fully_shard(",
)
_OWNS_TENSORS_TEXT = ("Parameter(", "register_parameter", "persistent=False")


class _Lines:
    """Source segments by line range, without `ast.unparse` (which costs as much as the parse)."""

    def __init__(self, text: str) -> None:
        self.lines = python_lines(text)

    def segment(self, node: ast.expr) -> str | None:
        """The source of `node`: one line, or a bracketed display (`{...}`) over several lines."""
        if node.end_lineno is not None and node.lineno != node.end_lineno:
            if not isinstance(node, ast.Dict):  # `(a +\n b)`: the node's span leaves out the parentheses
                return None
            first = self.lines[node.lineno - 1].encode()[node.col_offset :].decode(errors="replace")
            last = self.lines[node.end_lineno - 1].encode()[: node.end_col_offset].decode(errors="replace")
            return "".join((first, *self.lines[node.lineno : node.end_lineno - 1], last))
        return self.lines[node.lineno - 1].encode()[node.col_offset : node.end_col_offset].decode(errors="replace")

    def block(self, node: ast.stmt) -> str:
        """The statement's source, dedented. Line ends become `\n` first: `textwrap.dedent` sees a blank `\r\n`
        line as unindented text and would dedent nothing, leaving a nested `__init__` unparseable."""
        first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
        return textwrap.dedent("".join(line.rstrip("\r\n") + "\n" for line in self.lines[first - 1 : node.end_lineno]))


def _simple(value: ast.AST) -> bool:
    if isinstance(value, ast.Tuple):
        return len(value.elts) <= 8 and all(isinstance(e, (ast.Constant, ast.Name, ast.BinOp)) for e in value.elts)
    if isinstance(value, ast.Call):  # a module-level namespace that constructors fill in (RWKV's `RWKV_CFG`)
        return dotted_name(value.func) in _NAMESPACES and not value.args and not value.keywords
    if isinstance(value, ast.Dict):  # a table of named configs (lit-llama's `llama_configs["7B"]`), kept small
        return (
            len(value.keys) <= _MAX_TABLE_ENTRIES
            and (value.end_lineno or value.lineno) - value.lineno < _MAX_TABLE_LINES
            and all(isinstance(k, ast.Constant) and isinstance(k.value, str) for k in value.keys)
        )
    return isinstance(value, _SIMPLE_VALUES)


_MAX_TABLE_ENTRIES = 64
_MAX_TABLE_LINES = 200


_NAMESPACES = frozenset({"types.SimpleNamespace", "SimpleNamespace"})


_COMPOUND = (
    ast.If,
    ast.Try,
    ast.With,
    ast.AsyncWith,
    ast.For,
    ast.AsyncFor,
    ast.While,
    ast.Match,
    *((ast.TryStar,) if hasattr(ast, "TryStar") else ()),
)


def _scan_classes(
    facts: FileFacts, body: list[ast.stmt], scope: ScopeKey, lines: _Lines, nested_classes: list[int]
) -> None:
    """Classes at module level (also under if/try/with), nested in classes, and local to functions (test
    modules define their models there), qualified by the enclosing scopes (`mod.test_fit.Model`) so two
    functions' local classes of one name stay apart. Functions are entered only when they span one of the
    sorted line numbers `nested_classes` (lines where an indented `class` statement may start)."""
    for node in body:
        if isinstance(node, ast.ClassDef):
            bases = tuple(tuple(sorted(facts.names.resolve_node(base, scope))) for base in node.bases)
            methods = tuple(s.name for s in node.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)))
            qualname = ".".join(p for p in (facts.module, *(n for _, n in scope), node.name) if p)
            init = next((s for s in node.body if isinstance(s, ast.FunctionDef) and s.name == "__init__"), None)
            init_source = lines.block(init) if init is not None and node.bases else None
            post_init = next(
                (s for s in node.body if isinstance(s, ast.FunctionDef) and s.name == "__post_init__"), None
            )
            fields = []
            target: ast.expr
            value: ast.expr | None
            for s in node.body:
                if isinstance(s, ast.AnnAssign):
                    target, value = s.target, s.value
                elif isinstance(s, ast.Assign) and len(s.targets) == 1:
                    target, value = s.targets[0], s.value
                else:
                    continue
                if isinstance(target, ast.Name) and value is not None and _simple(value):
                    text = lines.segment(value)
                    if text is not None:
                        fields.append((target.id, text))
            owns = init_source is not None and any(t in init_source for t in _OWNS_TENSORS_TEXT)
            facts.classes.append(
                ClassFact(
                    node.name,
                    qualname,
                    Site(facts.filename, node.lineno),
                    bases,
                    methods,
                    (*scope, ("class", node.name)),
                    init_source,
                    tuple(fields),
                    owns,
                    lines.block(post_init) if post_init is not None else None,
                )
            )
            _scan_classes(facts, node.body, (*scope, ("class", node.name)), lines, nested_classes)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if spans_marked_line(nested_classes, node):
                _scan_classes(facts, node.body, (*scope, ("def", node.name)), lines, nested_classes)
        elif isinstance(node, _COMPOUND) and (not scope or spans_marked_line(nested_classes, node)):
            for block in (
                getattr(node, "body", ()),
                getattr(node, "orelse", ()),
                getattr(node, "finalbody", ()),
                *(h.body for h in getattr(node, "handlers", ())),
                *(c.body for c in getattr(node, "cases", ())),
            ):
                if block:
                    _scan_classes(facts, block, scope, lines, nested_classes)


# Casts and moves FI007 reports after a build; its phase-1 gate and the rule share this set.
CAST_METHODS = frozenset({"half", "bfloat16", "double", "cuda", "to"})
_LOADERS = frozenset({"from_pretrained", "load_from_checkpoint"})  # builds a model from saved weights
# `.half`, `.to`, ...: the dot and the method's name, which only spaces, line continuations and (in brackets)
# comments and line breaks can separate.
_CAST_ATTRIBUTE = re.compile(r"\.(?:[ \t\f\\\r\n]|#[^\r\n]*[\r\n])*(?:" + "|".join(sorted(CAST_METHODS)) + r")\b")


def _class_like_call(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call):
        return False
    name = dotted_name(node.func)
    return name is not None and name.rsplit(".", 1)[-1][:1].isupper()


def _cast_receiver(node: ast.AST | None) -> ast.AST | None:
    """What a chain of calls that return their module and include a cast is called on (`x` in
    `x.to(d).eval()`, `Cls(...)` in `Cls(...).eval().half()`), else None."""
    cast = False
    while isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _SAME_MODEL:
        cast = cast or node.func.attr in CAST_METHODS
        node = node.func.value
        if cast and _class_like_call(node):
            return node
    return node if cast else None


def _loader_call(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _LOADERS


def _has_build_then_cast(body: list[ast.stmt], cast_lines: list[int], builds=_class_like_call) -> bool:
    """FI007's precise gate (FI016's with `builds=_loader_call`), on statements only: `Cls(...).half()` chains
    (also as a branch of a conditional expression), or `x = Cls(...)` followed by `x = x.to(...)` /
    `x.to(...)`. Recurses into compound statements and function bodies. A cast names its method, so only
    statements spanning one of `cast_lines` (the lines holding one of those words) are looked at."""
    for position, stmt in enumerate(body):
        if not spans_marked_line(cast_lines, stmt):
            continue
        value = stmt.value if isinstance(stmt, (ast.Assign, ast.Expr, ast.AnnAssign, ast.Return)) else None
        values = [value.body, value.orelse] if isinstance(value, ast.IfExp) else [value]
        if any(builds(_cast_receiver(v)) for v in values):
            return True
        cast_target = _cast_receiver(value) if value is not None else None
        if isinstance(cast_target, ast.Name) and position and _built_name(body[position - 1], builds) == cast_target.id:
            return True
        for block in ("body", "orelse", "finalbody"):
            if _has_build_then_cast(getattr(stmt, block, None) or [], cast_lines, builds):
                return True
        for handler in getattr(stmt, "handlers", []):
            if _has_build_then_cast(handler.body, cast_lines, builds):
                return True
    return False


def _built_name(stmt: ast.stmt, builds) -> str | None:
    """`x` of `x = Cls(...)` (what `builds` accepts), else None."""
    if (
        isinstance(stmt, ast.Assign)
        and len(stmt.targets) == 1
        and isinstance(stmt.targets[0], ast.Name)
        and builds(stmt.value)
    ):
        return stmt.targets[0].id
    return None


def _scan_constants(facts: FileFacts, tree: ast.Module, lines: _Lines) -> None:
    for node in tree.body:
        if not isinstance(node, ast.Assign) or len(node.targets) != 1:
            continue
        target, value = node.targets[0], node.value
        pairs: list[tuple[ast.expr, ast.expr]]
        if isinstance(target, ast.Name) and _simple(value):
            pairs = [(target, value)]
        elif isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple) and len(target.elts) == len(value.elts):
            pairs = list(zip(target.elts, value.elts))  # `B, T, C = 1, 5, 3`
        else:
            continue
        for name, part in pairs:
            if isinstance(name, ast.Name) and _simple(part) and (text := lines.segment(part)) is not None:
                facts.constants[name.id] = text


_BLOCKS = ("body", "orelse", "finalbody")
_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _scan_returns(facts: FileFacts, tree: ast.Module) -> None:
    """Module-level functions returning `Cls(...)` or `Cls.load_from_checkpoint(...)`, directly or through a
    local variable: model factories, which the training graph follows from `trainer.fit(build(cfg))`. Runs on
    every function of every file, so it walks statements only and resolves only class-like callees."""
    found = []
    for node in tree.body:
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        assigned: dict[str, ast.AST] = {}
        returned: list[ast.AST] = []
        pending = list(node.body)
        while pending:
            statement = pending.pop()
            if isinstance(statement, ast.Return):
                if statement.value is not None:
                    returned.append(statement.value)
            elif isinstance(statement, ast.Assign):
                if len(statement.targets) == 1 and isinstance(statement.targets[0], ast.Name):
                    assigned[statement.targets[0].id] = statement.value
            elif not isinstance(statement, _DEFINITIONS):
                for block in _BLOCKS:
                    pending.extend(getattr(statement, block, None) or ())
                for handler in getattr(statement, "handlers", None) or ():
                    pending.extend(handler.body)
        targets: set[str] = set()
        for value in returned:
            built = assigned.get(value.id) if isinstance(value, ast.Name) else value
            if _builds_a_class(built):
                targets.update(q for q in constructed(built, facts.names, ()) if q.rsplit(".", 1)[-1][:1].isupper())
        if targets:
            found.append((f"{facts.module}.{node.name}" if facts.module else node.name, tuple(sorted(targets))))
    facts.returns = tuple(found)


_INSTANTIATE = frozenset({"hydra.utils.instantiate", "hydra.instantiate"})
_HYDRA_MAIN = "hydra.main"  # and any `*.hydra_runner`: NeMo's wrapper of it, with the same arguments
_OMEGACONF_LOAD = frozenset({"omegaconf.OmegaConf.load", "omegaconf.omegaconf.OmegaConf.load"})
_YAML_SUFFIXES = (".yaml", ".yml")


def _scan_config_loads(facts: FileFacts, tree: ast.Module, text: str) -> tuple[ConfigLoad, ...]:
    """Module-level functions decorated as Hydra entry points, and `x = OmegaConf.load("literal")` at module
    level or in module-level functions. Only those functions are walked, and in them only the statements on
    lines holding `OmegaConf.load` or `.trainer` (what `_overridden` looks for): most files mentioning Hydra
    hold neither."""
    here = os.path.dirname(facts.path)
    loading = marked_lines(text, ("OmegaConf.load",))
    marked = marked_lines(text, ("OmegaConf.load", ".trainer"))
    found: list[ConfigLoad] = []
    for node in tree.body:
        if isinstance(node, ast.Assign) and spans_marked_line(loading, node):
            found.extend(_omegaconf_load(facts, node, (), here))
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        scope = (("def", node.name),)
        params = [a.arg for a in (*node.args.posonlyargs, *node.args.args)]
        loads = []
        for decorator in node.decorator_list:
            load = _hydra_load(facts, decorator, here)
            if load is not None and params:
                directory, name = load
                loads.append(
                    ConfigLoad(
                        Site(facts.filename, decorator.lineno),
                        f"@{ast.unparse(decorator)}",
                        scope,
                        params[0],
                        (directory,),
                        name,
                        True,
                    )
                )
        if not loads and not spans_marked_line(loading, node):
            continue
        inner_nodes = list(_marked_nodes(node.body, marked))
        for inner in inner_nodes:
            if isinstance(inner, ast.Assign):
                loads.extend(_omegaconf_load(facts, inner, scope, here))
        found.extend(
            replace(
                load,
                overridden=_overridden(inner_nodes, load.variable),
                passes=_passes(facts, node, scope, load.variable),
            )
            for load in loads
        )
    return tuple(found)


def _passes(
    facts: FileFacts, function: ast.FunctionDef | ast.AsyncFunctionDef, scope: ScopeKey, variable: str
) -> tuple[tuple[tuple[str, ...], int | str], ...]:
    """The calls in `function` handing it the config `variable` whole: (candidate qualnames of the callee, the
    argument's position or keyword). Entry points import their helpers inside the function (Hydra's tab
    completion stays fast), where phase 1 keeps no names: those imports are read here."""
    local = {
        alias.asname or alias.name: f"{node.module}.{alias.name}"
        for node in ast.walk(function)
        if isinstance(node, ast.ImportFrom) and node.module and not node.level
        for alias in node.names
    }
    found: list[tuple[tuple[str, ...], int | str]] = []
    for node in ast.walk(function):
        if not isinstance(node, ast.Call):
            continue
        arguments: list[tuple[int | str, ast.expr]] = [
            *enumerate(node.args),
            *((k.arg, k.value) for k in node.keywords if k.arg),
        ]
        for where, value in arguments:
            if isinstance(value, ast.Name) and value.id == variable:
                callee = local.get(node.func.id) if isinstance(node.func, ast.Name) else None
                qnames = (callee,) if callee else tuple(sorted(facts.names.resolve_node(node.func, scope)))
                if qnames:
                    found.append((qnames, where))
    return tuple(found)


def _marked_nodes(body: list[ast.stmt], marked: list[int]) -> Iterator[ast.AST]:
    """The nodes of the simple statements of `body` (in nested blocks too, not in nested definitions) that span
    one of the sorted line numbers `marked`."""
    for statement in body:
        if isinstance(statement, _DEFINITIONS) or not spans_marked_line(marked, statement):
            continue
        parts = (*(getattr(statement, "handlers", None) or ()), *(getattr(statement, "cases", None) or ()))
        nested = [s for name in _BLOCKS for s in getattr(statement, name, None) or ()] + [
            s for p in parts for s in p.body
        ]
        if nested:
            yield from _marked_nodes(nested, marked)
        else:
            yield from _scope_nodes(statement)


def _overridden(nodes: list[ast.AST], variable: str) -> tuple[str, ...]:
    """Keys of `<variable>.trainer` that `nodes` assign, delete or pop (`cfg.trainer.precision = None`,
    `del cfg.trainer["precision"]`, `cfg.trainer.pop("precision")`)."""
    mapping = f"{variable}.trainer"
    keys: set[str] = set()
    for node in nodes:
        targets = (
            node.targets
            if isinstance(node, (ast.Assign, ast.Delete))
            else [node.target]
            if isinstance(node, (ast.AugAssign, ast.AnnAssign))
            else []
        )
        for target in targets:
            if isinstance(target, ast.Attribute) and dotted_name(target.value) == mapping:
                keys.add(target.attr)
            elif (
                isinstance(target, ast.Subscript)
                and dotted_name(target.value) == mapping
                and (key := _string(target.slice))
            ):
                keys.add(key)
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "pop"
            and dotted_name(node.func.value) == mapping
            and node.args
            and (key := _string(node.args[0]))
        ):
            keys.add(key)
    return tuple(sorted(keys))


def _hydra_load(facts: FileFacts, decorator: ast.AST, here: str) -> tuple[str, str | None] | None:
    """(config directory, config name) of `@hydra.main(config_path=..., config_name=...)`: Hydra looks the
    config up relative to the decorated file's directory. None when it is not one, or its path is not a
    literal (or names a package, `pkg://`)."""
    if not isinstance(decorator, ast.Call) or not any(
        q == _HYDRA_MAIN or q.rsplit(".", 1)[-1] == "hydra_runner" for q in facts.names.resolve_node(decorator.func)
    ):
        return None
    arguments = dict(zip(("config_path", "config_name"), decorator.args))
    arguments.update((k.arg, k.value) for k in decorator.keywords if k.arg)
    path, name = (_string(arguments.get(key)) for key in ("config_path", "config_name"))
    if path is None or path.startswith("pkg://"):
        return None
    return os.path.normpath(os.path.join(here, path.removeprefix("file://"))), _config_name(name)


def _omegaconf_load(facts: FileFacts, node: ast.Assign, scope: ScopeKey, here: str) -> list[ConfigLoad]:
    value = node.value
    if (
        len(node.targets) != 1
        or not isinstance(node.targets[0], ast.Name)
        or not isinstance(value, ast.Call)
        or not value.args
        or facts.names.resolve_node(value.func, scope).isdisjoint(_OMEGACONF_LOAD)
    ):
        return []
    path = _string(value.args[0])
    if path is None or not path.endswith(_YAML_SUFFIXES):
        return []
    folder = os.path.dirname(path)
    bases = [here]
    while os.path.dirname(bases[-1]) != bases[-1]:
        bases.append(os.path.dirname(bases[-1]))
    directories = tuple(dict.fromkeys(os.path.normpath(os.path.join(base, folder)) for base in bases))
    return [
        ConfigLoad(
            Site(facts.filename, node.lineno),
            f"OmegaConf.load({path!r})",
            scope,
            node.targets[0].id,
            directories,
            _config_name(os.path.basename(path)),
            False,
        )
    ]


def _string(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _config_name(name: str | None) -> str | None:
    if name is None:
        return None
    for suffix in _YAML_SUFFIXES:
        name = name.removesuffix(suffix)
    return name


def _builds_a_class(value: ast.AST | None) -> bool:
    """`Cls(...)` or `Cls.load_from_checkpoint(...)` (possibly `.to(...)`-chained), by the callee's spelling."""
    while isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and value.func.attr in _SAME_MODEL:
        value = value.func.value
    if not isinstance(value, ast.Call):
        return False
    func = value.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    return name == "load_from_checkpoint" or name[:1].isupper()


def python_facts(filename: str, path: str, tree: ast.Module, text: str) -> FileFacts:
    """Phase-1 facts. Runners, meta sites and the names of the scopes around them are looked for only on
    the lines that can hold them (their words, or a name aliasing a Trainer/Fabric); other scopes get
    module-level names, which is what other files ever ask of this one. The names table is partial, and
    phase 2 rebuilds it whole for the files it checks."""
    module, is_package = module_name(path)
    imports = imports_of(path)
    marked = marked_lines(text, _RUNNER_OR_META_TEXT)
    # The scopes around local classes get names too: their bases may be imported inside the function.
    nested_classes = _indented_class_lines(text)
    names = collect_names(
        tree, module, is_package, text=text, around=sorted({*marked, *nested_classes}), imports=imports
    )
    while marked:  # until no new alias appears: an alias can be bound on a line only an alias marks
        wider = sorted({*marked, *_word_lines(text, _runner_aliases(names))})
        if wider == marked:
            break
        marked = wider
        names = collect_names(
            tree, module, is_package, text=text, around=sorted({*marked, *nested_classes}), imports=imports
        )
    facts = FileFacts(filename, module, names, path=os.path.abspath(path))
    casts = any(f".{m}(" in text for m in CAST_METHODS)
    cast_lines = _cast_lines(text) if casts else []
    facts.cast_hint = casts and _has_build_then_cast(tree.body, cast_lines)
    facts.load_cast_hint = (
        casts and any(f"{m}(" in text for m in _LOADERS) and _has_build_then_cast(tree.body, cast_lines, _loader_call)
    )
    facts.statement_lines = tuple(
        min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", ()))]) for node in tree.body
    )
    lines = _Lines(text)
    _scan_classes(facts, tree.body, (), lines, nested_classes)
    _scan_constants(facts, tree, lines)
    _scan_returns(facts, tree)
    facts.loaders = summarize_loads(facts, tree, text)
    if "hydra" in text or "OmegaConf.load" in text:  # `hydra.main`, `hydra_runner`
        facts.config_loads = _scan_config_loads(facts, tree, text)
    if marked:
        _FactCollector(facts, marked, lines.lines).statements(tree.body)
    return facts


def _indented_class_lines(text: str) -> list[int]:
    """Sorted numbers (as `ast` counts lines) of the lines starting with an indented `class`: where a class
    local to a function can be defined. (A class after `;` or on a continued line is not found: rare.)
    `str.find` and a look back to the line start: a multiline regex costs as much as the rest of phase 1."""
    text = ast_line_text(text)
    offsets = []
    start = text.find("class")
    while start != -1:
        line_start = text.rfind("\n", 0, start) + 1
        if (
            line_start < start
            and text[start + 5 : start + 6] in (" ", "\t")
            and not text[line_start:start].strip(" \t")
        ):
            offsets.append(start)
        start = text.find("class", start + 5)
    return lines_of(text, offsets)


def _cast_lines(text: str) -> list[int]:
    """Sorted numbers (as `ast` counts lines) of the lines where a cast's attribute (`x.to`) starts."""
    text = ast_line_text(text)
    return lines_of(text, [match.start() for match in _CAST_ATTRIBUTE.finditer(text)])


def _word_lines(text: str, words: set[str]) -> list[int]:
    if not words:
        return []
    text = ast_line_text(text)
    pattern = re.compile(r"\b(?:" + "|".join(map(re.escape, sorted(words))) + r")\b")
    return lines_of(text, [match.start() for match in pattern.finditer(text)])


def _runner_aliases(names: FileNames) -> set[str]:
    """Names other than `Trainer`/`Fabric` that denote one (`from lightning import Trainer as T`,
    `Runner = L.Fabric`): lines using them can construct a runner too."""
    runners = TRAINER_QNAMES | FABRIC_QNAMES
    return {
        name
        for scope, table in names.scopes.items()
        for name, targets in table.items()
        if name not in ("Trainer", "Fabric")
        and not runners.isdisjoint(targets)
        or any(t.startswith(ALIAS) for t in targets)
        and not runners.isdisjoint(names.resolve(name, scope))
    }

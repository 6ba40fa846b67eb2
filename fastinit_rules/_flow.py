"""What happens to models inside one function, in order: the shared model for the init_module rules.

For a function (or the module body) we record, statement by statement: which Trainer/Fabric the names
are bound to (from the phase-1 index), `with X.init_module(...)` blocks, model constructions, loads,
`fabric.setup`, optimizers, re-initializations and casts. Rules then ask ordered questions ("was this
model loaded after it was built?") instead of each walking the tree again.
"""

from __future__ import annotations

import ast
import enum
from dataclasses import dataclass
from typing import Sequence

from fastinit_lint.api import (
    FABRIC_QNAMES,
    PYTEST_RAISES,
    TRAINER_QNAMES,
    UNKNOWN,
    Context,
    NoteAt,
    Rule,
    RunnerFact,
    Site,
    child_nodes,
    cst,
    cst_dotted,
    descendants,
    read_only,
)

from ._preceding import preceding_statements
from ._runtime_dependency import RUNTIME

CASTS = frozenset({"half", "bfloat16", "double", "float", "to", "cuda", "type"})
REINIT = frozenset({"reset_parameters", "init_weights", "_init_weights", "apply"})


def keyword(call: cst.Call, name: str) -> cst.Arg | None:
    return next((a for a in call.args if a.keyword is not None and a.keyword.value == name), None)


def literal(node: cst.BaseExpression | None) -> object:
    """Python value of a literal (True/False/None/number/string), else a sentinel meaning "not literal"."""
    if node is None:
        return ABSENT
    if _never_literal(node):
        return NOT_LITERAL
    try:
        return ast.literal_eval(cst.Module([]).code_for_node(node))
    except (ValueError, SyntaxError):
        return NOT_LITERAL


def _never_literal(node: cst.BaseExpression) -> bool:
    """What `ast.literal_eval` rejects, told without generating and parsing the code: names but True, False and
    None, attributes, subscripts, calls but `set()`. The flow asks about every argument of every call."""
    if isinstance(node, cst.Name):
        return node.value not in ("True", "False", "None")
    if isinstance(node, cst.Call):
        return not (isinstance(node.func, cst.Name) and node.func.value == "set" and not node.args)
    return isinstance(node, (cst.Attribute, cst.Subscript))


ABSENT = object()  # the keyword was not given
NOT_LITERAL = object()  # given, but not a literal we can read


@dataclass
class InitBlock:
    with_node: cst.With
    call: cst.Call
    receiver: str
    runner: RunnerFact | None
    empty_init: object  # True / False / ABSENT / NOT_LITERAL
    expected_to_raise: bool = False  # entered inside `pytest.raises(...)`/`pytest.warns(...)`: a test of the failure

    def build_note(self, build: "Event") -> NoteAt:
        """Where `build` happened in this `init_module(empty_init=True)` block, as evidence."""
        meta = " on the meta device" if self.runner is not None and self.runner.strategy.meta_init else ""
        return NoteAt(f"`{build.var}` built{meta} under `{self.receiver}.init_module(empty_init=True)`", build.node)


class Kind(enum.Enum):
    RUNNER = "runner"  # a Trainer/Fabric constructed
    BUILD = "build"  # a model constructed (payload: Build)
    LOAD = "load"  # weights loaded into a model (payload: Load)
    SETUP = "setup"  # `fabric.setup(model)` / `setup_module`
    OPTIMIZER = "optimizer"  # an optimizer built from `model.parameters()`
    REINIT = "reinit"  # parameters re-initialized (`reset_parameters`, `nn.init.*`, fastinit_runtime)
    CAST = "cast"  # `.half()`, `.to(...)`, ... on the model
    HANDED_OVER = "handed_over"  # passed to a function we cannot see into: it may load or initialize it
    PASSED = "passed"  # passed to a project function seen to load nothing into it (payload: Passed)


@dataclass(frozen=True)
class Build:
    model: str  # what model_kind says ('project', 'checkpoint', 'pretrained', 'torch'), or 'assumed'
    chain: tuple = ()  # the calls chained on the construction: `Model().half().to(x)`
    expr: cst.BaseExpression | None = None  # the whole assigned value


@dataclass(frozen=True)
class Load:
    how: str  # 'checkpoint', 'state_dict', 'fabric.load', 'fabric.load_raw', 'fit' (ckpt_path) or 'helper'
    strict: object = ABSENT  # True / False / ABSENT / NOT_LITERAL
    assign: object = ABSENT  # `load_state_dict(assign=...)`
    cls: str | None = None  # the class `load_from_checkpoint` is called on
    runner: str | None = None  # the Fabric of `fabric.load(...)`
    helper: str | None = None  # through a project helper: its name, and where and what it loads
    where: Site | None = None
    what: str | None = None


@dataclass(frozen=True)
class Passed:
    helper: str


@dataclass
class Event:
    kind: Kind
    node: cst.CSTNode  # the statement or call to report on
    var: str | None  # the model variable involved
    block: InitBlock | None  # innermost enclosing init_module block
    call: cst.Call | None = None
    payload: Build | Load | Passed | None = None
    generic_init: bool = False  # inside torch.device(...)/fastinit_runtime.init_module/skip_init context
    position: int = 0  # index of the statement in walk order, for "the next statement"
    expected_to_raise: bool = False  # inside `pytest.raises(...)`/`pytest.warns(...)`: a test of the failure
    owner: cst.FunctionDef | cst.Module | None = None  # the function (or module) whose flow this is
    on_runner_device: str | None = None  # inside `with fabric.device:`: that runner's name (built on its device)

    @property
    def build(self) -> Build | None:
        return self.payload if isinstance(self.payload, Build) else None

    @property
    def load(self) -> Load | None:
        return self.payload if isinstance(self.payload, Load) else None

    def is_load(self, how: str) -> bool:
        return self.load is not None and self.load.how == how


@dataclass
class Flow:
    runners: dict[str, RunnerFact]
    blocks: list[InitBlock]
    events: list[Event]

    def after(self, event: Event) -> list[Event]:
        return self.events[self.events.index(event) + 1 :]

    def empty_init_blocks(self, meta: bool) -> list[InitBlock]:
        """`init_module(empty_init=True)` blocks whose runner's strategy is known to build on the meta device
        (meta=True: FSDP, ModelParallel) or known not to (meta=False: `_EmptyInit`, uninitialized memory)."""
        return [
            b
            for b in self.blocks
            if b.empty_init is True
            and b.runner is not None
            and b.runner.strategy.known
            and b.runner.strategy.meta_init == meta
        ]

    def for_var(self, var: str, kinds: set[Kind], events: list[Event] | None = None) -> list[Event]:
        return [e for e in (events if events is not None else self.events) if e.var == var and e.kind in kinds]

    def built_in(self, block: InitBlock) -> list[Event]:
        return [e for e in self.events if e.kind is Kind.BUILD and e.block is block]

    def loads_in(self, block: InitBlock, how: str) -> list[Event]:
        """Loads of one kind (`how`) inside an init_module block."""
        return [e for e in self.events if e.block is block and e.is_load(how)]

    def first_setup(self, build: Event) -> Event | None:
        """The first `setup` of the model a build event constructs, after it."""
        return next((e for e in self.after(build) if e.var == build.var and e.kind is Kind.SETUP), None)

    def before_setup(self, build: Event) -> list[Event]:
        """What happens to the model a build event constructs after it and before its first `setup`."""
        events = []
        for event in self.after(build):
            if event.var == build.var:
                if event.kind is Kind.SETUP:
                    break
                events.append(event)
        return events


def _runners_in_scope(context: Context) -> dict[str, RunnerFact]:
    found: dict[str, RunnerFact] = {}
    for runner in context.facts.runners:
        if runner.bound_to and runner.scope in ((), context.scope):
            if runner.bound_to not in found or runner.scope == context.scope:
                found[runner.bound_to] = runner
    return found


def model_kind(context: Context, call: cst.Call) -> str | None:
    """'project', 'checkpoint', 'pretrained' or 'torch' when `call` builds a model, else None."""
    func = call.func
    if isinstance(func, cst.Attribute) and func.attr.value == "load_from_checkpoint":
        return "checkpoint"
    if isinstance(func, cst.Attribute) and func.attr.value == "from_pretrained":
        return "pretrained"
    for qname in context.qualified_names(func):
        if qname in context.index.classes and context.index.is_nn_module(qname):
            return "project"
        if (
            qname.startswith("torch.nn.")
            and qname.rsplit(".", 1)[-1][:1].isupper()
            and ".functional." not in qname
            and ".init." not in qname
            and qname.rsplit(".", 1)[-1] not in ("Parameter", "Module")
        ):
            return "torch"
    return None


def _class_like(func: cst.BaseExpression) -> bool:
    name = cst_dotted(func)
    return bool(name) and name.rsplit(".", 1)[-1][:1].isupper()


def root_call(expr: cst.BaseExpression) -> tuple[cst.Call | None, list[cst.Call]]:
    """For `Model(...).half().to(x)`: the constructing call and the chained method calls after it."""
    chain: list[cst.Call] = []
    while isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute) and isinstance(expr.func.value, cst.Call):
        chain.append(expr)
        expr = expr.func.value
    if isinstance(expr, cst.Call):
        return expr, list(reversed(chain))
    return None, []


class _Walker:
    def __init__(self, context: Context, runners: dict[str, RunnerFact], owner: cst.FunctionDef | cst.Module) -> None:
        self.context = context
        self.owner = owner
        self.runners = runners
        self.blocks: list[InitBlock] = []
        self.events: list[Event] = []
        self.stack: list[InitBlock] = []
        self.generic = 0
        self.raises = 0
        self.position = 0
        self.devices: list[str] = []  # runners whose `.device` is an enclosing `with` (a torch.device context)

    def block(self, statements) -> None:
        for statement in statements:
            self.statement(statement)

    def statement(self, statement: cst.CSTNode) -> None:
        if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
            return
        if isinstance(statement, cst.With):
            self._with(statement)
            return
        if isinstance(statement, cst.SimpleStatementLine):
            self.position += 1
            for small in statement.body:
                self._small(statement, small)
            return
        if isinstance(statement, (cst.If, cst.For, cst.While, cst.Try)):
            for child in child_nodes(statement):
                if isinstance(child, cst.IndentedBlock):
                    self.block(child.body)
                elif isinstance(child, (cst.Else, cst.Finally, cst.ExceptHandler, cst.If)):
                    self.statement(child)
            if isinstance(statement, cst.Try):
                for handler in statement.handlers:
                    self.block(handler.body.body)
            return
        if isinstance(statement, (cst.Else, cst.Finally, cst.ExceptHandler)):
            self.block(statement.body.body)

    def _with(self, node: cst.With) -> None:
        pushed = 0
        generic = False
        raises = False
        devices = [
            receiver
            for item in node.items
            if isinstance(item.item, cst.Attribute)
            and item.item.attr.value == "device"
            and (receiver := cst_dotted(item.item.value)) in self.runners
        ]
        for item in node.items:
            call = item.item
            if not isinstance(call, cst.Call):
                continue
            if self.context.matches(call.func, PYTEST_RAISES):
                raises = True
                continue
            if isinstance(call.func, cst.Attribute) and call.func.attr.value == "init_module":
                receiver = cst_dotted(call.func.value) or ""
                if receiver.split(".")[0] == RUNTIME or any(
                    q.startswith(RUNTIME) for q in self.context.qualified_names(call.func)
                ):
                    generic = True
                    continue
                empty = keyword(call, "empty_init")
                block = InitBlock(
                    node,
                    call,
                    receiver,
                    self.runners.get(receiver),
                    literal(empty.value) if empty else ABSENT,
                    raises or self.raises > 0,
                )
                self.blocks.append(block)
                self.stack.append(block)
                pushed += 1
            elif self.context.matches(call.func, {"torch.device", "torch.nn.utils.skip_init"}) or any(
                q.startswith(RUNTIME) for q in self.context.qualified_names(call.func)
            ):
                generic = True
        self.generic += generic
        self.raises += raises
        self.devices += devices
        self.block(node.body.body if isinstance(node.body, cst.IndentedBlock) else node.body.body)
        self.generic -= generic
        self.raises -= raises
        del self.devices[len(self.devices) - len(devices) :]
        del self.stack[len(self.stack) - pushed :]

    def _event(
        self,
        kind: Kind,
        node: cst.CSTNode,
        var: str | None,
        call: cst.Call | None = None,
        payload: Build | Load | Passed | None = None,
    ) -> Event:
        event = Event(
            kind,
            node,
            var,
            self.stack[-1] if self.stack else None,
            call,
            payload,
            self.generic > 0,
            self.position,
            self.raises > 0,
            self.owner,
            self.devices[-1] if self.devices else None,
        )
        self.events.append(event)
        return event

    def _small(self, line: cst.SimpleStatementLine, small: cst.BaseSmallStatement) -> None:
        target = None
        value = None
        if isinstance(small, cst.Assign) and len(small.targets) == 1:
            target, value = cst_dotted(small.targets[0].target), small.value
        elif isinstance(small, cst.AnnAssign) and small.value is not None:
            target, value = cst_dotted(small.target), small.value
        elif isinstance(small, cst.Expr):
            value = small.value
        if value is None:
            return
        root, chain = root_call(value)
        if (
            target in self.runners
            and root is not None
            and self.context.matches(root.func, TRAINER_QNAMES | FABRIC_QNAMES)
        ):
            self._event(Kind.RUNNER, line, target, root)
        if target and root is not None:
            kind = model_kind(self.context, root)
            if kind is None and self.stack and _class_like(root.func):
                kind = "assumed"  # built inside init_module: a model class we cannot see (another package)
            if kind is not None:
                self._event(Kind.BUILD, line, target, root, Build(kind, tuple(chain), value))
            if (
                isinstance(root.func, cst.Attribute)
                and root.func.attr.value in ("setup", "setup_module")
                and root.args
                and cst_dotted(root.args[0].value) == target
            ):
                self._event(Kind.SETUP, line, target, root)
        for call in _calls(value):
            self._call(line, call, target)

    def _call(self, line: cst.SimpleStatementLine, call: cst.Call, target: str | None) -> None:
        func = call.func
        if not isinstance(func, cst.Attribute):
            if any(q.startswith("torch.optim.") for q in self.context.qualified_names(func)):
                self._optimizer(line, call)
            elif any(q.startswith(RUNTIME) for q in self.context.qualified_names(func)) and call.args:
                self._event(Kind.REINIT, line, cst_dotted(call.args[0].value), call)
            else:
                self._handed_over(line, call)
            return
        name = func.attr.value
        owner = cst_dotted(func.value)
        if any(q.startswith("torch.optim.") for q in self.context.qualified_names(func)):
            self._optimizer(line, call)
        elif any(q.startswith("torch.nn.init.") for q in self.context.qualified_names(func)) and call.args:
            head = (cst_dotted(call.args[0].value) or "").split(".")[0]
            self._event(Kind.REINIT, line, head or None, call)
        elif any(q.startswith(RUNTIME) for q in self.context.qualified_names(func)) and call.args:
            self._event(Kind.REINIT, line, cst_dotted(call.args[0].value), call)
        elif name == "load_from_checkpoint":
            strict = keyword(call, "strict")
            self._event(
                Kind.LOAD,
                line,
                target,
                call,
                Load("checkpoint", literal(strict.value) if strict else ABSENT, cls=cst_dotted(func.value)),
            )
        elif name == "load_state_dict" and owner:
            strict, assign = keyword(call, "strict"), keyword(call, "assign")
            self._event(
                Kind.LOAD,
                line,
                owner.split(".")[0],
                call,
                Load(
                    "state_dict",
                    literal(strict.value) if strict else ABSENT,
                    literal(assign.value) if assign else ABSENT,
                ),
            )
        elif name in ("load", "load_raw") and owner in self.runners and self.runners[owner].kind == "fabric":
            strict = keyword(call, "strict")
            for var in _loaded_vars(call, name):
                self._event(
                    Kind.LOAD,
                    line,
                    var,
                    call,
                    Load(f"fabric.{name}", literal(strict.value) if strict else ABSENT, runner=owner),
                )
        elif name in ("setup", "setup_module") and owner in self.runners:
            for arg in call.args:
                var = cst_dotted(arg.value)
                if var and target != var:
                    self._event(Kind.SETUP, line, var, call)
        elif name == "fit" and owner in self.runners and keyword(call, "ckpt_path") is not None and call.args:
            self._event(Kind.LOAD, line, cst_dotted(call.args[0].value), call, Load("fit"))
        elif name in REINIT and owner:
            self._event(Kind.REINIT, line, owner.split(".")[0], call)
        elif name in CASTS and owner and "." not in owner:
            self._event(Kind.CAST, line, owner, call)
        elif owner not in self.runners:
            self._handed_over(line, call)

    def _handed_over(self, line, call: cst.Call) -> None:
        """A model passed to another function. A project function with a load summary says what it does
        (`load_checkpoint(fabric, model, path)`: a strict load; with `strict=False`: a partial one; an
        initializer); one we do not see into may load or initialize it (a `handed_over` event), unless it
        only reads or reports (`print`, logging)."""
        qnames = self.context.qualified_names(call.func)
        if read_only(qnames, call.func.attr.value if isinstance(call.func, cst.Attribute) else None):
            return
        slots = _slots(call)
        bound = tuple(
            (slot, str(value) if isinstance(value, bool) else UNKNOWN)
            for slot, value in ((slot, literal(value)) for slot, value in slots)
        )
        for slot, value in slots:
            var = cst_dotted(value)
            outcome = self.context.index.loads.reached(qnames, slot, bound) if var and qnames else None
            if outcome is None:
                if var and "." not in var:
                    self._event(Kind.HANDED_OVER, line, var, call)
                continue
            var = var.split(".")[0]
            helper = cst_dotted(call.func)
            load = outcome.partial or (None if outcome.init else next(iter(outcome.loads), None))
            if load is not None:
                self._event(
                    Kind.LOAD,
                    line,
                    var,
                    call,
                    Load(
                        "helper",
                        NOT_LITERAL if load.strict is None else load.strict,
                        helper=helper,
                        where=load.where,
                        what=load.what,
                    ),
                )
            elif outcome.init:  # initialized there (after any partial load: `Outcome.partial`)
                self._event(Kind.REINIT, line, var, call)
            elif outcome.opaque:
                self._event(Kind.HANDED_OVER, line, var, call)
            else:  # a project helper seen to load nothing into it: evidence for FI009's message
                self._event(Kind.PASSED, line, var, call, Passed(helper))

    def _optimizer(self, line, call: cst.Call) -> None:
        for arg in call.args:
            inner, _ = root_call(arg.value)
            if (
                inner is not None
                and isinstance(inner.func, cst.Attribute)
                and inner.func.attr.value in ("parameters", "named_parameters")
            ):
                self._event(Kind.OPTIMIZER, line, (cst_dotted(inner.func.value) or "").split(".")[0] or None, call)


def _calls(node: cst.CSTNode) -> list[cst.Call]:
    """Calls inside a node, outer first, not inside nested functions, classes or lambdas."""
    return [n for n in descendants(node, (cst.Lambda, cst.FunctionDef, cst.ClassDef)) if isinstance(n, cst.Call)]


def _slots(call: cst.Call) -> list[tuple[int | str, cst.BaseExpression]]:
    """A call's arguments by position (up to the first `*args`) or keyword."""
    slots: list[tuple[int | str, cst.BaseExpression]] = []
    for position, arg in enumerate(a for a in call.args if a.keyword is None):
        if arg.star:
            break
        slots.append((position, arg.value))
    slots += [(a.keyword.value, a.value) for a in call.args if a.keyword is not None]
    return slots


def _loaded_vars(call: cst.Call, name: str) -> list[str]:
    if name == "load_raw":
        return [v for v in (cst_dotted(call.args[1].value),) if v] if len(call.args) > 1 else []
    state = (
        call.args[1].value if len(call.args) > 1 else (keyword(call, "state").value if keyword(call, "state") else None)
    )
    if isinstance(state, cst.Dict):
        return [v for v in (cst_dotted(e.value) for e in state.elements if isinstance(e, cst.DictElement)) if v]
    return []


def flow_of(context: Context, node: cst.FunctionDef | cst.Module) -> Flow:
    """The flow of the function (or module body) being visited; computed once per node and file."""
    return context.shared(_compute_flow, node)


def body_of(node: cst.FunctionDef | cst.Module) -> Sequence[cst.BaseStatement]:
    """The statements of a module, or of a function written as a block (none for `def f(): return x`)."""
    if isinstance(node, cst.Module):
        return node.body
    return node.body.body if isinstance(node.body, cst.IndentedBlock) else []


def _compute_flow(context: Context, node: cst.FunctionDef | cst.Module) -> Flow:
    runners = _runners_in_scope(context)
    walker = _Walker(context, runners, node)
    walker.block(body_of(node))
    return Flow(runners, walker.blocks, walker.events)


def own_calls(node: cst.Module | cst.FunctionDef) -> list[cst.Call]:
    """Every call in a module's or function's own code (nested functions and classes are visited on their own)."""
    body = (
        node.body
        if isinstance(node, cst.Module)
        else node.body.body
        if isinstance(node.body, cst.IndentedBlock)
        else node.body.body
    )
    return [
        call
        for statement in body
        if not isinstance(statement, (cst.FunctionDef, cst.ClassDef))
        for call in _calls(statement)
    ]


def file_has_runner(facts) -> bool:
    return any(r.bound_to for r in facts.runners)


def runner_in_scope(flow_: Flow, runner: RunnerFact, event: Event) -> bool:
    """A module-level runner is in scope everywhere; a local one only after its construction."""
    if not runner.scope:
        return True
    built = [e for e in flow_.events if e.kind is Kind.RUNNER and e.var == runner.bound_to]
    return bool(built) and built[0].position <= event.position


class FlowRule(Rule):
    """A rule that judges each function (and the module body) through its Flow: it defines `check_flow`."""

    @staticmethod
    def wants(runner: RunnerFact) -> bool:
        """Whether this rule can report anything about a runner like this one (its kind, strategy, precision):
        a file none of whose runners it wants is not parsed with LibCST for this rule."""
        return True

    @classmethod
    def relevant(cls, facts, index, settings) -> bool:
        return any(r.bound_to and cls.wants(r) for r in facts.runners)

    def visit_Module(self, node: cst.Module) -> None:
        self._check_reporting(flow_of(self.context, node))

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._check_reporting(flow_of(self.context, node))

    def _check_reporting(self, flow_: Flow) -> None:
        # A finding about a call inside `pytest.raises(...)`/`pytest.warns(...)` is about a test of that failure
        # (entering `init_module` too: Lightning raises or warns there).
        self._expected_to_raise = {id(n) for e in flow_.events if e.expected_to_raise for n in (e.node, e.call)} | {
            id(b.call) for b in flow_.blocks if b.expected_to_raise
        }
        self.check_flow(flow_)

    def report(self, node, message: str, **kwargs) -> None:
        if id(node) not in getattr(self, "_expected_to_raise", ()):
            super().report(node, message, **kwargs)

    def check_flow(self, flow: Flow) -> None:
        raise NotImplementedError


def loads_in_hooks(context: Context, build: Event) -> bool:
    """Whether the class a build event constructs (or a project base) loads weights in a Lightning hook that runs
    once the model is fitted (`on_train_start`, `setup`, ...)."""
    index = context.index
    for qname in context.qualified_names(build.call.func):
        hooks = index.loads.hook_loads(index.canonical(qname))
        if hooks.loads or hooks.init:
            return True
    return False


def partial_load(context: Context, event: Event) -> bool:
    """A load that tolerates missing keys: `strict=False`, or a class with `strict_loading = False`."""
    return event.load.strict is False or _class_strict_loading(context, event) == "False"


def strict_load(context: Context, event: Event) -> bool:
    """A load known to raise on missing keys: no `strict`, or `strict=True` (not `strict=args.strict`), and no
    `strict_loading` other than True on the class."""
    return event.load.strict in (ABSENT, True) and _class_strict_loading(context, event) in (None, "True")


def _class_strict_loading(context: Context, event: Event) -> str | None:
    """The `strict_loading = ...` text of the class a `load_from_checkpoint` without `strict` loads, if any."""
    if event.is_load("checkpoint") and event.load.strict is ABSENT and event.call is not None:
        for qname in context.qualified_names(event.call.func.value):
            cls = context.index.classes.get(qname)
            if cls is not None and "strict_loading" in dict(cls.fields):
                return dict(cls.fields)["strict_loading"]
    return None


def build_size(context: Context, event: Event):
    """Estimated parameters of a model build (the class's defaults for `load_from_checkpoint`)."""
    root = event.call
    checkpoint = event.build.model == "checkpoint"
    expr = root.func.value if checkpoint else root
    code = context.code(expr) + ("()" if checkpoint else "")
    estimator = context.estimator
    frame = estimator.new_frame(context.facts, context.scope)
    if event.owner is not None:
        estimator.bind_locals(frame, preceding_statements(context, event.owner, event.node))
    return estimator.expression(ast.parse(code.strip(), mode="eval").body, frame)


def small_enough(context: Context, event: Event, threshold: int | None = None) -> bool:
    """Known to be under `threshold` parameters (default `large-layer-threshold`), or unknown but presumed
    small: not worth a finding. A partly unknown size whose known part reaches the threshold is large."""
    size = build_size(context, event)
    limit = context.settings.large_layer_threshold if threshold is None else threshold
    if size.unknown and size.count < limit:
        return context.settings.unknown_size == "small" or not size.presumed_at_least(limit)
    return size.count < limit


def wrap_in_with(line: cst.SimpleStatementLine, context_code: str) -> cst.With:
    """`line` moved into `with <context_code>:`, keeping its comments (leading lines go above the `with`)."""
    return cst.With(
        [cst.WithItem(cst.parse_expression(context_code))],
        cst.IndentedBlock([line.with_changes(leading_lines=[])]),
        leading_lines=line.leading_lines,
    )

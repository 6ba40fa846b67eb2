"""Static parameter-size estimation: how many parameters does this expression (or `__init__`) build?

A small abstract interpreter over stdlib `ast`: constants fold (`4 * dim`, `math.prod(shape)`, module constants,
parameter defaults, config constructions with their keywords, dataclass defaults and `__post_init__`, the locals
assigned before a build), torch.nn constructors use their real formulas (torch_sizes), containers sum or
multiply, loops multiply their body, and project `nn.Module` subclasses are sized by interpreting their own
`__init__` with the call's arguments bound (memoized, cycle-safe). Only registered state counts (submodules and
`nn.Parameter`s, what `parameters()` returns): a plain tensor attribute or a container of numbers builds none.
Anything else is unknown, with the names it depends on and its degree (the most unknown dimension factors in one
term of its size). It is presumed to reach a threshold when each unknown dimension, presumed a hidden size
(PRESUMED_DIMENSION), makes that term reach it: `Linear(d, d)` reaches FI001's million, a 100M threshold takes
three (`n_layer * d * d`), and never fewer than two (`Linear(obs_size, 128)` is no evidence of size); or when a
dimension was refused for a bound (too large or too deep to evaluate). A call we cannot see into counts zero.
A project function's result is what its `return` builds when its body is that one statement, evaluated with the
call's arguments (`def tiny(): return Config(n_embd=64)`, `cls(**table[name])` in a classmethod); what is read
from any other result of a project function (attributes, items, `**` of openfold's `model_config(name)`) is
opaque: unknown, but no evidence of size, so it never makes a size presumed large. The result itself used as a
number (`find_multiple(4 * d, 256)`) is an unknown dimension like any other, and a parameter of the function
being linted still counts as one: the caller decides.
Buffers (`register_buffer`) are not parameters and are not counted: FSDP does not shard them and torch's own
modules' buffers (BatchNorm's running statistics) are not counted either.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any, Callable, Literal, overload

from .facts import FileFacts
from .index import ProjectIndex
from .names import FileNames, ScopeKey, dotted_name
from ..knowledge.torch_sizes import (
    LAZY_MODULES,
    MAX_COUNT_BITS,
    PARAMETER_FREE,
    TENSOR_FACTORIES,
    TORCH_MODULES,
    bounded_prod,
    unknown_degree,
)


@dataclass(frozen=True)
class Size:
    count: int = 0  # exact when not `unknown`, else the known part
    unknown: bool = False
    depends: tuple[str, ...] = ()
    degree: int = 0  # of the unknown part: the most unknown dimension factors in one term (`d * d` is 2)
    notes: tuple[str, ...] = ()

    def presumed_at_least(self, threshold: int) -> bool:
        """Unknown, and presumed to reach `threshold` parameters (see factors_to_reach)."""
        return self.unknown and self.degree >= factors_to_reach(threshold)

    @property
    def presumed_large(self) -> bool:
        """Presumed to reach a million parameters: a term multiplies two or more unknown dimensions."""
        return self.presumed_at_least(PRESUMED_DIMENSION**2)

    def __add__(self, other: "Size") -> "Size":
        return Size(
            self.count + other.count,
            self.unknown or other.unknown,
            tuple(dict.fromkeys(self.depends + other.depends)),
            max(self.degree, other.degree),
            tuple(dict.fromkeys(self.notes + other.notes)),
        )

    def times(self, n: object) -> "Size":
        if self == ZERO:
            return ZERO
        if isinstance(n, int) and n.bit_length() + abs(self.count).bit_length() <= MAX_COUNT_BITS:
            return Size(self.count * n, self.unknown, self.depends, self.degree, self.notes)
        names = n.names if isinstance(n, Unknown) else (TOO_LARGE if isinstance(n, int) else repr(n)[:80],)
        # An unknown count is one more factor (an opaque one none); a count too large to compute is presumed large.
        degree = (
            PRESUMED_LARGE
            if isinstance(n, int) or _refused(names)
            else self.degree
            if _opaque(n)
            else self.degree + 1
            if self.unknown
            else 1
        )
        return Size(self.count, True, tuple(dict.fromkeys(self.depends + names)), degree, self.notes)

    def describe(self) -> str:
        if not self.unknown:
            return f"{self.count:,} parameters"
        on = f"depends on {', '.join(self.depends)}" if self.depends else ""
        if self.count > 0:  # counted: where a branch is unknown, the larger one was counted
            return f"size unknown: {self.count:,} parameters counted, {on or 'more not known'}"
        return f"size unknown: {on}" if on else "size unknown"


ZERO = Size()
# An unknown dimension is presumed a hidden size (they run 512-8192; a vocabulary is larger, a kernel smaller).
PRESUMED_DIMENSION = 1024
PRESUMED_LARGE = 1_000  # the degree of what is large by nature (a pretrained model, a recursive class): any threshold


def factors_to_reach(threshold: int) -> int:
    """How many unknown dimensions one term must multiply to be presumed to reach `threshold` parameters, each
    presumed PRESUMED_DIMENSION: two for FI001's 1,000,000 (`Linear(d, d)`), three for FI007's 100,000,000
    (`n_layer * d * d`: a single `Linear(d_in, d_out)` is a few million at such sizes), never fewer than two."""
    factors = 2
    while PRESUMED_DIMENSION**factors < threshold:
        factors += 1
    return factors


@dataclass(frozen=True)
class Unknown:
    names: tuple[str, ...] = ()
    opaque: bool = False  # read from what a project function returned: not a dimension that can make a size large
    returned: bool = False  # what a project function returned: a dimension itself, but what is read from it is opaque


@dataclass(frozen=True)
class Module:
    """A value that owns parameters; `weights` maps direct parameter names to sizes (for weight tying)."""

    size: Size
    weights: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class Tensor:
    numel: int | Unknown
    degree: int = 0  # unknown dimension factors of `numel`
    parameter: bool = False  # an `nn.Parameter`: registered when assigned to `self`; a plain tensor is not


@dataclass(frozen=True)
class ClassRef:
    """A class as a value: `cls` in a classmethod."""

    qualname: str


@dataclass(frozen=True)
class Config:
    """An instance of a project config class: its keyword arguments are its attributes; other attributes read
    the class defaults when `defaults` (no positional arguments, which fill fields we cannot name)."""

    qualname: str
    given: tuple[tuple[str, object], ...] = ()
    defaults: bool = True


@dataclass
class Frame:
    facts: FileFacts  # of the file whose code is evaluated: its names and module constants
    scope: ScopeKey
    env: dict[str, object] = field(default_factory=dict)
    attrs: dict[str, object] = field(default_factory=dict)  # self.<attr>
    notes: list[str] = field(default_factory=list)

    @property
    def names(self) -> FileNames:
        return self.facts.names


def _unknown_of(*values: object) -> Unknown | None:
    unknowns = [v for v in values if isinstance(v, Unknown)]
    names = tuple(n for v in unknowns for n in v.names)
    return Unknown(tuple(dict.fromkeys(names)), all(v.opaque for v in unknowns)) if unknowns else None


def _opaque(value: object) -> bool:
    return isinstance(value, Unknown) and value.opaque


def _opaque_source(value: object) -> bool:
    """Whether what is read from `value` (attributes, items, `**`) is opaque."""
    return isinstance(value, Unknown) and (value.opaque or value.returned)


def _dimensions(bound: dict) -> dict:
    """`bound` with opaque values as 1: they are no unknown dimension to `unknown_degree`."""
    return {k: 1 if _opaque(v) else v for k, v in bound.items()}


_BINOPS = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.FloorDiv: lambda a, b: a // b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: lambda a, b: a**b,
    ast.Mod: lambda a, b: a % b,
    ast.LShift: lambda a, b: a << b,
    ast.RShift: lambda a, b: a >> b,
}
_NN_PREFIXES = ("torch.nn.", "torch.nn.modules.")
_PARAMETER = frozenset({"torch.nn.Parameter", "torch.nn.parameter.Parameter"})
_COMPARISONS = {
    ast.Eq: lambda a, b: a == b,
    ast.NotEq: lambda a, b: a != b,
    ast.Lt: lambda a, b: a < b,
    ast.LtE: lambda a, b: a <= b,
    ast.Gt: lambda a, b: a > b,
    ast.GtE: lambda a, b: a >= b,
    ast.Is: lambda a, b: a is b,
    ast.IsNot: lambda a, b: a is not b,
}
_PRODUCTS = frozenset({"math.prod", "numpy.prod", "functools.reduce"})
_BUILTIN_FUNCTIONS: dict[str, Callable[..., Any]] = {"int": int, "max": max, "min": min, "round": round}
_CONTAINERS = {"Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict"}
_MAX_DEPTH = 12
# Bounds on what a checkout can make us compute (its code is untrusted): a folded str/bytes/list/tuple/dict holds
# at most _MAX_ITEMS items all told (an item reachable twice counts twice: walking and printing pay for it twice),
# nested at most _MAX_VALUE_NESTING deep; integers have at most MAX_COUNT_BITS bits; the interpreter nests at most
# _MAX_NESTING evaluations (expressions, statements, constants, project classes), well within Python's recursion
# limit. Past a bound the value is unknown.
_MAX_ITEMS = 10_000
_MAX_VALUE_NESTING = 32
_MAX_NESTING = 100
_MAX_TEXT_NESTING = 50
TOO_LARGE = "a value too large to evaluate"
TOO_DEEP = "an expression nested too deeply to evaluate"


def _refused(names: tuple[str, ...]) -> bool:
    """A dimension or count refused for a bound: presumed large (a hostile file makes it so on purpose)."""
    return TOO_LARGE in names or TOO_DEEP in names


_SEQUENCES = (str, bytes, list, tuple)


def _weight(value: object) -> int:
    """Items reachable in a folded value, counting a str or bytes by its length; stops past the bounds
    (returning more than _MAX_ITEMS), so the walk itself costs at most _MAX_ITEMS steps."""
    weight, stack = 0, [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, (str, bytes)):
            weight += len(item)
        elif isinstance(item, int):
            weight += 1 if item.bit_length() <= MAX_COUNT_BITS else _MAX_ITEMS + 1
        elif isinstance(item, (list, tuple, dict)):
            children = list(item.values()) if isinstance(item, dict) else item
            weight += 1 + len(children) if level < _MAX_VALUE_NESTING else _MAX_ITEMS + 1
            if weight <= _MAX_ITEMS:
                stack.extend((child, level + 1) for child in children)
        else:
            weight += 1
        if weight > _MAX_ITEMS:
            break
    return weight


def _within_bounds(value: object) -> bool:
    if isinstance(value, int):
        return value.bit_length() <= MAX_COUNT_BITS
    return not isinstance(value, (*_SEQUENCES, dict)) or _weight(value) <= _MAX_ITEMS


def _too_large_to_fold(op: ast.operator, left: object, right: object) -> bool:
    """Whether `left <op> right` could exceed the bounds: checked before computing it, since computing it is
    the harm (`"x" * 10**9`, `10 ** 10**10`, `"%0999999999d" % 0`)."""
    if isinstance(op, ast.Mod):
        return isinstance(left, (str, bytes))
    if isinstance(op, ast.Mult):
        for sequence, n in ((left, right), (right, left)):
            if isinstance(sequence, _SEQUENCES) and isinstance(n, int) and n > 0:
                return n.bit_length() > MAX_COUNT_BITS or _weight(sequence) * n > _MAX_ITEMS
    if isinstance(op, ast.LShift) and isinstance(left, int) and isinstance(right, int):
        return right > MAX_COUNT_BITS or abs(left).bit_length() + right > MAX_COUNT_BITS
    if isinstance(op, ast.Pow) and isinstance(left, int) and isinstance(right, int) and right > 0:
        return right.bit_length() > MAX_COUNT_BITS or (abs(left).bit_length() - 1) * right > MAX_COUNT_BITS
    return False


def _text(node: ast.AST) -> str:
    """`ast.unparse(node)` for messages; unparse recurses, so a node nested past the bound is named, not printed."""
    stack = [(node, 0)]
    while stack:
        item, level = stack.pop()
        if level > _MAX_TEXT_NESTING:
            return TOO_DEEP
        stack.extend((child, level + 1) for child in ast.iter_child_nodes(item))
    return ast.unparse(node)


def _leaves(data) -> int | Unknown:
    if isinstance(data, (list, tuple)):
        counts = [_leaves(item) for item in data]
        unknown = _unknown_of(*counts)
        return unknown if unknown else sum(c for c in counts if not isinstance(c, Unknown))
    return data if isinstance(data, Unknown) else 1


def _parameter(value: object) -> object:
    """`value` wrapped in nn.Parameter: tensors become registered state (inside lists and dicts too)."""
    if isinstance(value, Tensor):
        return Tensor(value.numel, value.degree, True)
    if isinstance(value, (list, tuple)):
        return [_parameter(item) for item in value]
    if isinstance(value, dict):
        return [_parameter(item) for item in value.values()]
    return value


def size_of(value: object) -> Size:
    if isinstance(value, Module):
        return value.size
    if isinstance(value, Tensor):
        if not value.parameter:
            return ZERO  # a plain tensor attribute: not in `parameters()`, nothing shards it
        if isinstance(value.numel, Unknown):
            return Size(0, True, value.numel.names, value.degree)
        return Size(value.numel)
    if isinstance(value, (tuple, list)):
        total = ZERO
        for item in value:
            total += size_of(item)
        return total
    if isinstance(value, dict):
        return size_of(list(value.values()))
    return ZERO


class Estimator:
    def __init__(self, index: ProjectIndex) -> None:
        self.index = index
        self._class_memo: dict[tuple, Size] = {}
        self._active: set[str] = set()
        self._constants: dict[tuple[str, str], object] = {}
        self._modules: dict[str, ast.Module | None] = {}  # file name -> its tree, for project functions' bodies
        self._mutations = 0  # module-level configs changed by constructors so far (part of the class memo's key)
        self._nesting = 0  # evaluations in progress (see _MAX_NESTING)
        self._cut = 0  # evaluations refused for depth so far (_MAX_NESTING, `_parse`): what met one is unknown

    # Entry points ------------------------------------------------------------------------------
    def expression(self, expr: ast.expr, frame: Frame) -> Size:
        cut = self._cut
        return self._unless_cut(size_of(self.eval(expr, frame)), cut)

    def new_frame(self, facts: FileFacts, scope: ScopeKey) -> Frame:
        return Frame(facts, scope)

    def bind_init_defaults(self, frame: Frame, init: ast.FunctionDef) -> None:
        """Enter an `__init__` for a rule: parameters take their defaults (noted), else stay unknown."""
        self._bind(frame, init, [], {}, note_defaults=True)

    def bind_locals(self, frame: Frame, statements: list[tuple[ast.stmt, bool]]) -> None:
        """Local variables from the statements that ran before a build, in order: an assignment that ran
        straight binds its value (`config = Config(n_embd=64)`, `B, T, C = 1, 5, 3`, `config.n_layer = 2`);
        any other statement makes the names it binds unknown."""
        for stmt, straight in statements:
            if straight and isinstance(stmt, (ast.Assign, ast.AnnAssign)) and stmt.value is not None:
                value = self.eval(stmt.value, frame)
                for target in stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]:
                    self._bind_local(target, value, frame)
                continue
            if straight and isinstance(stmt, ast.If):  # `if TOKEN_MODE == "pile":` on a known value: that branch ran
                test = self.eval(stmt.test, frame)
                if isinstance(test, (bool, int, float, str, type(None))):
                    self.bind_locals(frame, [(child, True) for child in (stmt.body if test else stmt.orelse)])
                    continue
            _forget_bound(stmt, frame)

    def _bind_local(self, target: ast.expr, value: object, frame: Frame) -> None:
        if isinstance(target, ast.Name):
            frame.env[target.id] = value
        elif (
            isinstance(target, (ast.Tuple, ast.List))
            and isinstance(value, (tuple, list))
            and len(value) == len(target.elts)
            and not any(isinstance(e, ast.Starred) for e in target.elts)
        ):
            for element, part in zip(target.elts, value):
                self._bind_local(element, part, frame)
        elif not _set_config_attribute(target, value, frame):
            _forget_bound(target, frame)

    def statement(self, stmt: ast.stmt, frame: Frame, depth: int = 0) -> Size:
        """Parameters a statement of `__init__` registers on `self`, updating the frame."""
        if self._nesting >= _MAX_NESTING:
            self._cut += 1
            return Size(0, True, (TOO_DEEP,))
        self._nesting += 1
        cut = self._cut
        try:
            return self._unless_cut(self._statement(stmt, frame, depth), cut)
        finally:
            self._nesting -= 1

    def _unless_cut(self, size: Size, cut: int) -> Size:
        """`size`, unknown if evaluating it met the nesting bound: what the cut part builds is not known."""
        if self._cut == cut or size.unknown:
            return size
        return Size(size.count, True, (*size.depends, TOO_DEEP), PRESUMED_LARGE, size.notes)

    def _statement(self, stmt: ast.stmt, frame: Frame, depth: int) -> Size:
        if isinstance(stmt, (ast.Assign, ast.AnnAssign)) and stmt.value is not None:
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            value = self.eval(stmt.value, frame, depth)
            return sum((self._assign(t, value, frame) for t in targets), ZERO)
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
            return self._effect_call(stmt.value, frame, depth)
        if isinstance(stmt, ast.For):
            return self._loop(stmt, frame, depth)
        if isinstance(stmt, ast.With):  # `with torch.no_grad():` and the like: the body runs once
            return self._body_size(stmt.body, frame, depth)
        if isinstance(stmt, ast.If):
            test = self.eval(stmt.test, frame, depth)
            if not isinstance(test, (Unknown, Module, Tensor)):
                return self._body_size(stmt.body if test else stmt.orelse, frame, depth)
            first, second = self._body_size(stmt.body, frame, depth), self._body_size(stmt.orelse, frame, depth)
            if first.count == second.count and not (first.unknown or second.unknown):
                return first
            merged = first if first.count >= second.count else second
            return Size(merged.count, True, (*merged.depends, _text(stmt.test)), max(first.degree, second.degree))
        return ZERO

    def _body_size(self, body: list[ast.stmt], frame: Frame, depth: int) -> Size:
        total = ZERO
        for stmt in body:
            total += self.statement(stmt, frame, depth)
        return total

    def _loop(self, stmt: ast.For, frame: Frame, depth: int) -> Size:
        """The body evaluated once (the target unknown) and multiplied by the iteration count, except that an
        attribute assigned in it (`self.proj = ...`) counts once: each iteration replaces the previous object."""
        count = self._iterations(stmt.iter, frame)
        for node in ast.walk(stmt.target):
            if isinstance(node, ast.Name):
                frame.env[node.id] = Unknown((node.id,))
        repeated = replaced = ZERO
        for child in stmt.body:
            size = self.statement(child, frame, depth)
            if _assigns_self_attributes(child):
                replaced += size
            else:
                repeated += size
        return repeated.times(count) + replaced

    # Statements --------------------------------------------------------------------------------
    def _assign(self, target: ast.expr, value: object, frame: Frame) -> Size:
        if isinstance(target, ast.Name):
            frame.env[target.id] = value
            return ZERO
        if _set_config_attribute(target, value, frame):  # `args.dim_att = args.n_embd` in RWKV's __init__
            return ZERO
        if self._set_global_config_attribute(target, value, frame):
            return ZERO
        if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == "self":
            previous = frame.attrs.get(target.attr)
            frame.attrs[target.attr] = value
            if isinstance(value, _Shared):
                return ZERO
            return (
                size_of(value) + Size(-size_of(previous).count)
                if isinstance(previous, (Module, Tensor))
                else size_of(value)
            )
        if isinstance(target, ast.Attribute) and isinstance(value, _Shared):
            # Weight tying, `self.head.weight = self.embed.weight`: the tied-over parameter disappears.
            owner = self._self_attr(target.value, frame)
            if isinstance(owner, Module):
                replaced = dict(owner.weights).get(target.attr)
                if replaced is not None:
                    return Size(-replaced)
        return ZERO

    def _set_global_config_attribute(self, target: ast.expr, value: object, frame: Frame) -> bool:
        """`RWKV_CFG.n_embd = n_embd` in a constructor, on a module-level config (`RWKV_CFG = SimpleNamespace()`):
        what the classes it builds next read from it (RWKV's `RWKV_GPT` sets it before building its `Block`s)."""
        if (
            not (isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name))
            or target.value.id in frame.env
            or target.value.id not in frame.facts.constants
        ):
            return False
        config = self._name(target.value.id, frame)
        if not isinstance(config, Config):
            return False
        given = {**dict(config.given), target.attr: value}
        self._constants[(frame.facts.filename, target.value.id)] = Config(
            config.qualname, tuple(given.items()), config.defaults
        )
        self._mutations += 1  # sizes computed before depend on the old value
        return True

    def _self_attr(self, node: ast.expr, frame: Frame) -> object:
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self":
            return frame.attrs.get(node.attr)
        return None

    def _effect_call(self, call: ast.Call, frame: Frame, depth: int) -> Size:
        func = call.func
        if isinstance(func, ast.Attribute):
            if func.attr in ("register_parameter", "add_module", "register_module") and len(call.args) == 2:
                return size_of(self.eval(call.args[1], frame, depth))
            if func.attr in ("append", "extend") and call.args and self._self_attr(func.value, frame) is not None:
                return size_of(self.eval(call.args[0], frame, depth))
            if func.attr == "__init__" and isinstance(func.value, ast.Call) and dotted_name(func.value.func) == "super":
                return self._super_init(call, func.value.args, frame, depth)
        return ZERO

    def _super_init(self, call: ast.Call, explicit: list[ast.expr], frame: Frame, depth: int) -> Size:
        """`super(...).__init__(...)`; `explicit` are super's own arguments: `super(LoRALinear, self)` starts the
        lookup after LoRALinear."""
        owner = frame.env.get("__class__")
        if explicit:
            named = sorted(self.index.canonical(q) for q in frame.names.resolve_node(explicit[0], frame.scope))
            owner = next((q for q in named if q in self.index.classes), None)
        cls = self.index.classes.get(owner) if isinstance(owner, str) else None
        if cls is None:
            return ZERO
        for base in cls.bases:
            for candidate in base:
                if candidate in self.index.classes:
                    args, kwargs = self._args(call, frame, depth)
                    return self.project_class(candidate, args, kwargs, depth + 1, frame)
        return ZERO

    def _iterations(self, node: ast.expr, frame: Frame) -> object:
        """How many times a loop over `node` runs: an int, or Unknown."""
        count = self._range_count(node, frame)
        if count is not None:
            return count
        if isinstance(node, ast.Call) and dotted_name(node.func) == "enumerate" and len(node.args) == 1:
            return self._iterations(node.args[0], frame)
        value = self.eval(node, frame)
        if isinstance(value, (list, tuple, dict, str)):
            return len(value)
        return value if isinstance(value, Unknown) else Unknown((_text(node),))

    def _range_count(self, node: ast.expr, frame: Frame) -> object | None:
        if isinstance(node, ast.Call) and dotted_name(node.func) == "range" and 1 <= len(node.args) <= 2:
            bounds = [self.eval(a, frame) for a in node.args]
            unknown = _unknown_of(*bounds)
            if unknown:
                return unknown
            ints = [b for b in bounds if isinstance(b, int)]
            if len(ints) == len(bounds):
                return max(0, ints[-1] - (ints[0] if len(ints) == 2 else 0))
        return None

    # Expressions -------------------------------------------------------------------------------
    def eval(self, node: ast.expr, frame: Frame, depth: int = 0) -> object:
        if self._nesting >= _MAX_NESTING:
            self._cut += 1
            return Unknown((TOO_DEEP,))
        self._nesting += 1
        try:
            return self._eval(node, frame, depth)
        finally:
            self._nesting -= 1

    def _eval(self, node: ast.expr, frame: Frame, depth: int) -> object:
        if isinstance(node, ast.Constant):
            # A literal can be huge too (hexadecimal integers have no digit limit).
            return node.value if _within_bounds(node.value) else Unknown((TOO_LARGE,))
        if isinstance(node, ast.Name):
            return self._name(node.id, frame)
        if isinstance(node, ast.Attribute):
            return self._attribute(node, frame, depth)
        if isinstance(node, ast.BinOp):
            left, right = self.eval(node.left, frame, depth), self.eval(node.right, frame, depth)
            if isinstance(node.op, ast.Mult) and isinstance(left, list) and len(left) == 1:
                return left  # [Block()] * n repeats one module: parameters() counts it once
            if isinstance(left, Tensor):
                return left  # tensor arithmetic keeps the factory's shape
            unknown = _unknown_of(left, right)
            if unknown:
                return unknown
            if _too_large_to_fold(node.op, left, right):
                return Unknown((TOO_LARGE,))
            try:
                value = _BINOPS[type(node.op)](left, right)
            except Exception:  # noqa: BLE001 - non-foldable operands
                return Unknown((_text(node),))
            return value if _within_bounds(value) else Unknown((TOO_LARGE,))
        if isinstance(node, ast.UnaryOp):
            operand = self.eval(node.operand, frame, depth)
            if isinstance(operand, Unknown) or not isinstance(operand, (int, float, bool)):
                return operand if isinstance(operand, Unknown) else Unknown((_text(node),))
            return {ast.USub: lambda v: -v, ast.UAdd: lambda v: v, ast.Not: lambda v: not v}.get(
                type(node.op), lambda v: Unknown()
            )(operand)
        if isinstance(node, (ast.Tuple, ast.List)):
            items: list[object] = []
            for element in node.elts:
                value = self.eval(element.value if isinstance(element, ast.Starred) else element, frame, depth)
                items.extend(value if isinstance(element, ast.Starred) and isinstance(value, list) else [value])
            value = tuple(items) if isinstance(node, ast.Tuple) else items
            return value if _within_bounds(value) else Unknown((TOO_LARGE,))
        if isinstance(node, ast.Dict):
            names = [k.value for k in node.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)]
            # String keys are kept (for `.get`); other dicts are sized by their values only, keyed by position.
            keys = names if len(names) == len(node.keys) else range(len(node.keys))
            value = {key: self.eval(v, frame, depth) for key, v in zip(keys, node.values)}
            return value if _within_bounds(value) else Unknown((TOO_LARGE,))
        if isinstance(node, (ast.ListComp, ast.GeneratorExp)):
            return self._comprehension(node, frame, depth)
        if isinstance(node, ast.Call):
            return self._call(node, frame, depth)
        if isinstance(node, ast.BoolOp):
            return self._bool_op(node, frame, depth)
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _COMPARISONS:
            left, right = self.eval(node.left, frame, depth), self.eval(node.comparators[0], frame, depth)
            identity = isinstance(node.ops[0], (ast.Is, ast.IsNot))
            if (
                _unknown_of(left, right)
                or not all(isinstance(v, (int, float, str, type(None))) for v in (left, right))
                or identity
                and left is not None
                and right is not None
            ):  # `is` on numbers: not folded
                return Unknown((_text(node),))
            try:
                return _COMPARISONS[type(node.ops[0])](left, right)
            except TypeError:
                return Unknown((_text(node),))
        if isinstance(node, ast.IfExp):
            test = self.eval(node.test, frame, depth)
            if not isinstance(test, (Unknown, Module, Tensor)):
                return self.eval(node.body if test else node.orelse, frame, depth)
        if isinstance(node, ast.Subscript):
            owner, key = self.eval(node.value, frame, depth), self.eval(node.slice, frame, depth)
            if isinstance(owner, dict) and isinstance(key, str) and key in owner:  # `llama_configs[name]`
                return owner[key]
            return Unknown((_text(node),), _opaque_source(owner))  # `config["evoformer_stack"]` of an opaque config
        return Unknown((_text(node),))

    def _bool_op(self, node: ast.BoolOp, frame: Frame, depth: int) -> object:
        """`a or b`, `a and b` on known plain values, as Python decides them; `x and False` is falsy whatever
        `x` is (RWKV's `self.layer_id == 0 and self.args.pre_ffn > 0`)."""
        unknown = None
        for position, operand in enumerate(node.values):
            value = self.eval(operand, frame, depth)
            if not isinstance(value, (int, float, str, tuple, list, dict, type(None))):
                unknown = unknown or (value if isinstance(value, Unknown) else Unknown((_text(node),)))
                continue
            last = position == len(node.values) - 1
            if (
                isinstance(node.op, ast.And)
                and not value
                or unknown is None
                and (last or isinstance(node.op, ast.Or) and value)
            ):
                return value
        return unknown or Unknown((_text(node),))

    def _name(self, name: str, frame: Frame) -> object:
        if name in frame.env:
            return frame.env[name]
        if name in ("True", "False", "None"):
            return {"True": True, "False": False, "None": None}[name]
        facts = frame.facts
        if name in facts.constants:
            key = (facts.filename, name)
            if key in self._constants:
                return self._constants[key]
            self._constants[key] = Unknown((name,))  # cycle guard
            tree = self._parse(facts.constants[name], "eval")
            self._constants[key] = Unknown((TOO_DEEP,)) if tree is None else self.eval(tree.body, Frame(facts, ()))
            return self._constants[key]
        return Unknown((name,))

    def _attribute(self, node: ast.Attribute, frame: Frame, depth: int) -> object:
        if isinstance(node.value, ast.Name) and node.value.id == "self":
            value = frame.attrs.get(node.attr, Unknown((f"self.{node.attr}",)))
            return _Shared(value) if isinstance(value, (Module, Tensor)) else value
        owner = self.eval(node.value, frame, depth)
        owner = owner.value if isinstance(owner, _Shared) else owner
        if isinstance(owner, Config):
            value = self._config_attribute(owner, node.attr, frame, depth)
            if value is not None:
                return value
        if isinstance(owner, Module):
            weight = dict(owner.weights).get(node.attr)
            if weight is not None:
                return _Shared(Tensor(weight, parameter=True))
        dotted = dotted_name(node)
        return Unknown((dotted or _text(node),), _opaque_source(owner))

    def _config_attribute(self, config: Config, name: str, frame: Frame, depth: int, filled: bool = False) -> object:
        """The attribute given to the construction, else the class default; None when neither is known.
        A `None` default is what `__post_init__` fills in (litgpt's `head_size`): unknown, unless `filled` (the
        value `__post_init__` itself starts from)."""
        given = dict(config.given)
        if name in given:
            return given[name]
        if not config.defaults:
            return None
        lineage = [
            self.index.classes[q] for q in self.index.project_lineage(config.qualname)
        ]  # [] for a SimpleNamespace
        owner = next((cls for cls in lineage if name in dict(cls.fields)), None)
        if owner is None:
            return None
        source = dict(owner.fields)[name]
        if source == "None" and not filled and any("__post_init__" in c.methods for c in lineage):
            return None
        tree = self._parse(source, "eval")
        if tree is None:
            return Unknown((TOO_DEEP,))
        return self.eval(tree.body, Frame(self._facts_of(owner.qualname) or frame.facts, owner.scope[:-1]), depth + 1)

    def _comprehension(self, node: ast.ListComp | ast.GeneratorExp, frame: Frame, depth: int) -> object:
        if len(node.generators) != 1:
            return Unknown((_text(node),))
        generator = node.generators[0]
        count = self._iterations(generator.iter, frame)
        for target in ast.walk(generator.target):
            if isinstance(target, ast.Name):
                frame.env[target.id] = Unknown((target.id,))
        element = self.eval(node.elt, frame, depth)
        if not isinstance(element, (Module, Tensor)):
            return Unknown((_text(node),))  # numbers, names, plain objects: no parameters whatever the count
        return Module(size_of(element).times(count))

    def _args(self, call: ast.Call, frame: Frame, depth: int) -> tuple[list, dict]:
        args: list[object] = []
        for arg in call.args:
            if isinstance(arg, ast.Starred):
                value = self.eval(arg.value, frame, depth)
                args.extend(value) if isinstance(value, (list, tuple)) else args.append(value)
            else:
                args.append(self.eval(arg, frame, depth))
        kwargs = {k.arg: self.eval(k.value, frame, depth) for k in call.keywords if k.arg is not None}
        spread = [self.eval(k.value, frame, depth) for k in call.keywords if k.arg is None]
        for value in [v for v in spread if isinstance(v, dict) and all(isinstance(k, str) for k in v)]:
            kwargs.update(value)  # `cls(**llama_configs[name])`
        spread = [v for v in spread if not (isinstance(v, dict) and all(isinstance(k, str) for k in v))]
        if spread:
            kwargs["**"] = Unknown(("**kwargs",), all(_opaque_source(v) for v in spread))
        return args, kwargs

    def _call(self, call: ast.Call, frame: Frame, depth: int) -> object:
        if depth > _MAX_DEPTH:
            return Unknown(("<recursion>",))
        if isinstance(call.func, ast.Attribute) and call.func.attr == "from_pretrained":
            return Module(Size(0, True, (f"{_text(call.func)}(...)",), PRESUMED_LARGE))
        if (
            isinstance(call.func, ast.Attribute)
            and call.func.attr == "get"
            and 1 <= len(call.args) <= 2
            and not call.keywords
        ):
            owner, key = self.eval(call.func.value, frame, depth), self.eval(call.args[0], frame, depth)
            if isinstance(owner, dict) and all(isinstance(k, str) for k in owner) and isinstance(key, str):
                return (
                    owner[key]
                    if key in owner
                    else self.eval(call.args[1], frame, depth)
                    if len(call.args) == 2
                    else None
                )
        # Project classes by their defining module's name, also when imported through a package re-export;
        # `cls(...)` in a classmethod is its class.
        bound = frame.env.get(call.func.id) if isinstance(call.func, ast.Name) else None
        qnames = (
            {bound.qualname}
            if isinstance(bound, ClassRef)
            else {self.index.canonical(q) for q in frame.names.resolve_node(call.func, frame.scope)}
        )
        for qname in sorted(qnames):
            result = self._known_call(qname, call, frame, depth)
            if result is not None:
                return result
        for qname in sorted(qnames):
            found = self._project_function(qname)
            if found is not None:
                return self._returned(*found, call, frame, depth)
        return Unknown((_text(call.func) + "(...)",))

    def _known_call(self, qname: str, call: ast.Call, frame: Frame, depth: int) -> object | None:
        name = qname.rsplit(".", 1)[-1]
        if qname in _PARAMETER:
            tensor = self.eval(call.args[0], frame, depth) if call.args else None
            # A tensor we cannot size is one unknown, not evidence of a matrix.
            return _parameter(tensor if isinstance(tensor, Tensor) else Tensor(Unknown((_text(call),)), 1))
        if qname in ("torch.tensor", "torch.as_tensor") and call.args:
            data = self.eval(call.args[0], frame, depth)
            if isinstance(data, (list, tuple)):
                leaves = _leaves(data)
                return Tensor(leaves, 1 if isinstance(leaves, Unknown) else 0)
            return Tensor(Unknown((_text(call),)), 1)
        if qname in _PRODUCTS:
            return self._product(qname, call, frame, depth)
        if qname == "builtins.dict" and not call.args:  # nanoGPT's `nn.ModuleDict(dict(wte=..., h=...))`
            _, kwargs = self._args(call, frame, depth)
            return kwargs if "**" not in kwargs else None
        if qname == "types.SimpleNamespace" and not call.args:  # `args = SimpleNamespace(); args.n_embd = 2048`
            _, kwargs = self._args(call, frame, depth)
            return Config(qname, tuple(kwargs.items()), False) if "**" not in kwargs else Unknown((_text(call),))
        if qname.startswith("torch.") and name in TENSOR_FACTORIES and qname.count(".") == 1:
            return self._tensor(name, call, frame, depth)
        if qname.startswith(_NN_PREFIXES):
            if name in ("TransformerEncoder", "TransformerDecoder"):
                return self._stack(call, frame, depth)
            if name in TORCH_MODULES:
                return self._torch_module(name, call, frame, depth)
            if name in _CONTAINERS:
                args, kwargs = self._args(call, frame, depth)
                items = [*args, *kwargs.values()]
                # ParameterList/ParameterDict wrap the tensors they are given in nn.Parameter.
                return Module(size_of(_parameter(items) if name.startswith("Parameter") else items))
            if name in PARAMETER_FREE or name in LAZY_MODULES:
                return Module(ZERO)  # a Lazy* module has no materialized parameters until its first forward
        if qname in ("builtins.int", "builtins.max", "builtins.min", "builtins.round"):
            args, _ = self._args(call, frame, depth)
            unknown = _unknown_of(*args)
            if unknown:
                return unknown
            try:
                value = _BUILTIN_FUNCTIONS[name](*args)
            except Exception:  # noqa: BLE001
                return None
            return value if _within_bounds(value) else Unknown((TOO_LARGE,))
        if qname in self.index.classes:
            if self.index.is_nn_module(qname):
                args, kwargs = self._args(call, frame, depth)
                return Module(self.project_class(qname, args, kwargs, depth + 1))
            args, kwargs = self._args(call, frame, depth)
            if "**" in kwargs:
                return Unknown((_text(call),))
            return self._post_init(Config(qname, tuple(kwargs.items()), not args), depth)
        return None

    def _product(self, qname: str, call: ast.Call, frame: Frame, depth: int) -> object:
        """`math.prod(shape)`, `np.prod(shape)`, `functools.reduce(operator.mul, shape[, start])` of known numbers."""
        args, kwargs = self._args(call, frame, depth)
        if qname == "functools.reduce":
            names = frame.names.resolve_node(call.args[0], frame.scope) if call.args else ()
            if "operator.mul" not in names or len(args) not in (2, 3) or kwargs:
                return None
            args = args[1:]
        elif qname == "math.prod":
            args = [*args, kwargs.pop("start")] if "start" in kwargs and len(args) == 1 else args
        if len(args) not in (1, 2) or kwargs or not isinstance(args[0], (list, tuple)):
            return _unknown_of(*args, *kwargs.values())
        factors = [*args[0], *args[1:]]
        unknown = _unknown_of(*factors)
        if unknown:
            return unknown
        if qname == "numpy.prod" and len(args) == 2 or not all(isinstance(f, int) for f in factors):
            return None  # `np.prod(a, axis)`, floats: not folded
        try:
            return bounded_prod(factors)
        except OverflowError:
            return Unknown((TOO_LARGE,))

    def _post_init(self, config: Config, depth: int) -> Config:
        """A dataclass construction with its `__post_init__` run on the fields (given, else their defaults):
        litgpt's `Config(latent_attention={...})` derives `q_lora_rank` and `head_size` there."""
        lineage = [self.index.classes[q] for q in self.index.project_lineage(config.qualname)]
        cls = next((c for c in lineage if "__post_init__" in c.methods), None)  # the one that runs (a base's)
        facts = self._facts_of(cls.qualname) if cls is not None else None
        if cls is None or cls.post_init_source is None or facts is None or not config.defaults or depth > _MAX_DEPTH:
            return config
        post_init = self._parse_def(cls.post_init_source)
        if post_init is None:
            return config
        frame = Frame(facts, (*cls.scope, ("def", "__post_init__")))
        names = [name for c in lineage for name in dict(c.fields)]
        frame.attrs = {
            name: self._config_attribute(config, name, frame, depth, filled=True)
            for name in dict.fromkeys([*names, *dict(config.given)])
        }
        self._body_size(post_init.body, frame, depth + 1)
        attributes = {name: value.value if isinstance(value, _Shared) else value for name, value in frame.attrs.items()}
        return Config(config.qualname, tuple(attributes.items()), False)

    def _stack(self, call: ast.Call, frame: Frame, depth: int) -> Module:
        """`TransformerEncoder(layer, num_layers, norm)` deep-copies `layer` num_layers times."""
        args, kwargs = self._args(call, frame, depth)
        bound = dict(zip(("layer", "num_layers", "norm"), args))
        bound.update(encoder_layer=kwargs.get("encoder_layer"), decoder_layer=kwargs.get("decoder_layer"))
        layer = bound.get("layer") or bound.get("encoder_layer") or bound.get("decoder_layer")
        layer = layer.value if isinstance(layer, _Shared) else layer
        num_layers = bound.get("num_layers", kwargs.get("num_layers", Unknown(("num_layers",))))
        norm = kwargs.get("norm", bound.get("norm"))
        return Module(size_of(layer).times(num_layers) + size_of(norm))

    def _tensor(self, name: str, call: ast.Call, frame: Frame, depth: int) -> Tensor:
        args = [a for a in call.args if not isinstance(a, ast.Starred)]
        shape_args: list[ast.expr | None] = [*(args[:1] if name in ("full", "empty_strided") else args)]
        if name == "randint":
            shape_args = [next((k.value for k in call.keywords if k.arg == "size"), args[-1] if args else None)]
        if name == "normal":
            return Tensor(Unknown((_text(call),)), 1)
        values = [self.eval(a, frame, depth) for a in shape_args if a is not None]
        if len(values) == 1 and isinstance(values[0], (tuple, list)):
            values = list(values[0])
        size_kw = next((k.value for k in call.keywords if k.arg == "size"), None)
        if size_kw is not None and name != "randint":
            value = self.eval(size_kw, frame, depth)
            values = list(value) if isinstance(value, (tuple, list)) else [value]
        unknown = _unknown_of(*values)
        if unknown:
            dimensions = sum(isinstance(v, Unknown) and not v.opaque for v in values)
            return Tensor(unknown, PRESUMED_LARGE if _refused(unknown.names) else dimensions)
        if not all(isinstance(v, int) for v in values):
            return Tensor(Unknown((_text(call),)), 1)
        try:
            return Tensor(bounded_prod(values))
        except OverflowError:
            return Tensor(Unknown((TOO_LARGE,)), PRESUMED_LARGE)

    def _torch_module(self, name: str, call: ast.Call, frame: Frame, depth: int) -> Module:
        positional, defaults, formula = TORCH_MODULES[name]
        args, kwargs = self._args(call, frame, depth)
        bound = dict(defaults)
        bound.update(zip(positional, args))
        bound.update((k, v) for k, v in kwargs.items() if k != "**")
        if _opaque(kwargs.get("**")):  # what an opaque `**config` leaves out is opaque too
            bound.update((p, kwargs["**"]) for p in positional if p not in bound)
        missing = [p for p in positional if p not in bound]
        unknown = _unknown_of(*bound.values(), *([kwargs["**"]] if "**" in kwargs else []))
        if unknown or missing:
            names = (unknown.names if unknown else ()) + tuple(missing)
            return Module(
                Size(0, True, names, PRESUMED_LARGE if _refused(names) else unknown_degree(name, _dimensions(bound)))
            )
        try:
            count = formula(bound)
        except OverflowError:  # a count too large to compute (bounded_prod refused it): huge
            return Module(Size(0, True, (TOO_LARGE,), PRESUMED_LARGE))
        except Exception:  # noqa: BLE001 - arguments of the wrong type (`Linear(d, None)`): unknown, not a guess
            return Module(Size(0, True, (_text(call),), unknown_degree(name, _dimensions(bound))))
        if not isinstance(count, (int, float)) or isinstance(count, int) and count.bit_length() > MAX_COUNT_BITS:
            # Not a number (`Linear(2, [0])` multiplies lists), or too large to compute with or print.
            return Module(
                Size(
                    0,
                    True,
                    (_text(call) if not isinstance(count, int) else TOO_LARGE,),
                    unknown_degree(name, _dimensions(bound)) if not isinstance(count, int) else PRESUMED_LARGE,
                )
            )
        weights: tuple[tuple[str, int], ...] = ()
        if name in ("Linear", "Embedding", "EmbeddingBag", "Bilinear"):
            bias = bound["out_features"] if name in ("Linear", "Bilinear") and bound.get("bias") else 0
            weights = (("weight", count - bias),)
        return Module(Size(count), weights)

    @overload
    def _parse(self, source: str | bytes) -> ast.Module | None: ...

    @overload
    def _parse(self, source: str, mode: Literal["eval"]) -> ast.Expression | None: ...

    def _parse(self, source: str | bytes, mode: str = "exec") -> ast.AST | None:
        """Code phase 1 parsed, parsed again; None if it is too deep to parse from this far down the stack
        (`ast` bounds its C recursion by the caller's depth), which counts as a cut."""
        try:
            return ast.parse(source, mode=mode)
        except RecursionError:
            self._cut += 1
            return None

    def _parse_def(self, source: str) -> ast.FunctionDef | None:
        """The method whose source phase 1 kept (`__init__`, `__post_init__`), parsed again; None as `_parse`."""
        tree = self._parse(source)
        node = tree.body[0] if tree is not None else None
        return node if isinstance(node, ast.FunctionDef) else None

    # Project functions -------------------------------------------------------------------------
    def _project_function(self, qualname: str) -> tuple[FileFacts, ScopeKey, ast.FunctionDef] | None:
        """The defining file, scope and `def` of project function or method `qualname`, else None."""
        owner = qualname.rpartition(".")[0]
        filename = (
            self.index.classes[owner].site.filename if owner in self.index.classes else self.index.module_file(owner)
        )
        if (
            filename is None
            or (facts := self.index.files.get(filename)) is None
            or not qualname.startswith(f"{facts.module}.")
            and facts.module
        ):
            return None
        if filename not in self._modules:
            try:
                with open(facts.path, "rb") as handle:
                    self._modules[filename] = self._parse(handle.read())
            except (OSError, SyntaxError, ValueError):
                self._modules[filename] = None
        module = self._modules[filename]
        body: list[ast.stmt] = module.body if module is not None else []
        scope: ScopeKey = ()
        for part in qualname[len(facts.module) :].lstrip(".").split("."):
            node = next((n for n in body if isinstance(n, (ast.ClassDef, ast.FunctionDef)) and n.name == part), None)
            if node is None:
                return None
            scope = (*scope, ("class" if isinstance(node, ast.ClassDef) else "def", part))
            body = node.body
        return (facts, scope, node) if isinstance(node, ast.FunctionDef) else None

    def _returned(
        self, facts: FileFacts, scope: ScopeKey, function: ast.FunctionDef, call: ast.Call, frame: Frame, depth: int
    ) -> object:
        """What a call of a project function returns when its body is one `return` (a docstring aside): the
        returned expression with the call's arguments bound; anything else it returns is opaque."""
        body = function.body[1:] if ast.get_docstring(function) is not None else function.body
        if len(body) == 1 and isinstance(body[0], ast.Return) and body[0].value is not None:
            inner = Frame(facts, scope)
            args, kwargs = self._args(call, frame, depth)
            decorators = {dotted_name(d) for d in function.decorator_list}
            method = len(scope) > 1 and scope[-2][0] == "class" and "staticmethod" not in decorators
            self._bind(inner, function, args, kwargs, skip_first=method)
            positional = [*function.args.posonlyargs, *function.args.args]
            if method and "classmethod" in decorators and positional:
                owner = ".".join(p for p in (facts.module, *(name for _, name in scope[:-1])) if p)
                inner.env[positional[0].arg] = ClassRef(owner)
            value = self.eval(body[0].value, inner, depth + 1)
            if not isinstance(value, Unknown):
                return value
        return Unknown((_text(call.func) + "(...)",), returned=True)

    # Project classes ---------------------------------------------------------------------------
    def _facts_of(self, qualname: str) -> FileFacts | None:
        cls = self.index.classes.get(qualname)
        return self.index.files.get(cls.site.filename) if cls is not None else None

    def project_class(
        self, qualname: str, args: list, kwargs: dict, depth: int = 0, caller: Frame | None = None
    ) -> Size:
        cls = self.index.classes[qualname]
        key = (qualname, repr(args), repr(sorted(kwargs.items())), self._mutations)
        if key in self._class_memo:
            return self._class_memo[key]
        if qualname in self._active or depth > _MAX_DEPTH:
            return Size(0, True, (f"{cls.name} (recursive)",), PRESUMED_LARGE)
        facts = self._facts_of(qualname)
        if cls.init_source is None or facts is None:
            # No __init__ of its own: the first project base that has one decides.
            for base in cls.bases:
                for candidate in base:
                    if candidate in self.index.classes:
                        return self.project_class(candidate, args, kwargs, depth + 1, caller)
            return ZERO
        self._active.add(qualname)
        try:
            init = self._parse_def(cls.init_source)
            if init is None:
                return Size(0, True, (TOO_DEEP,), PRESUMED_LARGE)  # like a recursive class: presumed large
            frame = Frame(facts, (*cls.scope, ("def", "__init__")))
            frame.env["__class__"] = qualname
            self._bind(frame, init, args, kwargs)
            size = self._body_size(init.body, frame, depth)
        finally:
            self._active.discard(qualname)
        self._class_memo[key] = size  # like _MAX_DEPTH, a cut depends on the first caller's depth: memoized anyway
        return size

    def _bind(
        self,
        frame: Frame,
        init: ast.FunctionDef,
        args: list,
        kwargs: dict,
        note_defaults: bool = False,
        skip_first: bool = True,
    ) -> None:
        """The parameters of `init` bound to a call's arguments (after `self`/`cls` when `skip_first`)."""
        params = [a.arg for a in (*init.args.posonlyargs, *init.args.args)][1 if skip_first else 0 :]
        defaults = (
            dict(
                zip(
                    [a.arg for a in (*init.args.posonlyargs, *init.args.args)][-len(init.args.defaults) :],
                    init.args.defaults,
                )
            )
            if init.args.defaults
            else {}
        )
        defaults.update({a.arg: d for a, d in zip(init.args.kwonlyargs, init.args.kw_defaults) if d is not None})
        annotations = {
            a.arg: a.annotation for a in (*init.args.args, *init.args.kwonlyargs) if a.annotation is not None
        }
        bound = dict(zip(params, args))
        bound.update((k, v) for k, v in kwargs.items() if k != "**")
        for param in (*params, *(a.arg for a in init.args.kwonlyargs)):
            if param in bound:
                frame.env[param] = bound[param]
            elif param in defaults:
                value = self.eval(defaults[param], Frame(frame.facts, frame.scope[:-1]))
                frame.env[param] = value
                if note_defaults and not isinstance(value, Unknown):
                    frame.notes.append(f"default {param}={_text(defaults[param])}")
            else:
                annotation = annotations.get(param)
                qnames = (
                    {self.index.canonical(q) for q in frame.names.resolve_node(annotation, frame.scope[:-1])}
                    if annotation is not None
                    else ()
                )
                config = next(
                    (q for q in sorted(qnames) if q in self.index.classes and not self.index.is_nn_module(q)), None
                )
                # Annotated with a project config class: attribute reads fall back to the class defaults.
                frame.env[param] = (
                    Config(config) if config is not None else Unknown((param,), _opaque(kwargs.get("**")))
                )
        if init.args.vararg:
            frame.env[init.args.vararg.arg] = Unknown((init.args.vararg.arg,))
        if init.args.kwarg:
            frame.env[init.args.kwarg.arg] = Unknown((init.args.kwarg.arg,))


def _forget_bound(tree: ast.AST, frame: Frame) -> None:
    """Names `tree` binds, deletes or mutates (`x = ...`, `x.a = ...`, `x[k] = ...`, imports, definitions) become
    unknown. The bodies of functions and classes it defines are their own scopes: not looked into."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if node is not tree and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            if not isinstance(node, ast.Lambda):
                frame.env[node.name] = Unknown((node.name,))
            continue
        stack.extend(ast.iter_child_nodes(node))
        names: tuple[str, ...] = ()
        if isinstance(getattr(node, "ctx", None), (ast.Store, ast.Del)):
            root = node
            while isinstance(root, (ast.Attribute, ast.Subscript)):
                root = root.value
            names = (root.id,) if isinstance(root, ast.Name) else ()
            if root is not node and isinstance(root, ast.Name) and _opaque_source(frame.env.get(root.id)):
                continue  # `c.model.no_blocks = 4` on an opaque config: still opaque
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names = (node.name,)  # the statement itself is a definition
        elif isinstance(node, ast.alias):
            names = ((node.asname or node.name).split(".")[0],)
        elif isinstance(node, ast.NamedExpr):
            names = (node.target.id,)
        for name in names:
            frame.env[name] = Unknown((name,))


def _set_config_attribute(target: ast.expr, value: object, frame: Frame) -> bool:
    """`config.attr = value` on a local config: the name is bound to the config with that attribute."""
    if (
        isinstance(target, ast.Attribute)
        and isinstance(target.value, ast.Name)
        and isinstance(config := frame.env.get(target.value.id), Config)
    ):
        given = {**dict(config.given), target.attr: value}
        frame.env[target.value.id] = Config(config.qualname, tuple(given.items()), config.defaults)
        return True
    return False


def _assigns_self_attributes(stmt: ast.stmt) -> bool:
    """`self.x = ...` (every target an attribute of self): what it binds replaces the previous value."""
    targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target] if isinstance(stmt, ast.AnnAssign) else []
    return bool(targets) and all(
        isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "self" for t in targets
    )


@dataclass(frozen=True)
class _Shared:
    """An existing module/parameter read back (`self.embed.weight`): assigning it registers nothing new."""

    value: object

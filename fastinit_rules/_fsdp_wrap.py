"""FI001's fix under FSDP: build each moved layer inside `wrap(...)`, so FSDP shards it as it is created.

Lightning runs `configure_model` inside `enable_wrap(FullyShardedDataParallel, ...)`
(`FSDPStrategy.model_sharded_context`), and once any submodule is wrapped it no longer wraps the root
(`FSDPStrategy._setup_model`): a parameter or buffer outside every wrapped module would stay unsharded on
the CPU with its gradients never reduced. So either every moved layer is wrapped (repeated blocks one
by one, other layers whole; parameter-free activations and losses left as they are) or none is, and the
caller says why. Outside
`enable_wrap` (other strategies, `load_from_checkpoint`) `wrap()` returns the module unchanged.
"""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass
from typing import Callable

from fastinit_lint.api import cst, descendants

from ._lightning import Statement

WRAP_MODULE = "torch.distributed.fsdp.wrap"
WRAP = f"{WRAP_MODULE}.wrap"
# Calls that wrap or shard a module as it is built (`wrap`, FSDP1's class, FSDP2's `fully_shard`), by last name.
SHARDING_CALLS = frozenset({"wrap", "FullyShardedDataParallel", "FSDP", "fully_shard"})
# The methods holding the constructions being wrapped (their other code is checked before: ties, `apply`).
_BUILDERS = frozenset({"__init__", "configure_model"})
_LAYERS = frozenset({"torch", "module"})
CONTAINERS = frozenset(
    {
        "torch.nn.ModuleList",
        "torch.nn.Sequential",
        "torch.nn.modules.container.ModuleList",
        "torch.nn.modules.container.Sequential",
    }
)


@dataclass
class WrapPlan:
    calls: set[int]  # ids of the LibCST calls (in the moved statements) to build inside `wrap(...)`
    attrs: set[str]  # the `self` attributes holding wrapped layers or containers of them
    unsafe_reason: str | None  # wrapping is plausible but not proven right


class CannotWrap(Exception):
    """Why the moved layers are not wrapped; the text goes into the finding's message."""


def plan_wrap(
    statements: list[Statement],
    kept: list[Statement],
    classdef: cst.ClassDef,
    kind_of: Callable[[ast.expr], str | None],
    module_binds_wrap: bool,
    base_with_init: str | None,
) -> WrapPlan:
    """Which calls of `statements` to build inside `wrap(...)`; `kept`: the `__init__` statements that stay
    outside every wrapped layer. `kind_of(callee)` is "container", "torch" (another `torch.nn` class),
    "module" (a project `nn.Module`), "parameter" or None (unknown)
    for a call's callee; `module_binds_wrap`: the file binds `wrap` to something other than torch's;
    `base_with_init`: a project base class whose own `__init__` runs too."""
    if module_binds_wrap:
        raise CannotWrap("the file already binds `wrap` to something else")
    if base_with_init is not None:
        raise CannotWrap(f"base class `{base_with_init}` has its own `__init__`, whose layers would stay unwrapped")
    for statement in kept:
        if statement.builds or any(
            isinstance(n, ast.Call)
            and (
                isinstance(n.func, ast.Attribute)
                and n.func.attr in ("register_buffer", "register_parameter")
                or kind_of(n.func) == "module"
                or kind_of(n.func) == "torch"
                and not _holds_nothing(n)
            )
            for top in statement.tree
            for n in ast.walk(top)
        ):
            raise CannotWrap(
                f"`{_shown(statement.tree[0])}` in `__init__` puts tensors on the LightningModule itself, "
                f"outside every wrapped layer"
            )
    calls: set[int] = set()
    attrs: set[str] = set()
    built = {a for s in statements for a in s.writes_self}
    for statement in statements:
        if "wrap" in statement.stores or "wrap" in statement.loads:
            raise CannotWrap("the moved code already uses the name `wrap`")
        found = _wrappable(statement, kind_of)
        if isinstance(found, str):
            raise CannotWrap(found)
        shared = statement.reads_self & built - {
            attr for attr, _ in found
        }  # a loop appending to `self.blocks` reads it
        if shared:  # `Decoder(self.embed)`: one parameter in two wrapped layers
            raise CannotWrap(
                f"`{_shown(statement.tree[0])}` reuses `self.{sorted(shared)[0]}`, which would be in "
                f"another wrapped layer"
            )
        for attr, call in found:
            calls.add(id(call))
            if attr is not None:
                attrs.add(attr)
    if not calls:
        raise CannotWrap("no layer construction to wrap")
    return WrapPlan(calls, attrs, _reached_inside(classdef, attrs))


def _shown(node: ast.AST) -> str:
    code = ast.unparse(node).splitlines()[0]
    return code if len(code) <= 60 else code[:57] + "..."


def _wrappable(statement: Statement, kind_of) -> list[tuple[str | None, cst.Call]] | str:
    """(self attribute or None for a local, call to wrap) for each layer `statement` builds, or why it cannot
    be wrapped."""
    node, tree = statement.node, statement.tree
    why = f"`{_shown(tree[0])}` is not a plain layer construction (ties, `apply` and `nn.init` see FSDP's flat shards)"
    if len(tree) != 1:
        return why
    top = tree[0]
    if not statement.builds and isinstance(top, ast.Assign) and all(isinstance(t, ast.Name) for t in top.targets):
        return []  # a local computed for the layers (`num_patches = (image // patch) ** 2`)
    if (
        isinstance(top, ast.Assign)
        and isinstance(node, cst.SimpleStatementLine)
        and len(top.targets) == 1
        and isinstance(top.value, ast.Call)
    ):
        target = top.targets[0]
        attr = (
            target.attr
            if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == "self"
            else None
        )
        if attr is None and not isinstance(target, ast.Name):
            return why
        value: cst.Call = node.body[0].value
        kind = kind_of(top.value.func)
        if kind == "parameter":
            return f"`self.{attr}` is a bare `nn.Parameter`, which no wrapped layer holds"
        if kind is None:
            return f"cannot tell what `{ast.unparse(top.value.func)}` builds"
        if attr is None:  # a local layer fed to the statements that register it (`TransformerEncoder(layer, n)`)
            return []
        if kind != "container" and not statement.size.unknown and statement.size.count == 0:
            # Wrapped, FSDP would cast its inputs to the mixed-precision dtype; left out, any buffer stays on the CPU.
            return (
                []
                if kind == "torch" and _holds_nothing(top.value)
                else (
                    f"`self.{attr}` holds no parameters: wrapped, FSDP would cast its inputs; left out, its buffers would "
                    f"stay on the CPU"
                )
            )
        items = _container_items(top.value, value, kind_of) if kind == "container" else None
        if items is None:  # a layer, or a `Sequential` of different layers: one wrapped unit
            return [(attr, value)]
        return items if isinstance(items, str) else [(attr, call) for call in items]
    if isinstance(top, ast.For) and isinstance(node, cst.For) and not top.orelse:
        found = []
        for inner, inner_node in zip(top.body, node.body.body):
            call = inner.value if isinstance(inner, ast.Expr) else None
            if not (
                isinstance(call, ast.Call)
                and isinstance(call.func, ast.Attribute)
                and call.func.attr == "append"
                and isinstance(call.func.value, ast.Attribute)
                and isinstance(call.func.value.value, ast.Name)
                and call.func.value.value.id == "self"
                and len(call.args) == 1
                and not call.keywords
                and isinstance(call.args[0], ast.Call)
                and kind_of(call.args[0].func) in _LAYERS
                and isinstance(inner_node, cst.SimpleStatementLine)
            ):
                return why
            found.append((call.func.value.attr, inner_node.body[0].value.args[0].value))
        return found
    return why


def _holds_nothing(call: ast.Call) -> bool:
    """A parameter-free `torch.nn` layer (activation, dropout, loss) built from literals only: no buffers either
    (norms without affine keep running statistics; a loss's `weight=` tensor is a buffer)."""
    return "Norm" not in ast.unparse(call.func) and all(
        isinstance(a, ast.Constant) or isinstance(a, ast.UnaryOp) and isinstance(a.operand, ast.Constant)
        for a in (*call.args, *(k.value for k in call.keywords))
    )


def _container_items(tree: ast.Call, node: cst.Call, kind_of) -> list[cst.Call] | str | None:
    """The calls building a container's blocks, wrapped one by one: the items of a comprehension
    (`ModuleList([Block() for _ in ...])`, `Sequential(*[...])`) or of a `ModuleList` literal, which has no
    forward of its own to wrap. None for a `Sequential` of listed layers, wrapped whole."""
    sequential = ast.unparse(tree.func).endswith("Sequential")
    if not tree.args and not tree.keywords:
        return []  # an empty container, filled by the loops that follow
    if tree.keywords or len(tree.args) != 1 and not sequential:
        return f"cannot wrap the items of `{ast.unparse(tree)[:60]}`"
    items: list[tuple[ast.expr, cst.BaseExpression]] = []
    arg, arg_node = tree.args[0], node.args[0]
    value, value_node = (arg.value, arg_node.value) if isinstance(arg, ast.Starred) else (arg, arg_node.value)
    if isinstance(value, (ast.ListComp, ast.GeneratorExp)) and len(value.generators) == 1:
        items.append((value.elt, value_node.elt))
    elif sequential and not isinstance(arg, ast.Starred):
        return None
    elif isinstance(value, (ast.List, ast.Tuple)):
        items.extend(zip(value.elts, (e.value for e in value_node.elements)))
    else:
        return f"cannot wrap the items of `{ast.unparse(tree)[:60]}`"
    calls = []
    for item, item_node in items:
        if not (isinstance(item, ast.Call) and kind_of(item.func) in _LAYERS):
            return f"cannot tell what `{ast.unparse(item)[:60]}` builds"
        calls.append(item_node)
    return calls


def _reached_inside(classdef: cst.ClassDef, attrs: set[str]) -> str | None:
    """Why wrapping is unproven: another method reads inside a wrapped layer (`self.embed.weight`,
    `self.blocks[0].attn`), which FSDP holds as flat shards outside that layer's own forward."""
    for statement in classdef.body.body:
        if not isinstance(statement, cst.FunctionDef) or statement.name.value in _BUILDERS:
            continue
        for node in descendants(statement):
            if not isinstance(node, cst.Attribute):
                continue
            inner = node.value.value if isinstance(node.value, cst.Subscript) else node.value
            if (
                isinstance(inner, cst.Attribute)
                and isinstance(inner.value, cst.Name)
                and inner.value.value == "self"
                and inner.attr.value in attrs
            ):
                return (
                    f"`{statement.name.value}` reads `{cst.Module(body=[]).code_for_node(node)}`, which FSDP holds as flat shards outside "
                    f"the wrapped layer's own forward"
                )
    return None


@functools.cache
def wrapper_class() -> type:
    """Defined on first use: subclassing a LibCST class would import libcst when this module loads."""

    class _Wrap(cst.CSTTransformer):
        """Builds the planned calls inside `wrap(...)`."""

        def __init__(self, calls: set[int]) -> None:
            super().__init__()
            self.calls = calls

        def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
            if id(original_node) not in self.calls:
                return updated_node
            return cst.Call(func=cst.Name("wrap"), args=[cst.Arg(updated_node)])

    return _Wrap

"""FI001's fix: move what `__init__` builds into an idempotent `configure_model`, behaviour preserved.

The plan is computed on the `ast` view of each statement (what it builds, reads, writes) and applied
to the LibCST nodes themselves, so moved lines keep their comments and formatting byte for byte.
"""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass
from typing import Callable, Iterator

from fastinit_lint.api import cst, descendants

from ._fsdp_wrap import CannotWrap, WrapPlan, wrapper_class
from ._lightning import MethodAnalysis, Statement, is_docstring, method
from ._nodes import assign, attribute, is_not_none, return_if

# Calls that cannot be reproduced in another method: they bind names we cannot see.
_DYNAMIC = frozenset({"setattr", "exec", "eval", "locals", "vars"})


@dataclass
class MovePlan:
    build: Callable[[], dict]  # the changes, built only when the fix is applied or shown
    unsafe_reasons: list[str]
    wrapped: bool = False  # the moved layers are built inside `wrap(...)` (FSDP)
    no_wrap_reason: str | None = None  # why they are not, when wrapping was asked for


class CannotMove(Exception):
    """Why no fix is offered; the text goes into the finding's message."""


def _closure(analysis: MethodAnalysis) -> list[Statement]:
    statements = analysis.statements
    moved = {id(s) for s in statements if s.builds}
    while True:
        attrs = {a for s in statements if id(s) in moved for a in s.writes_self}
        grew = False
        for s in statements:
            if id(s) in moved or s.is_super_init or s.hparams is not None:
                continue
            if s.reads_self & attrs or (s.touches_all and attrs):
                moved.add(id(s))
                grew = True
        # Locals that feed moved code move with it, when nothing that stays reads them.
        needed = {n for s in statements if id(s) in moved for n in s.loads}
        for s in statements:
            if id(s) in moved or not (s.stores & needed) or s.writes_self or s.is_super_init:
                continue
            kept_readers = [o for o in statements if id(o) not in moved and o is not s and o.loads & s.stores]
            if not kept_readers:
                moved.add(id(s))
                grew = True
        if not grew:
            return [s for s in statements if id(s) in moved]


def _walk_own(node: ast.AST) -> Iterator[ast.AST]:
    """ast.walk that does not enter nested functions, lambdas or classes (their returns are not ours)."""
    yield node
    for child in ast.iter_child_nodes(node):
        if not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            yield from _walk_own(child)


def _check_movable(analysis: MethodAnalysis, moved: list[Statement]) -> None:
    ids = {id(s) for s in moved}
    for s in analysis.statements:
        for node in (n for stmt in s.tree for n in _walk_own(stmt)):
            if isinstance(node, (ast.Return, ast.Yield, ast.YieldFrom)):
                raise CannotMove(f"`__init__` has a `{type(node).__name__.lower()}` statement")
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _DYNAMIC:
                raise CannotMove(f"`__init__` calls `{node.func.id}()`, which binds names dynamically")
    super_index = next((i for i, s in enumerate(analysis.statements) if s.is_super_init), None)
    if super_index is None:
        raise CannotMove("`__init__` does not call `super().__init__()`")
    # By identity: `list.index` compares statements field by field (their trees), quadratic in `__init__`'s length.
    if any(id(s) in ids for s in analysis.statements[:super_index]):
        raise CannotMove("layers are built before `super().__init__()`")
    kept_locals = {n for s in analysis.statements if id(s) not in ids for n in s.stores}
    moved_stores = {n for m in moved for n in m.stores}
    for s in moved:
        shared = (s.loads - moved_stores) & kept_locals
        if shared:
            raise CannotMove(
                f"moved code reads local `{sorted(shared)[0]}`, which code staying in `__init__` also needs"
            )


@functools.cache
def _rename_class() -> type:
    """Defined on first use: subclassing a LibCST class would import libcst when this module loads."""

    class _Rename(cst.CSTTransformer):
        """Rewrites free references to `__init__` parameters (`dim` -> `self.hparams.dim`)."""

        def __init__(self, mapping: dict[str, str]) -> None:
            super().__init__()
            self.mapping = mapping
            self.skip: set[int] = set()

        def visit_Attribute(self, node: cst.Attribute) -> None:
            self.skip.add(id(node.attr))

        def visit_Arg(self, node: cst.Arg) -> None:
            if node.keyword is not None:
                self.skip.add(id(node.keyword))

        def visit_Param(self, node: cst.Param) -> None:
            self.skip.add(id(node.name))

        def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
            self.skip.add(id(node.name))

        def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.BaseExpression:
            if id(original_node) in self.skip or original_node.value not in self.mapping:
                return updated_node
            return attribute(*self.mapping[original_node.value])

    return _Rename


def _self_references_outside_init(classdef: cst.ClassDef) -> set[str]:
    return {
        node.attr.value
        for statement in classdef.body.body
        if not (isinstance(statement, cst.FunctionDef) and statement.name.value == "__init__")
        for node in descendants(statement)
        if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) and node.value.value == "self"
    }


def plan_move(
    classdef: cst.ClassDef, analysis: MethodAnalysis, wrap: Callable[[list[Statement]], WrapPlan] | None = None
) -> MovePlan:
    """`wrap(moved)`, under FSDP: which moved calls to build inside `wrap(...)` (raises CannotWrap)."""
    if method(classdef, "configure_sharded_model") is not None:
        raise CannotMove("the class overrides the deprecated `configure_sharded_model`; rename it first (FI008)")
    moved = _closure(analysis)
    _check_movable(analysis, moved)
    moved_ids = {id(s) for s in moved}
    attrs = list(
        dict.fromkeys(
            target.attr
            for s in moved
            for stmt in s.tree
            if isinstance(stmt, (ast.Assign, ast.AnnAssign))
            for target in (stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target])
            if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == "self"
        )
    )
    if not attrs:
        raise CannotMove("nothing built is assigned to a `self` attribute that could guard `configure_model`")
    unsafe: list[str] = []

    # Free parameter names: hparams, an attribute already holding the value, or (unsafe) a new attribute.
    params = set(analysis.params)
    bound_in_moved = {n for s in moved for n in s.stores}
    loaded = {n for s in moved for n in s.loads}
    free = [p for p in analysis.params if p in loaded and p not in bound_in_moved]  # signature order
    hparams = next((s.hparams for s in analysis.statements if s.hparams is not None), None)
    existing = {}
    for s in analysis.statements:
        if id(s) in moved_ids:
            continue
        for stmt in s.tree:
            if (
                isinstance(stmt, ast.Assign)
                and len(stmt.targets) == 1
                and isinstance(stmt.value, ast.Name)
                and stmt.value.id in params
                and isinstance(stmt.targets[0], ast.Attribute)
                and isinstance(stmt.targets[0].value, ast.Name)
                and stmt.targets[0].value.id == "self"
            ):
                existing.setdefault(stmt.value.id, stmt.targets[0].attr)
    elsewhere = _self_references_outside_init(classdef)
    mapping: dict[str, tuple[str, ...]] = {}  # an argument's name -> the attribute it is read from
    stores: list[str] = []
    for name in free:
        if hparams is not None and (hparams[0] is None or name in hparams[0]) and name not in hparams[1]:
            mapping[name] = ("self", "hparams", name)
        elif name in existing:
            mapping[name] = ("self", existing[name])
        else:
            if name in elsewhere or any(name in s.writes_self for s in analysis.statements):
                raise CannotMove(f"parameter `{name}` is needed in `configure_model` but `self.{name}` is already used")
            mapping[name] = ("self", name)
            stores.append(name)
            unsafe.append(f"stores `__init__` argument `{name}` as `self.{name}`")

    existing_hook = method(classdef, "configure_model")
    if existing_hook is not None:
        unsafe.append("merges into the existing `configure_model`, whose remaining code then runs only once")
    wrapping, no_wrap = None, None
    if wrap is not None and existing_hook is not None:
        no_wrap = "the existing `configure_model` would see the wrapped layers"
    elif wrap is not None:
        try:
            wrapping = wrap(moved)
        except CannotWrap as exc:
            no_wrap = str(exc)
    if wrapping is not None and wrapping.unsafe_reason:
        unsafe.append(wrapping.unsafe_reason)
    calls = wrapping.calls if wrapping is not None else set()
    return MovePlan(
        lambda: _build_move(classdef, analysis, moved, attrs, mapping, stores, elsewhere, existing_hook, calls),
        unsafe,
        wrapping is not None,
        no_wrap,
    )


def _build_move(
    classdef: cst.ClassDef,
    analysis: MethodAnalysis,
    moved: list[Statement],
    attrs: list[str],
    mapping: dict[str, str],
    stores: list[str],
    elsewhere: set[str],
    existing_hook: cst.FunctionDef | None,
    wrapped_calls: set[int],
) -> dict:
    moved_ids = {id(s) for s in moved}
    guard_attr = attrs[0]
    renamer = _rename_class()(mapping)
    wrapper = wrapper_class()(wrapped_calls)
    moved_nodes = [s.node.visit(wrapper) if wrapped_calls else s.node for s in moved]
    moved_nodes = [n.visit(renamer) if mapping else n for n in moved_nodes]
    placeholders = [a for a in attrs if a == guard_attr or a in elsewhere]

    # New __init__: placeholders (and stored arguments) where the first moved statement was.
    new_init_body: list[cst.BaseStatement] = []
    inserted = False
    for s in analysis.statements:
        if id(s) in moved_ids:
            if not inserted:
                new_init_body.extend(assign(attribute("self", n), cst.Name(n)) for n in stores)
                new_init_body.extend(assign(attribute("self", a), cst.Name("None")) for a in placeholders)
                inserted = True
            continue
        new_init_body.append(s.node)
    init = analysis.init.with_changes(body=analysis.init.body.with_changes(body=new_init_body))

    guard = return_if(is_not_none(attribute("self", guard_attr)))
    new_body: list[cst.BaseStatement] = []
    if existing_hook is not None:
        hook_body = list(existing_hook.body.body)
        doc = hook_body[:1] if hook_body and is_docstring(hook_body[0]) else []
        hook = existing_hook.with_changes(
            body=existing_hook.body.with_changes(body=[*doc, guard, *moved_nodes, *hook_body[len(doc) :]])
        )
        for statement in classdef.body.body:
            new_body.append(init if statement is analysis.init else hook if statement is existing_hook else statement)
    else:
        hook = cst.FunctionDef(
            cst.Name("configure_model"),
            cst.Parameters([cst.Param(cst.Name("self"))]),
            cst.IndentedBlock([guard, *moved_nodes]),
            leading_lines=[cst.EmptyLine(indent=False)],
        )
        for statement in classdef.body.body:
            if statement is analysis.init:
                new_body.extend([init, hook])
            else:
                new_body.append(statement)
    return {classdef.body: classdef.body.with_changes(body=new_body)}

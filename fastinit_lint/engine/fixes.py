"""Applying fix plans: one identity-keyed transformer pass, outermost change wins, then the imports they need;
edits for reporters.

Node identity (not equality) keys the changes, because LibCST nodes are rebuilt on every transform:
applying fixes one `deep_replace` at a time loses track of the later ones (Fixit#322).
"""

from __future__ import annotations

import functools
from typing import Iterable, Mapping

from ..syntax.lazy_libcst import cst

from ..diagnostics import Edit, Location
from .rule import FixPlan, Replacement
from .wrap_lines import wrap_new_long_lines


@functools.cache
def _applier_class() -> type:
    """Defined on first use: subclassing a LibCST class would import libcst when this module loads."""

    class Applier(cst.CSTTransformer):
        def __init__(self, changes: Mapping[int, Replacement]) -> None:
            super().__init__()
            self.changes = changes

        def on_visit(self, node: cst.CSTNode) -> bool:
            return id(node) not in self.changes

        def on_leave(self, original_node: cst.CSTNode, updated_node: cst.CSTNode):  # type: ignore[override]
            return self.changes.get(id(original_node), updated_node)

    return Applier


def apply_fixes(module: cst.Module, plans: Iterable[FixPlan], line_length: int) -> str:
    """The code of `module` with every plan's node changes and the imports they need, the lines they make
    split to `line_length`."""
    changes: dict[int, Replacement] = {}
    imports: list[tuple[str, str | None]] = []
    for plan in plans:
        changes.update((id(node), replacement) for node, replacement in plan.changes.items())
        imports.extend(plan.imports)
    fixed = module.visit(_applier_class()(changes))
    if imports:
        from libcst.codemod import CodemodContext
        from libcst.codemod.visitors import AddImportsVisitor

        context = CodemodContext()
        for name, obj in dict.fromkeys(imports):
            AddImportsVisitor.add_needed_import(context, name, obj)
        fixed = fixed.visit(AddImportsVisitor(context))
    return wrap_new_long_lines(fixed, module.code, line_length).code


def text_location(text: str, offset: int) -> Location:
    """The 1-based row and column of character `offset` in `text`."""
    row = text.count("\n", 0, offset) + 1
    return Location(row, offset - (text.rfind("\n", 0, offset) + 1) + 1)


def edit_between(old: str, new: str) -> Edit:
    """The single smallest replacement turning `old` into `new` (common prefix and suffix trimmed)."""
    start = 0
    limit = min(len(old), len(new))
    while start < limit and old[start] == new[start]:
        start += 1
    end_old, end_new = len(old), len(new)
    while end_old > start and end_new > start and old[end_old - 1] == new[end_new - 1]:
        end_old -= 1
        end_new -= 1
    return Edit(new[start:end_new], text_location(old, start), text_location(old, end_old))

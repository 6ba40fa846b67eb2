"""Applying fix plans: one identity-keyed transformer pass, outermost change wins, then the imports they need;
edits for reporters.

Node identity (not equality) keys the changes, because LibCST nodes are rebuilt on every transform:
applying fixes one `deep_replace` at a time loses track of the later ones (Fixit#322).
"""

from __future__ import annotations

import functools
from typing import Iterable, Mapping

from ..syntax.lazy_libcst import cst

from ..diagnostics import Edit, FileResult, Location, SourceError
from ..syntax.lines import python_lines
from ..workspace.source import decode, read_bytes
from ..workspace.writer import WriteRefused
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

        def on_leave(self, original_node: cst.CSTNode, updated_node: cst.CSTNode):
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


def with_inserted_lines(
    result: FileResult, fixed_here: set[str], edited_elsewhere: set[str]
) -> list[tuple[str, bytes, str]]:
    """(path, new bytes, digest read) of each other file the result's fixes add lines to, as read when the fix
    was computed. Refused (and the result's own fixes with it: the fix is one) when that file has fixes of its
    own in this run, or another fix already added lines to it: its rows moved, and the next run will apply it."""
    by_file: dict[str, list] = {}
    for insert in result.elsewhere:
        by_file.setdefault(insert.filename, []).append(insert)
    written = []
    for filename, inserts in by_file.items():
        if filename in fixed_here or filename in edited_elsewhere:
            raise WriteRefused(
                f"the fix also edits {filename}, which other fixes change in this run (run again to apply it)"
            )
        try:
            source = decode(read_bytes(filename, 1 << 62), 1 << 62)
        except (OSError, SourceError) as exc:
            raise WriteRefused(f"the fix also edits {filename}, which cannot be read: {exc}") from None
        lines = python_lines(source.text)
        ending = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
        for insert in sorted(inserts, key=lambda i: i.after, reverse=True):
            if insert.after <= len(lines) and not lines[insert.after - 1].endswith(("\n", "\r")):
                lines[insert.after - 1] += ending
            lines.insert(insert.after, insert.line + ending)
        written.append((filename, source.encode("".join(lines)), inserts[0].digest))
    return written

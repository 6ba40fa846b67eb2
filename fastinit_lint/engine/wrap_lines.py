"""Lines a fix generates are kept within the file's line length, as a formatter would split them.

Fixes lengthen lines: an import merged into an existing `from X import ...`, `dim` read as
`self.hparams.dim`, a statement indented under a new `with`, `M.load_from_checkpoint(...)` spelled through
`fastinit_runtime`. Only lines the fix made (not in the original text) and longer than the limit are split,
black's way: the outermost bracket of the line opens, its contents go on one indented line if they fit, else
one item per line with a trailing comma. Lines the file already had are never touched, so a file whose own
style is longer lines is left to it.
"""

from __future__ import annotations

import functools
from typing import Sequence

from ..syntax.lazy_libcst import cst

DEFAULT_LINE_LENGTH = 88  # ruff's and black's default


def line_limit(configured: int | None, original: str) -> int:
    """The line length fixes keep to: the project's formatter's (ruff, black, flake8), else the file's apparent
    one: its longest line when that is over the default (its code already runs that long), else the default."""
    if configured is not None:
        return configured
    return max(DEFAULT_LINE_LENGTH, *(len(line) for line in original.splitlines()))


def wrap_new_long_lines(module: "cst.Module", original: str, limit: int) -> "cst.Module":
    """`module` with each line longer than `limit` that `original` does not have split at its outermost call
    or `from ... import` names."""
    kept = set(original.splitlines())
    lines = module.code.splitlines()
    rows = {row for row, line in enumerate(lines, 1) if len(line) > limit and line not in kept}
    if not rows:
        return module
    from libcst.metadata import MetadataWrapper, PositionProvider

    chooser_class, splitter_class = _classes()
    chooser = chooser_class(rows, MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider))
    module.visit(chooser)
    targets = {node: row for row, (_, node) in chooser.chosen.items()}
    return module.visit(splitter_class(targets, lines, limit, module.default_indent))


def _outer_space(width: str) -> "cst.ParenthesizedWhitespace":
    """A line break inside brackets, then `width` beyond the statement's own indentation."""
    return cst.ParenthesizedWhitespace(
        first_line=cst.TrailingWhitespace(), empty_lines=[], indent=True, last_line=cst.SimpleWhitespace(width)
    )


def _split(items: Sequence, indent: str, one_line_fits: bool) -> list:
    """`items` (call arguments or imported names) on one indented line when it fits, else one per line with a
    trailing comma; the caller puts the closing bracket on a line of its own."""
    last = len(items) - 1
    split = []
    for i, item in enumerate(items):
        if i < last:
            after = cst.SimpleWhitespace(" ") if one_line_fits else _outer_space(indent)
            comma = item.comma if isinstance(item.comma, cst.Comma) else cst.Comma()
            split.append(
                item.with_changes(
                    comma=comma.with_changes(whitespace_before=cst.SimpleWhitespace(""), whitespace_after=after)
                )
            )
        elif one_line_fits or last == 0:
            split.append(item.with_changes(comma=cst.MaybeSentinel.DEFAULT))
        else:
            split.append(item.with_changes(comma=cst.Comma()))
    return split


@functools.cache
def _classes() -> tuple[type, type]:
    """Defined on first use: subclassing a LibCST class would import libcst when this module loads."""

    class Chooser(cst.CSTVisitor):
        """On each long row, the call (or import) to open: on that row alone, not inside the arguments of
        another call there, with the widest items: `M.from_pretrained(path, ...).to(d)` opens at
        `from_pretrained(`, where splitting shortens the line most."""

        def __init__(self, rows: set[int], positions) -> None:
            super().__init__()
            self.rows, self.positions = rows, positions
            self.chosen: dict[int, tuple[int, int]] = {}  # row -> (width of the items, id of the node)
            self.calls: list[int | None] = []  # the row of each call being visited, innermost last
            self.argument_of: list[int | None] = []  # the row of the call owning each argument being visited

        def _consider(self, node, items: Sequence) -> None:
            span = self.positions.get(node)
            if span is None or span.start.line != span.end.line or span.start.line not in self.rows:
                return
            row = span.start.line
            width = self.positions[items[-1]].end.column - self.positions[items[0]].start.column
            if row not in self.argument_of and width > self.chosen.get(row, (-1, 0))[0]:
                self.chosen[row] = (width, id(node))

        def visit_Call(self, node: "cst.Call") -> None:
            if node.args:
                self._consider(node, node.args)
            span = self.positions.get(node)
            self.calls.append(span.start.line if span is not None else None)

        def leave_Call(self, original_node: "cst.Call") -> None:
            self.calls.pop()

        def visit_Arg(self, node: "cst.Arg") -> None:
            self.argument_of.append(self.calls[-1] if self.calls else None)

        def leave_Arg(self, original_node: "cst.Arg") -> None:
            self.argument_of.pop()

        def visit_ImportFrom(self, node: "cst.ImportFrom") -> None:
            if not isinstance(node.names, cst.ImportStar):
                self._consider(node, node.names)

    class Splitter(cst.CSTTransformer):
        """Splits the chosen nodes (id -> row)."""

        def __init__(self, targets: dict[int, int], lines: list[str], limit: int, indent: str) -> None:
            super().__init__()
            self.targets, self.lines, self.limit, self.indent = targets, lines, limit, indent

        def _one_line(self, row: int, inner: str) -> bool:
            """Whether `inner` fits on one line, indented one level under the statement of `row`."""
            line = self.lines[row - 1]
            return len(line) - len(line.lstrip()) + len(self.indent) + len(inner) <= self.limit

        def leave_Call(self, original: "cst.Call", updated: "cst.Call") -> "cst.Call":
            row = self.targets.get(id(original))
            if row is None:
                return updated
            probe = cst.Module(body=[]).code_for_node(
                updated.with_changes(args=_split(updated.args, self.indent, True))
            )
            args = _split(updated.args, self.indent, self._one_line(row, probe[probe.index("(") + 1 : -1]))
            args[-1] = args[-1].with_changes(whitespace_after_arg=_outer_space(""))
            return updated.with_changes(args=args, whitespace_before_args=_outer_space(self.indent))

        def leave_ImportFrom(self, original: "cst.ImportFrom", updated: "cst.ImportFrom") -> "cst.ImportFrom":
            if id(original) not in self.targets:
                return updated
            if isinstance(updated.names, cst.ImportStar):
                return updated
            return updated.with_changes(
                names=_split(updated.names, self.indent, False),
                lpar=cst.LeftParen(whitespace_after=_outer_space(self.indent)),
                rpar=cst.RightParen(whitespace_before=_outer_space("")),
            )

    return Chooser, Splitter

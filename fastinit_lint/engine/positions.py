"""Positions of just the nodes we report, from one plain codegen pass.

LibCST's PositionProvider computes a CodeRange for every node and re-splits every token on newlines
(100-130 ms/KLOC: on a 10k-line file, longer than the parse). Here the codegen only counts characters and
records offsets for the requested nodes (and the child nodes their syntactic range is hoisted from);
offsets become (line, column) by bisecting the newline positions. Same semantics as PositionProvider:
syntactic ranges where LibCST records them, else whitespace-inclusive ones.
"""

from __future__ import annotations

import bisect
import functools
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterable, Iterator, Mapping, Sequence

from ..syntax.cst_children import descendants
from ..syntax.lazy_libcst import cst


@functools.cache
def _recorder_class() -> type:
    """Defined on first use: subclassing LibCST's CodegenState would import libcst when this module loads."""
    from libcst._nodes.internal import CodegenState

    @dataclass
    class _Recorder(CodegenState):
        wanted: set = field(default_factory=set)
        length: int = 0
        starts: dict = field(default_factory=dict)
        found: dict = field(default_factory=dict)

        def add_indent_tokens(self) -> None:
            self.tokens.extend(self.indent_tokens)
            for token in self.indent_tokens:
                self.length += len(token)

        def add_token(self, value: str) -> None:
            self.tokens.append(value)
            self.length += len(value)

        def pop_trailing_newline(self) -> None:
            if self.tokens:
                self.length -= len(self.tokens.pop())

        def before_codegen(self, node: cst.CSTNode) -> None:
            if id(node) in self.wanted:
                self.starts[id(node)] = self.length

        def after_codegen(self, node: cst.CSTNode) -> None:
            key = id(node)
            if key in self.wanted and key not in self.found:
                self.found[key] = (self.starts[key], self.length)

        @contextmanager
        def record_syntactic_position(
            self, node: cst.CSTNode, *, start_node: cst.CSTNode | None = None, end_node: cst.CSTNode | None = None
        ) -> Iterator[None]:
            key = id(node)
            if key not in self.wanted:
                yield
                return
            for hoisted in (start_node, end_node):
                if hoisted is not None:
                    self.wanted.add(id(hoisted))
            start = self.length
            try:
                yield
            finally:
                end = self.length
                if start_node is not None:
                    start = self.found[id(start_node)][0]
                if end_node is not None:
                    end = self.found[id(end_node)][1]
                self.found[key] = (start, end)

    return _Recorder


def positions(
    module: cst.Module,
    nodes: Iterable[cst.CSTNode],
    text: str | None = None,
    statement_lines: Sequence[int] = (),
    likely: Mapping[int, int] | None = None,
) -> dict:
    """CodeRange (1-based lines, 0-based columns, like PositionProvider) for each of `nodes`.

    Given the module's source `text` and the first line of each top-level statement (phase-1 facts), only
    the top-level statements holding `nodes` are generated: where each starts is read off the text. The
    generated code is checked against the text, and any disagreement falls back to generating it all.
    `likely` (id of a node -> index of the top-level statement it was reported from) spares searching
    for the statement that holds it; a wrong guess only costs the search."""
    nodes = list(nodes)
    state = None
    if text is not None and statement_lines:
        newlines = _newlines(text)
        state = _statements_only(module, nodes, text, newlines, statement_lines, likely or {})
    if state is None:
        state = _recorder(module, nodes)
        module._codegen(state)
        newlines = _newlines("".join(state.tokens))
    from libcst._position import CodePosition, CodeRange

    def position(offset: int) -> CodePosition:
        line = bisect.bisect_left(newlines, offset)
        return CodePosition(line + 1, offset - (newlines[line - 1] + 1 if line else 0))

    return {n: CodeRange(position(state.found[id(n)][0]), position(state.found[id(n)][1])) for n in nodes}


def _newlines(code: str) -> list[int]:
    """Offset of the last character of each line break: `\r\n`, `\n` and a lone `\r` (as LibCST and `ast`
    count lines; a file saved with classic Mac line ends is one long line to a `\n` count)."""
    return [match.end() - 1 for match in _LINE_BREAK.finditer(code)]


_LINE_BREAK = re.compile(r"\r\n?|\n")


def _recorder(module: cst.Module, nodes: list[cst.CSTNode]):
    return _recorder_class()(
        default_indent=module.default_indent, default_newline=module.default_newline, wanted={id(n) for n in nodes}
    )


def _statements_only(
    module: cst.Module,
    nodes: list[cst.CSTNode],
    text: str,
    newlines: list[int],
    statement_lines: Sequence[int],
    likely: Mapping[int, int],
):
    """The recorder after generating just the top-level statements that hold `nodes`, or None when that
    cannot be done exactly (a node outside every statement, or text and tree disagree)."""
    starts = _statement_starts(module, [0, *(i + 1 for i in newlines)], statement_lines)
    if starts is None:
        return None
    guessed = sorted({likely[id(n)] for n in nodes if id(n) in likely})
    for owners in (guessed, None):
        state = _generate(module, nodes, text, starts, _owners(module, nodes) if owners is None else owners)
        if state is not None and all(id(n) in state.found for n in nodes):
            return state
    return None


def _owners(module: cst.Module, nodes: list[cst.CSTNode]) -> list[int]:
    """Indexes of the top-level statements holding `nodes`, found by walking them in order."""
    remaining = {id(n) for n in nodes}
    owners: list[int] = []
    for index, statement in enumerate(module.body):
        if not remaining:
            break
        for node in descendants(statement):
            if id(node) in remaining:
                if not owners or owners[-1] != index:
                    owners.append(index)
                remaining.discard(id(node))
                if not remaining:
                    break
    return owners


def _generate(module: cst.Module, nodes: list[cst.CSTNode], text: str, starts: list[int], owners: list[int]):
    state = _recorder(module, nodes)
    for index in owners:
        state.tokens, state.length = [], starts[index]
        module.body[index]._codegen(state)
        if not text.startswith("".join(state.tokens), starts[index]):
            return None
    return state


def _statement_starts(module: cst.Module, line_starts: list[int], statement_lines: Sequence[int]) -> list[int] | None:
    """Offset in the text where each top-level statement's code (its leading blank and comment lines
    included) begins. `statement_lines` counts `a; b` as two statements, as `ast` does."""
    starts, cursor = [], 0
    for statement in module.body:
        if cursor >= len(statement_lines):
            return None
        first = statement_lines[cursor] - len(statement.leading_lines)
        if not 1 <= first <= len(line_starts):
            return None
        starts.append(line_starts[first - 1])
        cursor += len(statement.body) if isinstance(statement, cst.SimpleStatementLine) else 1
    return starts if cursor == len(statement_lines) else None

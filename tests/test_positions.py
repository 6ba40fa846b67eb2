"""Our position recorder agrees with LibCST's PositionProvider on every node of real files."""

from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

import fastinit_lint
from fastinit_lint.syntax.cst_children import descendants
from fastinit_lint.engine.positions import positions

FILES = [
    Path(fastinit_lint.__file__).parent / "engine" / "checker.py",
    Path(__file__).parent / "fixtures" / "sizes" / "models.py",
    Path(cst.__file__).parent / "_nodes" / "statement.py",
]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_positions_match_position_provider(path):
    module = cst.parse_module(path.read_text())
    reference = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    ours = positions(module, list(reference))
    assert ours == dict(reference)


@pytest.mark.parametrize("newline", ["\r\n", "\r"], ids=["crlf", "cr"])
def test_other_line_ends_and_tabs(newline):
    text = "if x:\n\ty = f(1,\n\t      2)\nz = 3\n".replace("\n", newline)
    module = cst.parse_module(text)
    reference = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    assert reference[module.body[1]].start.line == 4  # LibCST counts a lone \r as a line break
    # What rules report on; LibCST's codegen drops a file's final lone \r, which only moves the ends of the
    # module and of its last newline token.
    reported = {
        node: span
        for node, span in reference.items()
        if isinstance(node, (cst.BaseStatement, cst.BaseSmallStatement, cst.BaseExpression))
    }
    assert positions(module, list(reported)) == reported
    assert positions(module, list(reported), text, _statement_lines(text)) == reported
    from fastinit_lint.engine.positions import _newlines, _statements_only

    assert _statements_only(module, list(reported), text, _newlines(text), _statement_lines(text), {}) is not None


def _statement_lines(text):
    import ast

    return tuple(min([n.lineno, *(d.lineno for d in getattr(n, "decorator_list", ()))]) for n in ast.parse(text).body)


TRICKY = '''#!/usr/bin/env python
# header comment

"""Docstring."""
import os; import sys

# comment above a decorator
@decorator(1)
# comment between decorators
@other
def f(x):  # trailing
    return g(x,
             y)


class A(B):

    def m(self):
        pass
x = [
    1,
]
'''


@pytest.mark.parametrize(
    "text",
    [TRICKY, TRICKY.replace("\n", "\r\n"), *(p.read_text() for p in FILES)],
    ids=["tricky", "tricky-crlf", *(p.name for p in FILES)],
)
def test_statement_only_positions_equal_whole_module_ones(text):
    """Generating just the statements that hold the nodes gives the same ranges as generating everything,
    and really takes that path on ordinary files (it is not always falling back)."""
    from fastinit_lint.engine.positions import _newlines, _statements_only

    module = cst.parse_module(text)
    lines = _statement_lines(text)
    for statement in module.body[:: max(1, len(module.body) // 12)]:
        nodes = list(descendants(statement))  # what rules report on: statements and expressions
        assert positions(module, nodes, text, lines) == positions(module, nodes)
        assert _statements_only(module, nodes, text, _newlines(text), lines, {}) is not None
        wrong = {id(n): 0 for n in nodes}  # a wrong guess of the statement holding them only costs a search
        assert positions(module, nodes, text, lines, wrong) == positions(module, nodes)


def test_disagreeing_text_falls_back_to_whole_module():
    text = "x = 1\ny = f(2)\n"
    module = cst.parse_module(text)
    call = module.body[1].body[0].value
    wrong_lines = (1, 1)  # as if `y = ...` were on line 1
    assert positions(module, [call], text, wrong_lines) == positions(module, [call])
    assert positions(module, [call])[call].start.line == 2

"""`child_nodes`/`descendants` see what LibCST's own `children` sees (minus whitespace and punctuation), in
the same order, on real files: rules that walk with them find the same nodes as a visit would."""

from pathlib import Path

import libcst as cst
import pytest

import fastinit_lint
from fastinit_lint.syntax.cst_children import child_nodes, descendants

HERE = Path(__file__).parent
FILES = [
    Path(fastinit_lint.__file__).parent / "engine" / "checker.py",
    HERE / "fixtures" / "sizes" / "models.py",
    Path(cst.__file__).parent / "_nodes" / "statement.py",
    *sorted((HERE.parent / "examples").rglob("*.py")),
]
_PUNCTUATION = (  # what `child_nodes` leaves out on purpose
    cst.BaseParenthesizableWhitespace,
    cst.EmptyLine,
    cst.TrailingWhitespace,
    cst.Newline,
    cst.LeftParen,
    cst.RightParen,
    cst.Comma,
    cst.Dot,
    cst.Colon,
    cst.AssignEqual,
    cst.Semicolon,
    cst.ImportStar,
    cst.LeftCurlyBrace,
    cst.RightCurlyBrace,
    cst.LeftSquareBracket,
    cst.RightSquareBracket,
    cst.BaseBinaryOp,
    cst.BaseBooleanOp,
    cst.BaseCompOp,
    cst.BaseUnaryOp,
    cst.BaseAugOp,
)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_child_nodes_match_libcst_children(path):
    module = cst.parse_module(path.read_text())
    for node in descendants(module):
        ours = [id(c) for c in child_nodes(node)]
        theirs = [id(c) for c in node.children if not isinstance(c, _PUNCTUATION)]
        assert ours == theirs, f"{type(node).__name__}: {[type(c).__name__ for c in node.children]}"


def test_descendants_reach_every_call():
    module = cst.parse_module(
        "@d(1)\nclass A(B(2)):\n    x = [f(3) for _ in g(4) if h(5)]\n    y = a(6) if b(7) else c(8)\n"
    )
    calls = [cst.Module([]).code_for_node(n) for n in descendants(module) if isinstance(n, cst.Call)]
    assert calls == ["d(1)", "B(2)", "f(3)", "g(4)", "h(5)", "a(6)", "b(7)", "c(8)"]

"""Statements and expressions that fixes add, built as LibCST nodes (default whitespace is what a person
writes: `self.x = None`, `if self.x is not None:`)."""

from __future__ import annotations

from fastinit_lint.api import cst


def attribute(*names: str) -> cst.BaseExpression:
    """`self.hparams.dim` from ("self", "hparams", "dim")."""
    node: cst.BaseExpression = cst.Name(names[0])
    for name in names[1:]:
        node = cst.Attribute(node, cst.Name(name))
    return node


def assign(target: cst.BaseAssignTargetExpression, value: cst.BaseExpression) -> cst.SimpleStatementLine:
    return cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(target)], value)])


def is_not_none(value: cst.BaseExpression) -> cst.Comparison:
    return cst.Comparison(value, [cst.ComparisonTarget(cst.IsNot(), cst.Name("None"))])


def return_if(test: cst.BaseExpression) -> cst.If:
    """`if <test>: return`, the guard of an idempotent hook."""
    return cst.If(test, cst.IndentedBlock([cst.SimpleStatementLine([cst.Return()])]))


def keyword_arg(name: str, value: cst.BaseExpression) -> cst.Arg:
    """`name=value` as a call argument."""
    tight = cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace(""))
    return cst.Arg(value, keyword=cst.Name(name), equal=tight)

"""Shared knowledge for the LightningModule rules: which class we are in and what its `__init__` builds."""

from __future__ import annotations

import ast
import os
import textwrap
from dataclasses import dataclass, field

from fastinit_lint.api import ZERO, Context, Frame, Module, Size, Tensor, cst, size_of


# `self.<method>(...)` calls in `__init__` that do not touch submodules or parameters.
NEUTRAL_SELF_CALLS = frozenset({"save_hyperparameters", "register_buffer", "log", "print"})


def older_lightning(facts, index, release: tuple[int, int]):
    """The pin (or code evidence) saying the file of `facts` must also run on a Lightning release older than
    `release`, where advice needing `release` would break it; None when nothing says so."""
    return index.older_lightning(facts.path or os.path.abspath(facts.filename), release)


def runs_older_lightning(facts, index, release: tuple[int, int]) -> bool:
    return older_lightning(facts, index, release) is not None


def lightning_class(context: Context) -> str | None:
    """Qualified name of the enclosing class when it is a LightningModule subclass (any chain, any namespace)."""
    qualname = context.enclosing_class_qualname()
    return qualname if qualname and context.index.is_lightning_module(qualname) else None


def local_runs(context: Context, qualname: str) -> list | None:
    """For a class local to a function (a test's own model), the runner calls that function makes on its
    instances (phase-1 TrainFacts: `trainer.fit(model)`, ...); None for any other class, whose runs may be
    anywhere. The visit must be at the class (`context.scope` ends with it)."""
    outer = context.scope[:-1]
    if not outer or outer[-1][0] != "def":
        return None
    return [t for t in context.facts.trains if t.scope == outer and qualname in t.targets]


def file_has_lightning_module(facts, index, defining: str | None = None) -> bool:
    """Whether the file defines a LightningModule (that itself defines the method `defining`, if given)."""
    return any(
        (defining is None or defining in cls.methods) and index.is_lightning_module(cls.qualname)
        for cls in facts.classes
    )


def hierarchy_defining(context: Context, qualname: str, name: str) -> list[str]:
    """The other project classes of `qualname`'s hierarchy (its bases, and the classes deriving from it) that
    define the method `name`, as "`Cls` (file:row)". Reads every project class: for rare findings only."""
    index = context.index
    bases = set(index.project_lineage(qualname))
    return [
        f"`{index.classes[other].name}` ({index.classes[other].site})"
        for other in index.classes
        if other != qualname
        and name in index.classes[other].methods
        and (other in bases or qualname in index.project_lineage(other))
    ]


def method(classdef: cst.ClassDef, name: str) -> cst.FunctionDef | None:
    return next((s for s in classdef.body.body if isinstance(s, cst.FunctionDef) and s.name.value == name), None)


def to_ast(context: Context, node: cst.CSTNode) -> list[ast.stmt]:
    return ast.parse(textwrap.dedent(context.code(node))).body


def is_docstring(statement: cst.BaseStatement) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and isinstance(statement.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


@dataclass
class Statement:
    node: cst.BaseStatement
    tree: list[ast.stmt]
    size: Size  # parameters it registers on self
    builds: bool  # registers parameters or submodules on self, or builds a module into a local
    built: Size = ZERO  # what it constructs, counting modules bound to locals (`layer = nn.X(...)`)
    writes_self: set[str] = field(default_factory=set)
    reads_self: set[str] = field(default_factory=set)
    touches_all: bool = False  # self.apply(...), self.parameters(), self.to(...): depends on every submodule
    stores: set[str] = field(default_factory=set)  # local names bound
    loads: set[str] = field(default_factory=set)  # names read
    is_super_init: bool = False
    hparams: tuple[frozenset[str] | None, frozenset[str]] | None = None  # (saved names or None=all, ignored)


def _self_attr(node: ast.AST) -> str | None:
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self":
        return node.attr
    return None


def _describe(tree: list[ast.stmt], statement: Statement) -> None:
    for top in tree:
        targets = (
            top.targets
            if isinstance(top, ast.Assign)
            else [top.target]
            if isinstance(top, (ast.AnnAssign, ast.AugAssign, ast.For))
            else []
        )
        for target in targets:
            for node in ast.walk(target):
                if isinstance(node, ast.Name):
                    statement.stores.add(node.id)
            attr = _self_attr(target)
            if attr:
                statement.writes_self.add(attr)
        for node in ast.walk(top):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                statement.loads.add(node.id)
            if isinstance(node, (ast.With, ast.AsyncWith)):
                for item in node.items:
                    if item.optional_vars is not None:
                        statement.stores |= {n.id for n in ast.walk(item.optional_vars) if isinstance(n, ast.Name)}
            attr = _self_attr(node)
            if attr and isinstance(node.ctx, ast.Load):
                statement.reads_self.add(attr)
            if isinstance(node, ast.Call):
                func = node.func
                called = _self_attr(func)
                if called and called not in NEUTRAL_SELF_CALLS:
                    statement.touches_all = True
                if (
                    called in ("register_parameter", "add_module", "register_module")
                    and node.args
                    and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str)
                ):
                    statement.writes_self.add(node.args[0].value)
                if (
                    isinstance(func, ast.Attribute)
                    and func.attr == "__init__"
                    and isinstance(func.value, ast.Call)
                    and isinstance(func.value.func, ast.Name)
                    and func.value.func.id == "super"
                ):
                    statement.is_super_init = True
                if called == "save_hyperparameters":
                    names = frozenset(
                        a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)
                    )
                    ignored = next((k.value for k in node.keywords if k.arg == "ignore"), None)
                    ignore = frozenset()
                    if isinstance(ignored, (ast.List, ast.Tuple)):
                        ignore = frozenset(e.value for e in ignored.elts if isinstance(e, ast.Constant))
                    elif isinstance(ignored, ast.Constant) and isinstance(ignored.value, str):
                        ignore = frozenset({ignored.value})
                    all_saved = not node.args or not names
                    statement.hparams = (None if all_saved else names, ignore)
    statement.reads_self -= {"hparams"}


@dataclass
class MethodAnalysis:
    init: cst.FunctionDef
    signature: ast.FunctionDef
    statements: list[Statement]
    notes: tuple[str, ...]

    @property
    def total(self) -> Size:
        total = ZERO
        for statement in self.statements:
            total += statement.size
        return total

    @property
    def params(self) -> list[str]:
        args = self.signature.args
        return [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)][1:]


def analyse_method(context: Context, init: cst.FunctionDef) -> MethodAnalysis | None:
    """Per-statement parameter sizes of a method (`__init__`, `configure_model`), interpreted in order."""
    try:
        signature = to_ast(
            context,
            init.with_changes(
                body=cst.IndentedBlock(body=[cst.SimpleStatementLine([cst.Pass()])]), leading_lines=[], decorators=[]
            ),
        )[0]
    except SyntaxError:
        return None
    estimator = context.estimator
    frame: Frame = estimator.new_frame(context.facts, (*context.scope, ("def", init.name.value)))
    frame.env["__class__"] = context.enclosing_class_qualname()
    estimator.bind_init_defaults(frame, signature)
    statements = []
    for node in init.body.body if isinstance(init.body, cst.IndentedBlock) else []:
        try:
            tree = to_ast(context, node)
        except SyntaxError:
            return None
        before, before_env = dict(frame.attrs), dict(frame.env)
        size = ZERO
        for stmt in tree:
            size += estimator.statement(stmt, frame)
        statement = Statement(node, tree, size, False)
        _describe(tree, statement)
        new_values = [frame.attrs.get(a) for a in statement.writes_self if frame.attrs.get(a) is not before.get(a)]
        local_modules = [
            frame.env[n]
            for n in statement.stores
            if isinstance(frame.env.get(n), (Module, Tensor)) and frame.env.get(n) is not before_env.get(n)
        ]
        statement.built = size
        for value in local_modules:
            statement.built += size_of(value)
        statement.builds = (
            size != ZERO
            or bool(local_modules)
            or any(isinstance(v, (Module, Tensor)) for v in new_values)
            or (
                any(
                    isinstance(n, ast.Call)
                    and isinstance(n.func, ast.Attribute)
                    and n.func.attr in ("register_parameter", "add_module", "register_module")
                    for stmt in tree
                    for n in ast.walk(stmt)
                )
            )
        )
        statements.append(statement)
    return MethodAnalysis(init, signature, statements, tuple(frame.notes))


def has_reset(index, qualname: str) -> bool:
    """Whether the class or a project base defines `reset_parameters`/`_reset_parameters` (walked without
    recursion: a checkout can chain thousands of classes)."""
    return any(
        {"reset_parameters", "_reset_parameters"} & set(index.classes[c].methods)
        for c in index.project_lineage(qualname)
    )

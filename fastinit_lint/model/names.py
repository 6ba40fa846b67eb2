"""Exact name resolution from our own import map, built with the stdlib `ast` in phase 1.

LibCST's QualifiedNameProvider costs ~350 ms/KLOC (it builds full scope analysis); this map costs a
fraction of an `ast` walk we do anyway and answers the one question rules ask: "what does the dotted
name `tnn.Linear` mean in this scope?". It honours aliases (`import torch.nn as tnn`,
`Linear = nn.Linear`), relative imports, star imports, and shadowing: a name bound by anything other
than an import or a dotted alias in the scope that sees it resolves to nothing (or to the project's own
`module.Class` for definitions), so a project class named `Linear` is never `torch.nn.Linear`.

Scopes are keyed by the chain of enclosing `("class"|"def", name)` pairs, the same chain the LibCST
traversal tracks, so both trees share one table.
"""

from __future__ import annotations

import ast
import bisect
from dataclasses import dataclass, field

ScopeKey = tuple[tuple[str, str], ...]

LOCAL = "\0local"  # bound by an assignment we cannot see through: shadows imports
ALIAS = "\0alias:"  # `X = a.b.c`: resolve `a.b.c` in the same scope chain when asked
_MAX_ALIAS_DEPTH = 8


def dotted_name(node: ast.AST) -> str | None:
    """`a.b.c` for Name/Attribute chains, None for anything else (calls, subscripts...)."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def resolve_relative(module: str, is_package: bool, level: int, target: str | None) -> str:
    parts = module.split(".") if module else []
    if not is_package:
        parts = parts[:-1]
    if level > 1:
        parts = parts[: len(parts) - (level - 1)] if level - 1 <= len(parts) else []
    if target:
        parts.append(target)
    return ".".join(parts)


@dataclass
class FileNames:
    module: str
    is_package: bool
    scopes: dict[ScopeKey, dict[str, frozenset[str]]] = field(default_factory=dict)
    star_imports: dict[ScopeKey, tuple[str, ...]] = field(default_factory=dict)
    complete: bool = True  # False: module-level bindings only (see collect_names)

    def _lookup(self, head: str, scope: ScopeKey) -> frozenset[str] | None:
        """Bindings of `head` as seen from `scope`: class bodies are invisible to nested functions."""
        for depth in range(len(scope), -1, -1):
            key = scope[:depth]
            if depth < len(scope) and key and key[-1][0] == "class":
                continue
            bound = self.scopes.get(key, {}).get(head)
            if bound is not None:
                return bound
        return None

    def resolve(self, dotted: str, scope: ScopeKey = (), _depth: int = 0) -> frozenset[str]:
        """All qualified names `dotted` can denote in `scope`; empty when unknown or shadowed."""
        head, _, rest = dotted.partition(".")
        bound = self._lookup(head, scope)
        if bound is None:
            stars = [m for depth in range(len(scope), -1, -1) for m in self.star_imports.get(scope[:depth], ())]
            builtin = {f"builtins.{dotted}"} if head in _BUILTINS else set()
            return frozenset({f"{m}.{dotted}" for m in stars} | builtin)
        if LOCAL in bound:
            return frozenset()
        result: set[str] = set()
        for target in bound:
            if target.startswith(ALIAS):
                if _depth < _MAX_ALIAS_DEPTH:
                    result |= self.resolve(target[len(ALIAS) :], scope, _depth + 1)
                continue
            result.add(target)
        return frozenset(f"{q}.{rest}" if rest else q for q in result)

    def module_level(self) -> FileNames:
        """The module-level bindings alone, as a partial table."""
        return FileNames(
            self.module,
            self.is_package,
            {key: self.scopes[key] for key in self.scopes if not key},
            {key: self.star_imports[key] for key in self.star_imports if not key},
            complete=False,
        )

    def resolve_node(self, node: ast.AST, scope: ScopeKey = ()) -> frozenset[str]:
        dotted = dotted_name(node)
        return self.resolve(dotted, scope) if dotted else frozenset()


_BUILTINS = frozenset(dir(__import__("builtins")))


class _BindingCollector(ast.NodeVisitor):
    def __init__(self, names: FileNames, imports=None) -> None:
        self.names = names
        self.imports = imports  # module_identity.Imports: where this file's imports lead when names collide
        self.scope: ScopeKey = ()
        self.globals: list[set[str]] = [set()]

    def _bind(self, name: str, target: str, scope: ScopeKey | None = None) -> None:
        scope = self.scope if scope is None else scope
        if scope == self.scope and name in self.globals[-1]:
            scope = ()
        table = self.names.scopes.setdefault(scope, {})
        table[name] = table.get(name, frozenset()) | {target}

    def _qualify(self, name: str) -> str:
        inner = ".".join(part for _, part in self.scope)
        return ".".join(p for p in (self.names.module, inner, name) if p)

    # Imports -------------------------------------------------------------------------------------
    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.asname:
                self._bind(alias.asname, self.imports.absolute(alias.name) if self.imports else alias.name)
            else:
                head = alias.name.split(".")[0]
                self._bind(head, head)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = node.module or ""
        if self.imports is not None:
            base = self.imports.relative(node.level, node.module) if node.level else self.imports.absolute(base)
        elif node.level:
            base = resolve_relative(self.names.module, self.names.is_package, node.level, node.module)
        for alias in node.names:
            if alias.name == "*":
                self.names.star_imports[self.scope] = (*self.names.star_imports.get(self.scope, ()), base)
                continue
            self._bind(alias.asname or alias.name, f"{base}.{alias.name}" if base else alias.name)

    # Definitions and scopes ----------------------------------------------------------------------
    def _enter(self, kind: str, node: ast.AST, name: str, body_visit) -> None:
        outer = self.scope
        self.scope = (*outer, (kind, name))
        self.globals.append(set())
        body_visit()
        self.globals.pop()
        self.scope = outer

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for expr in (*node.decorator_list, *node.bases, *(k.value for k in node.keywords)):
            self.visit(expr)
        self._bind(node.name, self._qualify(node.name))
        self._enter("class", node, node.name, lambda: [self.visit(s) for s in node.body])

    def _visit_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for expr in (*node.decorator_list, *node.args.defaults, *(d for d in node.args.kw_defaults if d)):
            self.visit(expr)
        self._bind(node.name, self._qualify(node.name))

        def body() -> None:
            args = node.args
            for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg):
                if arg is not None:
                    self._bind(arg.arg, LOCAL)
            for statement in node.body:
                self.visit(statement)

        self._enter("def", node, node.name, body)

    visit_FunctionDef = _visit_function
    visit_AsyncFunctionDef = _visit_function

    def visit_Lambda(self, node: ast.Lambda) -> None:
        def body() -> None:
            for arg in (
                *node.args.posonlyargs,
                *node.args.args,
                *node.args.kwonlyargs,
                node.args.vararg,
                node.args.kwarg,
            ):
                if arg is not None:
                    self._bind(arg.arg, LOCAL)
            self.visit(node.body)

        self._enter("def", node, "<lambda>", body)

    def visit_Global(self, node: ast.Global) -> None:
        self.globals[-1].update(node.names)

    # Assignments ---------------------------------------------------------------------------------
    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)
        self.bind_assign(node)

    def bind_assign(self, node: ast.Assign) -> None:
        alias = dotted_name(node.value)
        for target in node.targets:
            if isinstance(target, ast.Name) and alias is not None and alias.split(".")[0] != target.id:
                self._bind(target.id, ALIAS + alias)
            else:
                self.visit(target)

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, (ast.Store, ast.Del)):
            self._bind(node.id, LOCAL)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.visit(node.value)
        scope = self.scope
        while scope and scope[-1][0] == "class":
            scope = scope[:-1]
        self._bind(node.target.id, LOCAL, scope)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.name:
            self._bind(node.name, LOCAL)
        self.generic_visit(node)

    def visit_MatchAs(self, node: ast.MatchAs) -> None:
        if node.name:
            self._bind(node.name, LOCAL)
        self.generic_visit(node)

    def visit_MatchStar(self, node: ast.MatchStar) -> None:
        if node.name:
            self._bind(node.name, LOCAL)

    def _comprehension(self, node: ast.AST) -> None:
        # Comprehension variables live in their own scope; only the iterables are evaluated outside.
        for generator in node.generators:  # type: ignore[attr-defined]
            self.visit(generator.iter)

    visit_ListComp = visit_SetComp = visit_GeneratorExp = visit_DictComp = _comprehension


class _StatementBindings:
    """Drives a `_BindingCollector` statement by statement, without walking expressions.

    Outside walrus targets (`:=`) and lambda parameters, every binding is made by a statement (its targets,
    imports, `def`/`class` names and parameters, `except ... as`, `global`), so expressions only need the
    visitor on the lines that hold `:=` or `lambda`; elsewhere the result is the visitor's, at a fraction of
    the cost (the full `ast.NodeVisitor` walk was most of phase 1 on Lightning's own sources)."""

    def __init__(self, collector: _BindingCollector, marked: list[int], around: list[int] | None) -> None:
        self.collector = collector
        self.marked = marked  # sorted line numbers holding `:=` or `lambda`
        self.around = around  # descend only into definitions spanning one of these lines (None: all)

    def expressions(self, nodes) -> None:
        for node in nodes:
            if node is not None and spans_marked_line(self.marked, node):
                self.collector.visit(node)

    def statements(self, body: list[ast.stmt]) -> None:
        for statement in body:
            self.statement(statement)

    def statement(self, node: ast.stmt) -> None:
        collector = self.collector
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            self._definition(node)
            return
        if spans_marked_line(self.marked, node) or isinstance(
            node, (ast.Match, ast.Import, ast.ImportFrom, ast.Global)
        ):
            collector.visit(node)  # the visitor's own walk, nested statements included
            return
        if isinstance(node, ast.Assign):
            collector.bind_assign(node)
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign, ast.For, ast.AsyncFor)):
            collector.visit(node.target)
        elif isinstance(node, ast.Delete):
            for target in node.targets:
                collector.visit(target)
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                if item.optional_vars is not None:
                    collector.visit(item.optional_vars)
        elif isinstance(node, (ast.Try, ast.TryStar)):
            for handler in node.handlers:
                if handler.name:
                    collector._bind(handler.name, LOCAL)
                self.expressions((handler.type,))
                self.statements(handler.body)
        for block in ("body", "orelse", "finalbody"):
            self.statements(getattr(node, block, None) or [])

    def _definition(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> None:
        collector = self.collector
        if self.around is not None and not spans_marked_line(self.around, node):
            collector._bind(node.name, collector._qualify(node.name))
            return
        if isinstance(node, ast.ClassDef):
            self.expressions((*node.decorator_list, *node.bases, *(k.value for k in node.keywords)))
            collector._bind(node.name, collector._qualify(node.name))
            collector._enter("class", node, node.name, lambda: self.statements(node.body))
            return
        args = node.args
        self.expressions((*node.decorator_list, *args.defaults, *args.kw_defaults))
        collector._bind(node.name, collector._qualify(node.name))

        def body() -> None:
            for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg):
                if arg is not None:
                    collector._bind(arg.arg, LOCAL)
            self.statements(node.body)

        collector._enter("def", node, node.name, body)


def spans_marked_line(marked: list[int], node: ast.stmt | ast.expr) -> bool:
    """Whether any of the sorted line numbers `marked` falls within `node`'s lines."""
    i = bisect.bisect_left(marked, node.lineno)
    return i < len(marked) and marked[i] <= (node.end_lineno or node.lineno)


def has_lone_cr(text: str) -> bool:
    """A `\r` not followed by `\n`: Python counts it as a line break, `str.count("\n")` does not."""
    return "\r" in text and text.count("\r") != text.count("\r\n")


def ast_line_text(text: str) -> str:
    """`text` with line breaks where `ast` line numbers put them, so offsets map to `ast` lines."""
    return text.replace("\r\n", "\n").replace("\r", "\n") if has_lone_cr(text) else text


def marked_lines(text: str, needles: tuple[str, ...]) -> list[int]:
    """Sorted 1-based numbers (as `ast` counts lines) of the lines holding any of `needles` (str.find:
    no regex, no split)."""
    text = ast_line_text(text)
    offsets = []
    for needle in needles:
        start = text.find(needle)
        while start != -1:
            offsets.append(start)
            start = text.find(needle, start + len(needle))
    return lines_of(text, offsets)


def lines_of(text: str, offsets: list[int]) -> list[int]:
    """Sorted distinct 1-based line numbers of character `offsets` in `text` (one pass over the text)."""
    lines: list[int] = []
    line, last = 1, 0
    for offset in sorted(offsets):
        line += text.count("\n", last, offset)
        last = offset
        if not lines or lines[-1] != line:
            lines.append(line)
    return lines


def collect_names(
    tree: ast.Module,
    module: str,
    is_package: bool,
    module_level_only: bool = False,
    text: str | None = None,
    around: list[int] | None = None,
    imports=None,
) -> FileNames:
    """The names table of a file. Phase 1 builds partial ones (`FileNames.complete` False): module-level
    names only (`module_level_only`), or those of the scopes enclosing the sorted line numbers `around`;
    either resolves module-level names (class bases, constants) exactly. Given the source `text`,
    expressions are walked only on the lines that can bind a name inside them (see `_StatementBindings`).
    `imports` (module_identity.Imports) resolves imports of modules whose names collide."""
    partial = module_level_only or around is not None
    names = FileNames(module, is_package, complete=not partial)
    collector = _BindingCollector(names, imports)
    if text is None and not partial:
        collector.visit(tree)
        return names
    marked = marked_lines(text, (":=", "lambda")) if text is not None else []
    _StatementBindings(collector, marked, [] if module_level_only else around).statements(tree.body)
    return names

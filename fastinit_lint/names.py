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
        result = set()
        for target in bound:
            if target.startswith(ALIAS):
                if _depth < _MAX_ALIAS_DEPTH:
                    result |= self.resolve(target[len(ALIAS):], scope, _depth + 1)
                continue
            result.add(target)
        return frozenset(f"{q}.{rest}" if rest else q for q in result)

    def resolve_node(self, node: ast.AST, scope: ScopeKey = ()) -> frozenset[str]:
        dotted = dotted_name(node)
        return self.resolve(dotted, scope) if dotted else frozenset()


_BUILTINS = frozenset(dir(__import__("builtins")))


class _BindingCollector(ast.NodeVisitor):
    def __init__(self, names: FileNames) -> None:
        self.names = names
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
                self._bind(alias.asname, alias.name)
            else:
                head = alias.name.split(".")[0]
                self._bind(head, head)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = node.module or ""
        if node.level:
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
            for arg in (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs, node.args.vararg, node.args.kwarg):
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


def _stored_names(target: ast.AST) -> list[str]:
    return [n.id for n in ast.walk(target) if isinstance(n, ast.Name)]


def _module_level(collector: _BindingCollector, statements: list[ast.stmt]) -> None:
    """Bindings of module scope only: statements, never expressions, never function or class bodies."""
    for stmt in statements:
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            collector.visit(stmt)
        elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            collector._bind(stmt.name, collector._qualify(stmt.name))
        elif isinstance(stmt, ast.Assign):
            collector.bind_assign(stmt)
        elif isinstance(stmt, (ast.AnnAssign, ast.AugAssign, ast.For, ast.AsyncFor, ast.Delete)):
            for target in (stmt.targets if isinstance(stmt, ast.Delete) else [stmt.target]):
                for name in _stored_names(target):
                    collector._bind(name, LOCAL)
        elif isinstance(stmt, (ast.With, ast.AsyncWith)):
            for item in stmt.items:
                for name in _stored_names(item.optional_vars) if item.optional_vars is not None else ():
                    collector._bind(name, LOCAL)
        elif isinstance(stmt, ast.Try) or type(stmt).__name__ == "TryStar":
            for handler in stmt.handlers:
                if handler.name:
                    collector._bind(handler.name, LOCAL)
                _module_level(collector, handler.body)
        for block in ("body", "orelse", "finalbody"):
            if block != "body" or not isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                _module_level(collector, getattr(stmt, block, None) or [])


def collect_names(tree: ast.Module, module: str, is_package: bool, module_level_only: bool = False) -> FileNames:
    """The names table of a file. `module_level_only` is the cheap variant phase 1 uses for files in which
    no rule runs: it resolves module-level names (class bases, constants) exactly, and nothing inside
    functions; `FileNames.complete` says which one a table is."""
    names = FileNames(module, is_package, complete=not module_level_only)
    collector = _BindingCollector(names)
    if module_level_only:
        _module_level(collector, tree.body)
    else:
        collector.visit(tree)
    return names

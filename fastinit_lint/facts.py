"""Phase 1: the facts one file contributes to the project index, gathered with the stdlib `ast`.

`ast` parses ~10x faster than LibCST, so every file pays only this; LibCST is reserved for files in
which some rule can fire. Facts are small and picklable so they cache and cross process boundaries.
"""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass, field

from .lightning_facts import (
    MODEL_PARALLEL,
    NAMESPACES,
    STRATEGY_CLASSES,
    Strategy,
    strategy_from_name,
)
from .names import FileNames, ScopeKey, collect_names, dotted_name

TRAINER_QNAMES = frozenset({"lightning.Trainer", "lightning.pytorch.Trainer", "pytorch_lightning.Trainer",
                            "lightning.pytorch.trainer.Trainer", "pytorch_lightning.trainer.Trainer",
                            "lightning.pytorch.trainer.trainer.Trainer", "pytorch_lightning.trainer.trainer.Trainer"})
FABRIC_QNAMES = frozenset({"lightning.Fabric", "lightning.fabric.Fabric", "lightning_fabric.Fabric",
                           "lightning.fabric.fabric.Fabric", "lightning_fabric.fabric.Fabric"})


def _strategy_class_qnames() -> dict[str, str]:
    table = {}
    for namespace in NAMESPACES:
        for cls, kind in STRATEGY_CLASSES.items():
            submodule = {"fsdp": "fsdp", "deepspeed": "deepspeed", MODEL_PARALLEL: "model_parallel", "xla_fsdp": "xla_fsdp"}[kind]
            table[f"{namespace}.strategies.{cls}"] = kind
            table[f"{namespace}.strategies.{submodule}.{cls}"] = kind
    return table


STRATEGY_CLASS_QNAMES = _strategy_class_qnames()


@dataclass(frozen=True)
class Site:
    """Where a fact was stated, for messages like "strategy 'fsdp' at train.py:12"."""

    filename: str
    row: int

    def __str__(self) -> str:
        return f"{self.filename}:{self.row}"


@dataclass(frozen=True)
class ClassFact:
    name: str
    qualname: str
    site: Site
    bases: tuple[tuple[str, ...], ...]  # sorted candidates per base: deterministic across hash seeds
    methods: tuple[str, ...]
    scope: ScopeKey = ()  # the class's own scope key, for resolving names inside its methods
    init_source: str | None = None  # `__init__`, dedented: the estimator re-parses it on demand
    fields: tuple[tuple[str, str], ...] = ()  # class-level `name[: T] = value` (config dataclass defaults)


@dataclass(frozen=True)
class RunnerFact:
    """A Trainer or Fabric construction (or a LightningCLI YAML `trainer:`)."""

    kind: str  # "trainer" or "fabric"
    bound_to: str | None  # dotted target of the assignment (`trainer`, `self.fabric`)
    scope: ScopeKey
    site: Site
    strategy: Strategy
    strategy_site: Site
    precision: str | None  # None when not statically known; Lightning's default is "32-true"


@dataclass
class FileFacts:
    filename: str
    module: str
    names: FileNames
    classes: list[ClassFact] = field(default_factory=list)
    runners: list[RunnerFact] = field(default_factory=list)
    constants: dict[str, str] = field(default_factory=dict)  # module-level NAME = <call-free expression>
    # `X.init_module(empty_init=True)` (receiver, scope, site) and `torch.device("meta")` sites (None, scope, site)
    meta_sites: list[tuple[str | None, ScopeKey, Site]] = field(default_factory=list)


def module_name(path: str) -> tuple[str, bool]:
    """Dotted module name from the package layout on disk (walk up while `__init__.py` exists)."""
    directory, base = os.path.split(os.path.abspath(path))
    stem = base.rsplit(".", 1)[0]
    is_package = stem == "__init__"
    parts = [] if is_package else [stem]
    while os.path.isfile(os.path.join(directory, "__init__.py")):
        directory, package = os.path.split(directory)
        parts.append(package)
    return ".".join(reversed(parts)), is_package


def _literal_text(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, int)) and not isinstance(node.value, bool):
        return str(node.value)
    return None


class _FactCollector(ast.NodeVisitor):
    """Classes and runner constructions, with the scope chain the names table uses."""

    def __init__(self, facts: FileFacts) -> None:
        self.facts = facts
        self.scope: ScopeKey = ()
        # Per scope: name -> [(row, value)] for "a variable assigned a literal in the same scope".
        self.assignments: dict[ScopeKey, dict[str, list[tuple[int, ast.AST]]]] = {}

    def _site(self, node: ast.AST) -> Site:
        return Site(self.facts.filename, node.lineno)

    def _scoped(self, kind: str, name: str, node: ast.AST) -> None:
        outer = self.scope
        self.scope = (*outer, (kind, name))
        for statement in node.body:  # type: ignore[attr-defined]
            self.visit(statement)
        self.scope = outer

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        bases = tuple(tuple(sorted(self.facts.names.resolve_node(base, self.scope))) for base in node.bases)
        methods = tuple(s.name for s in node.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)))
        qualname = ".".join(p for p in (self.facts.module, *(n for _, n in self.scope), node.name) if p)
        init = next((s for s in node.body if isinstance(s, ast.FunctionDef) and s.name == "__init__"), None)
        fields = tuple(
            (s.target.id if isinstance(s, ast.AnnAssign) else s.targets[0].id, ast.unparse(s.value))
            for s in node.body
            if (isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name) and s.value is not None)
            or (isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name))
        )
        self.facts.classes.append(ClassFact(node.name, qualname, self._site(node), bases, methods,
                                            (*self.scope, ("class", node.name)),
                                            ast.unparse(init) if init is not None else None, fields))
        self._scoped("class", node.name, node)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._scoped("def", node.name, node)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Assign(self, node: ast.Assign) -> None:
        if not self.scope and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) \
                and not any(isinstance(n, ast.Call) for n in ast.walk(node.value)):
            self.facts.constants[node.targets[0].id] = ast.unparse(node.value)
        for target in node.targets:
            if isinstance(target, ast.Name):
                self.assignments.setdefault(self.scope, {}).setdefault(target.id, []).append((node.lineno, node.value))
        if isinstance(node.value, ast.Call) and len(node.targets) == 1:
            self._maybe_runner(node.value, dotted_name(node.targets[0]))
            for arg in (*node.value.args, *(k.value for k in node.value.keywords)):
                self.visit(arg)
            return
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        self._maybe_runner(node, None)
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "init_module" and any(
                k.arg == "empty_init" and isinstance(k.value, ast.Constant) and k.value.value is True for k in node.keywords):
            self.facts.meta_sites.append((dotted_name(func.value), self.scope, self._site(node)))
        elif node.args and isinstance(node.args[0], ast.Constant) and node.args[0].value == "meta" \
                and "torch.device" in self.facts.names.resolve_node(func, self.scope):
            self.facts.meta_sites.append((None, self.scope, self._site(node)))
        self.generic_visit(node)

    def _value_of(self, node: ast.AST, row: int) -> tuple[ast.AST, int]:
        """Follow a Name to its last assignment before `row` in the same scope."""
        if isinstance(node, ast.Name):
            earlier = [(r, v) for r, v in self.assignments.get(self.scope, {}).get(node.id, []) if r <= row]
            if earlier:
                return earlier[-1][1], earlier[-1][0]
        return node, getattr(node, "lineno", row)

    def _strategy(self, node: ast.AST | None, row: int) -> tuple[Strategy, int]:
        if node is None:
            return Strategy("auto"), row
        value, value_row = self._value_of(node, row)
        text = _literal_text(value)
        if text is not None:
            return strategy_from_name(text), value_row
        if isinstance(value, ast.Call):
            for qname in self.facts.names.resolve_node(value.func, self.scope):
                kind = STRATEGY_CLASS_QNAMES.get(qname)
                if kind == "deepspeed":
                    stage = next((k.value for k in value.keywords if k.arg == "stage"), None)
                    stage_text = _literal_text(stage) if stage is not None else "2"
                    return Strategy("deepspeed", int(stage_text) if stage_text in ("0", "1", "2", "3") else None), value_row
                if kind is not None:
                    return Strategy(kind), value_row
        return Strategy(None), value_row

    def _maybe_runner(self, call: ast.Call, bound_to: str | None) -> None:
        qnames = self.facts.names.resolve_node(call.func, self.scope)
        kind = "trainer" if qnames & TRAINER_QNAMES else "fabric" if qnames & FABRIC_QNAMES else None
        if kind is None:
            return
        keywords = {k.arg: k.value for k in call.keywords}
        has_star = None in keywords
        strategy_node = keywords.get("strategy")
        if strategy_node is None and has_star:
            strategy, row = Strategy(None), call.lineno
        else:
            strategy, row = self._strategy(strategy_node, call.lineno)
        precision_node = keywords.get("precision")
        precision = None if has_star and precision_node is None else "32-true"
        if precision_node is not None:
            value, _ = self._value_of(precision_node, call.lineno)
            precision = _literal_text(value)
        self.facts.runners.append(
            RunnerFact(kind, bound_to, self.scope, self._site(call), strategy, Site(self.facts.filename, row), precision)
        )


def python_facts(filename: str, path: str, tree: ast.Module) -> FileFacts:
    module, is_package = module_name(path)
    facts = FileFacts(filename, module, collect_names(tree, module, is_package))
    _FactCollector(facts).visit(tree)
    return facts


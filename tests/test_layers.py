"""The linter's layers import one way, and rules see the linter through one module.

fastinit_lint's sub-packages are ranked: syntax, knowledge and the diagnostics records at the bottom, then
model, workspace, engine, output, api and cli on top. A module may import its own layer and those below, never above; module imports
(type-only ones aside) form no cycle; rules import `fastinit_lint.api` and their private helpers only.
Imports are read with `ast`, so an import inside a function counts as much as one at the top.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# `diagnostics` (findings, file errors) is the vocabulary every layer reports in, like ruff's ruff_diagnostics.
LAYERS = {
    "syntax": 0,
    "knowledge": 0,
    "diagnostics": 0,
    "model": 1,
    "workspace": 2,
    "engine": 3,
    "output": 4,
    "api": 5,
    "cli": 6,
    "server": 6,
    "__main__": 6,
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_only(tree: ast.Module) -> set[ast.AST]:
    """Import nodes under `if TYPE_CHECKING:`: annotations only, never executed."""
    nodes: set[ast.AST] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            nodes.update(n for stmt in node.body for n in ast.walk(stmt))
    return nodes


def _imports(path: Path) -> list[tuple[str, bool]]:
    """(imported module, executed at run time) for every import in the file, relative ones resolved."""
    tree = ast.parse(path.read_text())
    typing_only = _type_checking_only(tree)
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((alias.name, node not in typing_only) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            # `from pkg import mod` imports a module when `pkg.mod` is one: count it as that module
            found.extend((_submodule(base, alias.name), node not in typing_only) for alias in node.names)
    return found


def _submodule(base: str, name: str) -> str:
    candidate = f"{base}.{name}"
    return candidate if _path_of(candidate) else base


def _path_of(module: str) -> Path | None:
    for path in (ROOT / Path(*module.split(".")) / "__init__.py", ROOT / Path(*module.split(".")).with_suffix(".py")):
        if path.is_file():
            return path
    return None


def _sources(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "fastinit_lint" and len(parts) > 1 else None


def _linter_imports() -> list[tuple[str, str, bool]]:
    return [
        (_module_name(path), target, runtime)
        for path in _sources("fastinit_lint")
        for target, runtime in _imports(path)
        if target.split(".")[0] == "fastinit_lint"
    ]


def test_every_linter_module_is_in_a_layer():
    modules = {_module_name(path) for path in _sources("fastinit_lint")} - {"fastinit_lint"}
    assert not {module for module in modules if _layer(module) not in LAYERS}


def test_package_root_imports_nothing():
    """`fastinit_lint/__init__.py` holds the version every layer may read, so it must import nothing itself."""
    assert not [target for target, _ in _imports(ROOT / "fastinit_lint" / "__init__.py")]


def test_layers_import_downwards():
    upward = [
        f"{module} (layer {_layer(module)}) imports {target}"
        for module, target, _ in _linter_imports()
        if target != "fastinit_lint" and module != "fastinit_lint" and LAYERS[_layer(target)] > LAYERS[_layer(module)]
    ]
    assert not upward, "\n".join(upward)


def test_no_import_cycles():
    graph: dict[str, set[str]] = {}
    for module, target, runtime in _linter_imports():
        if runtime and target != module:
            graph.setdefault(module, set()).add(target)
    cycles = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join([*path[path.index(nxt) :], nxt]))
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert not cycles, "\n".join(cycles)


def test_rules_import_only_the_api():
    """A rule sees the linter through `fastinit_lint.api`: the engine can move or change behind it."""
    reaching_in = [
        f"{_module_name(path)} imports {target}"
        for path in _sources("fastinit_rules")
        for target in sorted({target for target, _ in _imports(path)})
        if (target.startswith("fastinit_lint") and target != "fastinit_lint.api")
        or (target.startswith("fastinit_rules.") and not target.split(".")[1].startswith("_"))
    ]
    assert not reaching_in, "\n".join(reaching_in)


def test_rules_live_in_fastinit_rules():
    """The engine defines no rule (FI900 included): every rule is found, documented and tested the same way."""
    in_engine = [
        f"{_module_name(path)}.{node.name}"
        for path in _sources("fastinit_lint")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ClassDef)
        and any(isinstance(base, ast.Name) and base.id == "Rule" for base in node.bases)
    ]
    assert not in_engine

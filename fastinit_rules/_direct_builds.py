"""Where the project builds a LightningModule itself, outside Lightning: there nobody calls `configure_model`.

FI001's fix moves layers from `__init__` into `configure_model`, which Lightning calls in `fit`/`validate`/
`test`/`predict` and in `load_from_checkpoint`. A script or test that builds the class and uses it directly
(`model = GPT(cfg); model.load_state_dict(sd)`, `GPT(cfg)(idx)`) then gets a module without its layers.
Where the built module is bound to a name by an assignment statement of its own (`model = GPT(cfg)`), calling
`model.configure_model()` on the next line is enough: the fix adds that line there. A build already followed
by that call is not a direct build at all. Asked only when FI001 has a fix to offer, so the project's files
are read here, in phase 2, on demand (once per run, as each class's answer).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Iterator

from fastinit_lint.api import LineInsert, Site, collect_names, dotted_name, module_name

from ._project_text import project_source, python_texts

HOOK = "configure_model"


@dataclass(frozen=True)
class DirectBuild:
    site: Site
    call_hook: LineInsert | None  # `model.configure_model()` after the statement binding it, when that is enough


@dataclass(frozen=True)
class _Binding:
    """The statement a call is the whole value of: `target = Cls(...)` alone on its lines."""

    target: str  # dotted: `model`, `self.model`
    end_row: int
    indent: str
    hooked: bool  # the next statement is `target.configure_model()`


def direct_builds(context, qualname: str) -> list[DirectBuild]:
    """Calls of `qualname` (or of a project subclass) in the project, by file and row, that are not in a
    scope handing a model of it to a Trainer/Fabric (nor in a model factory the training graph follows)."""
    memo = context.project_shared(_builds_by_class)
    if qualname not in memo:
        memo[qualname] = list(_direct_builds(context, qualname))
    return memo[qualname]


def _builds_by_class(context) -> dict[str, list[Site]]:
    return {}  # filled by direct_builds, one entry per class asked about in this run


def _parsed_by_file(context) -> dict:
    return {}  # filled by _parsed, one entry per project file read in this run


def _direct_builds(context, qualname: str) -> Iterator[DirectBuild]:
    index = context.index
    links = index.training.links_to(qualname)
    driven = {(link.train.site.filename, link.train.scope) for link in links}
    factories = {target for link in links for target in link.train.targets if target not in index.classes}
    names = {
        qualname.rsplit(".", 1)[-1],
        *(q.rsplit(".", 1)[-1] for q in index.classes if q != qualname and index.inherits(q, frozenset({qualname}))),
    }
    for filename, text in python_texts(context, tuple(f"{name}(" for name in names)):
        parsed = _parsed(context, filename, text)
        if parsed is None:
            continue
        module, table, calls = parsed
        for row, dotted, scope, binding in calls:
            if dotted.rsplit(".", 1)[-1] not in names:
                continue
            built = {index.canonical(q) for q in table.resolve(dotted, scope)}
            if not any(q == qualname or q in index.classes and index.inherits(q, frozenset({qualname})) for q in built):
                continue
            function = f"{module}.{scope[0][1]}" if module and len(scope) == 1 and scope[0][0] == "def" else None
            if (filename, scope) in driven or function in factories or (binding is not None and binding.hooked):
                continue
            call_hook = None
            if binding is not None:
                call_hook = LineInsert(
                    filename,
                    binding.end_row,
                    f"{binding.indent}{binding.target}.{HOOK}()",
                    project_source(context, filename).digest,
                )
            yield DirectBuild(Site(filename, row), call_hook)


def _parsed(context, filename: str, text: str):
    """(module name, names table, [(row, callee's dotted name, scope, binding)] of its calls) of a project file,
    once per run; None when it does not parse."""
    memo = context.project_shared(_parsed_by_file)
    if filename not in memo:
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            memo[filename] = None
            return None
        module, is_package = module_name(filename)
        bindings = _bindings(tree, text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))  # ast's rows
        calls = [
            (call.lineno, dotted, scope, bindings.get(id(call)))
            for call, scope in _calls(tree, ())
            if (dotted := dotted_name(call.func)) is not None
        ]
        memo[filename] = (module, collect_names(tree, module, is_package, text=text), calls)
    return memo[filename]


def _calls(node: ast.AST, scope: tuple) -> Iterator[tuple[ast.Call, tuple]]:
    """Every call under `node` with the scope key (as the names table keys them) it is in."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for part in (*child.decorator_list, child.args):
                yield from _calls(part, scope)
            yield from _calls(ast.Module(body=child.body, type_ignores=[]), (*scope, ("def", child.name)))
        elif isinstance(child, ast.ClassDef):
            for part in (*child.decorator_list, *child.bases, *child.keywords):
                yield from _calls(part, scope)
            yield from _calls(ast.Module(body=child.body, type_ignores=[]), (*scope, ("class", child.name)))
        elif isinstance(child, ast.Lambda):
            yield from _calls(child.body, (*scope, ("def", "<lambda>")))
        else:
            if isinstance(child, ast.Call):
                yield child, scope
            yield from _calls(child, scope)


def _bindings(tree: ast.Module, lines: list[str]) -> dict[int, _Binding]:
    """id(call) -> how its statement binds it, for each call that is the whole value of an assignment to one
    name or attribute chain, alone on its lines (nothing before it on its first line, no `;` after it)."""
    found = {}
    for node in ast.walk(tree):
        for field in ("body", "orelse", "finalbody", "handlers"):
            body = getattr(node, field, None)
            if not isinstance(body, list):
                continue
            for i, statement in enumerate(body):
                if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
                    target = statement.targets[0]
                elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
                    target = statement.target
                else:
                    continue
                dotted = dotted_name(target)
                if dotted is None or not isinstance(statement.value, ast.Call):
                    continue
                first, last = lines[statement.lineno - 1], lines[statement.end_lineno - 1]
                alone = (
                    not first[: statement.col_offset].strip()
                    and not last[statement.end_col_offset :].strip().startswith(";")
                    and (i + 1 == len(body) or body[i + 1].lineno > statement.end_lineno)
                )
                if not alone:
                    continue
                following = body[i + 1] if i + 1 < len(body) else None
                found[id(statement.value)] = _Binding(
                    dotted, statement.end_lineno, first[: statement.col_offset], _calls_hook(following, dotted)
                )
    return found


def _calls_hook(statement: ast.stmt | None, target: str) -> bool:
    """Whether `statement` is `target.configure_model()`."""
    return (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Call)
        and dotted_name(statement.value.func) == f"{target}.{HOOK}"
    )

"""Where the project builds a LightningModule itself, outside Lightning: there nobody calls `configure_model`.

FI001's fix moves layers from `__init__` into `configure_model`, which Lightning calls in `fit`/`validate`/
`test`/`predict` and in `load_from_checkpoint`. A script or test that builds the class and uses it directly
(`model = GPT(cfg); model.load_state_dict(sd)`, `GPT(cfg)(idx)`) then gets a module without its layers.
Asked only when FI001 has a fix to offer, so the project's files are read here, in phase 2, on demand (once per
run, as each class's answer).
"""

from __future__ import annotations

import ast
from typing import Iterator

from fastinit_lint.api import Site, collect_names, dotted_name, module_name

from ._project_text import python_texts


def direct_builds(context, qualname: str) -> list[Site]:
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


def _direct_builds(context, qualname: str) -> Iterator[Site]:
    index = context.index
    links = index.training.links_to(qualname)
    driven = {(link.train.site.filename, link.train.scope) for link in links}
    factories = {target for link in links for target in link.train.targets if target not in index.classes}
    names = {qualname.rsplit(".", 1)[-1], *(q.rsplit(".", 1)[-1] for q in index.classes
                                            if q != qualname and index.inherits(q, frozenset({qualname})))}
    for filename, text in python_texts(context, tuple(f"{name}(" for name in names)):
        parsed = _parsed(context, filename, text)
        if parsed is None:
            continue
        module, table, calls = parsed
        for row, dotted, scope in calls:
            if dotted.rsplit(".", 1)[-1] not in names:
                continue
            built = {index.canonical(q) for q in table.resolve(dotted, scope)}
            if not any(q == qualname or q in index.classes and index.inherits(q, frozenset({qualname})) for q in built):
                continue
            function = f"{module}.{scope[0][1]}" if module and len(scope) == 1 and scope[0][0] == "def" else None
            if (filename, scope) in driven or function in factories:
                continue
            yield Site(filename, row)


def _parsed(context, filename: str, text: str):
    """(module name, names table, [(row, callee's dotted name, scope)] of its calls) of a project file, once per
    run; None when it does not parse."""
    memo = context.project_shared(_parsed_by_file)
    if filename not in memo:
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            memo[filename] = None
            return None
        module, is_package = module_name(filename)
        calls = [(call.lineno, dotted, scope) for call, scope in _calls(tree, ())
                 if (dotted := dotted_name(call.func)) is not None]
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


"""Which file an import names, as Python finds it for the importing file, in monorepos of scripts.

A module is named from its package layout (`pkg/sub/m.py` under a directory without `__init__.py` is
`pkg.sub.m`), from the directory its packages start in. In a repository of side-by-side script
directories (`v1/src/model.py`, `v4/src/model.py`, each `train.py` importing `src.model`) several files
get one name, and Python tells them apart only by `sys.path[0]`: the running script's own directory.
So:
- a module name that more than one project file gets is qualified by the directory its packages start
  in (`v4:src.model`); a name only one file gets stays as it is, so whatever imports it finds it from
  anywhere (installed packages, `src/` layouts, tests importing the project);
- an import is looked up first from the importing file's own start directory (the script's directory,
  or the directory above its top package), through directories without `__init__.py` as Python's
  namespace packages go: `from src.model import GPT` in `v4/train.py`, with `v4/src/` a plain directory,
  is module `model` of start `v4/src`.
Facts then depend on the other files only through the start directories and the colliding names, whose
digest the cache stores and checks (engine.cache): adding a file to an existing directory leaves it valid.
"""

from __future__ import annotations

import hashlib
import os
from typing import Iterable

from .names import resolve_relative

_SEPARATOR = ":"  # between a qualifying directory and the module name; qualnames split on "." only


class ModuleTable:
    def __init__(self, root: str | None = None, paths: Iterable[str] = ()) -> None:
        self.root = os.path.abspath(root) if root else None
        layouts = {layout(p)[:2] for p in paths}
        self.starts = frozenset(start for start, _ in layouts) - {self.root}
        named: dict[str, list[str]] = {}
        for start, name in layouts:
            named.setdefault(name, []).append(start)
        self.ids = {
            (start, name): self._qualified(start, name)
            for name, starts in named.items()
            if len(starts) > 1
            for start in starts
        }
        # Per directory, the first names of the imports that lead somewhere else from it: most imports
        # (`torch`, `os`) are settled by one set lookup.
        self.heads: dict[str, set[str]] = {}
        for start, name in self.ids:
            self.heads.setdefault(start, set()).add(name.split(".")[0])
        for start in self.starts:
            self.heads.setdefault(os.path.dirname(start), set()).add(os.path.basename(start))

    def _qualified(self, start: str, name: str) -> str:
        if self.root is None or start == self.root:
            return name  # the project root's own modules are what a plain import finds
        where = os.path.relpath(start, self.root).replace(os.sep, "/").replace(".", "%2E")
        return f"{where}{_SEPARATOR}{name}"

    def digest(self) -> str:
        return hashlib.blake2b(
            repr((sorted(self.starts), sorted(self.ids.items()))).encode(), digest_size=8
        ).hexdigest()

    def module_of(self, path: str) -> tuple[str, bool]:
        """The module `path` is (qualified when its name collides) and whether it is a package."""
        start, name, is_package = layout(path)
        return self.ids.get((start, name), name), is_package

    def imports_of(self, path: str) -> Imports | None:
        """How `path`'s imports resolve, or None when no other start directory exists (names are as spelled)."""
        if not self.starts:
            return None
        start, name, is_package = layout(path)
        return Imports(self, start, name, is_package)


class Imports:
    """Import resolution for one file, from its own start directory first (`sys.path[0]`)."""

    def __init__(self, table: ModuleTable, start: str, module: str, is_package: bool) -> None:
        self.table, self.start, self.module, self.is_package = table, start, module, is_package

    def relative(self, level: int, target: str | None) -> str:
        return self.absolute(resolve_relative(self.module, self.is_package, level, target))

    def absolute(self, dotted: str) -> str:
        """The module `dotted` names from this file's start directory: through plain directories below it
        (namespace packages), qualified when its name collides; else `dotted` as spelled."""
        if dotted.split(".", 1)[0] not in self.table.heads.get(self.start, ()):
            return dotted
        parts = dotted.split(".")
        start, skipped = self.start, 0
        while skipped < len(parts) - 1 and os.path.join(start, parts[skipped]) in self.table.starts:
            start = os.path.join(start, parts[skipped])
            skipped += 1
        for size in range(len(parts), skipped, -1):
            found = self.table.ids.get((start, ".".join(parts[skipped:size])))
            if found is not None:
                return ".".join((found, *parts[size:]))
        return ".".join(parts[skipped:])


_table = ModuleTable()  # this run's (see `use_table`); empty: every module named from its layout alone


def use_table(table: ModuleTable) -> None:
    """Set before phase 1 (workers fork after it), so every file of a run is named by one table."""
    global _table
    _table = table


def module_name(path: str) -> tuple[str, bool]:
    """Dotted module name of `path` in this run (from the package layout, qualified when it collides)."""
    return _table.module_of(path)


def imports_of(path: str) -> Imports | None:
    return _table.imports_of(path)


def layout(path: str) -> tuple[str, str, bool]:
    """(the directory its packages start in, dotted module name from the package layout, is a package):
    walk up while `__init__.py` exists."""
    directory, base = os.path.split(os.path.abspath(path))
    stem = base.rsplit(".", 1)[0]
    is_package = stem == "__init__"
    start, packages = _packages(directory)
    return start, ".".join((*packages, *(() if is_package else (stem,)))), is_package


_layout: dict[str, tuple[str, tuple[str, ...]]] = {}


def _packages(directory: str) -> tuple[str, tuple[str, ...]]:
    """(the directory its packages start in, package names down to `directory`); cached because every file of
    a directory asks (a stat per level), and every file of a run is named (a warm run's module table too).
    Each run starts by forgetting them (`forget_layout`): a long-lived process may see `__init__.py` files come
    and go between runs. A loop, not recursion: a checkout can nest packages thousands deep."""
    asked = directory
    below: list[tuple[str, str]] = []  # (directory, package name), deepest first
    while directory not in _layout:
        parent, package = os.path.split(directory)
        if parent == directory or not os.path.isfile(os.path.join(directory, "__init__.py")):
            _layout[directory] = (directory, ())
            break
        below.append((directory, package))
        directory = parent
    start, names = _layout[directory]
    for directory, package in reversed(below):
        names = (*names, package)
        _layout[directory] = (start, names)
    return _layout[asked]


def forget_layout() -> None:
    _layout.clear()

"""Which files a run checks: paths from the command line, walked with excludes and `.gitignore`.

Directory symlinks are not followed while walking (as git does), which is what makes symlink loops
harmless; a symlinked directory given explicitly is walked if it points inside the project. A file or
directory whose real path is outside the project holding it (a symlink in an untrusted checkout,
`innocent.py -> ../../victim.py`) is neither read nor fixed: it is reported once and skipped. Display names keep the spelling the user typed, so
`examples/train.py` stays relative in every output format.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from .config import CONFIG_NAMES, find_config, parse_table, project_root
from ..model.lightning_versions import is_declaration
from ..diagnostics import FileError
from .ignore_patterns import PatternSet

PYTHON_SUFFIXES = (".py", ".pyi")
YAML_SUFFIXES = (".yaml", ".yml")
DEFAULT_EXCLUDES = (
    ".git",
    ".hg",
    ".venv",
    "venv",
    "build",
    "dist",
    "__pycache__",
    "node_modules",
    ".tox",
    ".mypy_cache",
    ".nox",
    ".pytest_cache",
    ".ruff_cache",
    ".fastinit_cache",
    "site-packages",
)


@dataclass(frozen=True)
class SourceFile:
    display: str  # as the user would spell it
    path: str  # absolute
    kind: str  # "python" or "yaml"


def file_kind(name: str) -> str | None:
    if name.endswith(PYTHON_SUFFIXES):
        return "python"
    if name.endswith(YAML_SUFFIXES):
        return "yaml"
    return None


class Excluder:
    """Config excludes (gitignore syntax, relative to the project root) plus every `.gitignore` on the way down.

    `exclude` replaces DEFAULT_EXCLUDES and `extend-exclude` adds to them, as in ruff. With `nested_configs`,
    a directory below a walked one holding its own config is not walked either: its files belong to that
    config (ruff's hierarchy), and `nested` lists it (display name, path) for a run of its own.
    """

    def __init__(
        self, root: str, excludes: tuple[str, ...], respect_gitignore: bool = True, nested_configs: bool = False
    ) -> None:
        self.root = os.path.abspath(root)
        self.config = PatternSet(list(excludes))
        self.respect_gitignore = respect_gitignore
        self.nested_configs = nested_configs
        self.nested: list[tuple[str, str]] = []
        self._gitignores: dict[str, PatternSet | None] = {}
        self.errors: list[FileError] = []  # bad `.gitignore` lines, each reported once (the file is read once)

    def _gitignore(self, directory: str) -> PatternSet | None:
        if directory not in self._gitignores:
            path = os.path.join(directory, ".gitignore")
            patterns = None
            if self.respect_gitignore and os.path.isfile(path):
                bad: list[tuple[int, str]] = []
                try:
                    with open(path, encoding="utf-8", errors="replace") as handle:
                        patterns = PatternSet(handle.read().splitlines(), bad)
                except OSError:
                    patterns = None
                self.errors.extend(FileError(path, f"{message}; pattern ignored", row) for row, message in bad)
            self._gitignores[directory] = patterns
        return self._gitignores[directory]

    def excluded(self, path: str, is_dir: bool) -> bool:
        path = os.path.abspath(path)
        rel = os.path.relpath(path, self.root).replace(os.sep, "/")
        if not rel.startswith("../") and self.config.match(rel, is_dir):
            return True
        return self._ignored_by_git(path, is_dir)

    def holds_config(self, directory: str, entries: list[os.DirEntry]) -> bool:
        """Whether `directory` (listed as `entries`) has a config of its own, when nested ones are honoured:
        only a directory listing a config file's name is asked, and only its own files are read. A bad config
        is a ConfigError here, before the run has checked or written anything."""
        if not self.nested_configs or not any(entry.name in CONFIG_NAMES for entry in entries):
            return False
        found = find_config(Path(directory), upwards=False)
        if found is not None:
            parse_table(found[1], str(found[0]))
        return found is not None

    def excluded_given(self, path: str, is_dir: bool) -> bool:
        """For a path given explicitly (`--force-exclude`): excluded itself, or inside an excluded directory
        under the root (`extend-exclude = ["generated/"]` covers `generated/a.py`, as a walk would skip it)."""
        path = os.path.abspath(path)
        inside = [d for d in self.ancestors(path) if d != self.root and d.startswith(_as_prefix(self.root))]
        return self.excluded(path, is_dir) or any(self.excluded(d, True) for d in inside)

    def ancestors(self, directory: str) -> list[str]:
        """Strict ancestors of `directory` up to the project root (or the filesystem root), outermost first."""
        chain = []
        while directory != self.root and os.path.dirname(directory) != directory:
            directory = os.path.dirname(directory)
            chain.append(directory)
        return list(reversed(chain))

    def _ignored_by_git(self, path: str, is_dir: bool) -> bool:
        if not self.respect_gitignore:
            return False
        # Ancestors from the project root down; deeper .gitignore files win, as in git.
        verdict = None
        for base in self.ancestors(path):
            patterns = self._gitignore(base)
            if patterns is None:
                continue
            rel = os.path.relpath(path, base).replace(os.sep, "/")
            said = patterns.match(rel, is_dir)
            if said is not None:
                verdict = said
        return bool(verdict)


class _Confinement:
    """The real directories a run may read and write files in: the project root, and the project root of
    each path given outside it (`fastinit-lint projA/x.py projB/y.py` lints both projects)."""

    def __init__(self, root: str) -> None:
        self.roots = [_as_prefix(os.path.realpath(root))]

    def admits(self, real: str) -> bool:
        real = _as_prefix(real)
        return any(real.startswith(root) for root in self.roots)

    def admits_given(self, given: str, real: str) -> bool:
        """Whether `real`, where the path `given` on the command line really is, lies in a project: the
        one holding `given` as spelled, not the one its symlinks lead to."""
        if not self.admits(real):
            self.roots.append(_as_prefix(project_root(given)))
        return self.admits(real)


def _as_prefix(directory: str) -> str:
    return directory if directory.endswith(os.sep) else directory + os.sep


def _outside(display: str, is_dir: bool) -> FileError:
    return FileError(display, f"symlink to a {'directory' if is_dir else 'file'} outside the project; skipped")


class _Walk:
    """Directory state carried down a walk, so each entry costs string joins instead of relpath calls:
    its path relative to the project root (None outside it) and the `.gitignore` files that apply."""

    def __init__(
        self,
        excluder: Excluder,
        found: list[SourceFile],
        seen: dict,
        confinement: _Confinement,
        errors: list[FileError],
        declarations: list[tuple[str, str]] | None,
    ) -> None:
        self.excluder, self.found, self.seen = excluder, found, seen
        self.confinement, self.errors, self.declarations = confinement, errors, declarations

    def walk(
        self, display: str, path: str, rel: str | None, gitignores: list[tuple[str, PatternSet]], real: str
    ) -> None:
        """The tree below a directory (`directory`'s arguments) in the order a recursive walk takes, driven by a
        stack of listings instead of recursion: a tree deeper than Python's recursion limit is walked too."""
        stack = [self.directory(display, path, rel, gitignores, real, is_top=True)]
        while stack:
            child = next(stack[-1], None)
            if child is None:
                stack.pop()
            else:
                stack.append(self.directory(*child))

    def directory(
        self,
        display: str,
        path: str,
        rel: str | None,
        gitignores: list[tuple[str, PatternSet]],
        real: str,
        is_top: bool = False,
    ) -> Iterator[tuple]:
        """Adds the files of one directory; yields its subdirectories, as `directory`'s arguments, in order.
        `real` is `path` with symlinks resolved: directory symlinks are not followed, so a child's is the
        parent's joined with its name, and files are keyed by where they really are at no cost."""
        try:
            entries = sorted(os.scandir(path), key=lambda e: e.name)
        except OSError as exc:
            raise FileNotFoundError(exc.strerror or str(exc)) from None
        if not is_top and self.excluder.holds_config(path, entries):
            self.excluder.nested.append((display, path))
            return
        own = self.excluder._gitignore(path)
        if own is not None:
            gitignores = [*gitignores, (path, own)]
        for entry in entries:
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                continue
            kind = None if is_dir else file_kind(entry.name)
            declaration = not is_dir and self.declarations is not None and is_declaration(path, entry.name)
            if kind is None and not is_dir and not declaration:
                continue
            child_rel = f"{rel}/{entry.name}" if rel else entry.name if rel is not None else None
            if self._excluded(entry, child_rel, is_dir, gitignores):
                continue
            child_display = os.path.join(display, entry.name) if display != "." else entry.name
            if is_dir:
                yield child_display, entry.path, child_rel, gitignores, os.path.join(real, entry.name)
                continue
            if (
                declaration and self.declarations is not None and not entry.is_symlink()
            ):  # read after the walk: few of them name Lightning
                self.declarations.append((child_display, entry.path))
            if kind is None:
                continue
            if not entry.is_symlink():
                _add(
                    self.found,
                    self.seen,
                    SourceFile(child_display, entry.path, kind),
                    os.path.join(real, entry.name),
                    False,
                )
                continue
            target = os.path.realpath(entry.path)
            if self.confinement.admits(target):
                _add(self.found, self.seen, SourceFile(child_display, entry.path, kind), target, True)
            else:
                self.errors.append(_outside(child_display, False))

    def _excluded(self, entry: os.DirEntry, rel: str | None, is_dir: bool, gitignores) -> bool:
        if rel is not None and self.excluder.config.match(rel, is_dir):
            return True
        verdict = None
        for base, patterns in gitignores:
            said = patterns.match(entry.path[len(base) + 1 :], is_dir)
            if said is not None:
                verdict = said
        return bool(verdict)


def _add(found: list[SourceFile], seen: dict, source: SourceFile, real: str, via_link: bool) -> None:
    """Each file once, however many paths lead to it (a second listing would be fixed twice); a file met
    through a symlink and by its own name is shown by its own name."""
    if real not in seen:
        seen[real] = (len(found), via_link)
        found.append(source)
    elif seen[real][1] and not via_link:
        seen[real] = (seen[real][0], False)
        found[seen[real][0]] = source


def discover(
    paths: list[str], excluder: Excluder, force_exclude: bool = False, declarations: list[tuple[str, str]] | None = None
) -> tuple[list[SourceFile], list[FileError]]:
    """The files to check under `paths`, and errors; the walk adds the files that may declare the project's
    dependencies (`requirements.txt`, Dockerfiles: see model/lightning_versions) to `declarations`, as
    (display name, absolute path)."""
    found: list[SourceFile] = []
    errors: list[FileError] = []
    seen: dict[str, tuple[int, bool]] = {}  # real path -> (index in found, reached through a symlink)
    confinement = _Confinement(excluder.root)
    for given in paths:
        absolute = os.path.abspath(given)
        if os.path.isdir(absolute):
            if force_exclude and excluder.excluded_given(absolute, True):
                continue
            real = os.path.realpath(absolute)
            if not confinement.admits_given(given, real):
                errors.append(_outside(given, True))
                continue
            relative = os.path.relpath(absolute, excluder.root).replace(os.sep, "/")
            rel = None if relative.startswith("..") else "" if relative == "." else relative
            inherited = [(d, p) for d in excluder.ancestors(absolute) if (p := excluder._gitignore(d)) is not None]
            try:
                _Walk(excluder, found, seen, confinement, errors, declarations).walk(
                    given.rstrip("/") or "/", absolute, rel, inherited, real
                )
            except FileNotFoundError as exc:
                errors.append(FileError(given, f"cannot list directory: {exc}"))
            continue
        if not os.path.lexists(absolute):
            errors.append(FileError(given, "no such file or directory"))
            continue
        kind = file_kind(given)
        if kind is None:
            continue  # an explicit file we do not lint (pre-commit may pass any staged file)
        if force_exclude and excluder.excluded_given(absolute, False):
            continue
        real = os.path.realpath(absolute)
        if not confinement.admits_given(given, real):
            errors.append(_outside(given, False))
            continue
        _add(found, seen, SourceFile(given, absolute, kind), real, os.path.islink(absolute))
    found.sort(key=lambda f: f.display)
    return found, errors

"""A project kept in memory for an editor: "check this text as path P within project index I".

The files on disk are indexed once, through the CLI's cache (`pipeline.index_project`); an open document's
unsaved text then replaces its file in the index, so the findings of every other file see it (changing the
strategy in `train.py` changes `model.py`'s FI001). A document is checked exactly as
`fastinit-lint --stdin-filename P` checks it: same rules, per-file ignores, gate, suppressions and fixes.
Not thread-safe: one thread owns a LiveProject.
"""

from __future__ import annotations

import os

from ..model.index import ProjectIndex, project_digest
from ..model.store import StoredFile
from ..workspace.config import Settings
from ..workspace.discovery import SourceFile, file_kind
from ..diagnostics import SourceError
from ..workspace.source import read_source
from .checker import CheckOptions, FileCheck, check_text, check_yaml_text
from ..diagnostics import FileError, FileResult
from .pipeline import PerFileIgnores, index_project, index_text, project_excluder
from .registry import Registry


class LiveProject:
    def __init__(self, settings: Settings, registry: Registry, jobs: int = 0, use_cache: bool = True) -> None:
        """Indexes the project at `settings.root` (raises ConfigError for selectors no rule matches)."""
        enabled = registry.enabled(settings.select, settings.extend_select, settings.ignore)
        self.settings, self.expand = settings, registry.expand
        self.rules = [registry.by_code[code] for code in sorted(enabled)]
        self.excluder = project_excluder(settings)
        self.ignores = PerFileIgnores(settings)
        self.store, self.errors, self.lightning = index_project(settings, self.rules, jobs, use_cache)
        self.texts: dict[str, str] = {}  # open documents: absolute path -> the editor's text
        # Open documents whose text does not parse (mid-edit): their own error, while the index keeps their
        # last facts, so other files' findings do not flicker with every keystroke.
        self.broken: dict[str, FileError] = {}
        self._index: ProjectIndex | None = None

    def owns(self, path: str) -> bool:
        """Whether `path` is a file of this project that its config does not exclude."""
        rel = os.path.relpath(path, self.settings.root)
        return file_kind(path) is not None and not rel.startswith("..") and not self.excluder.excluded(path, False)

    def set_text(self, path: str, text: str) -> None:
        """The editor's text of `path` from now on, for its own checks and for every other file's."""
        self.texts[path] = text
        stored = index_text(self._source(path), text, self.settings, self.rules)
        previous = self.store.stored.get(path)
        if stored.error is not None and previous is not None and previous.has_facts:
            self.broken[path] = stored.error
            return
        self.broken.pop(path, None)
        self._replace(path, stored)

    def forget_text(self, path: str) -> None:
        """The document was closed: the file on disk is the project's again."""
        self.texts.pop(path, None)
        self.broken.pop(path, None)
        self.reload(path)

    def reload(self, path: str) -> None:
        """`path` changed on disk (saved by another program, created, deleted); an open document's text wins."""
        if path in self.texts:
            return
        try:
            text = read_source(path, self.settings.max_file_bytes).text
        except SourceError:  # deleted, unreadable or too large: not part of the index
            self._replace(path, None)
            return
        self._replace(path, index_text(self._source(path), text, self.settings, self.rules))

    def _replace(self, path: str, stored: StoredFile | None) -> None:
        if stored is None:
            self.store.drop(path)
        else:
            self.store.put(stored)
        self._index = None  # memoized sizes, lineages and training graph may all depend on it

    @staticmethod
    def _source(path: str) -> SourceFile:
        return SourceFile(path, path, file_kind(path) or "python")

    def index(self) -> ProjectIndex:
        if self._index is None:
            self._index = ProjectIndex(
                self.store, self.settings.strategy, self.settings.strategy_source, self.lightning
            )
        return self._index

    def digest(self) -> str:
        """Changes whenever a fact any file's findings may depend on changes."""
        return project_digest(self.store, self.settings.strategy, self.settings.strategy_source, self.lightning)

    def check(self, path: str, options: CheckOptions) -> FileResult:
        """Findings (or errors) for the open document `path`, from its editor text."""
        stored, text = self.store.stored[path], self.texts[path]  # set by `set_text`
        if path in self.broken:
            return FileResult(path, errors=[self.broken[path]])
        if stored.error is not None:  # a file has facts or else an error
            return FileResult(path, errors=[stored.error])
        source = self._source(path)
        codes = frozenset(r.code for r in self.rules) - self.ignores.codes_ignored(source, self.expand)
        rules = [rule for rule in self.rules if rule.code in codes]
        facts = self.store[path]
        if source.kind == "yaml":
            return (
                check_yaml_text(path, text, facts, self.index(), rules, options) if facts.runners else FileResult(path)
            )
        check = FileCheck(path, text, facts, self.index(), self.settings, options, rules)
        return check_text(check, stored.markers, codes)

"""The facts store: every project file's phase-1 outcome, the one place the project index reads facts from.

A file's facts travel pickled (from phase-1 workers to the parent, into the cache) and are unpickled only
when read: a warm run whose results all come from the cache reads none, and the gate of one touched file
reads only the files defining what it asks about. What the index must know of every file (which classes,
model factories, module and loaders it defines, whether it runs models) is a summary kept unpickled beside
the facts. Nothing here reads the disk.
"""

from __future__ import annotations

import pickle
from typing import Iterable, Iterator, Mapping

from ..diagnostics import FileError
from .facts import ClassFact, FileFacts


class StoredFile:
    """One file's phase-1 outcome: facts or an error, what the cache checks to trust it again, the gate's
    inputs and the summary. Blobs come only from our own workers or from a cache file whose MAC verified
    (engine/cache.py), so unpickling them runs nothing foreign."""

    def __init__(
        self,
        size: int,
        mtime_ns: int,
        digest: str,
        facts: FileFacts | None,
        markers: frozenset[str],
        has_directives: bool,
        error: FileError | None,
        lasting: bool = False,
    ) -> None:
        self.size, self.mtime_ns, self.digest = size, mtime_ns, digest
        self.markers, self.has_directives, self.error = markers, has_directives, error
        # The error follows from the file's text alone (a syntax error): cached like facts, so a warm run does not
        # parse the file again (telling newer syntax apart imports LibCST).
        self.lasting = lasting
        # the display name the facts (or the error) were made under
        self.filename = facts.filename if facts is not None else error.filename if error is not None else ""
        self.facts_digest = facts.digest() if facts is not None else ""  # what other files can see of this one
        # The summary, made where the facts are (in the worker).
        self.classes = tuple(c.qualname for c in facts.classes) if facts is not None else ()
        # Trainer/Fabric constructions, calls handing a model to one (see TrainFact), config loads
        self.has_runners = facts is not None and bool(
            facts.runners or facts.trains or facts.calls or facts.config_loads
        )
        self.factories = tuple(name for name, _ in facts.returns) if facts is not None else ()  # return a model
        self.module = facts.module if facts is not None else ""
        self.loaders = tuple(f.qualname for f in facts.loaders) if facts is not None else ()  # with a load summary
        self._facts = facts
        self._blob: bytes | None = None
        self.verified_ns = 0  # when the run that last found this file's record true of it started (pipeline `_vouch`)

    @property
    def has_facts(self) -> bool:
        return self._facts is not None or self._blob is not None

    def facts(self) -> FileFacts:
        """The facts of a file that has them (`has_facts`), unpickled on the first call; KeyError without them."""
        facts = self._facts
        if facts is None:
            if self._blob is None:
                raise KeyError(f"{self.filename} has no facts: {self.error}")
            facts = self._facts = pickle.loads(self._blob)
        return facts

    def __getstate__(self) -> dict:
        """The facts as one blob, pickled once: a cache save re-pickles only the files that changed."""
        state = dict(self.__dict__)
        if state["_blob"] is None and state["_facts"] is not None:
            state["_blob"] = self._blob = pickle.dumps(state["_facts"], protocol=pickle.HIGHEST_PROTOCOL)
        state["_facts"] = None
        return state


class FactsStore(Mapping[str, FileFacts]):
    """File name -> facts of every file that has them, in file-name order (the output order), each unpickled on
    first read. `stored` holds every file's StoredFile, errors included. The tables the index asks of the
    summaries (which file defines a class, a factory, a module, a loader; which files run models) are made on
    first need and again after a change; where a name is defined twice (two plain `train.py` scripts are both
    module `train`), the first file by name defines it."""

    def __init__(self, stored: Iterable[StoredFile] = ()) -> None:
        self.stored: dict[str, StoredFile] = {s.filename: s for s in stored}
        self.classes = _StoredClasses(self)  # qualname -> ClassFact, read from the file defining it
        self._order: list[str] | None = None  # None: the tables are to be made
        self._runner_files: list[str] = []
        self._factory_files: dict[str, str] = {}
        self._module_files: dict[str, str] = {}
        self._loader_files: dict[str, str] = {}

    @classmethod
    def of(cls, files: Iterable[FileFacts]) -> FactsStore:
        """A store of facts made in this process (one-off checks, tests)."""
        return cls(StoredFile(-1, -1, "", facts, frozenset(), False, None) for facts in files)

    def put(self, stored: StoredFile) -> None:
        """Adds a file, or replaces what the store held of it."""
        self.stored[stored.filename] = stored
        self._forget()

    def drop(self, filename: str) -> None:
        self.stored.pop(filename, None)
        self._forget()

    def _forget(self) -> None:
        self._order = None
        self.classes.locate(None)

    def summarize(self) -> None:
        """Makes the tables, unless made since the last change (before forking, so workers inherit them)."""
        if self._order is not None:
            return
        order = sorted(name for name, stored in self.stored.items() if stored.has_facts)
        summaries = [self.stored[name] for name in order]
        class_files: dict[str, str] = {}
        for stored in summaries:
            for qualname in stored.classes:
                class_files.setdefault(qualname, stored.filename)
        self.classes.locate(class_files)
        self._runner_files = [s.filename for s in summaries if s.has_runners]
        first = summaries[::-1]  # later files are overwritten by earlier ones
        self._factory_files = {function: s.filename for s in first for function in s.factories}
        self._module_files = {s.module: s.filename for s in first if s.module}
        self._loader_files = {function: s.filename for s in first for function in s.loaders}
        self._order = order

    @property
    def runner_files(self) -> list[str]:
        """Files constructing a runner, handing a model to one or loading a YAML config, in file-name order."""
        self.summarize()
        return self._runner_files

    @property
    def factory_files(self) -> Mapping[str, str]:
        """Qualname of a module-level function returning a model -> the file defining it."""
        self.summarize()
        return self._factory_files

    @property
    def module_files(self) -> Mapping[str, str]:
        """Module name -> the file that is that module."""
        self.summarize()
        return self._module_files

    @property
    def loader_files(self) -> dict[str, str]:
        """Qualname of a function with a load summary -> the file defining it."""
        self.summarize()
        return self._loader_files

    def __getitem__(self, filename: str) -> FileFacts:
        return self.stored[filename].facts()

    def __contains__(self, filename: object) -> bool:
        stored = self.stored.get(filename) if isinstance(filename, str) else None
        return stored is not None and stored.has_facts

    def __iter__(self) -> Iterator[str]:
        self.summarize()
        return iter(self._order or ())

    def __len__(self) -> int:
        self.summarize()
        return len(self._order or ())


class _StoredClasses(Mapping[str, ClassFact]):
    """The store's classes: qualname -> the ClassFact of the first class so named in the file defining it, read
    on first use. Asked for every base of every class a gate looks at: a lookup is two dict reads."""

    def __init__(self, store: FactsStore) -> None:
        self._store = store
        self._where: dict[str, str] | None = None  # qualname -> file; None until the store's tables are made
        self._found: dict[str, ClassFact] = {}

    def locate(self, where: dict[str, str] | None) -> None:
        """The store's class table, made (or forgotten, None) with its other tables."""
        self._where, self._found = where, {}

    def _files(self) -> dict[str, str]:
        if self._where is None:
            self._store.summarize()
        return self._where or {}

    def __getitem__(self, qualname: str) -> ClassFact:
        found = self._found.get(qualname)
        if found is None:
            filename = (self._where if self._where is not None else self._files())[qualname]
            found = self._found[qualname] = next(c for c in self._store[filename].classes if c.qualname == qualname)
        return found

    def __contains__(self, qualname: object) -> bool:
        return qualname in (self._where if self._where is not None else self._files())

    def __iter__(self) -> Iterator[str]:
        return iter(self._files())

    def __len__(self) -> int:
        return len(self._files())

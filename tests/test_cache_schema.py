"""The cache's key follows the shape of what it stores, so a changed fact class never needs a hand bump."""

from __future__ import annotations

import os
import subprocess
import sys

from fastinit_lint.diagnostics import FileResult
from fastinit_lint.engine.cache import schema_digest
from fastinit_lint.model.store import StoredFile


def test_plain_classes_count_the_attributes_their_init_sets():
    class Entry:
        def __init__(self, size: int) -> None:
            self.size = size

    class Wider:
        def __init__(self, size: int) -> None:
            self.size, self.mtime = size, 0

    Wider.__qualname__ = Entry.__qualname__
    assert schema_digest(Entry) != schema_digest(Wider)


def test_the_cache_schema_reaches_the_fact_classes():
    """The pipeline's roots reach FileFacts and its parts: a field added to any of them changes the key."""
    from fastinit_lint.model import facts

    before = schema_digest(StoredFile, FileResult)
    facts.RunnerFact.__annotations__["added"] = "int"
    try:
        assert schema_digest(StoredFile, FileResult) != before
    finally:
        del facts.RunnerFact.__annotations__["added"]


def test_what_a_class_keeps_when_pickled_is_part_of_the_shape():
    """Facts that pickle differently (a table left out, then kept) must not be read from an older cache."""

    class Kept:
        def __getstate__(self) -> dict:
            return dict(self.__dict__)

    class Dropped:
        def __getstate__(self) -> dict:
            return {key: value for key, value in self.__dict__.items() if key != "names"}

    Dropped.__qualname__ = Kept.__qualname__
    assert schema_digest(Kept) != schema_digest(Dropped)


def test_the_schema_is_the_same_in_every_process():
    """Set constants in the hooks' code (`x in {"a", "b"}`) iterate in an order the hash seed decides."""
    code = (
        "from fastinit_lint.engine.cache import schema_digest; from fastinit_lint.model.store import StoredFile; "
        "from fastinit_lint.diagnostics import FileResult; print(schema_digest(StoredFile, FileResult))"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert len(digests) == 1 and schema_digest(StoredFile, FileResult) + "\n" in digests

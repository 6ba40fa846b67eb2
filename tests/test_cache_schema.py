"""The cache's key follows the shape of what it stores, so a changed fact class never needs a hand bump."""

from __future__ import annotations

from fastinit_lint.diagnostics import FileResult
from fastinit_lint.engine.cache import schema_digest
from fastinit_lint.engine.pipeline import IndexEntry
from fastinit_lint.model.index import FactsSummary


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

    before = schema_digest(IndexEntry, FactsSummary, FileResult)
    facts.RunnerFact.__annotations__["added"] = "int"
    try:
        assert schema_digest(IndexEntry, FactsSummary, FileResult) != before
    finally:
        del facts.RunnerFact.__annotations__["added"]

"""Parsing runs with the cyclic garbage collector paused: a parse builds many objects and no cycles, and the
collections it would trigger scan each new node again and free nothing."""

from __future__ import annotations

import gc

import pytest

from fastinit_lint.engine.checker import _parse, _parse_ast
from fastinit_lint.syntax.gc_pause import gc_paused

TEXT = "".join(f"def f{i}(a, b=({i}, [{i}], {{'k': {i}}})):\n    return a.b.c(b, x={i})\n" for i in range(400))


@pytest.fixture
def collections():
    started: list[int] = []

    def record(phase: str, info: dict) -> None:
        if phase == "start":
            started.append(info["generation"])

    gc.callbacks.append(record)
    try:
        yield started
    finally:
        gc.callbacks.remove(record)


@pytest.mark.parametrize("parse", [_parse, _parse_ast], ids=["libcst", "ast"])
def test_phase_two_parses_without_collections(parse, collections):
    """At most the one collection its allocations call for once the collector is back (dozens while it was on)."""
    assert gc.isenabled()
    parse("m.py", TEXT)
    assert len(collections) <= 1 and gc.isenabled()


def test_pauses_nest_and_restore_the_collector():
    with gc_paused():
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def _frozen_in_worker(_item) -> int:
    return gc.get_freeze_count()


def test_workers_inherit_a_frozen_heap(tmp_path, monkeypatch):
    """A worker's full collections skip what it inherited (rules, the index, LibCST): never garbage there."""
    from fastinit_lint.engine import pipeline
    from fastinit_lint.engine.progress import Progress
    from fastinit_lint.workspace.config import load_settings

    monkeypatch.setitem(pipeline._STATE, "settings", load_settings(str(tmp_path)))
    counts = pipeline._map(_frozen_in_worker, lambda item, why: -1, "testing", [0], 1, Progress("testing", 1, False))
    assert counts[0] > 0 and gc.get_freeze_count() == 0

"""Parses (and unpickling) build many objects and no reference cycles: Python's cyclic garbage collector,
left on, scans each new node again and again while they are built and frees nothing."""

from __future__ import annotations

import contextlib
import gc
from typing import Iterator


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """The collector off for the block (as it was after it, so blocks nest); garbage made meanwhile is
    collected by the next collection after it."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()

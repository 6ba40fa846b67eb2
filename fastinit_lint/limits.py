"""Per-file time bound: one pathological file must not hang a run (pre-commit, CI) for everyone."""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Iterator


class FileTimeout(BaseException):
    """BaseException, so that rule-crash isolation (`except Exception`) cannot swallow it."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise FileTimeout in the block after `seconds` (SIGALRM: main thread only; elsewhere unbounded)."""
    if seconds <= 0 or threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def expire(signum, frame):
        raise FileTimeout()

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)

"""Per-file bounds: one pathological file must not hang a run (pre-commit, CI) or exhaust the machine."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from typing import Iterator

# LibCST's native parser recurses once per level of an expression chain (`a and a and ...`, `a.b.c...`,
# `x if c else ...`, `elif` after `elif`) and its time grows with the square of that depth. Measured at an
# 8 MB stack: it crashed (SIGSEGV) at ~7,100 levels, and took 1.5-2.3 s at 1,000 levels and 12-20 s at
# 2,000. Files nested deeper than this are not given to it.
MAX_SYNTAX_DEPTH = 1000
# Our walks and LibCST's visitors take ~4 Python frames per level; CPython 3.11 calls between Python
# functions use no C stack, and `ast.parse` (whose own limit scales with this) stayed safe far beyond it.
RECURSION_LIMIT = 6 * MAX_SYNTAX_DEPTH


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


def allow_valid_python() -> None:
    """Valid Python the default interpreter limits reject: integer literals over 4,300 digits and chains
    nested deeper than ~1,000 Python frames can walk. What they cost is bounded per file like anything else."""
    sys.set_int_max_str_digits(0)
    if sys.getrecursionlimit() < RECURSION_LIMIT:
        sys.setrecursionlimit(RECURSION_LIMIT)


# A worker's own room besides one file's trees: importing and starting LibCST maps ~13 MB.
WORKER_ROOM_MB = 64


def limit_memory(megabytes: int) -> None:
    """Cap this (worker) process's address space at what it uses now plus `megabytes` for one file: Python
    then raises MemoryError, and native code that cannot allocate aborts this worker, not the machine."""
    try:
        import resource

        with open("/proc/self/statm") as statm:
            used = int(statm.read().split()[0]) * resource.getpagesize()
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        wanted = used + (WORKER_ROOM_MB + megabytes) * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (wanted if hard == resource.RLIM_INFINITY else min(wanted, hard), hard))
    except (ImportError, OSError, ValueError):
        pass  # no /proc or no RLIMIT_AS (not Linux): the time bound still holds

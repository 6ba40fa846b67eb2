"""The isolating worker pool (fastinit_lint/pool.py) on its own: tasks handed ahead, and what happens to the
tasks queued behind one whose worker dies or is killed."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from fastinit_lint.engine.pool import AHEAD, Lost, isolated_map


def _map(function, items, jobs=1, seconds=30.0):
    lost: list[tuple[object, Lost]] = []

    def record(item, why):
        lost.append((item, why))
        return ("lost", item)

    results = list(isolated_map(function, items, jobs, seconds, lambda: None, record, lambda error: None))
    return results, lost


def _wait_for(path: Path, seconds: float = 60.0) -> bool:
    deadline = time.monotonic() + seconds
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    return path.exists()


def test_a_worker_goes_on_to_its_next_task_without_waiting_for_the_parent(tmp_path):
    """While the parent holds a result (the generator is suspended), the worker already works on the next
    task: the round trip through the parent is not paid between files."""

    def touch(item):
        (tmp_path / str(item)).touch()
        return item

    results = isolated_map(
        touch, list(range(AHEAD * 4)), 1, 30.0, lambda: None, lambda item, why: None, lambda error: None
    )
    assert next(results) == 0
    assert _wait_for(tmp_path / "1"), "the worker waited for the parent before its next task"
    assert sorted([0, *results]) == list(range(AHEAD * 4))


def test_a_worker_dying_mid_batch_costs_only_its_task(tmp_path):
    def work(item):
        if item == 5:
            os.kill(os.getpid(), signal.SIGKILL)  # as the kernel does to a worker out of memory
        return item

    items = list(range(AHEAD * 6))
    for jobs in (1, 2):
        results, lost = _map(work, items, jobs)
        assert sorted(r for r in results if not isinstance(r, tuple)) == [i for i in items if i != 5]
        assert [(item, why.signal) for item, why in lost] == [(5, signal.SIGKILL)]


def test_a_worker_killed_at_the_time_bound_costs_only_its_task(tmp_path):
    def work(item):
        if item == 2:
            time.sleep(600)
        return item

    items = list(range(AHEAD * 6))
    results, lost = _map(work, items, 1, seconds=5.0)
    assert sorted(r for r in results if not isinstance(r, tuple)) == [i for i in items if i != 2]
    assert [(item, why.timed_out) for item, why in lost] == [(2, True)]


def test_every_task_of_a_worker_that_exits_is_finished_by_another():
    """A worker that exits on its own (no result for the task in hand) is replaced, and the tasks it had
    queued are done by the next one, each exactly once."""
    parent = os.getpid()

    def work(item):
        if item % 7 == 3:
            os._exit(3)
        assert os.getpid() != parent
        return item

    items = list(range(AHEAD * 8))
    results, lost = _map(work, items, 2)
    done = [r for r in results if not isinstance(r, tuple)]
    assert sorted(done) == [i for i in items if i % 7 != 3] and len(done) == len(set(done))
    assert sorted(item for item, _ in lost) == [i for i in items if i % 7 == 3]
    assert all(why.exit_code == 3 for _, why in lost)


def test_the_first_tasks_go_to_different_workers():
    """Tasks come largest first: the first ones are handed out in turn, not all queued behind one worker."""
    results, _ = _map(lambda item: (item, os.getpid()), list(range(AHEAD * 8)), 2)
    first = dict(results)
    assert first[0] != first[1]

"""Forked workers that may die. A file that crashes native code (LibCST's parser overflowing its stack or
aborting on a failed allocation) or hangs in it costs that file only: its worker dies or is killed, the
file is reported, and a new worker takes the rest. `concurrent.futures` cannot do this: one dead worker
breaks the whole pool (BrokenProcessPool), and it cannot kill a worker stuck in native code.

Workers are forked after `items` exist, so a task is sent as its index and only results are pickled.
While there is plenty left to do, a worker is handed its next tasks before it finishes the current one
(they wait in its task pipe), so it never sits idle for a round trip through this process between files;
results still come back one per task, in order, so the task a worker died on is always known.
"""

from __future__ import annotations

import os
import pickle
import selectors
import signal
import struct
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence, TypeVar

_LENGTH = struct.Struct("<Q")
_INDEX = struct.Struct("<I")
# Tasks handed to one worker ahead of its results, while at least this many per worker are left: enough to
# hide a round trip, few enough that the end of a run (one task each) stays balanced.
AHEAD = 4


@dataclass(frozen=True)
class Lost:
    """Why a worker gave no result for a task: it ran out of time (killed), or died."""

    timed_out: bool = False
    signal: int | None = None
    exit_code: int | None = None

    def signal_name(self) -> str:
        if self.signal is not None:
            try:
                return signal.Signals(self.signal).name
            except ValueError:  # a number without a name (a real-time signal)
                pass
        return f"signal {self.signal}"


class _Worker:
    pid: int
    tasks: int  # the parent's ends of the task and result pipes
    results: int

    def __init__(self, function: Callable, items: Sequence, setup: Callable[[], None], others: list[_Worker]) -> None:
        task_read, task_write = os.pipe()
        result_read, result_write = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            for fd in (task_read, task_write, result_read, result_write):
                os.close(fd)
            raise
        if pid == 0:  # the worker: serve tasks until the parent closes the task pipe
            code = 0
            try:
                for fd in (task_write, result_read, *(fd for w in others for fd in (w.tasks, w.results))):
                    os.close(fd)  # a worker holding another's task pipe would keep that one from ever ending
                setup()
                _serve(function, items, task_read, result_write)
            except BaseException:  # noqa: BLE001 - the parent reports the task this worker was on
                code = 1
            finally:
                os._exit(code)
        os.close(task_read)
        os.close(result_write)
        self.pid, self.tasks, self.results = pid, task_write, result_read
        self.queue: deque[int] = deque()  # tasks handed over, in the order their results will come
        self.started = 0.0  # when the task at the head of the queue started

    def send(self, index: int) -> None:
        if not self.queue:
            self.started = time.monotonic()
        self.queue.append(index)
        try:
            os.write(self.tasks, _INDEX.pack(index))
        except BrokenPipeError:
            pass  # it died: the end of its result pipe says so

    def receive(self):
        """The pickled result, or None when the worker died before sending all of it."""
        header = _read_exactly(self.results, _LENGTH.size)
        if header is None:
            return None
        body = _read_exactly(self.results, _LENGTH.unpack(header)[0])
        return None if body is None else pickle.loads(body)

    def end(self, kill: bool) -> Lost:
        if kill:
            os.kill(self.pid, signal.SIGKILL)
        os.close(self.tasks)  # a live, idle worker exits on the end of its task pipe
        os.close(self.results)
        _, status = os.waitpid(self.pid, 0)
        if os.WIFSIGNALED(status):
            return Lost(timed_out=kill, signal=os.WTERMSIG(status))
        return Lost(exit_code=os.WEXITSTATUS(status))


def _read_exactly(fd: int, size: int) -> bytes | None:
    chunks, left = [], size
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _serve(function: Callable, items: Sequence, tasks: int, results: int) -> None:
    while True:
        header = _read_exactly(tasks, _INDEX.size)
        if header is None:
            return
        data = pickle.dumps(function(items[_INDEX.unpack(header)[0]]), protocol=pickle.HIGHEST_PROTOCOL)
        message = _LENGTH.pack(len(data)) + data
        while message:
            message = message[os.write(results, message) :]


_Item = TypeVar("_Item")
_Result = TypeVar("_Result")


def isolated_map(
    function: Callable[[_Item], _Result],
    items: Sequence[_Item],
    jobs: int,
    seconds: float,
    setup: Callable[[], None],
    lost: Callable[[_Item, Lost], _Result],
    cannot_fork: Callable[[OSError], None],
) -> Iterator[_Result]:
    """`function` over `items` in up to `jobs` forked workers, yielding results as they arrive (in no set
    order). A task whose worker dies, or runs past `seconds`, yields `lost(item, why)` instead. If no worker
    can be forked at all, `cannot_fork(error)` is told and the remaining items run in this process."""
    pending = deque(range(len(items)))
    workers: list[_Worker] = []
    selector = selectors.DefaultSelector()

    def give_back(worker: _Worker) -> int:
        """The task a lost worker was on; the tasks queued behind it go back to be done by others."""
        task = worker.queue.popleft()
        pending.extendleft(reversed(worker.queue))
        worker.queue.clear()
        return task

    try:
        while pending or workers:
            while pending and len(workers) < min(jobs, len(pending) + sum(bool(w.queue) for w in workers)):
                try:
                    worker = _Worker(function, items, setup, workers)
                except OSError as exc:
                    if workers:
                        break  # go on with the workers there are
                    cannot_fork(exc)
                    while pending:
                        yield function(items[pending.popleft()])
                    return
                workers.append(worker)
                selector.register(worker.results, selectors.EVENT_READ, worker)
            ahead = AHEAD if len(pending) >= AHEAD * len(workers) else 1
            for _ in range(ahead):  # in rounds, so the largest tasks (first) go to different workers
                for worker in workers:
                    if pending and len(worker.queue) < ahead:
                        worker.send(pending.popleft())
            busy = [w for w in workers if w.queue]
            if not busy:
                break
            now = time.monotonic()
            wait = max(0.0, min(w.started + seconds for w in busy) - now)
            for key, _ in selector.select(wait):
                worker = key.data
                result = worker.receive()
                if result is None:
                    task = give_back(worker) if worker.queue else None
                    why = _retire(worker, workers, selector, kill=False)
                    if task is not None:
                        yield lost(items[task], why)
                else:
                    worker.queue.popleft()
                    worker.started = time.monotonic()  # it went on to the next task as it sent this result
                    yield result
            now = time.monotonic()
            for worker in [w for w in workers if w.queue and now - w.started > seconds]:
                task = give_back(worker)
                yield lost(items[task], _retire(worker, workers, selector, kill=True))
    finally:
        for worker in workers:
            selector.unregister(worker.results)
            worker.end(kill=bool(worker.queue))
        selector.close()


def _retire(worker: _Worker, workers: list[_Worker], selector: selectors.BaseSelector, kill: bool) -> Lost:
    selector.unregister(worker.results)
    workers.remove(worker)
    return worker.end(kill)

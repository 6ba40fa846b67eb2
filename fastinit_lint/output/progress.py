"""A one-line progress counter on stderr: only on a terminal, only once a run takes more than a moment."""

from __future__ import annotations

import sys
import time


class Progress:
    DELAY = 0.5  # seconds before the first draw: short runs stay silent

    def __init__(self, label: str, total: int, enabled: bool, stream=None) -> None:
        self.label, self.total, self.enabled = label, total, enabled and total > 0
        self.stream = stream or sys.stderr
        self.start = time.monotonic()
        self.count = 0
        self.last = 0.0
        self.drawn = False

    def tick(self) -> None:
        self.count += 1
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.start >= self.DELAY and (now - self.last >= 0.1 or self.count == self.total):
            self.stream.write(f"\r{self.label} {self.count}/{self.total} files")
            self.stream.flush()
            self.last, self.drawn = now, True

    def close(self) -> None:
        if self.drawn:
            self.stream.write("\r\033[K")
            self.stream.flush()

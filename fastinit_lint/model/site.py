"""Where a fact was stated: phase 1 records facts by file and line, and rules cite them as located notes."""

from __future__ import annotations

from dataclasses import dataclass

from ..diagnostics import Location, Note


@dataclass(frozen=True)
class Site:
    """Where a fact was stated, for notes like "strategy 'fsdp' at train.py:12"."""

    filename: str
    row: int

    def __str__(self) -> str:
        return f"{self.filename}:{self.row}"

    def note(self, message: str) -> Note:
        """`message` as evidence located at this line."""
        return Note(message, self.filename, Location(self.row, 1))

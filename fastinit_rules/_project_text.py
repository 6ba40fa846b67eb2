"""The text of the project's Python files, read on demand in phase 2: for questions the phase-1 facts do not
answer (where a class is built, whether a module is imported), asked only when a fix's safety depends on them."""

from __future__ import annotations

from typing import Iterator

from fastinit_lint.workspace.source import SourceError, read_source


def python_texts(context, needles: tuple[str, ...]) -> Iterator[tuple[str, str]]:
    """(file name, text) of each project Python file holding one of `needles`."""
    for filename in context.index.files:
        if not filename.endswith(".py"):
            continue
        try:
            text = read_source(filename, context.settings.max_file_bytes).text
        except (SourceError, OSError):
            continue
        if any(needle in text for needle in needles):
            yield filename, text

"""The text of the project's Python files, read on demand in phase 2: for questions the phase-1 facts do not
answer (where a class is built, whether a module is imported), asked only when a fix's safety depends on them.
Each file is read once per checked file however many classes ask (a file of 400 subclasses asks 400 times)."""

from __future__ import annotations

from typing import Iterator

from fastinit_lint.api import SourceError, read_source


def python_texts(context, needles: tuple[str, ...]) -> Iterator[tuple[str, str]]:
    """(file name, text) of each project Python file holding one of `needles`."""
    for filename, text in _texts(context).items():
        if any(needle in text for needle in needles):
            yield filename, text


def _texts(context) -> dict[str, str]:
    return context.shared(_read_texts, context.module)


def _read_texts(context, module) -> dict[str, str]:
    texts = {}
    for filename in context.index.files:
        if filename.endswith(".py"):
            try:
                texts[filename] = read_source(filename, context.settings.max_file_bytes).text
            except (SourceError, OSError):
                continue
    return texts

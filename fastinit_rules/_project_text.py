"""The text of the project's Python files, read on demand in phase 2: for questions the phase-1 facts do not
answer (where a class is built, whether a module is imported), asked only when a fix's safety depends on them.
Each file is read once per run (in each worker) however many checked files and classes ask, and each needle
is looked for once: a project of many models asks about each of them and their subclasses."""

from __future__ import annotations

from typing import Iterator

from fastinit_lint.api import SourceError, read_source


def python_texts(context, needles: tuple[str, ...]) -> Iterator[tuple[str, str]]:
    """(file name, text) of each project Python file holding one of `needles`."""
    texts = context.project_shared(_read_texts)
    holding = context.project_shared(_files_holding)
    for needle in needles:
        if needle not in holding:
            holding[needle] = frozenset(filename for filename, text in texts.items() if needle in text)
    wanted = frozenset().union(*(holding[needle] for needle in needles))
    for filename, text in texts.items():
        if filename in wanted:
            yield filename, text


def project_source(context, filename: str):
    """The project file as `python_texts` read it (its text, encoding and digest)."""
    return context.project_shared(_read_sources)[filename]


def _read_texts(context) -> dict[str, str]:
    return {filename: source.text for filename, source in context.project_shared(_read_sources).items()}


def _read_sources(context) -> dict:
    sources = {}
    for filename in context.index.files:
        if filename.endswith(".py"):
            try:
                sources[filename] = read_source(filename, context.settings.max_file_bytes)
            except (SourceError, OSError):
                continue
    return sources


def _files_holding(context) -> dict[str, frozenset[str]]:
    return {}  # needle -> the files whose text holds it, filled by python_texts

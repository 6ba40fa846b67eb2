"""Output formats. Each takes the run's findings (sorted) and returns text; none has side effects."""

from __future__ import annotations

from typing import Callable, Sequence

from ...engine.diagnostics import Finding
from . import github, junit, machine, sarif, text

FORMATS: dict[str, Callable[..., str]] = {
    "full": text.full,
    "concise": text.concise,
    "json": machine.json_array,
    "json-lines": machine.json_lines,
    "github": github.render,
    "sarif": sarif.render,
    "junit": junit.render,
}
HUMAN_FORMATS = frozenset({"full", "concise"})


def render(output_format: str, findings: Sequence[Finding], **context) -> str:
    return FORMATS[output_format](findings, **context)

"""GitHub Actions workflow commands: each finding becomes an annotation on the pull request diff."""

from __future__ import annotations

from typing import Sequence

from ...diagnostics import Finding
from .printable import printable


def _data(text: str) -> str:
    """Escaped as the workflow-command rules say, then `printable`: no other control character (a lone
    `\x85`, a terminal escape) or undecodable byte reaches the log either."""
    return printable(text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A"))


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def render(findings: Sequence[Finding], **_: object) -> str:
    lines = []
    for f in findings:
        props = (
            f"title={_property(f'fastinit-lint ({f.code})')},file={_property(f.filename)},"
            f"line={f.location.row},col={f.location.column},"
            f"endLine={f.end_location.row},endColumn={f.end_location.column}"
        )
        lines.append(
            f"::error {props}::{_data(f'{f.filename}:{f.location.row}:{f.location.column}: {f.code} {f.message}')}\n"
        )
    return "".join(lines)

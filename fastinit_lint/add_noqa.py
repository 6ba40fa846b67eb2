"""`--add-noqa`: append `# noqa: CODES` to each line with findings, merging with an existing noqa.

Lines that end inside a multi-line string cannot carry a comment; those findings are reported as errors
rather than guessed at. Files are rewritten atomically, like fixes.
"""

from __future__ import annotations

import io
import re
import tokenize
from itertools import groupby

from .diagnostics import FileError, Finding
from .source import SourceError, python_lines, read_source
from .writer import WriteRefused, write_atomic

_NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*))?", re.IGNORECASE)


def _commentable_rows(text: str) -> set[int]:
    """Rows whose physical end is outside any string token (so a trailing comment is legal there)."""
    inside: set[int] = set()
    for tok in tokenize.generate_tokens(io.StringIO(text, newline=None).readline):
        if tok.type == tokenize.STRING or getattr(tokenize, "FSTRING_MIDDLE", None) == tok.type:
            inside.update(range(tok.start[0], tok.end[0]))
    return set(range(1, len(python_lines(text)) + 2)) - inside


def _with_codes(line: str, codes: set[str]) -> str:
    body = line.rstrip("\r\n")
    ending = line[len(body):]
    match = _NOQA.search(body)
    if match and match["codes"] is None:
        return line  # a bare noqa already suppresses everything
    if match:
        merged = sorted(set(re.split(r"[\s,]+", match["codes"].upper())) | codes)
        return body[: match.start()] + f"# noqa: {', '.join(merged)}" + body[match.end():] + ending
    return body.rstrip() + f"  # noqa: {', '.join(sorted(codes))}" + ending


def add_noqa(findings: list[Finding]) -> tuple[int, list[FileError]]:
    added, errors = 0, []
    for filename, group in groupby(sorted(findings, key=lambda f: f.filename), key=lambda f: f.filename):
        try:
            source = read_source(filename, 1 << 62)
        except SourceError as exc:
            errors.append(FileError(filename, exc.message))
            continue
        lines = python_lines(source.text)
        allowed = _commentable_rows(source.text)
        by_row: dict[int, set[str]] = {}
        for finding in group:
            row = finding.location.row
            if row not in allowed:
                errors.append(FileError(filename, f"cannot add noqa for {finding.code}: line ends inside a string", row))
                continue
            by_row.setdefault(row, set()).add(finding.code)
        for row, codes in by_row.items():
            updated = _with_codes(lines[row - 1], codes)
            if updated != lines[row - 1]:
                lines[row - 1] = updated
                added += 1
        try:
            write_atomic(filename, source.encode("".join(lines)), source.digest)
        except (OSError, WriteRefused) as exc:
            errors.append(FileError(filename, f"cannot write: {exc}"))
    return added, errors

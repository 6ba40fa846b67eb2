"""`--add-noqa`: append `# noqa: CODES` to each line with findings, merging with an existing noqa.

The comment goes on the finding's first line, or its last when the first cannot carry one (it ends inside
a multi-line string or with a backslash continuation); a finding with neither is reported rather than
guessed at. The result must parse, and a file is written only if it still holds exactly what was checked
(atomically, like fixes).
"""

from __future__ import annotations

import ast
import io
import re
import tokenize

from ..diagnostics import FileError, FileResult, Finding, SourceError
from ..workspace.discovery import file_kind
from ..syntax.lines import python_lines
from ..workspace.source import digest_bytes, read_source
from ..workspace.writer import WriteRefused, write_atomic

_NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*))?", re.IGNORECASE)


def _commentable_rows(text: str, lines: list[str]) -> set[int]:
    """Rows whose physical end is outside any string token and is not a backslash continuation (so a
    trailing comment is legal there)."""
    barred: set[int] = set()
    comments: set[int] = set()
    for tok in tokenize.generate_tokens(io.StringIO(text, newline=None).readline):
        if tok.type == tokenize.STRING or getattr(tokenize, "FSTRING_MIDDLE", None) == tok.type:
            barred.update(range(tok.start[0], tok.end[0]))
        elif tok.type == tokenize.COMMENT:
            comments.add(tok.start[0])
    barred.update(
        row for row, line in enumerate(lines, 1) if row not in comments and line.rstrip("\r\n").endswith("\\")
    )
    return set(range(1, len(lines) + 2)) - barred


def _with_codes(line: str, codes: set[str]) -> str:
    body = line.rstrip("\r\n")
    ending = line[len(body) :]
    match = _NOQA.search(body)
    if match and match["codes"] is None:
        return line  # a bare noqa already suppresses everything
    if match:
        merged = sorted(set(re.split(r"[\s,]+", match["codes"].upper())) | codes)
        return body[: match.start()] + f"# noqa: {', '.join(merged)}" + body[match.end() :] + ending
    return body.rstrip() + f"  # noqa: {', '.join(sorted(codes))}" + ending


def with_noqa(text: str, findings: list[Finding], python: bool = True) -> tuple[str, int, list[FileError]]:
    """`text` with a noqa for each finding (or unchanged if the result would not parse); how many lines
    changed; errors for the findings that could get none. In YAML (`python` False) a finding's first line
    ends after the scalar it is about, where a comment is always legal."""
    lines = python_lines(text)
    allowed = _commentable_rows(text, lines) if python else set(range(1, len(lines) + 2))
    by_row: dict[int, set[str]] = {}
    errors = []
    for finding in findings:
        row = next((r for r in (finding.location.row, finding.end_location.row) if r in allowed), None)
        if row is None:
            errors.append(
                FileError(
                    finding.filename,
                    f"cannot add noqa for {finding.code}: its first and last lines "
                    "end inside a string or with a backslash",
                    finding.location.row,
                )
            )
            continue
        by_row.setdefault(row, set()).add(finding.code)
    added = 0
    for row, codes in by_row.items():
        updated = _with_codes(lines[row - 1], codes)
        if updated != lines[row - 1]:
            lines[row - 1] = updated
            added += 1
    if not added or not python:
        return "".join(lines) if added else text, added, errors
    try:
        ast.parse("".join(lines))
    except SyntaxError as exc:
        errors.append(
            FileError(findings[0].filename, f"noqa not added: the result would not parse ({exc.msg})", exc.lineno or 1)
        )
        return text, 0, errors
    return "".join(lines), added, errors


def add_noqa(files: list[FileResult]) -> tuple[int, list[FileError]]:
    added, errors = 0, []
    for result in files:
        if not result.findings:
            continue
        filename = result.filename
        try:
            source = read_source(filename, 1 << 62)
        except SourceError as exc:
            errors.append(FileError(filename, exc.message))
            continue
        if source.digest != _checked_digest(result):  # its findings' rows belong to other content
            errors.append(FileError(filename, "file changed on disk since it was checked; noqa not added"))
            continue
        text, count, unplaced = with_noqa(source.text, result.findings, file_kind(filename) != "yaml")
        errors.extend(unplaced)
        if not count:
            continue
        try:
            write_atomic(filename, source.encode(text), source.digest)
        except WriteRefused as exc:
            errors.append(FileError(filename, f"{exc}; noqa not added"))
        except OSError as exc:
            errors.append(FileError(filename, f"cannot write: {exc}"))
        else:
            added += count
    return added, errors


def _checked_digest(result: FileResult) -> str | None:
    """Digest of the content the findings were computed on: the fixed file's, when fixes were written."""
    if result.fixed_source is None:
        return result.digest
    return digest_bytes(result.fixed_source.encode(result.encoding))

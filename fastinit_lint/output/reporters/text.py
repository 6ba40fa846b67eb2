"""Human formats: `concise` (one line each, like ruff) and `full` (with the source line and fix hint)."""

from __future__ import annotations

import json
import os
from typing import Sequence

from ...diagnostics import SAFE, Finding, SourceError
from ...syntax.lines import python_lines
from ...workspace.source import read_source
from .printable import printable


def _marker(finding: Finding, unsafe_fixes: bool) -> str:
    fixable = finding.fix is not None and (finding.fix.applicability == SAFE or unsafe_fixes)
    return " [*]" if fixable else ""


def _head(finding: Finding, unsafe_fixes: bool, color) -> str:
    where = color(f"{printable(finding.filename)}:{finding.location.row}:{finding.location.column}:", "bold")
    return f"{where} {color(finding.code, 'red')}{_marker(finding, unsafe_fixes)} {printable(finding.message)}"


def concise(findings: Sequence[Finding], *, unsafe_fixes: bool = False, color=lambda t, _s: t, **_: object) -> str:
    return "".join(_head(f, unsafe_fixes, color) + "\n" for f in findings)


def _source_line(filename: str, row: int, cache: dict) -> str | None:
    if filename not in cache:
        try:
            # decoded as the checker decoded it (coding cookie, BOM)
            cache[filename] = python_lines(read_source(filename, 1 << 62).text, keepends=False)
        except SourceError:
            cache[filename] = []
    lines = cache[filename]
    return lines[row - 1] if 0 < row <= len(lines) else None


def full(
    findings: Sequence[Finding],
    *,
    unsafe_fixes: bool = False,
    color=lambda t, _s: t,
    sources: dict | None = None,
    **_: object,
) -> str:
    cache: dict = dict(sources or {})
    out = []
    for f in findings:
        out.append(_head(f, unsafe_fixes, color) + "\n")
        line = (
            _source_line(f.filename, f.location.row, cache)
            if os.path.exists(f.filename) or f.filename in cache
            else None
        )
        if line is not None:
            gutter = str(f.location.row)
            pad = " " * len(gutter)
            width = max(
                1,
                (f.end_location.column - f.location.column)
                if f.end_location.row == f.location.row
                else len(line) - f.location.column + 1,
            )
            out.append(
                f"{pad} |\n{gutter} | {printable(line)}\n{pad} | {' ' * (f.location.column - 1)}{color('^' * width, 'red')}\n"
            )
        if f.fix is not None:
            hint = f.fix.message if _marker(f, unsafe_fixes) else f"{f.fix.message} (unsafe: needs --unsafe-fixes)"
            out.append(f"  = help: {printable(hint)}\n")
        out.extend(f"  = note: {printable(str(note))}\n" for note in f.all_notes())
        out.append("\n")
    return "".join(out)


def statistics(findings: Sequence[Finding], *, unsafe_fixes: bool = False, as_json: bool = False, **_: object) -> str:
    """Counts per rule, most frequent first; as JSON (ruff's `--statistics --output-format json` shape) for tools."""
    counts: dict[tuple[str, str], list[Finding]] = {}
    for f in findings:
        counts.setdefault((f.code, f.name), []).append(f)
    rows = sorted(counts.items(), key=lambda item: (-len(item[1]), item[0]))
    if as_json:
        return (
            json.dumps(
                [
                    {
                        "code": code,
                        "name": name,
                        "count": len(items),
                        "fixable": any(_marker(f, unsafe_fixes) for f in items),
                    }
                    for (code, name), items in rows
                ],
                indent=2,
            )
            + "\n"
        )
    width = max((len(str(len(v))) for _, v in rows), default=1)
    return "".join(
        f"{len(items):>{width}}\t{code}\t{'[*]' if any(_marker(f, unsafe_fixes) for f in items) else '[ ]'} {name}\n"
        for (code, name), items in rows
    )

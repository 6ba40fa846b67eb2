"""Findings and fixes as LSP types: ranges in the client's position encoding, evidence as related locations."""

from __future__ import annotations

import os
from pathlib import Path

from lsprotocol import types
from pygls.uris import from_fs_path
from pygls.workspace import PositionCodec

from ..diagnostics import Edit, FileError, Finding, Location, Note
from ..engine.suppressions import UNUSED_SUPPRESSION_CODE
from ..syntax.lines import python_lines

SOURCE = "fastinit-lint"
# The generated rule pages (`python -m fastinit_lint.docs`) of a source checkout or editable install.
_DOCS = Path(__file__).resolve().parents[2] / "docs" / "rules"


class Lines:
    """A document's text as the client counts lines, for converting our 1-based code-point columns."""

    def __init__(self, text: str, codec: PositionCodec) -> None:
        self.lines, self.codec = python_lines(text), codec

    def position(self, location: Location) -> types.Position:
        return self.codec.position_to_client_units(self.lines, types.Position(location.row - 1, location.column - 1))

    def range(self, start: Location, end: Location) -> types.Range:
        return types.Range(self.position(start), self.position(end))

    def text_edit(self, edit: Edit) -> types.TextEdit:
        return types.TextEdit(self.range(edit.location, edit.end_location), edit.content)


def docs_href(code: str) -> str | None:
    page = _DOCS / f"{code}.md"
    return page.as_uri() if page.is_file() else None


def diagnostic(finding: Finding, lines: Lines, root: str) -> types.Diagnostic:
    href = docs_href(finding.code)
    unused = finding.code == UNUSED_SUPPRESSION_CODE
    # The notes (evidence, why no fix) follow the message, one per line, as the CLI prints them under it.
    said = "\n".join([finding.message, *map(str, finding.all_notes())])
    return types.Diagnostic(
        range=lines.range(finding.location, finding.end_location),
        message=_relative(said, root),
        severity=types.DiagnosticSeverity.Hint if unused else types.DiagnosticSeverity.Warning,
        code=finding.code,
        code_description=types.CodeDescription(href=href) if href else None,
        source=SOURCE,
        related_information=[info for n in finding.notes if (info := related(n, root))] or None,
        tags=[types.DiagnosticTag.Unnecessary] if unused else None,
    )


def error_diagnostic(error: FileError, lines: Lines) -> types.Diagnostic:
    """A file the rules could not check (a syntax error while typing): said where, once."""
    at = lines.position(Location(error.row, error.column))
    return types.Diagnostic(
        range=types.Range(at, at), message=error.message, severity=types.DiagnosticSeverity.Error, source=SOURCE
    )


def related(note: Note, root: str) -> types.DiagnosticRelatedInformation | None:
    """A located note: its line in its file, with its message; None for a note that has no place."""
    if not note.filename or note.location is None:
        return None
    row = note.location.row - 1
    where = types.Location(
        from_fs_path(os.path.join(root, note.filename)), types.Range(types.Position(row, 0), types.Position(row + 1, 0))
    )
    return types.DiagnosticRelatedInformation(where, _relative(note.message, root))


def _relative(message: str, root: str) -> str:
    """File names relative to the project root, as the CLI run from there spells them."""
    return message.replace(root.rstrip(os.sep) + os.sep, "")

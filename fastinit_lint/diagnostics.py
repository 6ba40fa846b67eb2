"""Plain, picklable result records: they cross process boundaries and feed every reporter."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


@dataclass(frozen=True, order=True)
class Location:
    """1-based row and 1-based column, the convention ruff's JSON uses and editors expect."""

    row: int
    column: int


@dataclass(frozen=True)
class Edit:
    content: str
    location: Location
    end_location: Location


class Applicability(StrEnum):
    """Whether `--fix` applies a fix (SAFE) or only `--unsafe-fixes` does (ruff's applicability)."""

    SAFE = "safe"
    UNSAFE = "unsafe"


class FixAvailability(StrEnum):
    """Whether a rule's findings come with a fix (ruff's fix availability)."""

    ALWAYS = "always"
    SOMETIMES = "sometimes"
    NEVER = "never"


SAFE, UNSAFE = Applicability.SAFE, Applicability.UNSAFE


@dataclass(frozen=True)
class Fix:
    applicability: Applicability
    message: str  # the fix title, shown as `= help:`
    edits: tuple[Edit, ...] = ()


@dataclass(frozen=True)
class LineInsert:
    """A line a fix adds to another file of the project (FI001 calls `model.configure_model()` where a script
    builds the model itself): after row `after` of `filename` as read with `digest`. It is written with the
    fixed file, all or none, and never over a version of `filename` other than the one read."""

    filename: str
    after: int
    line: str  # without its line end
    digest: str


@dataclass(frozen=True)
class Note:
    """Evidence behind a finding (where the strategy is stated, the defaults a size used), shown as `= note:`
    lines, in JSON `notes`, as SARIF related locations and LSP related information. A located fact has its
    `filename` and `location`: the node's start in the checked file, or column 1 of the line of a fact
    another file states (phase 1 records those by line)."""

    message: str
    filename: str | None = None
    location: Location | None = None

    def __str__(self) -> str:
        return (
            f"{self.message} at {self.filename}:{self.location.row}"
            if self.filename and self.location
            else self.message
        )


@dataclass(frozen=True)
class Finding:
    code: str
    name: str
    message: str
    filename: str
    location: Location
    end_location: Location
    fix: Fix | None = None
    # Why a fix was withheld, so reporters can say so (once, as a note); None when a fix exists or none was ever
    # possible.
    no_fix_reason: str | None = None
    notes: tuple[Note, ...] = ()

    def sort_key(self) -> tuple:
        return (self.filename, self.location, self.code, self.message)

    def all_notes(self) -> tuple[Note, ...]:
        """The evidence notes, then why there is no fix (when one was withheld)."""
        withheld = (Note(f"no automatic fix: {self.no_fix_reason}"),) if self.no_fix_reason and self.fix is None else ()
        return (*self.notes, *withheld)


@dataclass(frozen=True)
class FileError:
    """A file we could not check; reported as one line, never as a traceback."""

    filename: str
    message: str
    row: int = 1
    column: int = 1

    def line(self) -> str:
        return f"{self.filename}:{self.row}:{self.column}: error: {self.message}"


@dataclass
class FileResult:
    """Everything one file contributes to a run."""

    filename: str
    findings: list[Finding] = field(default_factory=list)
    errors: list[FileError] = field(default_factory=list)
    fixed: list[Finding] = field(default_factory=list)  # findings whose fix was applied
    original: str | None = None  # source text, kept only when fixes changed it
    fixed_source: str | None = None
    encoding: str = "utf-8"  # how to write `fixed_source` back (utf-8-sig keeps a BOM)
    digest: str | None = None  # of the bytes the fix was computed from; writing refuses if the file changed
    elsewhere: list[LineInsert] = field(default_factory=list)  # lines the applied fixes add to other files
    # The findings on the text as read, while fixes are pending: reported instead when they cannot be written,
    # so rows point into the file on disk and nothing unwritten counts as fixed.
    before_fixes: list[Finding] | None = None

    def fixes_not_written(self) -> None:
        if self.before_fixes is not None:
            self.findings, self.fixed, self.fixed_source, self.before_fixes = self.before_fixes, [], None, None
            self.elsewhere = []


class SourceError(Exception):
    """A file that cannot be checked; carries the position for the `path:row:col: error:` line."""

    def __init__(self, message: str, row: int = 1, column: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.row = row
        self.column = column


def error_finding(error: FileError) -> Finding:
    """A file that could not be checked, as a diagnostic for machine formats: `invalid-syntax` for text that
    does not parse or decode (ruff's name), `io-error` for the rest (unreadable, too large, skipped)."""
    code = "invalid-syntax" if error.message.startswith(("syntax error", "cannot decode", "invalid")) else "io-error"
    where = Location(error.row, error.column)
    return Finding(code, code, error.message, error.filename, where, where)

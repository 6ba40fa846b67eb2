"""Plain, picklable result records: they cross process boundaries and feed every reporter."""

from __future__ import annotations

from dataclasses import dataclass, field


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


SAFE = "safe"
UNSAFE = "unsafe"


@dataclass(frozen=True)
class Fix:
    applicability: str  # SAFE or UNSAFE
    message: str
    edits: tuple[Edit, ...] = ()


@dataclass(frozen=True)
class Finding:
    code: str
    name: str
    message: str
    filename: str
    location: Location
    end_location: Location
    fix: Fix | None = None
    # Why a fix was withheld, so reporters can say so; None when a fix exists or none was ever possible.
    no_fix_reason: str | None = None

    def sort_key(self) -> tuple:
        return (self.filename, self.location, self.code, self.message)


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

"""Suppression comments: `# noqa[: FI001]`, `# fastinit: ignore[FI001]`, file-level `# fastinit: noqa[: ...]`.

Comments are found with a regex over the text first and confirmed with `tokenize` only when the regex
hits, so a `# noqa` inside a string never counts and files without any directive pay almost nothing.
`# noqa` is flake8/ruff-compatible (ruff's `lint.external = ["FI"]` keeps RUF100 quiet about ours).
"""

from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass, field


# FI900: reported by the engine itself from what the directives suppressed (fastinit_rules/unused_suppression.py
# holds its documentation and registers it like any rule).
UNUSED_SUPPRESSION_CODE, UNUSED_SUPPRESSION_NAME = "FI900", "unused-suppression"

# Every pattern here runs on text from the checkout, so none may backtrack super-linearly: no two adjacent
# quantifiers can match the same characters (`noqa: <spaces>!` once took time cubic in the spaces), and a
# finditer start cannot rescan the text after the next `#` (which is where the next start is).
_FILE_NOQA = re.compile(r"#\s*fastinit\s*:\s*noqa", re.IGNORECASE)
_FILE_NOQA_CODES = re.compile(r"\s*:(?P<codes>[\w\s,]+)")
_LINE_NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*))?", re.IGNORECASE)
_FILE_NOQA_WITH_CODES = re.compile(r"#\s*fastinit\s*:\s*noqa(?:\s*:(?P<codes>[\w\s,]+))?", re.IGNORECASE)
_LINE_IGNORE = re.compile(r"#\s*fastinit\s*:\s*ignore\[(?P<codes>[^\]#]*)\]", re.IGNORECASE)


def _codes(text: str | None) -> frozenset[str] | None:
    if text is None:
        return None
    return frozenset(code.strip().upper() for code in re.split(r"[\s,]+", text) if code.strip())


@dataclass
class Directive:
    row: int
    column: int
    end_column: int
    codes: frozenset[str] | None  # None = every code
    file_level: bool
    used: set[str] = field(default_factory=set)
    comment: str = ""  # the whole comment token the directive is in

    def covers(self, code: str) -> bool:
        return self.codes is None or code in self.codes

    def without(self, idle: set[str]) -> str | None:
        """The comment once the `idle` codes are gone ("" when nothing is left), or None when the comment holds
        more than this one directive (other text, another tool's directive after it): left to a human."""
        for pattern in (_FILE_NOQA_WITH_CODES, _LINE_IGNORE, _LINE_NOQA):
            match = pattern.fullmatch(self.comment.rstrip())
            if match is None:
                continue
            if self.codes is None:
                return ""
            written = [c.strip() for c in re.split(r"[\s,]+", match["codes"]) if c.strip()]
            kept = [c for c in written if c.upper() not in idle]
            if not kept:
                return ""
            start, end = match.span("codes")
            spaced = match["codes"][: len(match["codes"]) - len(match["codes"].lstrip())]
            return self.comment[:start] + spaced + ", ".join(kept) + self.comment[end:].rstrip()
        return None


def _comments(text: str) -> list[tuple[int, int, str]]:
    """(row, column, comment) for real comment tokens; tokenize only runs when the regex hit."""
    try:
        return [
            (tok.start[0], tok.start[1], tok.string)
            for tok in tokenize.generate_tokens(io.StringIO(text, newline=None).readline)  # rows as `ast` counts them
            if tok.type == tokenize.COMMENT
        ]
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return []


def may_have_directives(text: str) -> bool:
    """Cheap (no tokenize, no regex): whether the file could hold a suppression comment at all, i.e. a
    `noqa` or `fastinit` after a `#` on its line (a case-insensitive regex cost more: docs/performance.md).
    The last `#` and line break are looked for only since the previous hit, so a long line holding many
    `noqa` and no `#` costs its length, not its length times the hits."""
    lowered = text.lower()
    for needle in ("noqa", "fastinit"):
        last_hash = last_break = -1
        scanned = 0
        start = lowered.find(needle)
        while start != -1:
            last_hash = max(last_hash, lowered.rfind("#", scanned, start))
            last_break = max(last_break, lowered.rfind("\n", scanned, start))
            if last_hash > last_break:
                return True
            scanned = start
            start = lowered.find(needle, start + len(needle))
    return False


def _file_noqa(comment: str) -> tuple[bool, str | None]:
    """(is a file-level `# fastinit: noqa[: CODES]`, its codes text)."""
    match = _FILE_NOQA.match(comment)
    if match is None:
        return False, None
    rest = comment[match.end() :]
    if not rest.strip():
        return True, None
    codes = _FILE_NOQA_CODES.fullmatch(rest)
    return (True, codes["codes"]) if codes else (False, None)


def parse_directives(text: str) -> list[Directive]:
    if not may_have_directives(text):
        return []
    directives = []
    for row, column, comment in _comments(text):
        end = column + len(comment)
        file_level, codes = _file_noqa(comment)
        if file_level:
            directives.append(Directive(row, column, end, _codes(codes), True, comment=comment))
            continue
        for pattern in (_LINE_IGNORE, _LINE_NOQA):
            for match in pattern.finditer(comment):
                directives.append(Directive(row, column, end, _codes(match["codes"]), False, comment=comment))
    return directives


def comment_suppresses(comment: str, code: str) -> bool:
    """Whether a line comment (`# noqa: FI012`, `# fastinit: ignore[FI012]`, bare `# noqa`) silences `code`:
    for files we read without `tokenize` (YAML), where the caller finds the comment."""
    return any(
        codes is None or code in codes
        for pattern in (_LINE_IGNORE, _LINE_NOQA)
        for codes in (_codes(m["codes"]) for m in pattern.finditer(comment))
    )


class Suppressions:
    def __init__(self, text: str) -> None:
        self.directives = parse_directives(text)

    def suppressed(self, code: str, rows: tuple[int, ...]) -> bool:
        """Whether a finding of `code` on any of `rows` (its first and last line) is suppressed."""
        for directive in self.directives:
            if (directive.file_level or directive.row in rows) and directive.covers(code):
                directive.used.add(code)
                return True
        return False

    def unused(self, enabled: set[str]) -> list[tuple[Directive, str, set[str]]]:
        """Directives that name one of our enabled codes (or are ours) yet suppressed nothing, with those codes."""
        result: list[tuple[Directive, str, set[str]]] = []
        for directive in self.directives:
            if directive.codes is None:
                if not directive.used and directive.file_level:
                    result.append((directive, "`# fastinit: noqa` suppresses nothing in this file", set()))
                continue
            idle = sorted(code for code in directive.codes if code in enabled and code not in directive.used)
            if idle:
                result.append((directive, f"unused suppression for {', '.join(idle)}", set(idle)))
        return result

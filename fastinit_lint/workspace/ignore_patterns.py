"""Gitignore pattern semantics, used for `.gitignore` files and for `exclude`/`extend-exclude`.

Written here rather than depending on `pathspec` because the pre-commit hook installs only libcst, click
and pyyaml. Semantics follow `gitignore(5)`: last match wins, `!` re-includes, a trailing `/` matches
directories only, a `/` elsewhere anchors the pattern to the file's directory, `**` spans directories.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


class PatternError(ValueError):
    """A pattern that cannot be compiled, such as the reversed range `[z-a]`."""


@dataclass(frozen=True)
class Pattern:
    regex: re.Pattern
    negated: bool
    dir_only: bool


_STAR, _SEP = "*", "/"  # tokens; every other token is the regex of one character
_ANY_DIRS = "(?:[^/]*+/)*?"  # `**/`: whole components, fewest first


def _tokens(glob: str) -> list[str]:
    tokens = []
    i = 0
    while i < len(glob):
        char = glob[i]
        if char in (_STAR, _SEP):
            tokens.append(char)
        elif char == "?":
            tokens.append("[^/]")
        elif char == "[" and (end := glob.find("]", i + 2)) != -1:
            body = glob[i + 1 : end]
            if body.startswith("!"):
                body = "^" + body[1:]
            tokens.append("(?!/)[" + body.replace("\\", "\\\\") + "]")  # a class never matches `/`, as in git
            i = end
        elif char == "\\" and i + 1 < len(glob):
            i += 1
            tokens.append(re.escape(glob[i]))
        else:
            tokens.append(re.escape(char))
        i += 1
    return tokens


def _component(tokens: list[str]) -> str:
    """One path component (no `/`). `*` is `[^/]*`; each piece between two stars is matched at its first
    occurrence and never reconsidered (an atomic group), which finds a match whenever one exists and keeps
    `*a*a*a*b` linear instead of backtracking through every split of a long name."""
    pieces: list[str] = []
    piece: list[str] = []
    for token in tokens:
        if token == _STAR:
            pieces.append("".join(piece))
            piece = []
        else:
            piece.append(token)
    pieces.append("".join(piece))
    pieces = [pieces[0], *(p for p in pieces[1:-1] if p), pieces[-1]] if len(pieces) > 1 else pieces
    if len(pieces) == 1:
        return pieces[0]
    middle = "".join(f"(?>[^/]*?{p})" for p in pieces[1:-1])
    return pieces[0] + middle + ("[^/]*" + pieces[-1] if pieces[-1] else "[^/]*+")


def _translate_glob(glob: str, anchored: bool) -> str:
    """A gitignore glob as a regex without nested unbounded backtracking. A `**` segment matches any number
    of whole components; between two of them a run of components is matched at its first occurrence (atomic),
    which is where a match would be found if any exists, so `**/a/**/a/**/b` stays linear too."""
    segments: list[list[str] | None] = [] if anchored else [None]  # None = a `**` segment
    segment: list[str] = []
    for token in [*_tokens(glob), _SEP]:
        if token != _SEP:
            segment.append(token)
            continue
        if segment and all(t == _STAR for t in segment) and len(segment) > 1:
            if not segments or segments[-1] is not None:
                segments.append(None)
        else:
            segments.append(segment)
        segment = []
    if segments == [None]:
        return ".*"
    runs: list[list[str]] = [[]]
    for item in segments:
        if item is None:
            runs.append([])
        else:
            runs[-1].append(_component(item))
    out = []
    for number, run in enumerate(runs):
        if not run:
            continue
        body = "/".join(run)
        if number > 0:
            body = _ANY_DIRS + body
        if number < len(runs) - 1:
            out.append(f"(?>{body}/)")
        else:
            out.append(body)
    if segments[-1] is None:
        out.append(".*")
    return "".join(out)


def compile_pattern(line: str) -> Pattern | None:
    """One gitignore line -> Pattern, or None for blanks and comments."""
    line = line.rstrip("\n").rstrip("\r")
    stripped = line.rstrip(" ")
    if line.endswith("\\ "):
        stripped = line[:-2] + " "
    if not stripped or stripped.startswith("#"):
        return None
    negated = stripped.startswith("!")
    if negated:
        stripped = stripped[1:]
    if stripped.startswith("\\"):
        stripped = stripped[1:] if stripped[1:2] in ("#", "!") else stripped
    dir_only = stripped.endswith("/")
    stripped = stripped.rstrip("/")
    if not stripped:
        return None
    anchored = "/" in stripped
    stripped = stripped.lstrip("/")
    try:
        regex = re.compile("^" + _translate_glob(stripped, anchored) + "$", re.DOTALL)
    except re.error as exc:
        raise PatternError(f"invalid pattern {line.strip()!r}: {exc.msg}") from None
    return Pattern(regex, negated, dir_only)


class PatternSet:
    """Patterns that apply below one base directory (paths are relative to it, with `/` separators)."""

    def __init__(self, lines: list[str], errors: list[tuple[int, str]] | None = None) -> None:
        """Raises PatternError for a bad line, unless `errors` is given: then the line is skipped and
        (line number, message) appended, so one bad line of a `.gitignore` does not stop a run."""
        self.patterns = []
        for number, line in enumerate(lines, 1):
            try:
                pattern = compile_pattern(line)
            except PatternError as exc:
                if errors is None:
                    raise
                errors.append((number, str(exc)))
                continue
            if pattern is not None:
                self.patterns.append(pattern)
        # Without negations the verdict is "any pattern matches": one alternation per kind instead of a
        # `re.match` per pattern and path (discovery of the torch tree asked 41,000 of them).
        self._any: tuple[re.Pattern[str], ...] | None = None  # (files, directories)
        if not any(p.negated for p in self.patterns):
            self._any = tuple(
                re.compile(
                    "|".join(f"(?:{p.regex.pattern})" for p in self.patterns if p.dir_only in kinds) or "(?!)",
                    re.DOTALL,
                )
                for kinds in ((False,), (False, True))
            )

    def match(self, relpath: str, is_dir: bool) -> bool | None:
        """True = ignored, False = re-included by a negation, None = no pattern says anything."""
        if self._any is not None:
            return True if self._any[is_dir].match(relpath) else None
        verdict = None
        for pattern in self.patterns:
            if pattern.dir_only and not is_dir:
                continue
            if pattern.regex.match(relpath):
                verdict = not pattern.negated
        return verdict

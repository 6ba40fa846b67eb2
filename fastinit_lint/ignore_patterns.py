"""Gitignore pattern semantics, used for `.gitignore` files and for `exclude`/`extend-exclude`.

Written here rather than depending on `pathspec` because the pre-commit hook installs only libcst, click
and pyyaml. Semantics follow `gitignore(5)`: last match wins, `!` re-includes, a trailing `/` matches
directories only, a `/` elsewhere anchors the pattern to the file's directory, `**` spans directories.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Pattern:
    regex: re.Pattern
    negated: bool
    dir_only: bool


def _translate_glob(glob: str) -> str:
    out = []
    i = 0
    while i < len(glob):
        char = glob[i]
        if glob.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif glob.startswith("/**", i) and i + 3 == len(glob):
            out.append("/.*")
            i += 3
        elif glob.startswith("**", i):
            out.append(".*")
            i += 2
        elif char == "*":
            out.append("[^/]*")
            i += 1
        elif char == "?":
            out.append("[^/]")
            i += 1
        elif char == "[":
            end = glob.find("]", i + 2)
            if end == -1:
                out.append(re.escape(char))
                i += 1
            else:
                body = glob[i + 1 : end]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = end + 1
        elif char == "\\" and i + 1 < len(glob):
            out.append(re.escape(glob[i + 1]))
            i += 2
        else:
            out.append(re.escape(char))
            i += 1
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
    prefix = "" if anchored else "(?:.*/)?"
    regex = re.compile("^" + prefix + _translate_glob(stripped) + "$", re.DOTALL)
    return Pattern(regex, negated, dir_only)


class PatternSet:
    """Patterns that apply below one base directory (paths are relative to it, with `/` separators)."""

    def __init__(self, lines: list[str]) -> None:
        self.patterns = [p for p in map(compile_pattern, lines) if p is not None]
        # Without negations the verdict is "any pattern matches": one alternation per kind instead of a
        # `re.match` per pattern and path (discovery of the torch tree asked 41,000 of them).
        self._any: tuple[re.Pattern, re.Pattern] | None = None
        if not any(p.negated for p in self.patterns):
            self._any = tuple(re.compile("|".join(f"(?:{p.regex.pattern})" for p in self.patterns if p.dir_only in kinds)
                                         or "(?!)", re.DOTALL)
                              for kinds in ((False,), (False, True)))

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

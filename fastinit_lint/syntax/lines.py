"""Source lines as Python numbers them."""

from __future__ import annotations

import io


def python_lines(text: str, keepends: bool = True) -> list[str]:
    """Lines as Python numbers them: split at `\r\n`, `\r` and `\n` only. `str.splitlines` also splits at
    form feeds, `\x1c`-`\x1e`, `\x85` and `\u2028`/`\u2029`, which source may hold in comments and strings;
    every line after one would be off by one from `ast` and LibCST rows."""
    lines = text.splitlines(keepends=True)
    if len(lines) != text.count("\n") + (not text.endswith("\n") and bool(text)):
        lines = io.StringIO(text, newline="").readlines()  # the fast split is exact only for \n and \r\n breaks
    return lines if keepends else [line.rstrip("\r\n") for line in lines]

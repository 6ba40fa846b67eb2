"""Text from the linted checkout (file names, source lines, messages quoting them) made safe to print.

A control character or a byte that is not UTF-8 (kept by `os.fsdecode` as a lone surrogate) shows as a
Python-style escape, so a file name holding a newline cannot start a line of its own (a forged GitHub
workflow command, a fake finding, a terminal escape), and every report is valid UTF-8 and valid XML 1.0.
Tabs stay: they are printable, and source lines keep their alignment.
"""

from __future__ import annotations

import re

_UNPRINTABLE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")
_NAMED = {"\n": "\\n", "\r": "\\r"}


def _escape(match: re.Match) -> str:
    char = match.group()
    code = ord(char)
    if char in _NAMED:
        return _NAMED[char]
    if 0xDC80 <= code <= 0xDCFF:  # the byte os.fsdecode could not decode
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    return _UNPRINTABLE.sub(_escape, text)

"""Reading source files exactly, so that a fix can write back every untouched byte as it was."""

from __future__ import annotations

import hashlib
import io
import os
import re
import stat
import tokenize
from dataclasses import dataclass

from ..diagnostics import SourceError


_COOKIE = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)", re.MULTILINE)


@dataclass(frozen=True)
class Source:
    text: str
    encoding: str  # "utf-8-sig" when the file had a BOM, so encoding the text restores it
    digest: str

    def encode(self, text: str) -> bytes:
        return text.encode(self.encoding)


def digest_bytes(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _too_large(size: int, max_bytes: int) -> SourceError:
    return SourceError(f"file too large to check ({size / 1e6:.1f} MB > limit {max_bytes / 1e6:.1f} MB)")


def decode(data: bytes, max_bytes: int) -> Source:
    if len(data) > max_bytes:
        raise _too_large(len(data), max_bytes)
    if b"\0" in data:
        raise SourceError("binary file (contains NUL bytes), not Python source")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        if _COOKIE.search(b"\n".join(data.split(b"\n", 2)[:2])):
            raise SourceError(f"bad encoding declaration: {exc.msg}", exc.lineno or 1) from None
        encoding = "utf-8"  # no declaration: tokenize just met undecodable bytes; say where below
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        start = getattr(exc, "start", 0)
        row = data.count(b"\n", 0, start) + 1
        col = start - (data.rfind(b"\n", 0, start) + 1) + 1
        raise SourceError(
            f"cannot decode as {encoding}: {exc.reason if hasattr(exc, 'reason') else exc}", row, col
        ) from None
    return Source(text=text, encoding=encoding, digest=digest_bytes(data))


def read_bytes(path: str, max_bytes: int) -> bytes:
    """At most `max_bytes` + 1 bytes of a regular file. The checkout is untrusted: `x.py` may be a FIFO
    (opening one blocks, unless O_NONBLOCK), a symlink to /dev/zero (endless) or a sparse file of
    gigabytes, so the opened file is checked before anything is read."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise SourceError("no such file (or a broken symlink)") from None
    except PermissionError:
        raise SourceError("permission denied") from None
    except OSError as exc:
        raise SourceError(f"cannot read: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise SourceError("is a directory, not a file")
        if not stat.S_ISREG(info.st_mode):
            raise SourceError("not a regular file (a FIFO, socket or device); skipped")
        if info.st_size > max_bytes:
            raise _too_large(info.st_size, max_bytes)
        parts, left, size = [], max_bytes + 1, info.st_size + 1  # one read, unless it grows meanwhile
        while left > 0:
            part = os.read(fd, min(left, size))
            if not part:
                break
            parts.append(part)
            left, size = left - len(part), 1 << 20
        return b"".join(parts)  # over `max_bytes` if it grew past it: `decode` says so
    except OSError as exc:
        raise SourceError(f"cannot read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


def read_source(path: str, max_bytes: int) -> Source:
    return decode(read_bytes(path, max_bytes), max_bytes)

"""Writing fixed files so that a crash or a kill at any moment leaves either the old or the new file."""

from __future__ import annotations

import os
import stat
import tempfile

from .source import digest_bytes


class ChangedOnDisk(Exception):
    """The file changed after we read it; we refuse to overwrite someone else's edit."""


def write_atomic(path: str, data: bytes, expected_digest: str | None = None) -> None:
    target = os.path.realpath(path)  # write through symlinks, and keep the temp file on the target's filesystem
    directory = os.path.dirname(target)
    if expected_digest is not None:
        with open(path, "rb") as handle:
            if digest_bytes(handle.read()) != expected_digest:
                raise ChangedOnDisk(path)
    mode = stat.S_IMODE(os.stat(path).st_mode)
    fd, temp = tempfile.mkstemp(prefix=".fastinit-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, mode)
        os.replace(temp, target)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise

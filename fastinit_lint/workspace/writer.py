"""Writing fixed files so that a crash or a kill at any moment leaves either the old or the new file.

The new file takes the old one's owner, group and mode (or is not written), so a fix run as root neither
hands a user's file to root nor turns a setuid bit into setuid-root. Read-only files and files with hard
links are refused: replacing one would ignore the read-only bit or silently split the links.
"""

from __future__ import annotations

import os
import signal
import stat
import tempfile
import threading
from contextlib import contextmanager

from .source import digest_bytes


class WriteRefused(Exception):
    """A file we will not rewrite; the message says why in a few words."""


class ChangedOnDisk(WriteRefused):
    """The file changed after we read it; we refuse to overwrite someone else's edit."""

    def __init__(self) -> None:
        super().__init__("file changed on disk since it was checked")


def write_atomic(path: str, data: bytes, expected_digest: str | None = None) -> None:
    write_together([(path, data, expected_digest)])


def write_together(files: list[tuple[str, bytes, str | None]]) -> None:
    """Writes each (path, data, expected digest) so that a refusal or error leaves every file as it was: all
    are staged as temp files (written, owner and mode kept, fsynced) and checked unchanged on disk before the
    first is renamed into place. A fix that edits several files (FI001 and the scripts building its class) is
    then applied whole or not at all; only a failing rename between two others, on a filesystem that renamed
    the first, could split it."""
    staged: list[tuple[str, str, os.stat_result, str | None]] = []  # (temp, target, stat before, digest)
    with _sigterm_raises():
        try:
            for path, data, expected_digest in files:
                target = os.path.realpath(path)  # write through symlinks; the temp file on the target's filesystem
                before = os.stat(target)
                _refuse_unsafe(before)
                fd, temp = tempfile.mkstemp(prefix=".fastinit-", suffix=".tmp", dir=os.path.dirname(target))
                staged.append((temp, target, before, expected_digest))
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    _keep_owner(handle.fileno(), before)
                    os.fchmod(handle.fileno(), stat.S_IMODE(before.st_mode))  # after the chown, which clears setuid
                    os.fsync(handle.fileno())
            # Checked last, after the slow writes and fsyncs: an edit saved meanwhile must not be lost.
            for (path, _, _), (_, target, before, expected_digest) in zip(files, staged):
                if expected_digest is not None and not _unchanged(target, expected_digest, before):
                    raise (
                        ChangedOnDisk()
                        if path == files[0][0]
                        else WriteRefused(f"{path} changed on disk since it was read")
                    )
            for temp, target, _, _ in staged:
                os.replace(temp, target)
        except BaseException:
            for temp, *_ in staged:
                if os.path.exists(temp):
                    os.unlink(temp)
            raise


def _refuse_unsafe(info: os.stat_result) -> None:
    if not stat.S_ISREG(info.st_mode):
        raise WriteRefused("not a regular file")
    if not info.st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
        raise WriteRefused("read-only file")
    if info.st_nlink > 1:
        raise WriteRefused(f"file has {info.st_nlink} hard links (rewriting it would split them)")


def _keep_owner(fd: int, before: os.stat_result) -> None:
    created = os.fstat(fd)
    if (created.st_uid, created.st_gid) == (before.st_uid, before.st_gid):
        return  # the usual case; and filesystems without owners (FAT, some network mounts) refuse any chown
    try:
        os.fchown(fd, before.st_uid, before.st_gid)
    except PermissionError:
        raise WriteRefused(f"cannot keep its owner and group ({before.st_uid}:{before.st_gid})") from None


def _unchanged(target: str, expected_digest: str, before: os.stat_result) -> bool:
    now = os.stat(target)
    if (now.st_dev, now.st_ino) != (before.st_dev, before.st_ino):
        return False  # replaced by another file (an editor's own atomic save): our owner and mode are stale
    with open(target, "rb") as handle:
        return digest_bytes(handle.read()) == expected_digest


@contextmanager
def _sigterm_raises():
    """SIGTERM's default action ends the process at once, leaving the temp file behind; raised as SystemExit
    instead, it runs the cleanup above. Left alone if someone installed their own handler."""
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGTERM) != signal.SIG_DFL:
        yield
        return
    signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _exit_on_signal(signum: int, _frame) -> None:
    raise SystemExit(128 + signum)

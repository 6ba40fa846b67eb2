"""A persistent cache of phase-1 facts and phase-2 results, safe under concurrent runs and against the
checkout it lives in.

Keys are content-based: facts (and syntax errors) by (size, mtime_ns) with the content digest stored
alongside, results by content digest + index digest + settings fingerprint + tool and Python version. Unlike ruff's cache, files
with findings are cached too, so a warm run on a project full of findings is still near-instant.
Every write is temp file + rename, so two runs racing leave one complete cache; an unreadable,
corrupted or foreign file is ignored and rebuilt.

The cache is a pickle, and loading a pickle can run any code, while the checkout (a stranger's pull
request, in CI) can carry a `.fastinit_cache` of its own under the predictable file name. So a cache file
is an HMAC-SHA256 of its pickle followed by the pickle, keyed by a per-user secret kept outside every
checkout, and nothing of it is unpickled before the MAC verifies: a file this user's runs did not write is
ignored like a missing one. Cache directories that are symlinks or another user's are refused, so a
checkout cannot send our writes elsewhere.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import pickle
import re
import stat
import sys
import tempfile
import time

from .. import __version__
from ..syntax.gc_pause import gc_paused


_KEY_SIZE = 32
_MAC_SIZE = 32  # SHA-256
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # a FIFO planted under a cache name must not hang the open
_STALE_TEMP_SECONDS = 15 * 60  # a temp file this old belongs to no run still saving


def schema_digest(*roots: type) -> str:
    """A digest of the shape of what the cache pickles: the annotated fields, `__init__` and pickling hooks
    (`__getstate__`, `__setstate__`: what an instance keeps when pickled) of `roots` and, transitively, of the
    linter's classes their annotations name. The cache is keyed by it (and the version), so a change of shape
    rebuilds an older cache instead of unpickling it into classes that no longer match: nobody has to
    remember to bump a number."""
    shapes: dict[str, str] = {}
    pending = list(roots)
    while pending:
        cls = pending.pop()
        name = f"{cls.__module__}.{cls.__qualname__}"
        if name in shapes:
            continue
        fields = {key: str(value) for key, value in vars(cls).get("__annotations__", {}).items()}
        init = vars(cls).get("__init__")
        code = getattr(init, "__code__", None)
        if code is not None:  # attributes a plain class sets in `__init__` (STORE_ATTR names are in co_names)
            fields.update({f"__init__.{key}": str(value) for key, value in init.__annotations__.items()})
            fields["__init__"] = " ".join(sorted(code.co_names))
        for hook in ("__getstate__", "__setstate__"):
            if hook in vars(cls):
                fields[hook] = _code_shape(vars(cls)[hook].__code__)
        shapes[name] = repr(sorted(fields.items()))
        namespace = vars(sys.modules[cls.__module__])
        for annotation in fields.values():
            for word in re.findall(r"[A-Za-z_]\w*", annotation):
                value = namespace.get(word)
                if isinstance(value, type) and value.__module__.startswith("fastinit_lint."):
                    pending.append(value)
    return hashlib.blake2b(repr(sorted(shapes.items())).encode(), digest_size=8).hexdigest()


def _code_shape(code) -> str:
    """A function's bytecode, names and constants (nested functions' too), without its file and lines: a
    change of what it does, not of where it is."""
    return repr((code.co_code, code.co_names, [_constant_shape(c) for c in code.co_consts]))


def _constant_shape(constant) -> str:
    if hasattr(constant, "co_code"):
        return _code_shape(constant)
    if isinstance(constant, (frozenset, tuple)):  # a set's order follows the hash seed, which differs per run
        shapes = [_constant_shape(c) for c in constant]
        return repr(sorted(shapes) if isinstance(constant, frozenset) else shapes)
    return repr(constant)


class Cache:
    def __init__(self, root: str, namespace: str, enabled: bool = True, schema: str = "", layout: str = "") -> None:
        """`schema`: `schema_digest` of what the caller stores; a cache written under another is rebuilt.
        `layout`: what every file's facts depend on besides the file (module_identity's digest): a cache
        saved under another is not used, and is replaced by this run's."""
        self.magic = ("fastinit-lint-cache", __version__, schema)
        self.started_ns = time.time_ns()  # before any file is looked at: what entries verified now vouch for
        self.layout = layout
        # One cache per Python version (tox runs several on one checkout): what parses, and so every fact and
        # syntax error, follows the running interpreter's grammar.
        python = f"{sys.version_info.major}.{sys.version_info.minor}"
        key = hashlib.blake2b(f"{os.path.abspath(root)}|{namespace}|{python}".encode(), digest_size=10).hexdigest()
        self.top = os.path.join(root, ".fastinit_cache")
        self.directory = os.path.join(self.top, __version__)
        self.path = os.path.join(self.directory, f"{key}.pickle")
        self.facts: dict = {}
        self.results: dict = {}
        secret = _secret(root) if enabled and self._directories_usable() else None
        self.enabled = secret is not None
        self._secret = secret or b""  # read only when enabled
        if self.enabled:
            self._load()

    def _directories_usable(self) -> bool:
        for directory in (self.top, self.directory):
            reason = _refusal(directory)
            if reason is not None:
                print(f"warning: {directory} {reason}; running without the cache", file=sys.stderr)
                return False
        return True

    def _load(self) -> None:
        try:
            fd = os.open(self.path, os.O_RDONLY | _NOFOLLOW | _NONBLOCK)
            with open(fd, "rb") as handle:
                if not stat.S_ISREG(os.fstat(fd).st_mode):
                    return
                data = memoryview(handle.read())
        except OSError:
            return
        payload = data[_MAC_SIZE:]
        if not hmac.compare_digest(data[:_MAC_SIZE], hmac.digest(self._secret, payload, "sha256")):
            return  # not written by this user's runs: never unpickled
        try:
            with gc_paused():  # unpickling makes ~10^5 objects, none garbage
                magic, layout, facts, results = pickle.loads(payload)
        except Exception:  # noqa: BLE001 - ours but unreadable (another release's classes): rebuilt
            return
        if magic == self.magic and layout == self.layout and isinstance(facts, dict) and isinstance(results, dict):
            self.facts, self.results = facts, results

    def save(self, changed: bool = True) -> None:
        """Write the cache; `changed=False` (nothing re-indexed or re-checked) skips the write."""
        if not self.enabled or not changed:
            return
        try:
            os.makedirs(self.directory, exist_ok=True)
            if not self._directories_usable():
                return
            for name, content in (
                ("CACHEDIR.TAG", "Signature: 8a477f597d28d172789f06886806bc55\n"),
                (".gitignore", "*\n"),
            ):
                try:  # O_EXCL: an existing marker, or a symlink in its place, is left alone
                    fd = os.open(os.path.join(self.top, name), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
                except FileExistsError:
                    continue
                with os.fdopen(fd, "w") as handle:
                    handle.write(content)
            self._remove_stale_temps()
            payload = pickle.dumps(
                (self.magic, self.layout, self.facts, self.results), protocol=pickle.HIGHEST_PROTOCOL
            )
            fd, temp = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(hmac.digest(self._secret, payload, "sha256"))
                    handle.write(payload)
                os.replace(temp, self.path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temp)
                raise
        except OSError:
            pass  # a read-only checkout still lints; it just does not cache

    def _remove_stale_temps(self) -> None:
        """A run killed while saving leaves its temp file behind; only this directory's own `*.tmp` files go."""
        cutoff = time.time() - _STALE_TEMP_SECONDS
        with os.scandir(self.directory) as listing:
            for item in listing:
                if item.name.endswith(".tmp") and item.is_file(follow_symlinks=False):
                    info = item.stat(follow_symlinks=False)
                    if info.st_uid == os.geteuid() and info.st_mtime < cutoff:
                        with contextlib.suppress(OSError):
                            os.unlink(item.path)


def _refusal(directory: str) -> str | None:
    """Why an existing cache directory must not be used, or None: a checkout can hold a symlink there
    (our markers and cache files would land in its target) or a directory that is not ours."""
    try:
        info = os.lstat(directory)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"cannot be checked ({exc.strerror or exc})"
    if stat.S_ISLNK(info.st_mode):
        return "is a symbolic link"
    if not stat.S_ISDIR(info.st_mode):
        return "is not a directory"
    if info.st_uid != os.geteuid():
        return "belongs to another user"
    return None


def _secret(root: str) -> bytes | None:
    """This user's key for the cache's MACs, made on first use under `$XDG_CACHE_HOME/fastinit-lint/`;
    None (the run goes on without a cache) when there is no safe place for it."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):  # the XDG spec says to ignore a relative value
        base = os.path.join(os.path.expanduser("~"), ".cache")
    directory = os.path.join(base, "fastinit-lint")
    if not os.path.isabs(directory):  # no home directory
        return None
    project, keys = os.path.realpath(root), os.path.realpath(directory)
    if os.path.commonpath([project, keys]) == project:
        return None  # a home inside the checkout: it could hold a key of its own, or ours could be committed
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        info = os.lstat(directory)
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o022:
            return None  # someone else could swap the key
        path = os.path.join(directory, "key")
        return _read_key(path) or _new_key(path)
    except OSError:
        return None


def _read_key(path: str) -> bytes | None:
    """The key, or None when it is missing or not to be trusted: a symlink, not a regular file, another
    user's, readable by others, or the wrong size."""
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW | _NONBLOCK)
    except OSError:
        return None
    with open(fd, "rb") as handle:
        info = os.fstat(fd)
        key = handle.read(_KEY_SIZE + 1)
    trusted = stat.S_ISREG(info.st_mode) and info.st_uid == os.geteuid() and not info.st_mode & 0o077
    return key if trusted and len(key) == _KEY_SIZE else None


def _new_key(path: str) -> bytes | None:
    fd, temp = tempfile.mkstemp(dir=os.path.dirname(path))  # created 0600
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(os.urandom(_KEY_SIZE))
        if os.path.lexists(path):
            os.replace(temp, path)  # an untrusted key is replaced; caches made with it no longer verify
        else:
            os.link(temp, path)  # never replaces: when two first runs race, both use the winner's key
    except FileExistsError:
        pass
    finally:
        with contextlib.suppress(OSError):
            os.unlink(temp)
    return _read_key(path)

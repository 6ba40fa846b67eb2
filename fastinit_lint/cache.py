"""A persistent cache of phase-1 facts and phase-2 results, safe under concurrent runs.

Keys are content-based: facts by (size, mtime_ns) with the content digest stored alongside, results
by content digest + index digest + settings fingerprint + tool version. Unlike ruff's cache, files
with findings are cached too, so a warm run on a project full of findings is still near-instant.
Every write is temp file + rename, so two runs racing leave one complete cache; an unreadable,
corrupted or foreign file is ignored and rebuilt.
"""

from __future__ import annotations

import gc
import hashlib
import os
import pickle
import tempfile

from . import __version__

# The last number changes whenever cached facts or results would mean something else (2: phase-1 names
# tables became partial, facts gained statement lines, FI012 stopped reporting twice; 3: facts stored as
# blobs beside their file name; 4: source segments split lines as Python does, lone-CR positions, FI013's
# gate; 5: entries carry a facts summary for the lazy index; 6: facts hold the training graph's calls and
# model factories), so an older cache of the same version is rebuilt instead of trusted.
_MAGIC = ("fastinit-lint-cache", __version__, 6)


class Cache:
    def __init__(self, root: str, namespace: str, enabled: bool = True) -> None:
        self.enabled = enabled
        key = hashlib.blake2b(f"{os.path.abspath(root)}|{namespace}".encode(), digest_size=10).hexdigest()
        self.directory = os.path.join(root, ".fastinit_cache", __version__)
        self.path = os.path.join(self.directory, f"{key}.pickle")
        self.facts: dict = {}
        self.results: dict = {}
        if enabled:
            self._load()

    def _load(self) -> None:
        gc.disable()  # unpickling makes ~10^5 objects, none garbage: collections during it are pure cost
        try:
            with open(self.path, "rb") as handle:
                magic, facts, results = pickle.load(handle)
        except Exception:  # noqa: BLE001 - any unreadable cache is simply rebuilt
            return
        finally:
            gc.enable()
        if magic == _MAGIC and isinstance(facts, dict) and isinstance(results, dict):
            self.facts, self.results = facts, results

    def save(self, changed: bool = True) -> None:
        """Write the cache; `changed=False` (nothing re-indexed or re-checked) skips the write."""
        if not self.enabled or not changed:
            return
        try:
            os.makedirs(self.directory, exist_ok=True)
            top = os.path.dirname(self.directory)
            for name, content in (("CACHEDIR.TAG", "Signature: 8a477f597d28d172789f06886806bc55\n"), (".gitignore", "*\n")):
                marker = os.path.join(top, name)
                if not os.path.exists(marker):
                    with open(marker, "w") as handle:
                        handle.write(content)
            fd, temp = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
            with os.fdopen(fd, "wb") as handle:
                pickle.dump((_MAGIC, self.facts, self.results), handle, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(temp, self.path)
        except OSError:
            pass  # a read-only checkout still lints; it just does not cache

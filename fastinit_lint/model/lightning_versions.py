"""Which Lightning releases a project runs under, as far as it says: advice that needs a newer Lightning
(`precision="16-mixed"`, `configure_model`) is wrong for code that must also run on an older one, where the
legacy spelling is the only one that works.

A project says it in what installs it: requirement specifiers (`pytorch-lightning==1.8.6`, `lightning>=1.8`,
`lightning<2.0`) in `requirements*.txt` (and `requirements/*.txt`, for the directory above), `pyproject.toml`,
`setup.py`, `setup.cfg`, `environment*.yml`, Dockerfiles' `pip install` lines and shell scripts. A version the
script is given when it runs (`pip install "pytorch_lightning==$pl_ver"`, pytorch-lightning's legacy-checkpoint
script) admits any release. Each declaration pins the directory holding it and everything below, up to a
nearer one that names Lightning (a monorepo's `training/Dockerfile` pins `training/` alone). The code says it
too: a LightningModule defining a hook Lightning 2.0 removed and raises on (`training_epoch_end`) runs on 1.x.

The oldest release a declaration admits decides: `lightning>=1.8` claims 1.8 works, so advice needing 2.1
would break a supported install. With an upper bound alone (`lightning<2.0`), the newest release below it.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from typing import Iterable, Mapping

from ..diagnostics import Note
from ..knowledge.lightning import release_text
from .site import Site

_READ_LIMIT = 1_000_000
# A requirement naming Lightning and its version clauses: `pytorch-lightning==1.8.6`, `lightning[extra]>=2.0,<3`,
# conda's `pytorch-lightning=1.8.6`. Not `lightning-utilities`, `lightning.pytorch` or `lightning_fabric`.
_REQUIREMENT = re.compile(
    r"(?<![\w.-])(pytorch[-_]lightning|lightning)(?:\[[^\]]*\])?\s*"
    r"((?:===|==|>=|<=|~=|!=|<|>|=)\s*[^\s,;\"'#\\]+(?:\s*,\s*(?:==|>=|<=|~=|!=|<|>)\s*[^\s,;\"'#\\]+)*)"
)
_CLAUSE = re.compile(r"(===|==|>=|<=|~=|!=|<|>|=)\s*([^\s,]+)")
_RELEASE = re.compile(r"(\d+)(?:\.(\d+))?")
_FLOORS = ("===", "==", "=", ">=", "~=", ">")


def is_declaration(directory: str, name: str) -> bool:
    """Whether a file named `name` in `directory` can declare the project's dependencies."""
    if name.endswith(".txt"):
        return name.startswith("requirements") or os.path.basename(directory) == "requirements"
    return (
        name in ("pyproject.toml", "setup.py", "setup.cfg")
        or name.startswith("Dockerfile")
        or name.endswith((".dockerfile", ".sh"))
        or name.startswith("environment")
        and name.endswith((".yml", ".yaml"))
    )


@dataclass(frozen=True)
class Pin:
    """The oldest Lightning release a declaration (or the code) admits, with where it says so."""

    text: str  # as written: "`pytorch-lightning==1.8.6`"
    site: Site
    release: tuple[int, int]  # (major, minor); (0, 0) for a version given at run time
    below: bool = False  # `lightning<2.0`: only releases below `release`

    def older_than(self, release: tuple[int, int]) -> bool:
        return self.release < release or self.below and self.release <= release

    def note(self, needed: tuple[int, int]) -> Note:
        return self.site.note(f"{self.text}: the project runs Lightning releases older than {release_text(needed)}")


def _release(version: str) -> tuple[int, int] | None:
    if version.startswith("$"):  # chosen when the script runs: any release, the oldest too
        return (0, 0)
    match = _RELEASE.match(version)
    return (int(match[1]), int(match[2] or 0)) if match else None


def _row_of(path: str, key: str) -> int:
    """The line of a config file where `key` is set (1 when it cannot be read)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return next((row for row, line in enumerate(handle, 1) if line.lstrip().startswith(key)), 1)
    except OSError:
        return 1


def declared_pins(text: str, filename: str) -> list[Pin]:
    """The Lightning requirements stated in a declaration file's text."""
    pins = []
    for row, line in enumerate(text.splitlines(), 1):
        if "lightning" not in line or line.lstrip().startswith("#"):
            continue
        for requirement in _REQUIREMENT.finditer(line):
            clauses = [(op, _release(version)) for op, version in _CLAUSE.findall(requirement[2])]
            floors = [r for op, r in clauses if op in _FLOORS and r is not None]
            caps = [(r, op == "<") for op, r in clauses if op in ("<", "<=") and r is not None]
            shown = f"`{requirement[0].strip()}`"
            if floors:
                pins.append(Pin(shown, Site(filename, row), min(floors)))
            elif caps:
                release, below = min(caps)
                pins.append(Pin(shown, Site(filename, row), release, below))
    return pins


class LightningVersions:
    """The project's declared Lightning pins by the directory they apply to (absolute paths)."""

    def __init__(self, pins: Mapping[str, tuple[Pin, ...]] | None = None, stated: bool = False) -> None:
        self.pins = dict(pins or {})
        self.stated = stated  # by the config's `lightning-version`: the code's own evidence is not asked either

    @classmethod
    def of_project(
        cls, files: Iterable[tuple[str, str]], stated: tuple[int, int] | None, root: str, config_path: str | None
    ) -> LightningVersions:
        """The config's `lightning-version` for the whole project when it states one, else the declarations."""
        if stated is None or config_path is None:
            return cls.read(files)
        row = _row_of(config_path, "lightning-version")
        shown = f'`lightning-version = "{release_text(stated)}"`'
        shown_path = os.path.relpath(config_path)
        site = Site(config_path if shown_path.startswith("..") else shown_path, row)
        return cls({root: (Pin(shown, site, stated),)}, stated=True)

    @classmethod
    def read(cls, files: Iterable[tuple[str, str]]) -> LightningVersions:
        """From declaration files, as (display name, absolute path)."""
        found: dict[str, list[Pin]] = {}
        for path, display in sorted(dict((path, display) for display, path in files).items()):
            try:
                with open(path, encoding="utf-8", errors="replace") as handle:
                    text = handle.read(_READ_LIMIT)
            except OSError:
                continue
            pins = declared_pins(text, display) if "lightning" in text else []
            if pins:
                directory = os.path.dirname(path)
                if os.path.basename(directory) == "requirements":
                    directory = os.path.dirname(directory)
                found.setdefault(directory, []).extend(pins)
        return cls({directory: tuple(pins) for directory, pins in found.items()})

    def digest(self) -> str:
        """Part of every cached result's key: a changed pin changes what the rules say."""
        return hashlib.blake2b(repr(sorted(self.pins.items())).encode(), digest_size=8).hexdigest() if self.pins else ""

    def declaring_directory(self, path: str) -> str | None:
        """The nearest directory above `path` whose declarations pin Lightning."""
        directory = os.path.dirname(os.path.abspath(path))
        while True:
            if directory in self.pins:
                return directory
            parent = os.path.dirname(directory)
            if parent == directory:
                return None
            directory = parent

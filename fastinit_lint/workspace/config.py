"""Finding and validating `[tool.fastinit-lint]`.

Resolution is ruff's "closest config wins", chosen over Fixit's cascading merge: one file says everything
that applies, so `fastinit-lint --show-settings`-style questions have one answer and a stray parent
`pyproject.toml` cannot change a project's results. Unknown keys and bad values are errors, never ignored.
"""

from __future__ import annotations

import configparser
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from .ignore_patterns import PatternError, compile_pattern
from ..knowledge.lightning import KNOWN_STRATEGY_NAMES, strategy_from_name, Strategy

CONFIG_FILE = "fastinit-lint.toml"
CONFIG_FILES = (f".{CONFIG_FILE}", CONFIG_FILE)
CONFIG_NAMES = (*CONFIG_FILES, "pyproject.toml")  # in the order they win within one directory
TABLE = "fastinit-lint"
DEFAULT_MAX_FILE_BYTES = 20_000_000
ROOT_MARKERS = (".git", "pyproject.toml", ".hg")
MAX_FILE_SECONDS_LIMIT = 86_400  # the timer takes at most ~9e9 s; a bound over a day bounds nothing


class ConfigError(Exception):
    """Bad configuration: reported as one line and exit code 2."""


@dataclass(frozen=True)
class Settings:
    select: tuple[str, ...] = ("ALL",)
    ignore: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    exclude: tuple[str, ...] | None = None  # None = the default excludes
    extend_exclude: tuple[str, ...] = ()
    strategy: Strategy | None = None
    large_layer_threshold: int = 1_000_000
    create_then_cast_threshold: int = 100_000_000  # FI007: below it the extra copy costs milliseconds
    unknown_size: str = "large"
    unsafe_fixes: bool = False
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    max_file_seconds: int = 60
    max_file_memory_mb: int = 2048
    root: str = "."
    index_project: bool = True  # False when no project marker was found: only the given paths are indexed
    config_path: str | None = None
    line_length: int | None = None  # the project formatter's (ruff, black, flake8): lines fixes make are split to it
    nested_configs: bool = True  # directories with their own config get it; False under `--config FILE` (one for all)
    strategy_source: str = ""  # where `strategy` was set, for messages: "--strategy" or the config file
    # The oldest Lightning release the code must run on, as stated in the config: it overrides what the
    # project's declarations and code say (ruff's `target-version`).
    lightning_version: tuple[int, int] | None = None

    def fingerprint(self) -> str:
        """What a cached result depends on besides the file itself."""
        relevant = (
            self.select,
            self.ignore,
            self.extend_select,
            self.per_file_ignores,
            self.strategy,
            self.strategy_source,
            self.large_layer_threshold,
            self.create_then_cast_threshold,
            self.unknown_size,
            self.unsafe_fixes,
            self.line_length,
        )
        return repr(relevant)


def _str_list(key: str, value: object) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"`{key}` must be a list of strings, got {value!r}")
    return tuple(value)


def _glob(key: str, glob: str) -> str:
    try:
        compile_pattern(glob)
    except PatternError as exc:
        raise ConfigError(f"`{key}`: {exc}") from None
    return glob


def _globs(key: str, value: object) -> tuple[str, ...]:
    return tuple(_glob(key, glob) for glob in _str_list(key, value))


def _per_file_ignores(value: object) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if not isinstance(value, dict):
        raise ConfigError(f"`per-file-ignores` must be a table of glob = [codes], got {value!r}")
    return tuple(
        (_glob("per-file-ignores", glob), _str_list(f"per-file-ignores.{glob}", codes)) for glob, codes in value.items()
    )


def _strategy(value: object) -> Strategy:
    if not isinstance(value, str) or value not in KNOWN_STRATEGY_NAMES:
        known = ", ".join(sorted(KNOWN_STRATEGY_NAMES))
        raise ConfigError(f"`strategy` must be one of: {known}; got {value!r}")
    return strategy_from_name(value)


def _positive_int(key: str, value: object, limit: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"`{key}` must be a positive integer, got {value!r}")
    if limit is not None and value > limit:
        raise ConfigError(f"`{key}` must be at most {limit}, got {value!r}")
    return value


def _bool(key: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"`{key}` must be true or false, got {value!r}")
    return value


def _unknown_size(value: object) -> str:
    if value not in ("large", "small"):
        raise ConfigError(f'`unknown-size` must be "large" or "small", got {value!r}')
    return value


def _release(key: str, value) -> tuple[int, int]:
    if not isinstance(value, str) or not (match := re.fullmatch(r"(\d{1,3})\.(\d{1,3})", value)):
        raise ConfigError(f'`{key}` must be a Lightning release as "major.minor" ("2.1"), got {value!r}')
    return int(match[1]), int(match[2])


_PARSERS = {
    "select": lambda v: ("select", _str_list("select", v)),
    "ignore": lambda v: ("ignore", _str_list("ignore", v)),
    "extend-select": lambda v: ("extend_select", _str_list("extend-select", v)),
    "per-file-ignores": lambda v: ("per_file_ignores", _per_file_ignores(v)),
    "exclude": lambda v: ("exclude", _globs("exclude", v)),
    "extend-exclude": lambda v: ("extend_exclude", _globs("extend-exclude", v)),
    "strategy": lambda v: ("strategy", _strategy(v)),
    "large-layer-threshold": lambda v: ("large_layer_threshold", _positive_int("large-layer-threshold", v)),
    "create-then-cast-threshold": lambda v: (
        "create_then_cast_threshold",
        _positive_int("create-then-cast-threshold", v),
    ),
    "unknown-size": lambda v: ("unknown_size", _unknown_size(v)),
    "lightning-version": lambda v: ("lightning_version", _release("lightning-version", v)),
    "unsafe-fixes": lambda v: ("unsafe_fixes", _bool("unsafe-fixes", v)),
    "max-file-bytes": lambda v: ("max_file_bytes", _positive_int("max-file-bytes", v)),
    "max-file-seconds": lambda v: ("max_file_seconds", _positive_int("max-file-seconds", v, MAX_FILE_SECONDS_LIMIT)),
    "max-file-memory-mb": lambda v: ("max_file_memory_mb", _positive_int("max-file-memory-mb", v)),
}


def parse_table(table: dict, origin: str) -> dict:
    """Config keys -> Settings fields; `origin` names the file in every error."""
    values = {}
    for key, value in table.items():
        parser = _PARSERS.get(key)
        if parser is None:
            raise ConfigError(f"{origin}: unknown key `{key}` in [tool.{TABLE}] (known: {', '.join(_PARSERS)})")
        try:
            field_name, parsed = parser(value)
        except ConfigError as exc:
            raise ConfigError(f"{origin}: {exc}") from None
        values[field_name] = parsed
    return values


def _load_toml(path: Path) -> dict:
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: not UTF-8 (byte {exc.start})") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _table_in(path: Path) -> dict | None:
    """Our settings in `path`: the whole file for `fastinit-lint.toml` / `.fastinit-lint.toml`, else its
    `[tool.fastinit-lint]` table (None: none there)."""
    data = _load_toml(path)
    if path.name in CONFIG_FILES:
        return data
    tools = data.get("tool", {})
    if not isinstance(tools, dict):
        raise ConfigError(f"{path}: `tool` must be a table, got {tools!r}")
    table = tools.get(TABLE)
    if table is not None and not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.{TABLE}] must be a table")
    return table


def _given_table(path: Path) -> dict:
    """A `--config` file of any name: its `[tool.fastinit-lint]` table if it has one, else (unless it is a
    `pyproject.toml`) the whole file, in the headerless format, so that its unknown keys are errors."""
    table = _table_in(path)
    if table is None and path.name != "pyproject.toml":
        return _load_toml(path)
    return table or {}


def find_config(start: Path, upwards: bool = True) -> tuple[Path, dict] | None:
    """The closest `.fastinit-lint.toml`, `fastinit-lint.toml`, or `pyproject.toml` with our table (in that
    order within a directory, as ruff's `.ruff.toml`, `ruff.toml`, `pyproject.toml`), from `start` upwards
    (or in `start` alone)."""
    for directory in (start, *start.parents) if upwards else (start,):
        for name in CONFIG_NAMES:
            candidate = directory / name
            if candidate.is_file():
                table = _table_in(candidate)
                if table is not None:
                    return candidate, table
    return None


def find_root(start: Path) -> Path | None:
    """The closest directory holding a project marker, or None: then there is no project beyond the paths
    given, and indexing `start`'s whole tree for context (a home directory, `/tmp`) would be wrong and slow."""
    for directory in (start, *start.parents):
        if any((directory / marker).exists() for marker in ROOT_MARKERS):
            return directory
    return None


def search_start(path: str) -> Path:
    """Where the search for a path's config and project root starts: the path if it is a directory, else the
    directory holding it, as spelled. A symlink given is not followed there: a link in an untrusted checkout
    must not make the directory it points to the project (its config read, the cache written, files fixed)."""
    given = Path(os.path.abspath(path))
    return given if given.is_dir() and not given.is_symlink() else given.parent


def project_root(path: str) -> str:
    """The real path of the project holding `path`: its closest config's directory, else the closest
    ancestor holding a root marker (as `load_settings` finds it)."""
    start = search_start(path)
    found = find_config(start)
    return os.path.realpath(found[0].parent if found is not None else find_root(start) or start)


def formatter_line_length(start: Path) -> int | None:
    """The line length the project's formatter or linter is configured with, in the closest directory from
    `start` upwards that states one; None when none does. Another tool's file is not ours to judge: one that
    does not parse, or states no usable number, is passed over."""
    for directory in (start, *start.parents):
        for name, read, keys in _LINE_LENGTH_FILES:
            path = directory / name
            value = read(path, keys) if path.is_file() else None
            if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 10_000:
                return value
    return None


def _toml_value(path: Path, keys: tuple[str, ...]) -> object:
    try:
        value: object = _load_toml(path)
    except ConfigError:
        return None
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _ini_value(path: Path, keys: tuple[str, ...]) -> int | None:
    section, key = keys
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
        return int(parser.get(section, key, fallback="").strip() or 0) or None
    except (configparser.Error, ValueError, UnicodeDecodeError, OSError):
        return None


# Where formatters and linters state the line length, in the order each directory is asked: ruff's own files,
# then pyproject.toml's [tool.ruff] and [tool.black], then flake8's INI sections.
_LINE_LENGTH_FILES = (
    (".ruff.toml", _toml_value, ("line-length",)),
    ("ruff.toml", _toml_value, ("line-length",)),
    ("pyproject.toml", _toml_value, ("tool", "ruff", "line-length")),
    ("pyproject.toml", _toml_value, ("tool", "black", "line-length")),
    (".flake8", _ini_value, ("flake8", "max-line-length")),
    ("setup.cfg", _ini_value, ("flake8", "max-line-length")),
    ("tox.ini", _ini_value, ("flake8", "max-line-length")),
)


def load_settings(start: str, config_path: str | None = None, overrides: dict | None = None) -> Settings:
    """Settings for a run whose paths start at `start`; CLI `overrides` (field name -> value) win."""
    start_dir = search_start(start)
    values: dict = {}
    if config_path is not None:
        path = Path(config_path)
        if not path.is_file():
            raise ConfigError(f"{config_path}: config file not found")
        table = _given_table(path)
        values.update(parse_table(table, str(path)))
        root = find_root(start_dir)  # the project is where the paths are, not where the config file is
        values["config_path"] = str(path)
        values["nested_configs"] = False
    else:
        found = find_config(start_dir)
        if found is not None:
            path, table = found
            values.update(parse_table(table, str(path)))
            root = path.parent
            values["config_path"] = str(path)
        else:
            root = find_root(start_dir)
    values["index_project"] = root is not None
    values["line_length"] = formatter_line_length(Path(root or start_dir))
    values["root"] = os.path.realpath(root or start_dir)
    if "strategy" in values:
        values["strategy_source"] = f"config {values['config_path']}"
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    if "strategy" in overrides:
        overrides["strategy_source"] = "--strategy"
    values.update(overrides)
    return Settings(**values)

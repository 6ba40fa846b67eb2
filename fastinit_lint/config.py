"""Finding and validating `[tool.fastinit-lint]`.

Resolution is ruff's "closest config wins", chosen over Fixit's cascading merge: one file says everything
that applies, so `fastinit-lint --show-settings`-style questions have one answer and a stray parent
`pyproject.toml` cannot change a project's results. Unknown keys and bad values are errors, never ignored.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from .lightning_facts import KNOWN_STRATEGY_NAMES, strategy_from_name, Strategy

CONFIG_FILE = "fastinit-lint.toml"
TABLE = "fastinit-lint"
DEFAULT_MAX_FILE_BYTES = 20_000_000
ROOT_MARKERS = (".git", "pyproject.toml", ".hg")


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
    config_path: str | None = None
    strategy_source: str = ""  # where `strategy` was set, for messages: "--strategy" or the config file

    def fingerprint(self) -> str:
        """What a cached result depends on besides the file itself."""
        relevant = (self.select, self.ignore, self.extend_select, self.per_file_ignores, self.strategy, self.strategy_source,
                    self.large_layer_threshold, self.create_then_cast_threshold, self.unknown_size, self.unsafe_fixes)
        return repr(relevant)


def _str_list(key: str, value: object) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"`{key}` must be a list of strings, got {value!r}")
    return tuple(value)


def _per_file_ignores(value: object) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if not isinstance(value, dict):
        raise ConfigError(f"`per-file-ignores` must be a table of glob = [codes], got {value!r}")
    return tuple((glob, _str_list(f"per-file-ignores.{glob}", codes)) for glob, codes in value.items())


def _strategy(value: object) -> Strategy:
    if not isinstance(value, str) or value not in KNOWN_STRATEGY_NAMES:
        known = ", ".join(sorted(KNOWN_STRATEGY_NAMES))
        raise ConfigError(f"`strategy` must be one of: {known}; got {value!r}")
    return strategy_from_name(value)


def _positive_int(key: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"`{key}` must be a positive integer, got {value!r}")
    return value


def _bool(key: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"`{key}` must be true or false, got {value!r}")
    return value


def _unknown_size(value: object) -> str:
    if value not in ("large", "small"):
        raise ConfigError(f"`unknown-size` must be \"large\" or \"small\", got {value!r}")
    return value  # type: ignore[return-value]


_PARSERS = {
    "select": lambda v: ("select", _str_list("select", v)),
    "ignore": lambda v: ("ignore", _str_list("ignore", v)),
    "extend-select": lambda v: ("extend_select", _str_list("extend-select", v)),
    "per-file-ignores": lambda v: ("per_file_ignores", _per_file_ignores(v)),
    "exclude": lambda v: ("exclude", _str_list("exclude", v)),
    "extend-exclude": lambda v: ("extend_exclude", _str_list("extend-exclude", v)),
    "strategy": lambda v: ("strategy", _strategy(v)),
    "large-layer-threshold": lambda v: ("large_layer_threshold", _positive_int("large-layer-threshold", v)),
    "create-then-cast-threshold": lambda v: ("create_then_cast_threshold", _positive_int("create-then-cast-threshold", v)),
    "unknown-size": lambda v: ("unknown_size", _unknown_size(v)),
    "unsafe-fixes": lambda v: ("unsafe_fixes", _bool("unsafe-fixes", v)),
    "max-file-bytes": lambda v: ("max_file_bytes", _positive_int("max-file-bytes", v)),
    "max-file-seconds": lambda v: ("max_file_seconds", _positive_int("max-file-seconds", v)),
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
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _table_in(path: Path) -> dict | None:
    data = _load_toml(path)
    if path.name == CONFIG_FILE:
        return data
    table = data.get("tool", {}).get(TABLE)
    if table is not None and not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.{TABLE}] must be a table")
    return table


def find_config(start: Path) -> tuple[Path, dict] | None:
    """The closest `fastinit-lint.toml`, or `pyproject.toml` with our table, from `start` upwards."""
    for directory in (start, *start.parents):
        for name in (CONFIG_FILE, "pyproject.toml"):
            candidate = directory / name
            if candidate.is_file():
                table = _table_in(candidate)
                if table is not None:
                    return candidate, table
    return None


def find_root(start: Path) -> Path:
    for directory in (start, *start.parents):
        if any((directory / marker).exists() for marker in ROOT_MARKERS):
            return directory
    return start


def load_settings(start: str, config_path: str | None = None, overrides: dict | None = None) -> Settings:
    """Settings for a run whose paths start at `start`; CLI `overrides` (field name -> value) win."""
    start_dir = Path(start).resolve()
    if not start_dir.is_dir():
        start_dir = start_dir.parent
    values: dict = {}
    if config_path is not None:
        path = Path(config_path)
        if not path.is_file():
            raise ConfigError(f"{config_path}: config file not found")
        table = _table_in(path) or {}
        values.update(parse_table(table, str(path)))
        root = path.resolve().parent
        values["config_path"] = str(path)
    else:
        found = find_config(start_dir)
        if found is not None:
            path, table = found
            values.update(parse_table(table, str(path)))
            root = path.parent
            values["config_path"] = str(path)
        else:
            root = find_root(start_dir)
    values["root"] = os.fspath(root)
    if "strategy" in values:
        values["strategy_source"] = f"config {values['config_path']}"
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    if "strategy" in overrides:
        overrides["strategy_source"] = "--strategy"
    values.update(overrides)
    return Settings(**values)

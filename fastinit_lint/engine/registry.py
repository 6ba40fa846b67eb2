"""Which rules exist and which are enabled: ruff-style selectors (codes, prefixes, `ALL`)."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Iterable, Sequence

from ..workspace.config import ConfigError
from .rule import Rule


class Registry:
    def __init__(self, rules: Sequence[type[Rule]]) -> None:
        self.by_code: dict[str, type[Rule]] = {}
        by_name: dict[str, type[Rule]] = {}
        for rule in rules:
            for table, key in ((self.by_code, rule.code), (by_name, rule.name)):
                if key in table and table[key] is not rule:
                    raise ValueError(f"two rules claim {key!r}: {table[key].__name__} and {rule.__name__}")
                table[key] = rule
        self.by_name = by_name

    @classmethod
    def default(cls, extra: Iterable[type[Rule]] = ()) -> "Registry":
        import fastinit_rules

        rules: list[type[Rule]] = [*extra]
        for info in pkgutil.iter_modules(fastinit_rules.__path__):
            module = importlib.import_module(f"fastinit_rules.{info.name}")
            rules.extend(
                value
                for value in vars(module).values()
                if isinstance(value, type)
                and issubclass(value, Rule)
                and value.__module__ == module.__name__
                and hasattr(value, "code")  # not a base class such as `FlowRule`
            )
        return cls(rules)

    def all(self) -> list[type[Rule]]:
        return [self.by_code[code] for code in sorted(self.by_code)]

    def lookup(self, key: str) -> type[Rule] | None:
        return self.by_code.get(key.upper()) or self.by_name.get(key)

    def expand(self, selector: str) -> set[str]:
        """Codes a selector stands for: `ALL`, an exact code, a prefix (`FI0`) or a kebab name."""
        if selector == "ALL":
            return set(self.by_code)
        if selector in self.by_name:
            return {self.by_name[selector].code}
        codes = {code for code in self.by_code if code.startswith(selector.upper())}
        if not codes:
            raise ConfigError(f"unknown rule selector '{selector}' (see `fastinit-lint rules`)")
        return codes

    def enabled(self, select: Sequence[str], extend_select: Sequence[str], ignore: Sequence[str]) -> set[str]:
        codes: set[str] = set()
        for selector in (*select, *extend_select):
            codes |= self.expand(selector)
        for selector in ignore:
            codes -= self.expand(selector)
        return codes

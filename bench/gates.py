"""Which files phase 2 parses with LibCST, and for which rules: the gates decide most of a cold run's phase 2.

Usage: python bench/gates.py TREE   (a project root: its config and selection apply; nothing is written)

Prints one line per file a gate opens (size and the rules whose gates open it), then per rule the files and
bytes it opens and how many it opens alone.
"""

from __future__ import annotations

import os
import sys
from collections import Counter

from fastinit_lint.engine import pipeline
from fastinit_lint.engine.checker import gate
from fastinit_lint.engine.registry import Registry
from fastinit_lint.model.index import ProjectIndex
from fastinit_lint.workspace.config import load_settings


def main(root: str) -> None:
    settings = load_settings(os.path.abspath(root))
    registry = Registry.default()
    rules = [
        registry.by_code[code]
        for code in sorted(registry.enabled(settings.select, settings.extend_select, settings.ignore))
    ]
    store, _, lightning = pipeline.index_project(settings, rules, use_cache=False)
    index = ProjectIndex(store, settings.strategy, settings.strategy_source, lightning)
    files, size, alone = Counter(), Counter(), Counter()
    total = opened = 0
    for name in store:
        if not name.endswith(".py"):
            continue
        codes = [rule.code for rule in gate(rules, store.stored[name].markers, store[name], index, settings)]
        if not codes:
            continue
        bytes_ = os.path.getsize(name)
        opened, total = opened + 1, total + bytes_
        print(f"{os.path.relpath(name, root)} {bytes_:,} {' '.join(codes)}")
        files.update(codes)
        size.update({code: bytes_ for code in codes})
        alone.update(codes if len(codes) == 1 else ())
    print(f"\n{opened} files, {total:,} bytes through LibCST")
    for code in sorted(files):
        print(f"{code}: {files[code]} files, {size[code]:,} bytes, {alone[code]} alone")


if __name__ == "__main__":
    main(sys.argv[1])

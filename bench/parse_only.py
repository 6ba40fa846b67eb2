"""The least any linter that parses every file can do: start Python, find the `.py` files, read and
`ast.parse` them in one forked worker per CPU, report nothing.

`bench/engine.py` times it as a row beside fastinit-lint: the cold target is stated against the in-process
floor, which pays no interpreter start-up and no process pool, so this row shows how much of that budget
start-up and the pool take on the machine at hand before any fact is collected or rule run.

Usage: python bench/parse_only.py TREE
"""

from __future__ import annotations

import ast
import multiprocessing
import os
import sys
from concurrent.futures import ProcessPoolExecutor


def parse_all(paths: list[str]) -> int:
    for path in paths:
        with open(path, "rb") as handle:
            try:
                ast.parse(handle.read())
            except SyntaxError:
                pass
    return len(paths)


def main(tree: str) -> int:
    files = sorted(os.path.join(d, f) for d, _, names in os.walk(tree) for f in names if f.endswith(".py"))
    chunks = [files[i : i + 16] for i in range(0, len(files), 16)]
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(os.cpu_count() or 1, mp_context=context) as pool:
        return sum(pool.map(parse_all, chunks))


if __name__ == "__main__":
    print(main(sys.argv[1]))

"""What phase 1 (index facts + name map) adds on top of `ast.parse`, per file, in one process.

Usage: python bench/index_cost.py [TREE]   (default: the installed torch package)
Splits files into those that define no classes with bases (most of any tree) and the rest.
"""

from __future__ import annotations

import ast
import os
import sys
import time

from fastinit_lint.model.facts import python_facts


def main() -> None:
    tree = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(__import__("torch").__file__)
    paths = sorted(os.path.join(d, f) for d, _, names in os.walk(tree) for f in names if f.endswith(".py"))
    parse = {"plain": 0.0, "modules": 0.0}
    facts_time = {"plain": 0.0, "modules": 0.0}
    counts = {"plain": 0, "modules": 0}
    for path in paths:
        with open(path, encoding="utf-8", errors="replace") as handle:
            text = handle.read()
        start = time.perf_counter()
        try:
            parsed = ast.parse(text)
        except SyntaxError:
            continue
        middle = time.perf_counter()
        facts = python_facts(path, path, parsed, text)
        end = time.perf_counter()
        kind = "modules" if any(c.bases for c in facts.classes) else "plain"
        parse[kind] += middle - start
        facts_time[kind] += end - middle
        counts[kind] += 1
    print(f"tree: {tree}")
    print("| files | count | ast.parse s | + facts s | facts / parse |")
    print("|---|---:|---:|---:|---:|")
    for kind, label in (("plain", "no classes with bases"), ("modules", "define classes with bases")):
        print(
            f"| {label} | {counts[kind]} | {parse[kind]:.2f} | {facts_time[kind]:.2f} | "
            f"{facts_time[kind] / max(parse[kind], 1e-9):.1%} |"
        )


if __name__ == "__main__":
    main()

"""Engine throughput on a real tree: the `ast.parse` floor vs fastinit-lint cold/warm, in one run.

Usage: python bench/engine.py [TREE]   (default: the installed lightning package). Prints one table.
"""

from __future__ import annotations

import ast
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time


def _files(tree: str) -> list[str]:
    return [os.path.join(d, f) for d, _, names in os.walk(tree) for f in names if f.endswith(".py")]


def _floor(files: list[str]) -> float:
    start = time.perf_counter()
    for path in files:
        with open(path, "rb") as handle:
            try:
                ast.parse(handle.read())
            except SyntaxError:
                pass
    return time.perf_counter() - start


def _lint(tree: str, *args: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "fastinit_lint", "--exit-zero", "-q", "--output-format", "concise",
                    *args, tree], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def main() -> None:
    if len(sys.argv) > 1:
        source = sys.argv[1]
    else:
        import lightning
        source = os.path.dirname(lightning.__file__)
    work = tempfile.mkdtemp()
    tree = os.path.join(work, "tree")
    shutil.copytree(source, tree)
    with open(os.path.join(work, "pyproject.toml"), "w") as handle:
        handle.write("[tool.fastinit-lint]\n")
    files = _files(tree)
    floor = _floor(files)
    rows = [("ast.parse floor (1 process)", floor)]
    rows.append(("fastinit-lint cold --jobs 1", _lint(tree, "--no-cache", "--jobs", "1")))
    rows.append(("fastinit-lint cold (default jobs)", _lint(tree, "--no-cache")))
    _lint(tree)
    rows.append(("fastinit-lint warm (cache, nothing changed)", _lint(tree)))
    print(f"tree: {source} ({len(files)} files), {os.cpu_count()} CPUs")
    print(f"{'row':<46} {'wall s':>8} {'files/s':>9} {'x floor':>8}")
    for name, seconds in rows:
        print(f"{name:<46} {seconds:8.2f} {len(files) / seconds:9.0f} {seconds / floor:8.2f}")
    shutil.rmtree(work)


if __name__ == "__main__":
    main()

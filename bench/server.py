"""`fastinit-lint server` latency: from an edit (didChange) to the diagnostics of that version, per tree.

Usage:
    python bench/server.py [--trees torch,examples] [--edits 9]

`torch` is the installed package's sources (copied as `bench/engine.py` copies them), `examples` the bundled
project. For each tree: the time from `initialized` to the first diagnostics of an opened file (the project
indexed cold, writing the CLI's cache, then from that cache), and the median time from a didChange to
the diagnostics of that version, for each file of the tree's row (the debounce set to 0, so the numbers are
the engine's; an editor adds `--debounce`, 0.25 s by default). `examples` also measures the cross-file
case: a didChange of train.py's strategy until model.py's diagnostics change.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))

from engine import _tree  # noqa: E402 - bench/ is sys.path[0] when this script runs
from lsp_client import Client  # noqa: E402

FILES = {
    "torch": ["torch/nn/modules/linear.py", "torch/nn/modules/module.py", "torch/_tensor_docs.py"],
    "examples": ["src/mylm/model.py", "train.py"],
}


def _start(root: Path, *args: str) -> tuple[Client, float]:
    client = Client("--debounce", "0", *args, cwd=root)
    started = time.perf_counter()
    client.initialize(root)
    return client, started


def _first_diagnostics(root: Path, name: str, *args: str) -> float:
    client, started = _start(root, *args)
    try:
        client.diagnostics(client.open(root / name), version=1)
        return time.perf_counter() - started
    finally:
        client.close()


def _edits(client: Client, root: Path, name: str, count: int) -> list[float]:
    uri = client.open(root / name)
    client.diagnostics(uri, version=1)
    text, took = (root / name).read_text(), []
    for version in range(2, count + 2):
        started = time.perf_counter()
        client.change(uri, version, text + f"\n# edit {version}\n")
        client.diagnostics(uri, version=version)
        took.append(time.perf_counter() - started)
    return took


def _cross_file(client: Client, root: Path, count: int) -> list[float]:
    model = client.open(root / "src/mylm/model.py")
    client.diagnostics(model)
    train = client.open(root / "train.py")
    client.diagnostics(train)
    text, took = (root / "train.py").read_text(), []
    for version in range(2, count + 2):
        strategy = "ddp" if version % 2 == 0 else "fsdp"  # version 2 differs from the text opened
        started = time.perf_counter()
        client.change(train, version, text.replace('strategy="fsdp"', f'strategy="{strategy}"'))
        client.diagnostics(model)
        took.append(time.perf_counter() - started)
    return took


def _row(label: str, seconds: list[float]) -> None:
    print(
        f"| {label} | {statistics.median(seconds) * 1000:,.0f} ms | {min(seconds) * 1000:,.0f}-{max(seconds) * 1000:,.0f} ms |"
    )


def bench_tree(name: str, work: str, edits: int) -> None:
    if name == "examples":
        root = Path(work) / "examples"
        shutil.copytree(os.path.join(HERE, "..", "examples"), root)
    else:
        root = Path(_tree(name, work))
    files = FILES[name]
    count = sum(1 for _ in root.rglob("*.py"))
    print(f"\n### {name} ({count} .py files)\n\n| what | median | range |\n|---|---|---|")
    _row("first diagnostics after initialize, cold (writing the cache)", [_first_diagnostics(root, files[0])])
    _row("first diagnostics after initialize, warm cache", [_first_diagnostics(root, files[0])])
    client, _ = _start(root)
    try:
        for path in files:
            lines = (root / path).read_text().count("\n")
            _row(f"edit -> diagnostics, `{path}` ({lines:,} lines)", _edits(client, root, path, edits))
        if name == "examples":
            _row("edit of train.py's strategy -> model.py's diagnostics", _cross_file(client, root, edits))
    finally:
        client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trees", default="torch,examples")
    parser.add_argument("--edits", type=int, default=9)
    args = parser.parse_args()
    for name in args.trees.split(","):
        with tempfile.TemporaryDirectory() as work:
            bench_tree(name, work, args.edits)


if __name__ == "__main__":
    main()

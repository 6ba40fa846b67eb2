"""fastinit-lint against the `ast.parse` floor and the anchors (TorchFix, Fixit, ruff), one table per tree.

Usage:
    python bench/engine.py [--trees torch,lightning,generated,monorepo,/path/to/a/checkout] [--repeat 3]
                           [--anchors /path/to/venv] [--anchor-files 400]

A tree is `torch` or `lightning` (the installed packages' sources), `generated` (`bench/generate.py`'s 40
projects), `monorepo` (one Lightning monorepo with Hydra config groups, `generate_monorepo`), or the path of
a checkout (say, pytorch-lightning's repository: it has examples, tests and YAML configs), copied first.

The second row is the least any tool that parses every file can do from the command line
(`bench/parse_only.py`: interpreter start-up, a process pool, `ast.parse`, nothing else).
Every row of a tree is measured in the same run on the same copy of the tree. Wall time is the median of
`--repeat` runs; CPU time (user+sys, including worker processes) and peak RSS come from `/usr/bin/time`.
On a shared machine wall time follows the load; the last column compares CPU time per file with the floor's
(its own process time), which the load moves far less.
The anchors are slow (4-6 files/s on 2 cores), so they run on the first `--anchor-files` files of the tree
(sorted by path) and their files/s is what the ratios compare. Create the anchors' own environment with
`python -m venv /tmp/anchors && /tmp/anchors/bin/pip install torchfix fixit ruff` (TorchFix pins an old
LibCST, so it cannot share ours).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from parse_only import parse_all  # bench/ is sys.path[0] when this script runs

HERE = os.path.dirname(os.path.abspath(__file__))
LINT = [sys.executable, "-m", "fastinit_lint", "--exit-zero", "-q", "--output-format", "concise"]


def _sources(tree: str) -> list[str]:
    return sorted(os.path.join(d, f) for d, _, names in os.walk(tree) for f in names if f.endswith(".py"))


def _floor(files: list[str]) -> tuple[float, float]:
    """(wall s, CPU s) of reading and parsing every file in this process."""
    start, cpu = time.perf_counter(), time.process_time()
    parse_all(files)
    return time.perf_counter() - start, time.process_time() - cpu


# Bytecode caching on, as for any installed package: with PYTHONDONTWRITEBYTECODE set (some CI images set it)
# an editable install recompiles every module of the linter on every run (~60 ms here).
ENV = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}


def _timed(command: list[str], cwd: str) -> tuple[float, float, int]:
    """(wall s, cpu s, peak RSS bytes) of one run, via GNU time."""
    report = tempfile.mktemp()
    start = time.perf_counter()
    subprocess.run(
        ["/usr/bin/time", "-o", report, "-f", "%U %S %M", *command],
        cwd=cwd,
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    wall = time.perf_counter() - start
    with open(report) as handle:
        user, system, rss = handle.read().split()[-3:]
    os.unlink(report)
    return wall, float(user) + float(system), int(rss) * 1024


def _median(command, cwd, repeat, before=None):
    runs = []
    for _ in range(repeat):
        if before:
            before()
        runs.append(_timed(command, cwd))
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs), max(r[2] for r in runs)


def _subset(tree: str, count: int) -> str:
    target = tempfile.mkdtemp(prefix="anchor-subset-")
    for path in _sources(tree)[:count]:
        destination = os.path.join(target, os.path.relpath(path, tree))
        os.makedirs(os.path.dirname(destination), exist_ok=True)
        shutil.copy(path, destination)
    return target


def _tree(name: str, work: str) -> str:
    target = os.path.join(work, os.path.basename(name.rstrip("/")))
    if os.path.isdir(name):
        shutil.copytree(name, target, symlinks=True, ignore=shutil.ignore_patterns(".fastinit_cache"))
        return target
    if name in ("generated", "monorepo"):
        sys.path.insert(0, HERE)
        from generate import generate, generate_monorepo

        generate(target, 40) if name == "generated" else generate_monorepo(target)
    else:
        packages = {"torch": ["torch"], "lightning": ["lightning", "pytorch_lightning"]}[name]
        os.makedirs(target)
        for package in packages:
            module = __import__(package)
            shutil.copytree(
                os.path.dirname(module.__file__),
                os.path.join(target, package),
                ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.pyc", "lib", "include", "bin"),
            )
    with open(os.path.join(target, "pyproject.toml"), "w") as handle:
        handle.write("[tool.fastinit-lint]\n")
    return target


def _read(path: str) -> str:
    with open(path, encoding="utf-8", errors="replace") as handle:
        return handle.read()


def _configs(tree: str) -> list[str]:
    """The YAML files that configure a Trainer (a top-level `trainer:`), else every YAML file."""
    every = sorted(os.path.join(d, f) for d, _, names in os.walk(tree) for f in names if f.endswith((".yaml", ".yml")))
    return [path for path in every if _read(path).startswith("trainer:") or "\ntrainer:" in _read(path)] or every


def _toucher(path: str):
    def touch():
        with open(path, "a") as handle:
            handle.write("\n# touched\n")

    return touch


def bench_tree(name: str, work: str, repeat: int, anchors: str | None, anchor_files: int) -> None:
    tree = _tree(name, work)
    files = _sources(tree)
    n = len(files)
    floors = [_floor(files) for _ in range(repeat)]
    floor, floor_cpu = statistics.median(f[0] for f in floors), statistics.median(f[1] for f in floors)
    rows = [("ast.parse floor (read + parse, 1 process)", floor, floor_cpu, None, n)]

    def add(label, command, count=n, cwd=tree, before=None):
        wall, cpu, rss = _median(command, cwd, repeat, before)
        rows.append((label, wall, cpu, rss, count))

    add("ast.parse only, fresh process, default jobs", [sys.executable, os.path.join(HERE, "parse_only.py"), "."])
    add("fastinit-lint cold, --jobs 1", [*LINT, "--no-cache", "--jobs", "1", "."])
    add("fastinit-lint cold, default jobs", [*LINT, "--no-cache", "."])
    subprocess.run([*LINT, "."], cwd=tree, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    add("fastinit-lint warm (nothing changed)", [*LINT, "."])
    models = [path for path in files if "LightningModule)" in _read(path)]
    add(
        "fastinit-lint, one file touched" + (" (a LightningModule)" if models else ""),
        [*LINT, "."],
        before=_toucher((models or files)[len(models or files) // 2]),
    )
    configs = _configs(tree)
    if configs:
        add("fastinit-lint, one YAML config touched", [*LINT, "."], before=_toucher(configs[len(configs) // 2]))
    if name == "generated":
        copy = os.path.join(work, "generated-fix")

        def fresh():
            shutil.rmtree(copy, ignore_errors=True)
            shutil.copytree(tree, copy)

        add(
            "fastinit-lint --fix --unsafe-fixes (cold)",
            [*LINT, "--no-cache", "--fix", "--unsafe-fixes", "."],
            cwd=copy,
            before=fresh,
        )
    if anchors:
        subset = _subset(tree, anchor_files)
        count = len(_sources(subset))
        binary = os.path.join(anchors, "bin")
        add(f"fastinit-lint cold, default jobs (first {count} files)", [*LINT, "--no-cache", "."], count, subset)
        for label, command in (
            ("TorchFix", [os.path.join(binary, "torchfix"), "."]),
            ("Fixit (fixit lint)", [os.path.join(binary, "fixit"), "lint", "."]),
            ("ruff check", [os.path.join(binary, "ruff"), "check", "--no-cache", "--exit-zero", "."]),
        ):
            wall, cpu, rss = _timed(command, subset)  # once: minutes each
            rows.append((f"{label} (first {count} files)", wall, cpu, rss, count))
        shutil.rmtree(subset)
    yaml_files = sum(1 for _, _, names in os.walk(tree) for f in names if f.endswith((".yaml", ".yml")))
    print(f"\n### {name}: {n} Python files, {yaml_files} YAML files, {os.cpu_count()} CPUs\n")
    print("| row | wall s | CPU s | peak RSS MB | files/s | x floor (s/file) | CPU x floor CPU |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    per_file_floor, per_file_floor_cpu = floor / n, floor_cpu / n
    for label, wall, cpu, rss, count in rows:
        cpu_text = f"{cpu:.2f}" if cpu is not None else "-"
        rss_text = f"{rss / 2**20:.0f}" if rss is not None else "-"
        cpu_ratio = f"{cpu / count / per_file_floor_cpu:.2f}" if cpu is not None else "-"
        print(
            f"| {label} | {wall:.2f} | {cpu_text} | {rss_text} | {count / wall:.0f} | {wall / count / per_file_floor:.2f} "
            f"| {cpu_ratio} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trees", default="torch,lightning,generated")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--anchors", help="a virtualenv with torchfix, fixit and ruff installed")
    parser.add_argument("--anchor-files", type=int, default=400)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="fastinit-bench-")
    try:
        for name in args.trees.split(","):
            bench_tree(name, work, args.repeat, args.anchors, args.anchor_files)
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()

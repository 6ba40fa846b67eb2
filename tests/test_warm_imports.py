"""A warm run (nothing changed since the cached one) answers from the cache without importing LibCST, in its
own process or in a worker: its import alone costs more than the rest of such a run on a real repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The CLI in this process, saying so when it or a worker it forks (which inherits the audit hook) imports LibCST.
_WARM = (
    "import sys\n"
    "sys.addaudithook(lambda event, args: event == 'import' and args[0] == 'libcst' "
    "and print('libcst imported', flush=True))\n"
    "from fastinit_lint.cli import main\n"
    "try:\n    main(['--exit-zero', '-q', '.'])\nexcept SystemExit:\n    pass\n"
)


def _cold_then_warm(tmp_path, project: Path) -> tuple[subprocess.CompletedProcess, subprocess.CompletedProcess]:
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    runs = tuple(
        subprocess.run([sys.executable, "-c", _WARM], cwd=project, env=env, capture_output=True, text=True, timeout=300)
        for _ in range(2)
    )
    assert "libcst imported" in runs[0].stdout, runs[0].stderr  # the cold run checks with LibCST
    return runs


def test_a_warm_run_does_not_import_libcst(tmp_path):
    project = tmp_path / "project"
    shutil.copytree(ROOT / "examples", project)
    _, warm = _cold_then_warm(tmp_path, project)
    assert "libcst imported" not in warm.stdout, warm.stdout + warm.stderr


def test_a_file_that_does_not_parse_is_reported_from_the_cache(tmp_path):
    """Telling a syntax error from newer syntax asks LibCST's parser; the answer is cached with the file."""
    project = tmp_path / "project"
    shutil.copytree(ROOT / "examples", project)
    (project / "broken.py").write_text("def f(:\n    pass\n")
    cold, warm = _cold_then_warm(tmp_path, project)
    assert "broken.py:1:7: error: syntax error" in cold.stderr, cold.stderr
    assert warm.stderr == cold.stderr
    assert "libcst imported" not in warm.stdout, warm.stdout + warm.stderr

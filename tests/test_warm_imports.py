"""A warm run (nothing changed since the cached one) answers from the cache without importing LibCST: its
import alone costs more than the rest of such a run on a real repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The CLI in this process, then whether anything imported LibCST.
_WARM = ("import sys\nfrom fastinit_lint.cli import main\n"
         "try:\n    main(['--exit-zero', '-q', '.'])\nexcept SystemExit:\n    pass\n"
         "print('libcst imported' if 'libcst' in sys.modules else 'libcst not imported')\n")


def test_a_warm_run_does_not_import_libcst(tmp_path):
    project = tmp_path / "project"
    shutil.copytree(ROOT / "examples", project)
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    cold = subprocess.run([sys.executable, "-c", _WARM], cwd=project, env=env, capture_output=True, text=True,
                          timeout=300)
    assert cold.stdout.strip().endswith("libcst imported"), cold.stderr  # the cold run checks with LibCST
    warm = subprocess.run([sys.executable, "-c", _WARM], cwd=project, env=env, capture_output=True, text=True,
                          timeout=300)
    assert warm.stdout.strip().endswith("libcst not imported"), warm.stdout + warm.stderr

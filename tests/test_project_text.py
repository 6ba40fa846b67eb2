"""Fix-safety questions about the whole project (where a class is built, whether `fastinit_runtime` is imported)
read each project file once per run, however many checked files ask: once per checked file is quadratic."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

MODEL = """
    import lightning as L
    from torch import nn


    class Model{i}(L.LightningModule):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(50_000, 4096)
"""
TRAIN = """
    import lightning as L
    {imports}

    trainer = L.Trainer(strategy="fsdp")
    {fits}
"""
# The CLI with one worker, logging every opening of a project file, in this process or the worker (which
# inherits the audit hook); the log is written through a descriptor opened before the hook.
_LOGGED = """
import os, sys
log = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_APPEND)
project = os.getcwd() + os.sep
def hook(event, args):
    if event == "open" and isinstance(args[0], str) and args[0].endswith(".py"):
        path = os.path.abspath(args[0])
        if path.startswith(project):
            os.write(log, (os.path.relpath(path, project) + "\\n").encode())
sys.addaudithook(hook)
from fastinit_lint.cli import main
main(["--no-cache", "--jobs", "1", "--exit-zero", "--output-format", "concise", "--select", "FI001", "."])
"""


def test_each_project_file_is_read_once_per_run_for_fix_safety(tmp_path):
    project, models = tmp_path / "project", 4
    project.mkdir()
    (project / "pyproject.toml").write_text("[tool.fastinit-lint]\n")
    (project / "helpers.py").write_text("def seed():\n    return 0\n")  # read for the whole project's text only
    for i in range(models):
        (project / f"model{i}.py").write_text(textwrap.dedent(MODEL.format(i=i)))
    imports = "\n    ".join(f"from model{i} import Model{i}" for i in range(models))
    fits = "\n    ".join(f"trainer.fit(Model{i}())" for i in range(models))
    (project / "train.py").write_text(textwrap.dedent(TRAIN.format(imports=imports, fits=fits)))
    log = tmp_path / "opened.log"
    done = subprocess.run([sys.executable, "-c", _LOGGED, str(log)], cwd=project, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")})
    assert done.stdout.count("FI001 [*]") == models, done.stdout + done.stderr  # each offers its fix
    opened = log.read_text().split()
    # Phase 1 reads it, then phase 2 once for the project's text; no rule checks it.
    assert opened.count("helpers.py") == 2, sorted(opened)

"""How often a run reads each file: reading is a large part of a cold run, and a file read again is usually
parsed again too."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

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


def _opened(tmp_path, models: int, files: dict[str, str] | None = None) -> list[str]:
    """The project files a run opens, once per opening: `models` LightningModules trained with FSDP, each
    with an FI001 finding whose fix's safety depends on where the project builds it, and `files` (written after
    them: a model of its own replaces one)."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text("[tool.fastinit-lint]\n")
    (project / "helpers.py").write_text("def seed():\n    return 0\n")  # no rule checks it
    for i in range(models):
        (project / f"model{i}.py").write_text(textwrap.dedent(MODEL.format(i=i)))
    for name, text in (files or {}).items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(textwrap.dedent(text))
    imports = "\n    ".join(f"from model{i} import Model{i}" for i in range(models))
    fits = "\n    ".join(f"trainer.fit(Model{i}())" for i in range(models))
    (project / "train.py").write_text(textwrap.dedent(TRAIN.format(imports=imports, fits=fits)))
    log = tmp_path / "opened.log"
    done = subprocess.run(
        [sys.executable, "-c", _LOGGED, str(log)],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")},
    )
    assert done.stdout.count("FI001 [*]") == models, done.stdout + done.stderr  # each offers its fix
    return log.read_text().split()


def test_fix_safety_reads_each_project_file_once_per_run(tmp_path):
    """Where a class is built and whether `fastinit_runtime` is imported are asked of the whole project's text
    by every checked file with such a fix: once per checked file is quadratic."""
    opened = _opened(tmp_path, models=4)
    assert opened.count("helpers.py") == 2, sorted(opened)  # phase 1, then the project's text once


def test_a_checked_file_is_read_once_in_phase_two(tmp_path):
    """Phase 2 reads the file it checks, and its facts (made in a phase-1 worker) do not read it again."""
    opened = _opened(tmp_path, models=1)
    assert opened.count("model0.py") == 3, sorted(opened)  # phase 1, phase 2, the project's text


def test_what_other_files_bind_comes_with_their_facts(tmp_path):
    """Sizing `Model0` follows `pkg.Block` through the package's re-export to `pkg/layers.py`: their
    module-level names come from phase 1 (in the facts), not from reading and parsing them again."""
    layers = """
        from torch import nn


        class Block(nn.Module):
            def __init__(self):
                super().__init__()
                self.proj = nn.Linear(4096, 4096)
    """
    model = MODEL.replace("from torch import nn", "from torch import nn\n    import pkg").replace(
        "self.embed = nn.Embedding(50_000, 4096)", "self.blocks = nn.ModuleList([pkg.Block() for _ in range(8)])"
    )
    opened = _opened(
        tmp_path,
        models=1,
        files={
            "pkg/__init__.py": "from .layers import Block\n",
            "pkg/layers.py": layers,
            "model0.py": model.format(i=0),
        },
    )
    for name in ("pkg/__init__.py", "pkg/layers.py"):
        assert opened.count(name) == 2, sorted(opened)  # phase 1, the project's text

"""FI001's fix where the project builds the class itself: the fix adds `model.configure_model()` after each
such build, and the fixed project's own inference script and unit test run with real torch and Lightning;
the edit of several files is all or none, and a second run changes nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from conftest import run_installed

TASK = """
import lightning as L
import torch
from torch import nn


class GPT(L.LightningModule):
    def __init__(self, vocab: int = 2048, dim: int = 512):
        super().__init__()
        self.save_hyperparameters()
        self.embed = nn.Embedding(vocab, dim)
        self.head = nn.Linear(dim, vocab, bias=False)

    def forward(self, idx):
        return self.head(self.embed(idx))
"""
TRAIN = """
import lightning as L
from task import GPT

trainer = L.Trainer(strategy="fsdp")
trainer.fit(GPT())
"""
INFER = """
import sys

import torch
from task import GPT


def main(path):
    model = GPT(dim=512)
    model.load_state_dict(torch.load(path))
    print(model(torch.tensor([[1, 2, 3]])).argmax(-1).tolist())


if __name__ == "__main__":
    main(sys.argv[1])
"""
UNIT_TEST = """
import torch
from task import GPT


def test_logits_shape():
    model = GPT()
    assert model(torch.tensor([[1, 2, 3]])).shape == (1, 3, 2048)
"""
CONFIG = "[tool.fastinit-lint]\nlarge-layer-threshold = 500_000\n"


def _project(root: Path) -> Path:
    for name, text in (
        ("task.py", TASK),
        ("train.py", TRAIN),
        ("infer.py", INFER),
        ("tests/test_task.py", UNIT_TEST),
        ("pyproject.toml", CONFIG),
    ):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(textwrap.dedent(text).lstrip())
    return root


def _python(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([sys.executable, *args], cwd=root, env=env, capture_output=True, text=True, timeout=600)


def _sources(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*.py"))}


def test_the_fixed_projects_inference_script_and_unit_test_run(tmp_path):
    root = _project(tmp_path)
    # Weights saved from the original class (its layers built in `__init__`), as a trained checkpoint would be.
    assert (
        _python(
            root, "-c", "import torch, task; torch.manual_seed(0); torch.save(task.GPT().state_dict(), 'gpt.pt')"
        ).returncode
        == 0
    )
    expected = _python(root, "infer.py", "gpt.pt")
    assert expected.returncode == 0, expected.stderr

    found = json.loads(
        run_installed("--no-cache", "--select", "FI001", "--output-format", "json", ".", cwd=root).stdout
    )
    assert {f["fix"]["applicability"] for f in found} == {"safe"}, found
    done = run_installed("--no-cache", "--select", "FI001", "--fix", ".", cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    fixed = _sources(root)
    assert "def configure_model(self):" in fixed["task.py"]
    assert "    model = GPT(dim=512)\n    model.configure_model()\n    model.load_state_dict" in fixed["infer.py"]
    assert "    model = GPT()\n    model.configure_model()\n" in fixed["tests/test_task.py"]

    after = _python(root, "infer.py", "gpt.pt")  # without the added call: "Unexpected key(s) in state_dict"
    assert after.returncode == 0 and after.stdout == expected.stdout, after.stderr
    unit = _python(root, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_task.py")
    assert unit.returncode == 0, unit.stdout + unit.stderr  # without it: 'NoneType' object is not callable

    again = run_installed("--no-cache", "--select", "FI001", "--fix", ".", cwd=root)
    assert again.returncode == 0 and _sources(root) == fixed, again.stdout  # idempotent


def test_without_the_added_call_the_script_fails(tmp_path):
    """What the added line is for: the moved layers exist only once `configure_model()` has run."""
    root = _project(tmp_path)
    assert _python(root, "-c", "import torch, task; torch.save(task.GPT().state_dict(), 'gpt.pt')").returncode == 0
    run_installed("--no-cache", "--select", "FI001", "--fix", ".", cwd=root)
    infer = root / "infer.py"
    infer.write_text(infer.read_text().replace("    model.configure_model()\n", ""))
    failed = _python(root, "infer.py", "gpt.pt")
    assert failed.returncode != 0 and "Unexpected key(s) in state_dict" in failed.stderr


def test_the_edit_of_several_files_is_all_or_none(tmp_path):
    root = _project(tmp_path)
    before = _sources(root)
    (root / "infer.py").chmod(0o444)
    done = run_installed("--no-cache", "--select", "FI001", "--fix", ".", cwd=root)
    assert _sources(root) == before, "a file was written although another of the same fix could not be"
    assert done.returncode == 2 and "task.py" in done.stderr and "read-only file" in done.stderr, done.stderr
    assert "1 fixed" not in done.stdout  # nothing written counts as fixed


def test_diff_shows_the_line_added_to_the_script_and_writes_nothing(tmp_path):
    root = _project(tmp_path)
    before = _sources(root)
    done = run_installed("--no-cache", "--select", "FI001", "--diff", ".", cwd=root)
    assert done.returncode == 1 and _sources(root) == before
    assert "--- a/infer.py\n+++ b/infer.py\n" in done.stdout and "+    model.configure_model()\n" in done.stdout, (
        done.stdout
    )
    assert "--- a/task.py\n" in done.stdout

"""Lightning pins read from what a project declares (model/lightning_versions)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from fastinit_lint.model.lightning_versions import LightningVersions, declared_pins, is_declaration


@pytest.mark.parametrize(
    "line, release, below",
    [
        ("pytorch-lightning==1.8.6", (1, 8), False),
        ("RUN pip install pytorch-lightning==1.8.6 hydra-core==1.3.1", (1, 8), False),
        ('  "lightning[extra]>=2.0,<3",', (2, 0), False),
        ("    - pytorch-lightning=1.9.5", (1, 9), False),  # conda
        ("lightning<2.0", (2, 0), True),
        ("lightning<=2.5", (2, 5), False),
        ("lightning~=1.9.0", (1, 9), False),
        ('  uv pip install "pytorch_lightning==$pl_ver" \\', (0, 0), False),  # given when the script runs
    ],
)
def test_declared_pins(line, release, below):
    [pin] = declared_pins(line, "requirements.txt")
    assert (pin.release, pin.below) == (release, below)


@pytest.mark.parametrize(
    "line",
    [
        "lightning-utilities>=0.8",
        "lightning",
        "import lightning.pytorch as pl",
        "# pytorch-lightning==1.8.6",
        "lightning_fabric==1.9",
        "torch==1.13",
    ],
)
def test_not_pins(line):
    assert declared_pins(line, "requirements.txt") == []


def test_older_than():
    [pin] = declared_pins("lightning<2.0", "r.txt")
    assert pin.older_than((2, 0)) and pin.older_than((2, 1))
    [pin] = declared_pins("lightning>=2.0", "r.txt")
    assert not pin.older_than((2, 0)) and pin.older_than((2, 1))


def test_the_nearest_declaring_directory_decides(tmp_path):
    (tmp_path / "requirements").mkdir()
    (tmp_path / "requirements" / "base.txt").write_text("lightning>=2.1\n")
    (tmp_path / "training").mkdir()
    (tmp_path / "training" / "Dockerfile").write_text("RUN pip install pytorch-lightning==1.8.6\n")
    (tmp_path / "training" / "requirements.txt").write_text("numpy\n")  # names no Lightning: not a pin
    files = [(str(p.relative_to(tmp_path)), str(p)) for p in tmp_path.rglob("*") if p.is_file()]
    assert all(
        is_declaration(str(tmp_path / d), n) for d, n in (("requirements", "base.txt"), ("training", "Dockerfile"))
    )
    versions = LightningVersions.read(files)
    assert versions.declaring_directory(str(tmp_path / "training" / "src" / "train.py")) == str(tmp_path / "training")
    assert versions.declaring_directory(str(tmp_path / "src" / "model.py")) == str(tmp_path)
    assert versions.declaring_directory("/elsewhere/x.py") is None


_TRAIN = "import lightning as L\n\ntrainer = L.Trainer(precision=16)\n"


def _lint(root) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "fastinit_lint", "--no-cache", "--output-format", "concise", "--select", "FI012", "."],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("stated, reported", [(None, False), ('"2.0"', True), ('"1.9"', False)])
def test_the_config_states_the_oldest_release(tmp_path, stated, reported):
    """`lightning-version` overrides the declarations (ruff's `target-version`): `lightning>=1.8` silences FI012
    until the config says the code needs 2.0 anyway."""
    (tmp_path / "requirements.txt").write_text("lightning>=1.8\n")
    (tmp_path / "train.py").write_text(_TRAIN)
    (tmp_path / "pyproject.toml").write_text(
        '[tool.fastinit-lint]\nselect = ["ALL"]\n' + (f"lightning-version = {stated}\n" if stated else "")
    )
    done = _lint(tmp_path)
    assert ("FI012" in done.stdout) == reported, done.stdout + done.stderr
    assert done.returncode == (1 if reported else 0) and "Traceback" not in done.stderr


def test_a_stated_release_below_the_flags_silences_code_that_declares_nothing(tmp_path):
    (tmp_path / "train.py").write_text(_TRAIN)
    (tmp_path / "pyproject.toml").write_text("[tool.fastinit-lint]\n")
    assert "FI012" in _lint(tmp_path).stdout
    (tmp_path / "pyproject.toml").write_text('[tool.fastinit-lint]\nlightning-version = "1.9"\n')
    done = _lint(tmp_path)
    assert done.returncode == 0 and "FI012" not in done.stdout, done.stdout


@pytest.mark.parametrize("value", ['"2"', "2.1", '"latest"'])
def test_a_bad_stated_release_is_a_config_error(tmp_path, value):
    (tmp_path / "train.py").write_text(_TRAIN)
    (tmp_path / "pyproject.toml").write_text(f"[tool.fastinit-lint]\nlightning-version = {value}\n")
    done = _lint(tmp_path)
    assert done.returncode == 2 and "lightning-version" in done.stderr and "pyproject.toml" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_changing_the_stated_release_is_seen_by_a_cached_run(tmp_path):
    """Results are cached under the project digest, which holds the stated release: a warm run after the
    config changes says what a cold run would."""
    (tmp_path / "train.py").write_text(_TRAIN)
    for stated, reported in (('"1.9"', False), ('"2.0"', True), ('"1.9"', False)):
        (tmp_path / "pyproject.toml").write_text(f"[tool.fastinit-lint]\nlightning-version = {stated}\n")
        done = subprocess.run(
            [sys.executable, "-m", "fastinit_lint", "--output-format", "concise", "--select", "FI012", "."],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert ("FI012" in done.stdout) == reported, (stated, done.stdout, done.stderr)

"""FI001's fix, proven at run time: same parameters, same ties, idempotent hook, real Trainer runs."""

from __future__ import annotations

import ast
import importlib.util
import shutil
import sys
import warnings
from pathlib import Path

from conftest import QUIET_CPU_TRAINER
import pytest
import torch
from click.testing import CliRunner

from fastinit_lint.cli import main

FIXTURES = Path(__file__).parent / "fixtures" / "fi001"
CASES = {
    "gpt.py": ("GPT", lambda: torch.randint(0, 64, (8, 6)), lambda: torch.randint(0, 64, (8,)), "safe"),
    "encoder.py": ("Encoder", lambda: torch.randn(8, 6, 32), lambda: torch.randint(0, 5, (8,)), "safe"),
    "vit.py": ("ViT", lambda: torch.randn(8, 3, 8, 8), lambda: torch.randint(0, 3, (8,)), "unsafe"),
    "existing.py": ("WithHook", lambda: torch.randn(8, 8), lambda: torch.randint(0, 4, (8,)), "unsafe"),
    "blocks.py": ("Stack", lambda: torch.randint(0, 64, (8, 6)), lambda: torch.randint(0, 3, (8,)), "safe"),
}


def _import(path: Path, name: str):
    sys.path.insert(0, str(path.parent))
    try:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(path.parent))


def _layout(model: torch.nn.Module):
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    groups: dict[int, list[str]] = {}
    for name, param in model.named_parameters(remove_duplicate=False):
        groups.setdefault(id(param), []).append(name)
    return shapes, sorted(sorted(g) for g in groups.values())


def _cli(root: Path, *args: str):
    import os

    cwd = os.getcwd()
    os.chdir(root)
    try:
        return CliRunner().invoke(main, list(args), catch_exceptions=False)
    finally:
        os.chdir(cwd)


@pytest.fixture
def fixed_project(tmp_path, request):
    filename = request.param
    shutil.copy(FIXTURES / filename, tmp_path / filename)
    shutil.copy(FIXTURES / "fi001_steps.py", tmp_path / "fi001_steps.py")
    (tmp_path / "pyproject.toml").write_text('[tool.fastinit-lint]\nstrategy = "fsdp"\nlarge-layer-threshold = 500\n')
    return tmp_path, filename


@pytest.mark.parametrize("fixed_project", list(CASES), indirect=True)
def test_fix_preserves_parameters_ties_and_training(fixed_project):
    root, filename = fixed_project
    class_name, make_x, make_y, safety = CASES[filename]
    original_path = root / filename
    original_source = original_path.read_text()

    check = _cli(root, "--select", "FI001", "--output-format", "json", filename)
    import json

    findings = json.loads(check.stdout)
    assert findings and {f["fix"]["applicability"] for f in findings} == {safety}

    fix_args = ["--select", "FI001", "--fix"] + (["--unsafe-fixes"] if safety == "unsafe" else [])
    assert _cli(root, *fix_args, filename).exit_code == 0
    fixed_source = original_path.read_text()
    assert fixed_source != original_source
    ast.parse(fixed_source)
    assert _cli(root, *fix_args, filename).exit_code == 0
    assert original_path.read_text() == fixed_source  # idempotent
    assert _cli(root, "--select", "FI001", filename).exit_code == 0

    (root / "original.py").write_text(original_source)
    before = getattr(_import(root / "original.py", f"orig_{class_name}"), class_name)
    after = getattr(_import(original_path, f"fixed_{class_name}"), class_name)
    with torch.device("meta"):
        reference = before()
        model = after()
        model.configure_model()
    assert _layout(model) == _layout(reference)
    params = [id(p) for p in model.parameters()]
    model.configure_model()
    assert [id(p) for p in model.parameters()] == params

    import lightning
    import pytorch_lightning
    from torch.utils.data import DataLoader, TensorDataset

    torch.manual_seed(0)
    data = DataLoader(TensorDataset(make_x(), make_y()), batch_size=4)
    model = after()
    namespace = pytorch_lightning if isinstance(model, pytorch_lightning.LightningModule) else lightning
    trainer = namespace.Trainer(max_steps=2, **QUIET_CPU_TRAINER)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer.fit(model, train_dataloaders=data)
        trained = {k: v.clone() for k, v in model.state_dict().items()}
        trainer.validate(model, dataloaders=data, verbose=False)
        trainer.test(model, dataloaders=data, verbose=False)
    assert all(torch.equal(trained[k], v) for k, v in model.state_dict().items())
    assert _layout(model) == _layout(reference)

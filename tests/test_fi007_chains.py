"""FI007's fix on a cast inside a chain of mode calls, run: the fixed code builds a model in the same state."""

from __future__ import annotations

import importlib.util
import sys
import textwrap

import torch

from fastinit_lint.engine.testing import lint_snippet
from fastinit_rules.create_then_cast import CreateThenCast

MODEL = """
from torch import nn

class Net(nn.Module):
    def __init__(self, width=512):
        super().__init__()
        self.proj = nn.Linear(width, width)
        self.norm = nn.LayerNorm(width)
"""
SCRIPT = textwrap.dedent("""
    import torch
    from model import Net

    def build():
        model = Net().to(torch.bfloat16).eval().requires_grad_(False)
        return model

    def build_separately():
        model = Net()
        model = model.train(False).to(dtype=torch.bfloat16)
        return model
""").lstrip()


def _load(tmp_path, name: str, source: str):
    path = tmp_path / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(tmp_path))
    try:
        spec.loader.exec_module(module)
        return module.build(), module.build_separately()
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("model", None)


def _state(model) -> list:
    return [
        model.training,
        *((n, p.dtype, p.device, p.requires_grad) for n, p in model.named_parameters()),
        *(m.training for m in model.modules()),
    ]


def test_fixed_chain_builds_the_same_model(tmp_path):
    settings = {"create-then-cast-threshold": 1000}
    found = lint_snippet(CreateThenCast, SCRIPT, {"model.py": MODEL}, settings).findings
    assert [f.location.row for f in found] == [5, 9] and all(f.fix for f in found)
    fixed = lint_snippet(CreateThenCast, SCRIPT, {"model.py": MODEL}, settings, fix=True, unsafe=True).fixed_source
    assert ".to(" not in fixed and ".eval()" in fixed and "model = model.train(False)" in fixed
    (tmp_path / "model.py").write_text(MODEL)
    original, fixed_models = _load(tmp_path, "original", SCRIPT), _load(tmp_path, "fixed", fixed)
    for before, after in zip(original, fixed_models):
        assert _state(before) == _state(after)
        assert after.proj.weight.dtype == torch.bfloat16 and not after.training
    assert torch.get_default_dtype() == torch.float32


MOVE = textwrap.dedent("""
    from model import Net

    def build():
        return None

    def build_separately():
        model = Net()
        model = model.to("meta").eval()
        return model
""").lstrip()


def test_a_move_is_built_under_torch_device_without_the_runtime_library(tmp_path):
    """A move alone needs no new dependency: torch's device context builds the same model, and the fix is safe."""
    settings = {"create-then-cast-threshold": 1000}
    found = lint_snippet(CreateThenCast, MOVE, {"model.py": MODEL}, settings).findings
    assert [f.fix.applicability for f in found] == ["safe"]
    fixed = lint_snippet(CreateThenCast, MOVE, {"model.py": MODEL}, settings, fix=True).fixed_source
    assert 'with torch.device("meta"):' in fixed and "fastinit_runtime" not in fixed and "import torch" in fixed
    (tmp_path / "model.py").write_text(MODEL)
    (_, before), (_, after) = _load(tmp_path, "original", MOVE), _load(tmp_path, "fixed", fixed)
    assert _state(before) == _state(after) and after.proj.weight.device.type == "meta"

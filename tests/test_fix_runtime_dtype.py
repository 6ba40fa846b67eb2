"""FI003 and FI007 fixes, run: the fixed code builds the model in the intended dtype, with no float32 copy."""

from __future__ import annotations

import importlib.util
import os
import sys
import textwrap
import warnings

import pytest
import torch
from click.testing import CliRunner

from fastinit_lint.cli import main

MODEL = """
import torch
from torch import nn

class Net(nn.Module):
    def __init__(self, width=512):
        super().__init__()
        self.built_in = torch.get_default_dtype()  # float32 here means a float32 copy was made
        self.proj = nn.Linear(width, width)
"""

SCRIPTS = {
    "FI003": """
        import lightning as L
        from model import Net

        def build():
            trainer = L.Trainer(accelerator="cpu", precision="bf16-true", logger=False)
            model = Net()
            return model
    """,
    "FI007": """
        import torch
        from model import Net

        def build():
            model = Net().to("cpu", torch.bfloat16)
            return model
    """,
}


@pytest.mark.parametrize("code", sorted(SCRIPTS))
def test_fixed_code_builds_in_target_dtype(tmp_path, code):
    (tmp_path / "pyproject.toml").write_text(
        "[tool.fastinit-lint]\nlarge-layer-threshold = 1000\ncreate-then-cast-threshold = 1000\n"
    )
    (tmp_path / "model.py").write_text(MODEL)
    (tmp_path / "requirements.txt").write_text("fastinit-lint[runtime]\n")  # FI007's cast fix imports it: safe here
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(SCRIPTS[code]).lstrip())
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        before = CliRunner().invoke(main, ["--select", code, "--output-format", "concise", "script.py"])
        assert before.exit_code == 1 and code in before.stdout
        fixed = CliRunner().invoke(main, ["--select", code, "--fix", "--unsafe-fixes", "script.py"])
        assert fixed.exit_code == 0, fixed.stdout
    finally:
        os.chdir(cwd)
    source = script.read_text()
    assert ".to(" not in source and "with " in source
    sys.path.insert(0, str(tmp_path))
    try:
        spec = importlib.util.spec_from_file_location(f"fixed_{code}", script)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = module.build()
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("model", None)
    assert model.proj.weight.dtype == torch.bfloat16
    assert model.built_in == torch.bfloat16
    assert torch.get_default_dtype() == torch.float32

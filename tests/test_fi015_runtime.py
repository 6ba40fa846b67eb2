"""FI015's claim, run: a model built on meta and materialized the way Lightning's ModelParallel/FSDP do it
(`to_empty()` + each module's `reset_parameters()`) loses the init its `__init__` wrote outside
`reset_parameters()`; the linter reports exactly that init call."""

from __future__ import annotations

import json
import textwrap

import torch
from torch import nn

from conftest import run_installed

MODEL = textwrap.dedent("""
    from torch import nn

    class GPT(nn.Module):
        def __init__(self, vocab=512, dim=64):
            super().__init__()
            self.wte = nn.Embedding(vocab, dim)
            self.head = nn.Linear(dim, vocab, bias=False)
            self.head.weight = self.wte.weight
            self.apply(self._init_weights)

        def _init_weights(self, module):
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, std=0.02)
""")
TRAIN = textwrap.dedent("""
    import lightning as L
    from model import GPT

    def main():
        fabric = L.Fabric(strategy="fsdp")
        with fabric.init_module(empty_init=True):
            model = GPT()
        return fabric.setup(model)
""")


def test_init_outside_reset_parameters_is_lost_and_reported(tmp_path):
    from lightning.fabric.utilities.init import _materialize_meta_tensors

    namespace: dict = {}
    exec(compile(MODEL, "model.py", "exec"), namespace)
    assert namespace["GPT"]().wte.weight.std().item() < 0.03  # eager: the model's own init
    with torch.device("meta"):
        model = namespace["GPT"]()
    _materialize_meta_tensors(model, torch.device("cpu"))
    assert model.wte.weight.std().item() > 0.9  # nn.Embedding.reset_parameters: N(0, 1)

    (tmp_path / "model.py").write_text(MODEL)
    (tmp_path / "train.py").write_text(TRAIN)
    done = run_installed("--no-cache", "--output-format", "json", "--select", "FI015", ".", cwd=tmp_path)
    findings = [(f["filename"], f["location"]["row"], f["code"]) for f in json.loads(done.stdout)]
    assert findings == [("model.py", 10, "FI015")], done.stdout + done.stderr


def test_reset_parameters_replaced_before_setup_is_kept_and_silent(tmp_path):
    """litgpt's pattern: each initialized module's `reset_parameters` is replaced before `setup`."""
    from lightning.fabric.utilities.init import _materialize_meta_tensors

    namespace: dict = {}
    exec(compile(MODEL, "model.py", "exec"), namespace)
    with torch.device("meta"):
        model = namespace["GPT"]()
    for module in model.modules():
        if isinstance(module, (nn.Linear, nn.Embedding)):
            module.reset_parameters = lambda m=module: nn.init.normal_(m.weight, std=0.02)
    _materialize_meta_tensors(model, torch.device("cpu"))
    assert model.wte.weight.std().item() < 0.03

    (tmp_path / "model.py").write_text(MODEL)
    (tmp_path / "train.py").write_text(
        TRAIN.replace(
            "    return fabric.setup(model)",
            textwrap.indent(
                textwrap.dedent("""
        for module in model.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                module.reset_parameters = lambda m=module: nn.init.normal_(m.weight, std=0.02)
        return fabric.setup(model)"""),
                "    ",
            ),
        ).replace("import lightning as L", "import lightning as L\nfrom torch import nn")
    )
    done = run_installed("--no-cache", "--output-format", "json", "--select", "FI015", ".", cwd=tmp_path)
    assert json.loads(done.stdout) == [], done.stdout + done.stderr

"""Imports a fix needs are added by LibCST's AddImportsVisitor: after the module docstring and `__future__`
imports, merged into an existing `from X import ...` of the same module."""

import textwrap

from fastinit_lint.engine.testing import lint_snippet
from fastinit_rules.create_then_cast import CreateThenCast
from fastinit_rules.large_layer_in_init import LargeLayerInInit

NET = {
    "net.py": "from torch import nn\nclass Big(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
    "        self.proj = nn.Linear(16_384, 16_384)\n"
}


def test_the_import_goes_after_the_docstring_when_a_statement_precedes_the_imports():
    code = '"""Builds the model."""\n__all__ = ["model"]\nimport net\nmodel = net.Big().cuda()\n'
    fixed = lint_snippet(CreateThenCast, code, NET, fix=True).fixed_source
    assert fixed.startswith('"""Builds the model."""\n'), fixed
    assert "import torch\n" in fixed and fixed.index("import torch") < fixed.index("with torch.device")


def test_the_import_goes_after_future_imports():
    code = "from __future__ import annotations\nimport net\nmodel = net.Big().cuda()\n"
    fixed = lint_snippet(CreateThenCast, code, NET, fix=True).fixed_source
    assert fixed.startswith("from __future__ import annotations\nimport net\nimport torch\n"), fixed


def test_a_from_import_is_merged_into_the_existing_one():
    code = textwrap.dedent("""
        from torch import nn
        import lightning as L
        from torch.distributed.fsdp.wrap import enable_wrap

        class Task(L.LightningModule):
            def __init__(self):
                super().__init__()
                self.embed = nn.Embedding(50_000, 1024)
        """).lstrip()
    train = {
        "train.py": "import lightning as L\nfrom snippet import Task\ntrainer = L.Trainer(strategy='fsdp')\n"
        "trainer.fit(Task())\n"
    }
    fixed = lint_snippet(LargeLayerInInit, code, train, fix=True).fixed_source
    assert "from torch.distributed.fsdp.wrap import wrap, enable_wrap\n" in fixed, fixed
    assert fixed.count("torch.distributed.fsdp.wrap") == 1

"""Classes defined inside functions (test modules define their models there) are indexed, each under its
enclosing function, with bases resolved in the function's own scope."""

from __future__ import annotations

import ast
import textwrap

from fastinit_lint.model.facts import python_facts
from fastinit_lint.model.index import ProjectIndex

SOURCE = textwrap.dedent("""
    import lightning as L

    def test_fit():
        class Model(L.LightningModule):
            pass
        if True:
            class Child(Model):
                pass

    def test_plain():
        from torch import nn
        class Model(nn.Module):
            pass

    class TestSuite:
        def test_method(self):
            with open(__file__):
                class Model(L.LightningModule):
                    pass
""")


def test_local_classes_are_indexed_per_function(tmp_path):
    path = tmp_path / "test_models.py"
    path.write_text(SOURCE)
    facts = python_facts("test_models.py", str(path), ast.parse(SOURCE), SOURCE)
    bases = {c.qualname: c.bases for c in facts.classes}
    assert bases == {
        "test_models.test_fit.Model": (("lightning.LightningModule",),),
        "test_models.test_fit.Child": (("test_models.test_fit.Model",),),
        "test_models.test_plain.Model": (("torch.nn.Module",),),  # imported inside the function
        "test_models.TestSuite": (),
        "test_models.TestSuite.test_method.Model": (("lightning.LightningModule",),),
    }
    index = ProjectIndex([facts])
    assert index.is_lightning_module("test_models.test_fit.Child")
    assert not index.is_lightning_module("test_models.test_plain.Model")
    assert index.is_nn_module("test_models.test_plain.Model")

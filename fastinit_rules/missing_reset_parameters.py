"""FI013 missing-reset-parameters."""

from __future__ import annotations

from fastinit_lint.api import Invalid, Rule, Valid, cst, descendants

from ._lightning import has_reset, method

_PARAMETER = frozenset({"torch.nn.Parameter", "torch.nn.parameter.Parameter"})
_FSDP_TRAIN = {
    "train.py": """
    import lightning as L
    from snippet import Net
    def main():
        fabric = L.Fabric(strategy="fsdp")
        with fabric.init_module(empty_init=True):
            model = Net()
        model = fabric.setup(model)
"""
}


class MissingResetParameters(Rule):
    """A module owning parameters directly, without `reset_parameters()`, in a model materialized from meta.

    ## What it flags
    A project `nn.Module` whose `__init__` creates `nn.Parameter`s directly (`self.w = nn.Parameter(...)`,
    `self.register_parameter(...)`) or registers a computed non-persistent buffer
    (`register_buffer(..., persistent=False)`), with no `reset_parameters` method in the class or its project
    bases — when the module is part of a model (the model class itself, a project base of it, or a project
    module its `__init__` builds, transitively) that is built on the meta device (`torch.device("meta")`, or
    `init_module(empty_init=True)` on a Trainer/Fabric using FSDP or ModelParallel) and then materialized or
    set up (`trainer.fit`, `fabric.setup`, `to_empty`, `fully_shard`). A meta model built only to count
    shapes or FLOPs is not materialized and does not count; nor does a `with pytest.raises(...)` test.

    ## Why it matters
    Meta tensors have no data. FSDP materializes them with `module.to_empty()` then `module.reset_parameters()`
    on every module that owns tensors (`torch/distributed/fsdp/_init_utils.py`) and raises when a module has
    no such method; Lightning's ModelParallel materialization only warns ("Parameter initialization
    incomplete ... uninitialized memory") and trains on garbage. Non-persistent buffers (RoPE tables,
    masks) come back as garbage too unless `reset_parameters` recomputes them; Lightning's Fabric docs:
    empty init "requires that all user-defined modules that manage parameters implement a
    `reset_parameters()` method".

    ## Example
    ```python
    import lightning as L
    import torch
    from torch import nn


    class Scale(nn.Module):
        def __init__(self, dim):
            super().__init__()
            self.gain = nn.Parameter(torch.ones(dim))


    fabric = L.Fabric(strategy="fsdp")
    with fabric.init_module(empty_init=True):
        model = Scale(1024)
    model = fabric.setup(model)
    ```

    Use instead:
    ```python
    import lightning as L
    import torch
    from torch import nn


    class Scale(nn.Module):
        def __init__(self, dim):
            super().__init__()
            self.gain = nn.Parameter(torch.empty(dim))
            self.reset_parameters()

        def reset_parameters(self):
            nn.init.ones_(self.gain)  # only this module's own tensors


    fabric = L.Fabric(strategy="fsdp")
    with fabric.init_module(empty_init=True):
        model = Scale(1024)
    model = fabric.setup(model)
    ```

    ## Fix
    None: only the author knows the intended initialization.

    ## References
    - [Lightning #18122](https://github.com/Lightning-AI/pytorch-lightning/pull/18122), meta-device init for FSDP in
      Fabric: submodules must define `reset_parameters()`
    - [`_materialize_distributed_module`](https://github.com/Lightning-AI/pytorch-lightning/blob/2.6.5/src/lightning/fabric/utilities/init.py#L81):
      `to_empty()`, then each submodule's `reset_parameters()`
    - [Meta device (PyTorch)](https://pytorch.org/docs/stable/meta.html)
    """

    code = "FI013"
    name = "missing-reset-parameters"
    markers = ("Parameter", "persistent=False")

    VALID = [
        Valid(
            """
            import torch
            from torch import nn
            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.gain = nn.Parameter(torch.ones(4))
                def reset_parameters(self):
                    nn.init.ones_(self.gain)
            """,
            files=_FSDP_TRAIN,
        ),
        Valid(
            """
            import torch
            from torch import nn
            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.gain = nn.Parameter(torch.ones(4))
            """,
            files={
                "train.py": "import lightning as L\nfabric = L.Fabric(strategy='ddp')\n"
                "with fabric.init_module(empty_init=True):\n    pass\n"
            },
        ),
        Valid(
            """
            from torch import nn
            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.proj = nn.Linear(4, 4)
            """,
            files=_FSDP_TRAIN,
        ),
    ]
    INVALID = [
        Invalid(
            """
            import torch
            from torch import nn

            class Net(nn.Module):
                def __init__(self, dim=8):
                    super().__init__()
                    self.gain = nn.Parameter(torch.ones(dim))
                    self.register_buffer("freqs", torch.arange(dim) * 0.5, persistent=False)
            """,
            rows=(4,),
            files=_FSDP_TRAIN,
            message_contains=(
                "`self.gain`",
                "`freqs`",
                "it is built on the meta device and set up by `fabric.setup(...)` with strategy 'fsdp'",
                "set up by `fabric.setup(...)` at train.py:7",
                "built on the meta device under `fabric.init_module(empty_init=True)` at train.py:6",
                "strategy 'fsdp' at train.py:4",
            ),
        ),
        Invalid(
            """
            import torch
            from torch import nn

            class Base(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.register_parameter("w", nn.Parameter(torch.zeros(3)))

            class Child(Base):
                pass

            with torch.device("meta"):
                model = Child()
            model.to_empty(device="cpu")
            """,
            rows=(4,),
            message_contains=(
                "it is part of `Child`, which is built on the meta device and materialized by `.to_empty(...)`",
                'built under `torch.device("meta")` at snippet.py:13',
                "materialized by `.to_empty(...)` at snippet.py:14",
            ),
        ),
    ]

    @classmethod
    def relevant(cls, facts, index, settings) -> bool:
        # The class-level half of the check runs here on the index, so files whose tensor-owning classes all
        # have a reset (torch's own layers) are never parsed with LibCST.
        # The training graph is asked last: building it reads the facts of every runner file.
        return any(
            c.owns_tensors
            and index.is_nn_module(c.qualname)
            and not has_reset(index, c.qualname)
            and c.qualname in index.training.meta_built
            for c in facts.classes
        )

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        context = self.context
        qualname = context.enclosing_class_qualname()
        init = method(node, "__init__")
        link = context.index.training.meta_built.get(qualname) if qualname is not None else None
        if (
            link is None
            or init is None
            or not context.index.is_nn_module(qualname)
            or has_reset(context.index, qualname)
        ):
            return
        owned = self._owned(init)
        if owned:
            part = "" if link.model == qualname else f"is part of `{link.model.rsplit('.', 1)[-1]}`, which "
            self.report(
                node,
                f"`{node.name.value}` owns {', '.join(owned)} directly but has no `reset_parameters()`; "
                f"it {part}is built on the meta device and {link.describe()}, where FSDP "
                f"raises and ModelParallel leaves uninitialized memory; implement `reset_parameters()` for "
                f"this module's own tensors",
                notes=link.notes(),
            )

    def _owned(self, init: cst.FunctionDef) -> list[str]:
        owned: list[str] = []
        context = self.context

        for node in descendants(init):
            if isinstance(node, cst.Assign):
                if isinstance(node.value, cst.Call) and context.matches(node.value.func, _PARAMETER):
                    owned.extend(
                        f"`{context.code(t.target)}`"
                        for t in node.targets
                        if isinstance(t.target, cst.Attribute)
                        and isinstance(t.target.value, cst.Name)
                        and t.target.value.value == "self"
                    )
                continue
            if not isinstance(node, cst.Call):
                continue
            func = node.func
            if not (
                isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value == "self"
            ):
                continue
            name = context.code(node.args[0].value).strip("'\"") if node.args else "?"
            if (
                func.attr.value == "register_parameter"
                and len(node.args) > 1
                and not (isinstance(node.args[1].value, cst.Name) and node.args[1].value.value == "None")
            ):
                owned.append(f"parameter `{name}`")
            elif (
                func.attr.value == "register_buffer"
                and any(
                    a.keyword and a.keyword.value == "persistent" and context.code(a.value) == "False"
                    for a in node.args
                )
                and len(node.args) > 1
                and isinstance(node.args[1].value, (cst.Call, cst.BinaryOperation))
            ):
                owned.append(f"computed non-persistent buffer `{name}`")
        return owned

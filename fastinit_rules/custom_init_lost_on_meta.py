"""FI015 custom-init-lost-on-meta."""

from __future__ import annotations

import re
from pathlib import Path

from fastinit_lint.api import Invalid, Rule, Valid, cst, descendants

from ._lightning import has_reset, method

_INIT_FUNCTIONS = frozenset(
    f"torch.nn.init.{name}"
    for name in (
        "uniform_",
        "normal_",
        "constant_",
        "ones_",
        "zeros_",
        "eye_",
        "dirac_",
        "xavier_uniform_",
        "xavier_normal_",
        "kaiming_uniform_",
        "kaiming_normal_",
        "trunc_normal_",
        "orthogonal_",
        "sparse_",
    )
)
_TENSOR_INITS = frozenset({"normal_", "uniform_", "zero_", "fill_", "trunc_normal_"})
_RESETS = frozenset({"reset_parameters", "_reset_parameters"})
_PARTIAL = frozenset({"functools.partial"})
# In the file that sets the model up: the init re-applied to the built model, or `reset_parameters` replaced
# on its modules (litgpt: `module.reset_parameters = partial(init_weights, module)` before `fabric.setup`).
_REAPPLIED = re.compile(r"\.reset_parameters\s*=|(?<!\bself)\.apply\(")
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


class CustomInitLostOnMeta(Rule):
    """Init written in `__init__` outside `reset_parameters()`, in a model built on meta and materialized.

    ## What it flags
    In a project `nn.Module` without `reset_parameters`, an `__init__` (or a same-class helper it calls) that
    initializes tensors of its submodules: `self.apply(self._init_weights)`, `nn.init.*(self.head.weight, ...)`,
    `self.head.weight.data.normal_(...)` — when the module is part of a model that is built on the meta device
    (`torch.device("meta")`, or `init_module(empty_init=True)` on a Trainer/Fabric using FSDP or
    ModelParallel) and then materialized or set up (`trainer.fit`, `fabric.setup`, `to_empty`, `fully_shard`).
    Not reported when the file that sets the model up re-applies an init (`model.apply(...)`) or replaces
    `reset_parameters` on its modules (`module.reset_parameters = partial(init_fn, module)`, as litgpt does).

    ## Why it matters
    On the meta device these calls write nothing. FSDP materializes with `module.to_empty()` and then calls
    `reset_parameters()` on each module that owns tensors (`torch/distributed/fsdp/_init_utils.py`);
    Lightning's ModelParallel does the same (`lightning/fabric/utilities/init.py`,
    `_materialize_meta_tensors`). Each layer gets its own default init (kaiming-uniform for `nn.Linear`,
    N(0, 1) for `nn.Embedding`), never the parent's: a GPT whose `_init_weights` sets std 0.02 trains from
    std 1.0 embeddings, and nothing warns (`tests/test_fi015_runtime.py` runs it).

    ## Example
    ```python
    import lightning as L
    from torch import nn


    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.wte = nn.Embedding(50304, 768)
            self.apply(self._init_weights)

        def _init_weights(self, module):
            nn.init.normal_(module.weight, std=0.02)


    fabric = L.Fabric(strategy="fsdp")
    with fabric.init_module(empty_init=True):
        model = GPT()
    model = fabric.setup(model)
    ```

    Use instead: re-apply the init after materialization (`model.apply(model._init_weights)` once the
    tensors are real), or give each initialized layer a `reset_parameters` that does it (litgpt:
    `module.reset_parameters = partial(init_weights, module, std=...)` before `fabric.setup`).

    ## Fix
    None: moving a parent's init into per-module `reset_parameters` overrides changes which modules own the
    decision (a shared `nn.Linear` class, or layers initialized differently by position such as nanoGPT's
    scaled `c_proj`), which only the author can decide.

    ## References
    - [`_materialize_distributed_module`](https://github.com/Lightning-AI/pytorch-lightning/blob/2.6.5/src/lightning/fabric/utilities/init.py#L81):
      `to_empty()`, then each submodule's `reset_parameters()`
    - [Lightning #18122](https://github.com/Lightning-AI/pytorch-lightning/pull/18122), meta-device init for FSDP in
      Fabric: submodules must define `reset_parameters()`
    - [`torch.nn.Module`](https://docs.pytorch.org/docs/stable/generated/torch.nn.Module.html) (`apply`, `to_empty`)
    """

    code = "FI015"
    name = "custom-init-lost-on-meta"
    markers = ("apply(", "init.", "normal_", "uniform_", "zero_", "fill_")

    VALID = [
        Valid(
            """
            from torch import nn
            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.proj = nn.Linear(4, 4)
                    self.reset_parameters()
                def reset_parameters(self):
                    nn.init.zeros_(self.proj.bias)
            """,
            files=_FSDP_TRAIN,
        ),
        Valid(
            """
            from torch import nn
            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.proj = nn.Linear(4, 4)
                    self.apply(self._init_weights)
                def _init_weights(self, module):
                    nn.init.normal_(module.weight, std=0.02)
            """,
            files={
                "train.py": "import lightning as L\nfrom snippet import Net\nfabric = L.Fabric(strategy='ddp')\n"
                "with fabric.init_module(empty_init=True):\n    model = Net()\n"
                "model = fabric.setup(model)\n"
            },
        ),
        Valid(
            """
            from torch import nn
            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.proj = nn.Linear(4, 4)
                    self.apply(self._init_weights)
                def _init_weights(self, module):
                    nn.init.normal_(module.weight, std=0.02)
            """,
            files={
                "train.py": """
                from functools import partial
                import lightning as L
                from torch import nn
                from snippet import Net
                def init_weights(module):
                    nn.init.normal_(module.weight, std=0.02)
                fabric = L.Fabric(strategy="fsdp")
                with fabric.init_module(empty_init=True):
                    model = Net()
                for mod in model.modules():
                    if isinstance(mod, nn.Linear):
                        mod.reset_parameters = partial(init_weights, mod)
                model = fabric.setup(model)
            """
            },
        ),
        Valid(
            """
            from torch import nn
            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.proj = nn.Linear(4, 4)
                    self.apply(self._no_checkpointing)
                def _no_checkpointing(self, module):
                    module.gradient_checkpointing = False
            """,
            files=_FSDP_TRAIN,
        ),
    ]
    INVALID = [
        Invalid(
            """
            from torch import nn

            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.wte = nn.Embedding(64, 8)
                    self.apply(self._init_weights)

                def _init_weights(self, module):
                    nn.init.normal_(module.weight, std=0.02)
            """,
            rows=(7,),
            files=_FSDP_TRAIN,
            message_contains=(
                "`self.apply(self._init_weights)` in `Net.__init__`",
                "built on the meta device and set up by `fabric.setup(...)` with strategy 'fsdp'",
                "built on the meta device under `fabric.init_module(empty_init=True)` at train.py:6",
                "set up by `fabric.setup(...)` at train.py:7",
                "strategy 'fsdp' at train.py:4",
            ),
        ),
        Invalid(
            """
            import torch
            from torch import nn

            class Decoder(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.embed = nn.Embedding(64, 8)
                    self.head = nn.Linear(8, 64)
                    self.init_weights()

                def init_weights(self):
                    nn.init.uniform_(self.embed.weight, -0.1, 0.1)
                    self.head.weight.data.normal_(0.0, 0.02)

            class Model(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.decoder = Decoder()

            with torch.device("meta"):
                model = Model()
            model.to_empty(device="cpu")
            """,
            rows=(12, 13),
            message_contains=(
                "is part of `Model`, which is built on the meta device and materialized by `.to_empty(...)`",
                'built under `torch.device("meta")` at snippet.py:21',
                "materialized by `.to_empty(...)` at snippet.py:22",
            ),
        ),
        Invalid(
            """
            import torch
            from torch import nn

            class GPT(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.wte = nn.Embedding(64, 8)
                    self.head = nn.Linear(8, 64, bias=False)
                    self.head.weight = self.wte.weight
                    self.apply(self._init_weights)

                def _init_weights(self, module):
                    if isinstance(module, nn.Embedding):
                        nn.init.normal_(module.weight, std=0.02)

            with torch.device("meta"):
                model = GPT()
            model.to_empty(device="cpu")
            """,
            rows=(10,),
        ),
    ]

    @classmethod
    def relevant(cls, facts, index, settings) -> bool:
        # The training graph is asked last: building it reads the facts of every runner file.
        return any(
            index.is_nn_module(c.qualname)
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
        found = [
            (call, what)
            for body in (init, *self._helpers(node, init))
            for call in descendants(body)
            if isinstance(call, cst.Call) and (what := self._lost_init(node, call))
        ]
        if not found or _reapplied(context.index, link):
            return
        part = "" if link.model == qualname else f"is part of `{link.model.rsplit('.', 1)[-1]}`, which "
        for call, what in found:
            self.report(
                call,
                f"{what} in `{node.name.value}.__init__` initializes tensors outside `reset_parameters()`; "
                f"`{node.name.value}` {part}is built on the meta device and {link.describe()}, where FSDP and "
                f"Lightning materialize with `to_empty()` + each module's own `reset_parameters()`, so this "
                f"init is silently lost; re-apply it after materialization or move it into "
                f"`reset_parameters()` of the modules it initializes",
                notes=link.notes(),
            )

    def _helpers(self, classdef: cst.ClassDef, init: cst.FunctionDef) -> list[cst.FunctionDef]:
        """Same-class methods `__init__` calls as `self.name()` (one level), resets excluded."""
        names = {
            call.func.attr.value
            for call in descendants(init)
            if isinstance(call, cst.Call) and _on_self(call.func) and call.func.attr.value not in _RESETS
        }
        return [m for name in sorted(names) if (m := method(classdef, name)) is not None and m is not init]

    def _lost_init(self, classdef: cst.ClassDef, call: cst.Call) -> str | None:
        context, func = self.context, call.func
        if (
            _on_self(func)
            and func.attr.value == "apply"
            and call.args
            and self._initializes(classdef, call.args[0].value)
        ):
            return f"`{context.code(call)}`"
        if context.matches(func, _INIT_FUNCTIONS) and call.args and _child_tensor(call.args[0].value):
            return f"`{context.code(func)}({context.code(call.args[0].value)}, ...)`"
        if isinstance(func, cst.Attribute) and func.attr.value in _TENSOR_INITS and _child_tensor(func.value):
            return f"`{context.code(func)}(...)`"
        return None

    def _initializes(self, classdef: cst.ClassDef, applied: cst.BaseExpression) -> bool:
        """Whether the function given to `self.apply` writes tensors: a same-class method or a lambda whose body
        calls `torch.nn.init.*` or an in-place init method (`self.apply(self._set_checkpointing)` does not)."""
        if isinstance(applied, cst.Call) and self.context.matches(applied.func, _PARTIAL) and applied.args:
            applied = applied.args[0].value
        if _on_self(applied):
            applied = method(classdef, applied.attr.value)
        if not isinstance(applied, (cst.FunctionDef, cst.Lambda)):
            return False
        return any(
            isinstance(call, cst.Call)
            and (
                self.context.matches(call.func, _INIT_FUNCTIONS)
                or (isinstance(call.func, cst.Attribute) and call.func.attr.value in _TENSOR_INITS)
            )
            for call in descendants(applied)
        )


def _on_self(func: cst.BaseExpression) -> bool:
    return isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value == "self"


def _child_tensor(node: cst.BaseExpression) -> bool:
    """`self.head.weight`, `self.blocks[0].proj.weight.data`: a tensor of a submodule (two names after `self`)."""
    names = 0
    while isinstance(node, (cst.Attribute, cst.Subscript)):
        if isinstance(node, cst.Attribute) and node.attr.value != "data":
            names += 1
        node = node.value
    return isinstance(node, cst.Name) and node.value == "self" and names >= 2


def _reapplied(index, link) -> bool:
    facts = index.files.get(link.train.site.filename)
    if facts is None or not facts.path:
        return False
    try:
        return bool(_REAPPLIED.search(Path(facts.path).read_text(encoding="utf-8", errors="replace")))
    except OSError:
        return False

"""FI009 empty-init-without-load."""

from __future__ import annotations

from fastinit_lint.api import Invalid, Valid

from ._flow import Flow, FlowRule, Kind, loads_in_hooks


_HELPERS = {
    "helpers.py": """
    import torch

    def load_checkpoint(fabric, model, path, strict=True):
        if fabric is None:
            model.load_state_dict(torch.load(path), strict=strict)
        else:
            fabric.load_raw(path, model, strict=strict)

    def restore(model, path, depth=0):
        if depth < 3 and torch.load(path):
            follow(model, path, depth)

    def follow(model, path, depth):
        if torch.load(path):
            restore(model, path, depth + 1)
        else:
            load_checkpoint(None, model, path)

    def prepare(model, device, path):
        stats = torch.load(path)
        model.eval()
        return model.to(device)

    def spin(model, path):
        if torch.load(path):
            spin(model, path)
    """
}


class EmptyInitWithoutLoad(FlowRule):
    """A model built with `empty_init=True` that is never loaded or initialized: it trains on garbage.

    ## What it flags
    `with trainer.init_module(empty_init=True)` / `fabric.init_module(empty_init=True)` under a strategy that
    does not use the meta device (single device, DDP, DeepSpeed stage 1/2), where a model built inside is
    not loaded afterwards in that function: no `load_from_checkpoint` (inside the block),
    `load_state_dict`, `fabric.load`/`load_raw`, `trainer.fit(..., ckpt_path=...)`, `reset_parameters()`,
    `nn.init.*` or `fastinit_runtime` call on it.

    A model passed to a project function counts as loaded when that function (or one it calls, in any module)
    loads or initializes the parameter it receives (`load_checkpoint(fabric, model, path)` doing
    `model.load_state_dict(...)`: FI002 checks whether that load is partial); a project function seen to do
    nothing of the kind (it only moves or casts the model) does not load it. Only functions whose code mentions
    a load or an initializer (`load_state_dict`, `load_raw`, `.load(`, `load_checkpoint`, `reset_parameters`,
    `init.`, `.apply(`), and a fitted class's hooks with the methods they call, are looked into; any other
    function counts as one we cannot see. A model passed to a function we
    cannot see into (a library, a callable we cannot resolve, a project helper handing it on) may be loaded
    there and is not reported, unless that function only reads or reports (`print`, `fabric.print`, logging).
    Nor is a model whose class loads weights in a Lightning hook that runs once it is fitted (`setup`,
    `on_train_start`, ..., directly, through a helper or a method the hook calls).

    ## Why it matters
    Under these strategies `empty_init=True` is Lightning's `_EmptyInit`, which skips every `torch.nn.init`
    call: memory is **allocated but never written**. Training starts from whatever bytes were there; NaNs in
    practice (a Lightning maintainer: "I just went down a rabbit hole chasing NaNs on FSDP... the weights were
    initialized to garbage", PR #17627). Under FSDP/ModelParallel the meta tensors are re-initialized by
    `reset_parameters()` at setup, so those are not flagged here (see FI013).

    ## Example
    ```python
    import lightning as L
    from model import GPT

    fabric = L.Fabric(strategy="ddp")
    with fabric.init_module(empty_init=True):
        model = GPT()
    model = fabric.setup(model)
    ```

    Use instead: load a full checkpoint into it, or drop `empty_init=True`.

    ## Fix
    None: whether to load or to initialize is the author's decision.

    ## References
    - [Efficient initialization (Fabric)](https://lightning.ai/docs/fabric/stable/advanced/model_init.html):
      `empty_init=True` allocates no memory or uninitialized memory
    - [`_EmptyInit`](https://github.com/Lightning-AI/pytorch-lightning/blob/2.6.5/src/lightning/fabric/utilities/init.py#L29)
      (fabric/utilities/init.py)
    """

    code = "FI009"
    name = "empty-init-without-load"
    markers = ("empty_init",)

    VALID = [
        Valid("""
            import lightning as L
            from model import GPT
            fabric = L.Fabric(precision="bf16-true")
            with fabric.init_module(empty_init=True):
                model = GPT()
            fabric.load_raw("weights.pt", model)
            """),
        Valid("""
            import lightning as L
            from model import GPT
            trainer = L.Trainer()
            with trainer.init_module(empty_init=True):
                model = GPT.load_from_checkpoint("last.ckpt")
            """),
        Valid("""
            import lightning as L
            from model import GPT
            fabric = L.Fabric(strategy="fsdp")
            with fabric.init_module(empty_init=True):
                model = GPT()
            model = fabric.setup(model)
            """),
        Valid("""
            import lightning as L
            import torch
            from model import GPT
            fabric = L.Fabric()
            with fabric.init_module(empty_init=True):
                model = GPT()
            model.load_state_dict(torch.load("w.pt"))
            """),
        Valid("""
            import lightning as L
            from model import GPT
            from utils import load_checkpoint

            def main(path):
                fabric = L.Fabric(precision="bf16-true")
                with fabric.init_module(empty_init=True):
                    model = GPT()
                load_checkpoint(fabric, model, path)
                model = fabric.setup(model)
            """),
        Valid("""
            import lightning as L
            import torch

            class Finetune(L.LightningModule):
                def on_train_start(self):
                    self.model.load_state_dict(torch.load("base.pth"))

            trainer = L.Trainer()
            with trainer.init_module(empty_init=True):
                model = Finetune()
            trainer.fit(model)
            """),
        # Loaded by project helpers (in another module, through mutually recursive helpers), or handed to a
        # function we cannot see (`registry.restore`).
        Valid(
            """
            import lightning as L
            import registry
            from helpers import load_checkpoint, restore
            from model import GPT

            def main(path):
                fabric = L.Fabric(precision="bf16-true")
                with fabric.init_module(empty_init=True):
                    model = GPT()
                    other = GPT()
                    third = GPT()
                load_checkpoint(fabric, model, path)
                restore(other, path)
                registry.restore(third, path)
            """,
            files=_HELPERS,
        ),
        # The hook loads through a method it calls.
        Valid(
            """
            import lightning as L
            from helpers import load_checkpoint

            class Finetune(L.LightningModule):
                def on_fit_start(self):
                    self._restore()

                def _restore(self):
                    load_checkpoint(None, self.model, "base.pth")

            trainer = L.Trainer()
            with trainer.init_module(empty_init=True):
                model = Finetune()
            trainer.fit(model)
            """,
            files=_HELPERS,
        ),
    ]
    INVALID = [
        Invalid(
            """
            import lightning as L
            import torch.nn as nn

            class Net(nn.Module):
                pass

            def train():
                fabric = L.Fabric(strategy="ddp", precision="bf16-true")
                with fabric.init_module(empty_init=True):
                    model = Net()
                model = fabric.setup(model)
            """,
            rows=(9,),
            message_contains=("`model`", "uninitialized memory", "'ddp' at snippet.py:8"),
        ),
        Invalid(
            """
            from lightning.pytorch import Trainer
            trainer = Trainer()
            with trainer.init_module(empty_init=True):
                model = AutoModel.from_pretrained("x").__class__(config)
                other = Encoder()
            trainer.fit(model)
            """,
            rows=(3,),
        ),
        Invalid(
            """
            import logging
            import lightning as L
            from model import GPT

            def main():
                fabric = L.Fabric(precision="bf16-true")
                with fabric.init_module(empty_init=True):
                    model = GPT()
                print(model)
                logging.info("built %s", model)
                fabric.print(model)
                model = fabric.setup(model)
            """,
            rows=(7,),
        ),
        # Project helpers seen not to load it: one only moves it, the other calls itself and nothing else.
        Invalid(
            """
            import lightning as L
            from helpers import prepare, spin
            from model import GPT

            def main(path):
                fabric = L.Fabric(precision="bf16-true")
                with fabric.init_module(empty_init=True):
                    model = GPT()
                    other = GPT()
                model = prepare(model, fabric.device, path)
                spin(other, path)
                model = fabric.setup(model)
            """,
            rows=(7,),
            files=_HELPERS,
            message_contains=("`model`, `other`", "nor by `prepare`, `spin`"),
        ),
    ]

    def check_flow(self, flow: Flow) -> None:
        for block in flow.empty_init_blocks(meta=False):
            runner = block.runner
            unloaded = []
            for build in flow.built_in(block):
                if build.build.model == "checkpoint" or loads_in_hooks(self.context, build):
                    continue
                later = flow.for_var(build.var, {Kind.LOAD, Kind.REINIT, Kind.HANDED_OVER}, flow.after(build))
                if not later:
                    unloaded.append(build.var)
            if unloaded:
                names = ", ".join(f"`{v}`" for v in unloaded)
                helpers = sorted({f"`{e.payload.helper}`" for v in unloaded for e in flow.for_var(v, {Kind.PASSED})})
                seen = f" (nor by {', '.join(helpers)}, seen to load nothing into it)" if helpers else ""
                self.report(
                    block.call,
                    f"{names} built with `empty_init=True` under strategy {runner.strategy.describe()} is "
                    f"never loaded or initialized in this function{seen}: its parameters hold uninitialized "
                    f"memory",
                    notes=(runner.strategy_note(),),
                )

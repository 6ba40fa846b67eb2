"""FI010 load-into-meta-model."""

from __future__ import annotations

from fastinit_lint.api import Invalid, Valid

from ._flow import Flow, FlowRule, Kind

_ORDER = (
    "set the model up first, then load: `model = fabric.setup(model)` followed by "
    '`fabric.load(path, {"model": model})` or `fabric.load_raw(path, model)`; with a Trainer, '
    "`trainer.fit(model, ckpt_path=...)` restores after setup; or `load_state_dict(sd, assign=True)`"
)


class LoadIntoMetaModel(FlowRule):
    """Loading weights into a model whose parameters are still on the meta device.

    ## What it flags
    With FSDP or ModelParallel (where `empty_init=True` builds on the meta device):
    - `Model.load_from_checkpoint(...)` inside `init_module(empty_init=True)`;
    - `model.load_state_dict(...)` without `assign=True`, or `fabric.load(...)`/`fabric.load_raw(...)` into
      a model built under `fabric.init_module(empty_init=True)`, before `fabric.setup(model)`.

    ## Why it matters
    Copying into a meta tensor is a no-op (torch only warns "copying from a non-meta parameter in the
    checkpoint to a meta parameter ... is a no-op"). `load_from_checkpoint` then calls `model.to(device)`,
    which fails with `NotImplementedError: Cannot copy out of meta tensor; no data!`. In Fabric the loaded
    weights are silently lost: `setup` re-initializes the meta parameters with `reset_parameters()` and
    training starts from random weights (Lightning issue #20490: loss 12 instead of 1).

    ## Example
    ```python
    import lightning as L
    from model import GPT

    fabric = L.Fabric(strategy="fsdp")
    with fabric.init_module(empty_init=True):
        model = GPT()
    fabric.load_raw("weights.pt", model)
    model = fabric.setup(model)
    ```

    Use instead:
    ```python
    import lightning as L
    from model import GPT

    fabric = L.Fabric(strategy="fsdp")
    with fabric.init_module(empty_init=True):
        model = GPT()
    model = fabric.setup(model)
    fabric.load_raw("weights.pt", model)
    ```

    ## Fix
    None: the statements must be reordered, and code between them may depend on the order.

    ## References
    - [Lightning #20490](https://github.com/Lightning-AI/pytorch-lightning/issues/20490): loading before
      `fabric.setup(model)` under `init_module()` gives an abnormal loss
    - [`FSDPStrategy.module_init_context`](https://github.com/Lightning-AI/pytorch-lightning/blob/2.6.5/src/lightning/fabric/strategies/fsdp.py#L338)
      (Fabric): `empty_init=True` builds on the meta device
    - [Meta device (PyTorch)](https://pytorch.org/docs/stable/meta.html)
    """

    code = "FI010"
    name = "load-into-meta-model"
    markers = ("empty_init",)

    VALID = [
        Valid("""
            import lightning as L
            from model import GPT
            fabric = L.Fabric(strategy="fsdp")
            with fabric.init_module(empty_init=True):
                model = GPT()
            model = fabric.setup(model)
            fabric.load("ckpt", {"model": model})
            """),
        Valid("""
            import lightning as L
            import torch
            from model import GPT
            fabric = L.Fabric(strategy="fsdp")
            with fabric.init_module(empty_init=True):
                model = GPT()
            model.load_state_dict(torch.load("w.pt"), assign=True)
            """),
        Valid("""
            import lightning as L
            from model import GPT
            trainer = L.Trainer(strategy="ddp")
            with trainer.init_module(empty_init=True):
                model = GPT.load_from_checkpoint("last.ckpt")
            """),
        # A project helper loading with `assign=True` (litgpt's ModelParallel path) replaces the meta tensors.
        Valid(
            """
            import lightning as L
            from helpers import load_full
            from model import GPT
            fabric = L.Fabric(strategy="model_parallel")
            with fabric.init_module(empty_init=True):
                model = GPT()
            load_full(model, "w.pt")
            model = fabric.setup(model)
            """,
            files={
                "helpers.py": """
                import torch

                def load_full(model, path, strict=True):
                    model.load_state_dict(torch.load(path), strict=strict, assign=True)
                """
            },
        ),
        Valid("""
            import lightning as L
            import pytest
            from model import GPT

            def test_load_before_setup_raises():
                fabric = L.Fabric(strategy="fsdp")
                with fabric.init_module(empty_init=True):
                    model = GPT()
                with pytest.raises(RuntimeError):
                    fabric.load_raw("weights.pt", model)
            """),
    ]
    INVALID = [
        Invalid(
            """
            import lightning as L
            from lightning.fabric.strategies import FSDPStrategy
            from model import GPT

            def main():
                fabric = L.Fabric(strategy=FSDPStrategy(), precision="bf16-true")
                with fabric.init_module(empty_init=True):
                    model = GPT()
                fabric.load_raw("weights.pt", model)
                model = fabric.setup(model)
            """,
            rows=(9,),
            message_contains=("#20490", "strategy 'fsdp' at snippet.py:6"),
        ),
        Invalid(
            """
            from lightning.pytorch import Trainer
            from model import GPT
            trainer = Trainer(strategy="fsdp")
            with trainer.init_module(empty_init=True):
                model = GPT.load_from_checkpoint("last.ckpt")
            """,
            rows=(5,),
            message_contains=("Cannot copy out of meta tensor",),
        ),
    ]

    @staticmethod
    def wants(runner) -> bool:
        return runner.strategy.meta_init  # (only `init_module(empty_init=True)` blocks of such runners matter)

    def check_flow(self, flow: Flow) -> None:
        for block in flow.empty_init_blocks(meta=True):
            runner = block.runner
            strategy = f"strategy {runner.strategy.describe()}"
            for event in flow.loads_in(block, "checkpoint"):
                self.report(
                    event.call,
                    f"`load_from_checkpoint` inside `{block.receiver}.init_module(empty_init=True)` "
                    f"with {strategy}: the model is on the meta device, so loading is a no-op "
                    f'and `model.to(device)` fails with "Cannot copy out of meta tensor"; {_ORDER}',
                    notes=(runner.strategy_note(),),
                )
            if runner.kind != "fabric":
                continue
            for build in flow.built_in(block):
                for event in flow.before_setup(build):
                    # Not through a project helper: its summary does not say whether it loads with `assign=True`.
                    if (
                        event.kind is Kind.LOAD
                        and event.load.assign is not True
                        and event.load.how not in ("fit", "helper")
                    ):
                        self.report(
                            event.call,
                            f"loading into `{build.var}` before `{block.receiver}.setup({build.var})` "
                            f"with {strategy}: its parameters are still meta tensors, so the weights "
                            f"are dropped and setup re-initializes them randomly (Lightning #20490); {_ORDER}",
                            notes=(runner.strategy_note(), block.build_note(build)),
                        )

"""FI011 optimizer-before-setup."""

from __future__ import annotations

from fastinit_lint.api import Invalid, NoteAt, Valid, cst

from ._flow import Flow, FlowRule, Kind


class OptimizerBeforeSetup(FlowRule):
    """An optimizer built from a meta-device model before `fabric.setup`: Fabric raises.

    ## What it flags
    `torch.optim.*(model.parameters(), ...)` where `model` was built under
    `fabric.init_module(empty_init=True)` with FSDP or ModelParallel, before `fabric.setup(model)` /
    `fabric.setup_module(model)`.

    ## Why it matters
    The optimizer would hold references to meta tensors that setup replaces. Fabric checks this
    (`fabric.py` `_validate_setup`) and raises `RuntimeError("The optimizer has references to the model's
    meta-device parameters...")`; Lightning PR #19067 documents "create the optimizer only after the model
    has been set up".

    ## Example
    ```python
    import lightning as L
    import torch
    from model import GPT

    fabric = L.Fabric(strategy="fsdp")
    with fabric.init_module(empty_init=True):
        model = GPT()
    optimizer = torch.optim.AdamW(model.parameters())
    model, optimizer = fabric.setup(model, optimizer)
    ```

    Use instead:
    ```python
    import lightning as L
    import torch
    from model import GPT

    fabric = L.Fabric(strategy="fsdp")
    with fabric.init_module(empty_init=True):
        model = GPT()
    model = fabric.setup_module(model)
    optimizer = fabric.setup_optimizers(torch.optim.AdamW(model.parameters()))
    ```

    ## Fix
    None: the setup call must be split, which changes the code around it.

    ## References
    - [`Fabric._validate_setup`](https://github.com/Lightning-AI/pytorch-lightning/blob/2.6.5/src/lightning/fabric/fabric.py#L1200):
      "The optimizer has references to the model's meta-device parameters"
    - [Fabric methods: `setup`](https://lightning.ai/docs/fabric/latest/api/fabric_methods.html)
    """

    code = "FI011"
    name = "optimizer-before-setup"
    markers = ("empty_init",)

    VALID = [
        Valid("""
            import lightning as L
            import torch
            from model import GPT
            fabric = L.Fabric(strategy="fsdp")
            with fabric.init_module(empty_init=True):
                model = GPT()
            model = fabric.setup_module(model)
            optimizer = fabric.setup_optimizers(torch.optim.AdamW(model.parameters()))
            """),
        Valid("""
            import lightning as L
            import torch
            from model import GPT
            fabric = L.Fabric(strategy="ddp")
            with fabric.init_module(empty_init=True):
                model = GPT()
            optimizer = torch.optim.AdamW(model.parameters())
            model, optimizer = fabric.setup(model, optimizer)
            """),
        Valid("""
            import lightning as L
            import pytest
            import torch
            from torch import nn

            def test_setup_rejects_meta_optimizer():
                fabric = L.Fabric(strategy="fsdp")
                with fabric.init_module(empty_init=True):
                    model = nn.Linear(2, 2)
                optimizer = torch.optim.Adam(model.parameters())
                with pytest.raises(RuntimeError, match="meta-device parameters"):
                    fabric.setup(model, optimizer)
            """),
    ]
    INVALID = [
        Invalid(
            """
            import lightning as L
            from torch import optim
            from model import GPT

            def main():
                fabric = L.Fabric(strategy="fsdp")
                with fabric.init_module(empty_init=True):
                    model = GPT()
                optimizer = optim.AdamW(model.parameters(), lr=1e-4)
                model, optimizer = fabric.setup(model, optimizer)
            """,
            rows=(9,),
            message_contains=("meta-device", "strategy 'fsdp' at snippet.py:6", "before `fabric.setup(model)`"),
        ),
    ]

    @staticmethod
    def wants(runner) -> bool:
        return runner.kind == "fabric" and runner.strategy.meta_init

    def check_flow(self, flow: Flow) -> None:
        for block in flow.empty_init_blocks(meta=True):
            runner = block.runner
            if not self.wants(runner):
                continue
            for build in flow.built_in(block):
                setup = flow.first_setup(build)
                if setup is not None and setup.expected_to_raise:
                    continue  # a test asserting that Fabric raises
                # The call the code makes (`fabric.setup(model, optimizer)`), else the one that sets up a model alone.
                method = (
                    setup.call.func.attr.value
                    if setup is not None and isinstance(setup.call.func, cst.Attribute)
                    else "setup_module"
                )
                notes = (
                    runner.strategy_note(),
                    block.build_note(build),
                    *([NoteAt(f"set up by `{block.receiver}.{method}(...)`", setup.call)] if setup is not None else []),
                )
                for event in flow.before_setup(build):
                    if event.kind is Kind.OPTIMIZER:
                        self.report(
                            event.call,
                            f"optimizer built from `{build.var}.parameters()` before `{block.receiver}"
                            f".{method}({build.var})`: they are meta-device parameters under strategy "
                            f'{runner.strategy.describe()}, and Fabric raises "The optimizer has '
                            f"references to the model's meta-device parameters\"",
                            notes=notes,
                        )
                        break

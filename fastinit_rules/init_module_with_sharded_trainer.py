"""FI004 init-module-with-sharded-trainer."""

from __future__ import annotations

from fastinit_lint.api import Invalid, Valid

from ._flow import ABSENT, Flow, FlowRule


class InitModuleWithShardedTrainer(FlowRule):
    """`trainer.init_module()` on a Trainer that uses FSDP or DeepSpeed.

    ## What it flags
    A `with trainer.init_module(...)` block where `trainer` was constructed in the same function (or at
    module level) with an FSDP strategy (`"fsdp"`, `"fsdp_cpu_offload"`, `FSDPStrategy(...)`) or any
    DeepSpeed strategy. ModelParallelStrategy is not flagged: Lightning's own tensor-parallel example uses
    `trainer.init_module(empty_init=True)` with it. Nor is FSDP with `empty_init=True`, or with an
    `empty_init` that is not a literal (it may be True): that is meta-device init, which the Trainer supports
    (Lightning PR #18385) and materializes in `strategy.setup`. Nor one entered inside `pytest.warns(...)`
    or `pytest.raises(...)`: a test of Lightning's warning.

    ## Why it matters
    Lightning's guide: "When training sharded models with FSDP or DeepSpeed, `Trainer.init_module` should
    not be used. Instead, override the `configure_model` hook." `Trainer.init_module` enters only the
    strategy's `tensor_init_context`, never `model_sharded_context`, so nothing is sharded as it is built;
    Lightning warns at run time ("`trainer.init_module` cannot fully support proper instantiation of your
    model with the ... strategy"). Under DeepSpeed ZeRO-3 the context is empty: no `zero.Init`, no dtype,
    the full model on every rank.

    ## Example
    ```python
    import lightning as L
    from model import GPT

    trainer = L.Trainer(strategy="fsdp")
    with trainer.init_module():
        model = GPT()
    ```

    Use instead: build the layers in `GPT.configure_model` (FI001's fix does it) and construct
    `GPT()` without the context.

    ## Fix
    None: the layers must move into `configure_model`, which FI001 fixes in the model's class.

    ## References
    - [`Trainer.init_module`](https://github.com/Lightning-AI/pytorch-lightning/blob/2.6.5/src/lightning/pytorch/trainer/trainer.py#L1172):
      warns for strategies overriding `model_sharded_context`
    - [`ModelHooks.configure_model`](https://lightning.ai/docs/pytorch/latest/api/lightning.pytorch.core.hooks.ModelHooks.html)
    - [Train models with billions of parameters using
      FSDP](https://lightning.ai/docs/pytorch/latest/advanced/model_parallel/fsdp.html)
    """

    code = "FI004"
    name = "init-module-with-sharded-trainer"
    markers = ("init_module",)

    VALID = [
        # A test of Lightning's warning itself.
        Valid("""
            import lightning as L
            import pytest

            def test_init_module_warns_with_fsdp():
                trainer = L.Trainer(strategy="fsdp")
                with pytest.warns(UserWarning, match="should not be used"):
                    with trainer.init_module():
                        pass
            """),
        Valid("""
            import lightning as L
            trainer = L.Trainer(strategy="ddp", precision="bf16-true")
            with trainer.init_module():
                model = object()
            """),
        Valid("""
            import lightning as L

            def check(empty_init):
                trainer = L.Trainer(strategy="fsdp")
                with trainer.init_module(empty_init=True):
                    model = object()
                with trainer.init_module(empty_init=empty_init):
                    model = object()
            """),
        Valid("""
            from lightning.pytorch import Trainer
            from lightning.pytorch.strategies import ModelParallelStrategy
            def main():
                trainer = Trainer(strategy=ModelParallelStrategy())
                with trainer.init_module(empty_init=True):
                    model = object()
            """),
        Valid("""
            import lightning as L
            fabric = L.Fabric(strategy="fsdp")
            with fabric.init_module(empty_init=True):
                model = object()
            """),
    ]
    INVALID = [
        Invalid(
            """
            import lightning as L

            def main():
                trainer = L.Trainer(strategy="fsdp", precision="bf16-true")
                with trainer.init_module():
                    model = object()
            """,
            rows=(5,),
            message_contains=("strategy 'fsdp' at snippet.py:4", "configure_model"),
        ),
        Invalid(
            """
            import pytorch_lightning as pl
            from pytorch_lightning.strategies import DeepSpeedStrategy

            strategy = DeepSpeedStrategy(stage=3)
            trainer = pl.Trainer(strategy=strategy)
            with trainer.init_module(empty_init=True):
                model = object()
            """,
            rows=(6,),
            message_contains=("ZeRO stage 3", "snippet.py:4"),
        ),
    ]

    @staticmethod
    def wants(runner) -> bool:
        return runner.kind == "trainer" and (runner.strategy.is_fsdp or runner.strategy.is_deepspeed)

    def check_flow(self, flow: Flow) -> None:
        for block in flow.blocks:
            runner = block.runner
            if runner is None or not self.wants(runner):
                continue
            if runner.strategy.is_fsdp and block.empty_init is not False and block.empty_init is not ABSENT:
                continue  # meta-device init (or maybe): supported for FSDP
            self.report(
                block.call,
                f"`{block.receiver}.init_module()` with strategy {runner.strategy.describe()}: Lightning says it "
                f"should not be used with FSDP or DeepSpeed (nothing is sharded while it builds); create the "
                f"layers in the model's `configure_model` instead (FI001 moves them)",
                notes=(runner.strategy_note(),),
            )

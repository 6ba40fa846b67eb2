"""FI014 zero3-empty-init-false."""

from __future__ import annotations

from fastinit_lint.api import Invalid, Valid, cst, fix

from ._flow import Flow, FlowRule, keyword


class Zero3EmptyInitFalse(FlowRule):
    """`init_module(empty_init=False)` with DeepSpeed ZeRO stage 3: Lightning raises.

    ## What it flags
    `with trainer.init_module(empty_init=False)` or `fabric.init_module(empty_init=False)` where the
    Trainer/Fabric uses `"deepspeed_stage_3*"` or `DeepSpeedStrategy(stage=3)`; not one entered inside
    `pytest.raises(...)`, which tests that error.

    ## Why it matters
    Both `DeepSpeedStrategy.tensor_init_context` (Trainer) and `module_init_context` (Fabric) raise
    `NotImplementedError("`empty_init=False` is not a valid choice with `DeepSpeedStrategy` when ZeRO stage 3
    is enabled.")`: ZeRO-3 partitions parameters as they are created, so it always initializes empty.
    The job dies after the cluster allocation, not in review.

    ## Example
    ```python
    import lightning as L
    from model import GPT

    fabric = L.Fabric(strategy="deepspeed_stage_3")
    with fabric.init_module(empty_init=False):
        model = GPT()
    ```

    Use instead:
    ```python
    import lightning as L
    from model import GPT

    fabric = L.Fabric(strategy="deepspeed_stage_3")
    with fabric.init_module():
        model = GPT()
    ```

    ## Fix
    Drops the `empty_init=False` argument (`None` means "the strategy decides", which ZeRO-3 treats as True).

    ## Fix safety
    Safe: the original code cannot run at all.

    ## References
    - [`DeepSpeedStrategy.tensor_init_context`](https://github.com/Lightning-AI/pytorch-lightning/blob/2.6.5/src/lightning/pytorch/strategies/deepspeed.py#L530)
      (Trainer) and
      [`module_init_context`](https://github.com/Lightning-AI/pytorch-lightning/blob/2.6.5/src/lightning/fabric/strategies/deepspeed.py#L377)
      (Fabric): raise NotImplementedError for `empty_init=False` with ZeRO-3
    - [DeepSpeed](https://lightning.ai/docs/pytorch/stable/advanced/model_parallel/deepspeed.html)
    """

    code = "FI014"
    name = "zero3-empty-init-false"
    fixable = "always"
    markers = ("empty_init",)

    VALID = [
        Valid("""
            import lightning as L
            fabric = L.Fabric(strategy="deepspeed_stage_2")
            with fabric.init_module(empty_init=False):
                model = object()
            """),
        # A test of the error itself: entered inside `pytest.raises(...)`, in one `with` or nested.
        Valid("""
            import lightning as L
            import pytest

            def test_zero3_rejects_empty_init_false():
                fabric = L.Fabric(strategy="deepspeed_stage_3")
                with pytest.raises(NotImplementedError, match="empty_init=False"), fabric.init_module(empty_init=False):
                    pass
                with pytest.raises(NotImplementedError):
                    with fabric.init_module(empty_init=False):
                        pass
            """),
    ]
    INVALID = [
        Invalid(
            """
            import lightning as L
            fabric = L.Fabric(strategy="deepspeed_stage_3_offload")
            with fabric.init_module(empty_init=False):
                model = object()
            """,
            rows=(3,),
            message_contains=("NotImplementedError", "snippet.py:2"),
            fixed="""
            import lightning as L
            fabric = L.Fabric(strategy="deepspeed_stage_3_offload")
            with fabric.init_module():
                model = object()
            """,
        ),
        Invalid(
            """
            from lightning.pytorch import Trainer
            from lightning.pytorch.strategies import DeepSpeedStrategy
            def main():
                trainer = Trainer(strategy=DeepSpeedStrategy(stage=3))
                with trainer.init_module(empty_init=False, ):
                    model = object()
            """,
            rows=(5,),
            fixed="""
            from lightning.pytorch import Trainer
            from lightning.pytorch.strategies import DeepSpeedStrategy
            def main():
                trainer = Trainer(strategy=DeepSpeedStrategy(stage=3))
                with trainer.init_module():
                    model = object()
            """,
        ),
    ]

    @staticmethod
    def wants(runner) -> bool:
        return runner.strategy.zero3

    def check_flow(self, flow: Flow) -> None:
        for block in flow.blocks:
            if block.runner is None or not self.wants(block.runner) or block.empty_init is not False:
                continue
            arg = keyword(block.call, "empty_init")
            args = [a for a in block.call.args if a is not arg]
            if args:
                args[-1] = args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
            self.report(
                block.call,
                "`empty_init=False` with DeepSpeed ZeRO stage 3: Lightning raises NotImplementedError; "
                "ZeRO-3 always initializes empty",
                fix=fix({block.call: block.call.with_changes(args=args)}, "Drop `empty_init=False`"),
                notes=(block.runner.strategy_note(),),
            )

"""FI006 checkpoint-load-without-empty-init."""

from __future__ import annotations

from fastinit_lint.api import Invalid, Valid, cst, fix

from ._flow import Flow, FlowRule, strict_load


class CheckpointLoadWithoutEmptyInit(FlowRule):
    """A full checkpoint loaded inside `init_module()` without `empty_init=True`: initialization wasted.

    ## What it flags
    `with trainer.init_module():` (or `fabric.init_module()`) without `empty_init=True`, containing a
    `Model.load_from_checkpoint(...)` known to be strict (a `strict` that is not a literal, such as
    `strict=args.strict`, may be False at run time and is not flagged), when the Trainer/Fabric's strategy does not initialize on the meta
    device (anything but FSDP and ModelParallel).

    ## Why it matters
    Lightning's guide: "with `trainer.init_module(empty_init=True)`: model = MyLightningModule.load_from_checkpoint(...)
    ... This is safe if you are loading a checkpoint that includes all parameters in the model." Without it,
    every `torch.nn.init` call runs over every parameter only for the checkpoint to overwrite them: minutes
    for billion-parameter models. With a strict load every parameter is overwritten, so skipping the
    initialization (`_EmptyInit`) is free.

    ## Example
    ```python
    import lightning as L
    from model import GPT

    trainer = L.Trainer()
    with trainer.init_module():
        model = GPT.load_from_checkpoint("last.ckpt")
    ```

    Use instead:
    ```python
    import lightning as L
    from model import GPT

    trainer = L.Trainer()
    with trainer.init_module(empty_init=True):
        model = GPT.load_from_checkpoint("last.ckpt")
    ```

    ## Fix
    Adds `empty_init=True` to the `init_module` call.

    ## Fix safety
    Safe: the load is known to be strict. That is: no `strict` or `strict=True`, not `strict=args.strict`, no
    `strict_loading` other than True on the class; so a checkpoint missing any parameter raises instead of
    leaving uninitialized memory. Not offered under FSDP or
    ModelParallel, where `empty_init=True` means meta tensors that `load_from_checkpoint` cannot fill (FI010).

    ## References
    - [Efficient initialization (Trainer)](https://lightning.ai/docs/pytorch/latest/advanced/model_init.html):
      "Loading checkpoints for inference or finetuning"
    - [Efficient initialization (Fabric)](https://lightning.ai/docs/fabric/stable/advanced/model_init.html)
    """

    code = "FI006"
    name = "checkpoint-load-without-empty-init"
    fixable = "always"
    markers = ("load_from_checkpoint",)
    required_markers = ("init_module",)

    VALID = [
        Valid("""
            import lightning as L
            from model import GPT
            trainer = L.Trainer(precision="bf16-true")
            with trainer.init_module(empty_init=True):
                model = GPT.load_from_checkpoint("last.ckpt")
            """),
        Valid("""
            import lightning as L
            from model import GPT
            trainer = L.Trainer()
            with trainer.init_module():
                model = GPT.load_from_checkpoint("last.ckpt", strict=False)
            """),
        Valid("""
            import lightning as L
            from model import GPT
            trainer = L.Trainer(strategy="fsdp")
            with trainer.init_module():
                model = GPT.load_from_checkpoint("last.ckpt")
            """),
        Valid("""
            import lightning as L
            import torch

            class Lenient(L.LightningModule):
                strict_loading = False

            trainer = L.Trainer()
            with trainer.init_module():
                model = Lenient.load_from_checkpoint("last.ckpt")
            """),
        # Strictness chosen at run time: with `strict=False`, `empty_init=True` would leave garbage.
        Valid("""
            import lightning as L
            from model import GPT

            def evaluate(args):
                trainer = L.Trainer()
                with trainer.init_module():
                    model = GPT.load_from_checkpoint(args.ckpt, strict=args.strict)
            """),
    ]
    INVALID = [
        Invalid(
            """
            import lightning as L
            from model import GPT

            def evaluate(path):
                trainer = L.Trainer(precision="bf16-true")
                with trainer.init_module():
                    model = GPT.load_from_checkpoint(path)
                trainer.test(model)
            """,
            rows=(6,),
            message_contains=("strategy 'auto' at snippet.py:5",),
            fixed="""
            import lightning as L
            from model import GPT

            def evaluate(path):
                trainer = L.Trainer(precision="bf16-true")
                with trainer.init_module(empty_init=True):
                    model = GPT.load_from_checkpoint(path)
                trainer.test(model)
            """,
        ),
        Invalid(
            """
            from pytorch_lightning import Trainer
            trainer = Trainer(strategy="ddp")
            with trainer.init_module(empty_init=False):
                model = Net.load_from_checkpoint("a.ckpt", strict=True)
            """,
            rows=(3,),
            fixed="""
            from pytorch_lightning import Trainer
            trainer = Trainer(strategy="ddp")
            with trainer.init_module(empty_init=True):
                model = Net.load_from_checkpoint("a.ckpt", strict=True)
            """,
        ),
    ]

    @staticmethod
    def wants(runner) -> bool:
        return runner.strategy.known and not runner.strategy.meta_init

    def check_flow(self, flow: Flow) -> None:
        for block in flow.blocks:
            runner = block.runner
            if runner is None or not self.wants(runner) or block.empty_init is True:
                continue
            loads = flow.loads_in(block, "checkpoint")
            if not loads or not all(strict_load(self.context, e) for e in loads):
                continue
            existing = [a for a in block.call.args if not (a.keyword and a.keyword.value == "empty_init")]
            empty = cst.Arg(
                cst.Name("True"),
                keyword=cst.Name("empty_init"),
                equal=cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace("")),
            )
            if existing:
                existing[-1] = existing[-1].with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
            self.report(
                block.call,
                f"`{block.receiver}.init_module()` initializes every parameter only for the strict "
                f"`load_from_checkpoint` inside to overwrite them (strategy {runner.strategy.describe()}); "
                f"pass `empty_init=True`",
                fix=fix({block.call: block.call.with_changes(args=[*existing, empty])}, "Add `empty_init=True`"),
                notes=(runner.strategy_note(),),
            )

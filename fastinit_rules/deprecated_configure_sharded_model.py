"""FI008 deprecated-configure-sharded-model."""

from __future__ import annotations

from fastinit_lint.api import Invalid, Rule, Valid, cst, fix

from ._lightning import file_has_lightning_module, lightning_class, local_runs, method


class DeprecatedConfigureShardedModel(Rule):
    """`configure_sharded_model` on a LightningModule: deprecated since Lightning 2.1.

    ## What it flags
    A LightningModule subclass that defines `configure_sharded_model`; not a test's own model (a class local
    to a function) that the function runs only under `pytest.deprecated_call()`/`raises`/`warns`: that
    tests the deprecation.

    ## Why it matters
    Lightning 2.1 (PR #18004) replaced it with `configure_model`, which runs inside the strategy's
    `tensor_init_context()` as well as `model_sharded_context()`, so layers are created on the right device
    and in the precision's dtype; the old hook gets only the sharded context. Overriding it emits a
    deprecation warning, makes `FSDPStrategy` skip auto-wrapping the root module, and defining both hooks
    raises `RuntimeError("Both ... configure_model, and ... configure_sharded_model are overridden")`
    (`pytorch/trainer/configuration_validator.py`).

    ## Example
    ```python
    def configure_sharded_model(self):
        self.block = Block()
    ```

    Use instead:
    ```python
    def configure_model(self):
        if self.block is not None:
            return
        self.block = Block()
    ```

    ## Fix
    Renames the method to `configure_model` (and calls to `self.configure_sharded_model()` in the class);
    FI005 then adds the idempotency guard if the hook builds layers.

    ## Fix safety
    Safe: Lightning calls both hooks at the same point of `Trainer._run`. No fix when the class also
    defines `configure_model`: the two bodies must be merged by hand.
    """

    code = "FI008"
    name = "deprecated-configure-sharded-model"
    fixable = "sometimes"
    markers = ("configure_sharded_model",)

    VALID = [
        Valid("""
            import lightning as L
            class Modern(L.LightningModule):
                def configure_model(self):
                    pass
            """),
        Valid("""
            class NotLightning:
                def configure_sharded_model(self):
                    pass
            """),
        # A test of the deprecation itself: its own model, run only under `pytest.deprecated_call()`.
        Valid("""
            import pytest
            from lightning.pytorch import LightningModule, Trainer

            def test_configure_sharded_model():
                class MyModel(LightningModule):
                    def configure_sharded_model(self):
                        pass

                trainer = Trainer(fast_dev_run=1)
                with pytest.deprecated_call(match="configure_sharded_model"):
                    trainer.fit(MyModel())
            """),
    ]
    INVALID = [
        Invalid("""
            import pytorch_lightning as pl

            class Old(pl.LightningModule):
                def configure_sharded_model(self):  # legacy
                    self.configure_sharded_model_called = True

                def setup(self, stage):
                    self.configure_sharded_model()
            """,
            rows=(4,),
            fixed="""
            import pytorch_lightning as pl

            class Old(pl.LightningModule):
                def configure_model(self):  # legacy
                    self.configure_sharded_model_called = True

                def setup(self, stage):
                    self.configure_model()
            """),
        Invalid("""
            from lightning.pytorch import LightningModule as LM

            class Both(LM):
                def configure_model(self):
                    pass

                def configure_sharded_model(self):
                    pass
            """,
            rows=(7,),
            message_contains=("RuntimeError",)),
    ]

    @classmethod
    def relevant(cls, facts, index, settings) -> bool:
        return file_has_lightning_module(facts, index, defining="configure_sharded_model")

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        old = method(node, "configure_sharded_model")
        qualname = lightning_class(self.context)
        if qualname is None or old is None:
            return
        runs = local_runs(self.context, qualname)
        if runs and all(run.raises for run in runs):
            return  # a test's own model, run only under `pytest.deprecated_call()`/`raises`: it tests the deprecation
        message = "`configure_sharded_model` is deprecated since Lightning 2.1; override `configure_model` instead"
        if method(node, "configure_model") is not None:
            reason = "the class also defines `configure_model` (Lightning raises RuntimeError when both are overridden); merge them by hand"
            self.report(old, message, no_fix_reason=reason)
            return

        class Rename(cst.CSTTransformer):
            def leave_Attribute(self, original: cst.Attribute, updated: cst.Attribute) -> cst.Attribute:
                if isinstance(updated.value, cst.Name) and updated.value.value == "self" and updated.attr.value == "configure_sharded_model":
                    return updated.with_changes(attr=cst.Name("configure_model"))
                return updated

        def renamed_class() -> dict:  # built when the fix is applied or shown: it rewrites the whole class
            renamed = node.body.visit(Rename())
            new_body = [s.with_changes(name=cst.Name("configure_model")) if isinstance(s, cst.FunctionDef)
                        and s.name.value == "configure_sharded_model" else s for s in renamed.body]
            return {node.body: renamed.with_changes(body=new_body)}

        self.report(old, message, fix=fix(renamed_class, "Rename to `configure_model`"))

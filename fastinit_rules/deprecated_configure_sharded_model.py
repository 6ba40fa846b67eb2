"""FI008 deprecated-configure-sharded-model."""

from __future__ import annotations

from fastinit_lint.api import CONFIGURE_MODEL_SINCE, Invalid, Rule, Valid, cst, descendants, fix

from ._lightning import (
    file_has_lightning_module,
    hierarchy_defining,
    lightning_class,
    local_runs,
    method,
    runs_older_lightning,
)


_BASE = """\
import lightning as L

class SpeechModel(L.LightningModule):
    def configure_sharded_model(self):
        self.encoder = None
"""


class DeprecatedConfigureShardedModel(Rule):
    """`configure_sharded_model` on a LightningModule: deprecated since Lightning 2.1.

    ## What it flags
    A LightningModule subclass that defines `configure_sharded_model`; not a test's own model (a class local
    to a function) that the function runs only under `pytest.deprecated_call()`/`raises`/`warns`: that
    tests the deprecation. Not where the code must also run on a Lightning release before 2.1, which has no
    `configure_model`: the project pins one (`pytorch-lightning==1.8.6`, `lightning>=1.8`: the nearest
    requirements file, `pyproject.toml`, `setup.py`, `setup.cfg`, `environment.yml`, Dockerfile or shell script
    naming Lightning decides) or defines a hook Lightning 2.0 removed (`training_epoch_end`).

    ## Why it matters
    Lightning 2.1 (PR #18004) replaced it with `configure_model`, which runs inside the strategy's
    `tensor_init_context()` as well as `model_sharded_context()`, so layers are created on the right device
    and in the precision's dtype; the old hook gets only the sharded context. Overriding it emits a
    deprecation warning, makes `FSDPStrategy` skip auto-wrapping the root module, and defining both hooks
    raises `RuntimeError("Both ... configure_model, and ... configure_sharded_model are overridden")`
    (`pytorch/trainer/configuration_validator.py`).

    ## Example
    ```python
    import lightning as L
    from model import Block


    class LitModel(L.LightningModule):
        def configure_sharded_model(self):
            self.block = Block()
    ```

    Use instead:
    ```python
    import lightning as L
    from model import Block


    class LitModel(L.LightningModule):
        def __init__(self):
            super().__init__()
            self.block = None

        def configure_model(self):
            if self.block is not None:
                return
            self.block = Block()
    ```

    ## Fix
    Renames the method to `configure_model` (and calls to `self.configure_sharded_model()` and
    `super().configure_sharded_model()` in the class); FI005 then adds the idempotency guard if the hook
    builds layers.

    ## Fix safety
    Safe: Lightning calls both hooks at the same point of `Trainer._run` (`trainer/call.py`
    `_call_configure_model`). Unsafe when another project class of the hierarchy (a base, or a class deriving
    from this one) also defines `configure_sharded_model`: Lightning's check runs on the trained class with its
    inherited hooks (`is_overridden`), so renaming one class while another keeps the old hook raises
    `RuntimeError` until every one is renamed (each has its own finding: apply them together). Unsafe too
    when the body calls `super().configure_sharded_model()`: it becomes `super().configure_model()`, the same
    call only once the parent's hook is renamed as well (a parent from another library keeps the old name).
    Unsafe when the file names the hook in a string (`is_overridden("configure_sharded_model", ...)`,
    `hasattr`): such a check stops finding it after the rename.
    No fix when the class also defines `configure_model`: the two bodies must be merged by hand.

    ## Options
    `lightning-version` (default: the oldest release the project's declarations admit): below 2.1 the rule is
    silent, since its advice needs Lightning 2.1.

    ## References
    - [`ModelHooks.configure_sharded_model`](https://lightning.ai/docs/pytorch/latest/api/lightning.pytorch.core.hooks.ModelHooks.html):
      "Deprecated. Use configure_model() instead"
    - [`configure_sharded_model`](https://github.com/Lightning-AI/pytorch-lightning/blob/2.6.5/src/lightning/pytorch/core/hooks.py#L326)
      (core/hooks.py)
    """

    code = "FI008"
    name = "deprecated-configure-sharded-model"
    fixable = "sometimes"
    markers = ("configure_sharded_model",)

    VALID = [
        # `lightning>=1.8.0` claims Lightning 1.8 works, where `configure_model` is not a hook: the old name is the
        # one every supported release calls (pytorch-lightning-GPT's requirements.txt).
        Valid(_BASE, files={"requirements.txt": "lightning>=1.8.0\ntorch>=1.13\n"}),
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
        Invalid(
            """
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
            """,
        ),
        # A parent of the project also defines the old hook, and the body calls it: renaming this class alone
        # would leave the class with both hooks (Lightning raises), so the fix renames the call too and is unsafe.
        Invalid(
            """
            from torch import nn
            from base import SpeechModel

            class CrossAttend(SpeechModel):
                def configure_sharded_model(self):
                    super().configure_sharded_model()
                    self.cross = nn.Linear(8, 8)
            """,
            rows=(5,),
            unsafe=True,
            message_contains=("`SpeechModel` (base.py:3) also defines", "RuntimeError"),
            files={"base.py": _BASE},
            fixed="""
            from torch import nn
            from base import SpeechModel

            class CrossAttend(SpeechModel):
                def configure_model(self):
                    super().configure_model()
                    self.cross = nn.Linear(8, 8)
            """,
        ),
        # The same base imported through its package's re-export (`from models import SpeechModel`).
        Invalid(
            """
            from models import SpeechModel

            class CrossAttend(SpeechModel):
                def configure_sharded_model(self):
                    pass
            """,
            rows=(4,),
            unsafe=True,
            message_contains=("`SpeechModel` (models/base.py:3) also defines",),
            files={"models/__init__.py": "from .base import SpeechModel\n", "models/base.py": _BASE},
            fixed="""
            from models import SpeechModel

            class CrossAttend(SpeechModel):
                def configure_model(self):
                    pass
            """,
        ),
        # Code that asks for the hook by name (pytorch-lightning-GPT builds its model in `__init__` unless
        # `is_overridden("configure_sharded_model", ...)`): after the rename it would build it twice.
        Invalid(
            """
            from lightning.pytorch import LightningModule
            from lightning.pytorch.utilities.model_helpers import is_overridden
            from torch import nn

            class Net(LightningModule):
                def __init__(self):
                    super().__init__()
                    if not is_overridden("configure_sharded_model", self, LightningModule):
                        self.layer = nn.Linear(4, 4)

                def configure_sharded_model(self):
                    self.layer = nn.Linear(4, 4)
            """,
            rows=(11,),
            unsafe=True,
            message_contains=("names the hook in a string",),
            fixed="""
            from lightning.pytorch import LightningModule
            from lightning.pytorch.utilities.model_helpers import is_overridden
            from torch import nn

            class Net(LightningModule):
                def __init__(self):
                    super().__init__()
                    if not is_overridden("configure_sharded_model", self, LightningModule):
                        self.layer = nn.Linear(4, 4)

                def configure_model(self):
                    self.layer = nn.Linear(4, 4)
            """,
        ),
        # The base of such a hierarchy: its subclass in another file keeps the old hook until renamed too.
        Invalid(
            _BASE,
            rows=(4,),
            unsafe=True,
            message_contains=("`CrossAttend` (child.py:3) also defines",),
            snippet="base.py",
            files={
                "child.py": """
                    from base import SpeechModel

                    class CrossAttend(SpeechModel):
                        def configure_sharded_model(self):
                            super().configure_sharded_model()
                    """
            },
            fixed=_BASE.replace("configure_sharded_model", "configure_model"),
        ),
        Invalid(
            """
            from lightning.pytorch import LightningModule as LM

            class Both(LM):
                def configure_model(self):
                    pass

                def configure_sharded_model(self):
                    pass
            """,
            rows=(7,),
            message_contains=("RuntimeError",),
        ),
    ]

    @classmethod
    def relevant(cls, facts, index, settings) -> bool:
        return file_has_lightning_module(facts, index, defining="configure_sharded_model") and not runs_older_lightning(
            facts, index, CONFIGURE_MODEL_SINCE
        )

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
                if updated.attr.value != "configure_sharded_model" or not (
                    _is_super(updated.value) or (isinstance(updated.value, cst.Name) and updated.value.value == "self")
                ):
                    return updated
                return updated.with_changes(attr=cst.Name("configure_model"))

        def renamed_class() -> dict:  # built when the fix is applied or shown: it rewrites the whole class
            renamed = node.body.visit(Rename())
            new_body = [
                s.with_changes(name=cst.Name("configure_model"))
                if isinstance(s, cst.FunctionDef) and s.name.value == "configure_sharded_model"
                else s
                for s in renamed.body
            ]
            return {node.body: renamed.with_changes(body=new_body)}

        calls_parent = any(
            isinstance(n, cst.Attribute) and n.attr.value == "configure_sharded_model" and _is_super(n.value)
            for n in descendants(node.body)
        )
        # Lightning raises when a class has both hooks, its own or inherited: renaming one class of a hierarchy
        # whose other classes keep `configure_sharded_model` breaks it until they are renamed too.
        unsafe = [
            f"{other} also defines `configure_sharded_model`: Lightning raises RuntimeError when a class has "
            f"both hooks (its own or inherited), so rename them together"
            for other in hierarchy_defining(self.context, qualname, "configure_sharded_model")
        ]
        if any(
            isinstance(n, cst.SimpleString) and n.evaluated_value == "configure_sharded_model"
            for n in descendants(self.context.module)
        ):
            unsafe.append(
                'the file names the hook in a string (`is_overridden("configure_sharded_model", ...)`, '
                "`hasattr`): after the rename that check no longer finds it"
            )
        if calls_parent:
            unsafe.append(
                "it calls `super().configure_sharded_model()`, renamed to `super().configure_model()`: the "
                "same only once the parent's hook is renamed too"
            )
        self.report(
            old,
            message,
            fix=fix(renamed_class, "Rename to `configure_model`", unsafe=bool(unsafe)),
            notes=tuple(f"the fix is unsafe: {reason}" for reason in unsafe),
        )


def _is_super(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value == "super"

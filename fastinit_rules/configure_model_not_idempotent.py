"""FI005 configure-model-not-idempotent."""

from __future__ import annotations

from fastinit_lint.lazy_libcst import cst

from fastinit_lint.rule import Invalid, Rule, Valid, fix

from ._lightning import analyse_method, file_has_lightning_module, is_docstring, lightning_class, method


def _is_guard(statement: cst.BaseStatement, context) -> bool:
    """`if <something about self>: return` — any early return that tests state on `self`."""
    if not isinstance(statement, cst.If) or statement.orelse is not None:
        return False
    body = statement.body.body if isinstance(statement.body, cst.IndentedBlock) else []
    only_return = (len(body) == 1 and isinstance(body[0], cst.SimpleStatementLine)
                   and all(isinstance(s, cst.Return) for s in body[0].body)) or (
        isinstance(statement.body, cst.SimpleStatementSuite) and all(isinstance(s, cst.Return) for s in statement.body.body))
    return only_return and "self" in context.code(statement.test)


def _assigned_in_init(init: cst.FunctionDef | None, attr: str, context) -> str | None:
    """The value `__init__` gives `self.attr` ("None", other code), or None when it never assigns it."""
    if init is None:
        return None
    value = None
    for statement in init.body.body:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, cst.Assign) and any(
                        isinstance(t.target, cst.Attribute) and isinstance(t.target.value, cst.Name)
                        and t.target.value.value == "self" and t.target.attr.value == attr for t in small.targets):
                    value = context.code(small.value)
    return value


class ConfigureModelNotIdempotent(Rule):
    """`configure_model` that builds layers without an early-return guard.

    ## What it flags
    A LightningModule's `configure_model` that assigns newly built modules or parameters to `self`
    (`self.x = nn.Linear(...)`, a project module, `AutoModel.from_pretrained(...)`) without first
    returning when they already exist (`if self.x is not None: return`, `hasattr(self, "x")`,
    `getattr(self, "x", None) is not None`, a boolean flag). Hooks that only wrap existing modules
    (`fully_shard`, `parallelize_module`, `torch.compile`) are not flagged.

    ## Why it matters
    Lightning calls `configure_model` on every `fit`, `validate`, `test` and `predict` in the same process
    (`Trainer._run` -> `call._call_configure_model`), and `load_from_checkpoint` calls it too. Its
    docstring: "ensure that implementation of this hook is **idempotent**". Without the guard, a
    `trainer.validate()` after `trainer.fit()` replaces the trained weights with fresh random ones,
    silently (Lightning issues #18102, #19015).

    ## Example
    ```python
    def configure_model(self):
        self.model = Transformer(self.hparams.dim)
    ```

    Use instead:
    ```python
    def configure_model(self):
        if self.model is not None:
            return
        self.model = Transformer(self.hparams.dim)
    ```

    ## Fix
    Inserts `if self.<first built attribute> is not None: return` at the top of the hook (after its
    docstring), and `self.<attr> = None` at the end of `__init__` when `__init__` does not set it; with no
    `__init__`, the guard reads `getattr(self, "<attr>", None)` instead.

    ## Fix safety
    Safe: the first call behaves as before and later calls keep the existing modules, which is what
    Lightning's contract requires. No fix when `__init__` already builds the attribute (see FI001).
    """

    code = "FI005"
    name = "configure-model-not-idempotent"
    fixable = "sometimes"
    markers = ("configure_model",)

    VALID = [
        Valid("""
            import lightning as L
            from torch import nn
            class Guarded(L.LightningModule):
                def __init__(self):
                    super().__init__()
                    self.model = None
                def configure_model(self):
                    if self.model is not None:
                        return
                    self.model = nn.Linear(4, 4)
            """),
        Valid("""
            import lightning as L
            from torch import nn
            class HasAttr(L.LightningModule):
                def configure_model(self):
                    if hasattr(self, "model"):
                        return
                    self.model = nn.Linear(4, 4)
            """),
        Valid("""
            import lightning as L
            import torch
            from torch.distributed.fsdp import fully_shard
            class WrapsOnly(L.LightningModule):
                def __init__(self):
                    super().__init__()
                    self.model = torch.nn.Linear(4, 4)
                def configure_model(self):
                    fully_shard(self.model)
                    self.model = torch.compile(self.model)
            """),
        Valid("""
            from torch import nn
            class NotLightning(nn.Module):
                def configure_model(self):
                    self.model = nn.Linear(4, 4)
            """),
    ]
    INVALID = [
        Invalid("""
            import lightning as L
            from torch import nn

            class Classifier(L.LightningModule):
                def __init__(self, classes=10):
                    super().__init__()
                    self.classes = classes

                def configure_model(self):
                    \"\"\"Build the backbone.\"\"\"
                    self.backbone = nn.Linear(512, self.classes)
            """,
            rows=(9,),
            message_contains=("`self.backbone`", "fit/validate/test/predict"),
            fixed="""
            import lightning as L
            from torch import nn

            class Classifier(L.LightningModule):
                def __init__(self, classes=10):
                    super().__init__()
                    self.classes = classes
                    self.backbone = None

                def configure_model(self):
                    \"\"\"Build the backbone.\"\"\"
                    if self.backbone is not None:
                        return
                    self.backbone = nn.Linear(512, self.classes)
            """),
        Invalid("""
            import pytorch_lightning as pl
            from transformers import AutoModel

            class NoInit(pl.LightningModule):
                def configure_model(self):
                    self.model = AutoModel.from_pretrained("gpt2")
            """,
            rows=(5,),
            fixed="""
            import pytorch_lightning as pl
            from transformers import AutoModel

            class NoInit(pl.LightningModule):
                def configure_model(self):
                    if getattr(self, "model", None) is not None:
                        return
                    self.model = AutoModel.from_pretrained("gpt2")
            """),
        Invalid("""
            from lightning.pytorch import LightningModule
            from torch import nn

            class Eager(LightningModule):
                def __init__(self):
                    super().__init__()
                    self.head = nn.Linear(4, 4)

                def configure_model(self):
                    self.head = nn.Linear(8, 8)
            """,
            rows=(9,),
            message_contains=("no automatic fix: `__init__` already sets `self.head`",)),
    ]

    @classmethod
    def relevant(cls, facts, index, settings) -> bool:
        return file_has_lightning_module(facts, index, defining="configure_model")

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        context = self.context
        hook = method(node, "configure_model")
        if lightning_class(context) is None or hook is None or not isinstance(hook.body, cst.IndentedBlock):
            return
        analysis = analyse_method(context, hook)
        if analysis is None:
            return
        for statement in analysis.statements:
            if _is_guard(statement.node, context):
                return  # guarded before anything is built
            if statement.builds and statement.writes_self:
                break
        else:
            return
        attr = sorted(statement.writes_self)[0]
        init = method(node, "__init__")
        in_init = _assigned_in_init(init, attr, context)
        message = (f"`configure_model` builds `self.{attr}` without an early-return guard; Lightning calls it on "
                   f"every fit/validate/test/predict and in `load_from_checkpoint`, so trained weights get replaced")
        if in_init is not None and in_init != "None":
            reason = f"`__init__` already sets `self.{attr}` (move that construction here first, FI001)"
            self.report(hook, f"{message} (no automatic fix: {reason})", no_fix_reason=reason)
            return
        test = f"self.{attr} is not None" if init is not None else f'getattr(self, "{attr}", None) is not None'
        guard = cst.parse_statement(f"if {test}:\n    return\n")
        body = list(hook.body.body)
        at = 1 if body and is_docstring(body[0]) else 0
        new_hook = hook.with_changes(body=hook.body.with_changes(body=[*body[:at], guard, *body[at:]]))
        new_init = init
        if init is not None and in_init is None:
            placeholder = cst.parse_statement(f"self.{attr} = None\n")
            new_init = init.with_changes(body=init.body.with_changes(body=[*init.body.body, placeholder]))
        new_body = [new_hook if s is hook else new_init if s is init else s for s in node.body.body]
        self.report(hook, message, fix=fix({node.body: node.body.with_changes(body=new_body)},
                                           f"Return early when `self.{attr}` already exists"))

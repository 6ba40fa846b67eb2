"""FI002 empty-init-partial-load."""

from __future__ import annotations

from fastinit_lint.lazy_libcst import cst

from fastinit_lint.rule import Invalid, Rule, Valid, fix

from fastinit_lint.load_summaries import LOADING_HOOKS

from ._flow import Event, Flow, FlowRule, built_in, ensure_import, file_has_runner, flow, partial_load

RUNTIME = "fastinit_runtime"


class EmptyInitPartialLoad(FlowRule, Rule):
    """A partial checkpoint loaded into a model built with `empty_init=True`: missing weights are garbage.

    ## What it flags
    A model built inside `trainer.init_module(empty_init=True)` / `fabric.init_module(empty_init=True)`
    (strategies that do not use the meta device) and then loaded partially: `load_from_checkpoint(...,
    strict=False)` or a class with `strict_loading = False`, `model.load_state_dict(..., strict=False)`,
    `fabric.load(..., strict=False)`, `fabric.load_raw(..., strict=False)` — unless the function re-initializes
    afterwards (`reset_parameters()`, `nn.init.*`, `fastinit_runtime.load_partial`).

    Also a partial load in a Lightning hook that runs on the fitted model (`setup`, `configure_model`,
    `on_fit_start`, `on_train_start`, `on_load_checkpoint`, ...) of a class some Trainer fits after building
    it under `init_module(empty_init=True)` (found through the training graph, in any file).

    ## Why it matters
    Lightning's guide, under `empty_init=True`: "If you are loading a partial checkpoint (`strict=False`),
    you may end up with a subset of parameters that have uninitialized weights." `_EmptyInit` skips every
    `torch.nn.init` call, so parameters the checkpoint lacks keep whatever memory held: NaN in 13 of 20
    trials in a CPU experiment; Lightning only warns about the missing keys.

    ## Example
    ```python
    with fabric.init_module(empty_init=True):
        model = Classifier()  # new head
    model.load_state_dict(torch.load("backbone.pt"), strict=False)
    ```

    Use instead:
    ```python
    with fabric.init_module(empty_init=True):
        model = Classifier()
    fastinit_runtime.load_partial(model, torch.load("backbone.pt"))  # initializes what the checkpoint lacks
    ```

    ## Fix
    Rewrites `model.load_state_dict(sd, strict=False)` and `fabric.load_raw(path, model, strict=False)` to
    `fastinit_runtime.load_partial(model, sd_or_path)`, and `Cls.load_from_checkpoint(..., strict=False)` to
    `fastinit_runtime.lightning.load_from_checkpoint(Cls, ..., strict=False)`, adding `import fastinit_runtime`.

    ## Fix safety
    Unsafe: it adds a runtime dependency on `fastinit_runtime`, and `load_partial` returns the missing and
    unexpected keys where `load_state_dict` returned a `NamedTuple` of them. `fabric.load` with a state dict
    of several objects has no fix.
    """

    code = "FI002"
    name = "empty-init-partial-load"
    fixable = "sometimes"
    markers = ("empty_init", "strict=False", "strict = False", *(f"def {hook}" for hook in sorted(LOADING_HOOKS)))

    VALID = [
        Valid("""
            import lightning as L
            import torch
            from model import Net
            fabric = L.Fabric()
            with fabric.init_module(empty_init=True):
                model = Net()
            model.load_state_dict(torch.load("w.pt"))
            """),
        Valid("""
            import lightning as L
            import torch
            from model import Net
            fabric = L.Fabric()
            with fabric.init_module(empty_init=True):
                model = Net()
            model.load_state_dict(torch.load("w.pt"), strict=False)
            model.head.reset_parameters()
            """),
        Valid("""
            import lightning as L
            import torch
            from model import Net
            fabric = L.Fabric()
            with fabric.init_module():
                model = Net()
            model.load_state_dict(torch.load("w.pt"), strict=False)
            """),
    ]
    INVALID = [
        Invalid("""
            import lightning as L
            import torch
            from model import Net

            def finetune():
                fabric = L.Fabric(precision="bf16-true")
                with fabric.init_module(empty_init=True):
                    model = Net()
                model.load_state_dict(torch.load("backbone.pt"), strict=False)
            """, rows=(9,), unsafe=True, message_contains=("uninitialized", "`model`"),
            fixed="""
            import lightning as L
            import torch
            from model import Net
            import fastinit_runtime

            def finetune():
                fabric = L.Fabric(precision="bf16-true")
                with fabric.init_module(empty_init=True):
                    model = Net()
                fastinit_runtime.load_partial(model, torch.load("backbone.pt"))
            """),
        Invalid("""
            import pytorch_lightning as pl
            import fastinit_runtime
            trainer = pl.Trainer()
            with trainer.init_module(empty_init=True):
                model = Net.load_from_checkpoint("pre.ckpt", strict=False, lr=1e-3)
            """, rows=(5,), unsafe=True,
            fixed="""
            import pytorch_lightning as pl
            import fastinit_runtime
            trainer = pl.Trainer()
            with trainer.init_module(empty_init=True):
                model = fastinit_runtime.lightning.load_from_checkpoint(Net, "pre.ckpt", strict=False, lr=1e-3)
            """),
        Invalid("""
            import lightning as L
            fabric = L.Fabric()
            with fabric.init_module(empty_init=True):
                model = Net()
            fabric.load(path, {"model": model}, strict=False)
            """, rows=(5,)),
        # The base weights are loaded in a hook; the LoRA matrices the checkpoint lacks stay garbage.
        Invalid("""
            import lightning as L
            import torch

            class LoRAFinetune(L.LightningModule):
                def on_train_start(self):
                    state_dict = torch.load("base.pth", mmap=True)
                    self.model.load_state_dict(state_dict, strict=False)
            """, rows=(7,), message_contains=(
                "partial load in `on_train_start`", "trained by `trainer.fit(...)` at train.py:6 with strategy 'auto'"),
            files={"train.py": """
                import lightning as L
                from snippet import LoRAFinetune
                trainer = L.Trainer(precision="bf16-true")
                with trainer.init_module(empty_init=True):
                    model = LoRAFinetune()
                trainer.fit(model)
                """}),
    ]

    @classmethod
    def relevant(cls, facts, index, settings) -> bool:
        return file_has_runner(facts) or any(
            index.loads.hook_loads(c.qualname).partial and index.training.empty_init_trainer_link(c.qualname)
            for c in facts.classes)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        """A partial load in a hook of a fitted class, or in a method such a hook calls (`self._load_base()`)."""
        super().visit_FunctionDef(node)
        qualname = self.context.enclosing_class_qualname()
        if qualname is None:
            return
        hook = self.context.index.loads.hook_methods(qualname).get(node.name.value)
        link = self.context.index.training.empty_init_trainer_link(qualname) if hook is not None else None
        if link is None:
            return
        where = f"`{hook}`" if hook == node.name.value else f"`{node.name.value}` (run by `{hook}`)"
        for event in flow(self.context, node).events:
            if event.kind == "load" and partial_load(self.context, event):
                self.report(event.call,
                            f"partial load{_through(event)} in {where} into a model built with `empty_init=True` and "
                            f"{link.describe()}: parameters the checkpoint lacks keep uninitialized memory (NaNs in "
                            f"practice); initialize them (`fastinit_runtime.load_partial`) or drop `empty_init=True`",
                            no_fix_reason="the load is in a hook, away from where the model is built")

    def check(self, flow_: Flow) -> None:
        for block in flow_.empty_init_blocks(meta=False):
            for event in flow_.events:
                if event.block is block and event.kind == "load" and event.detail.get("how") == "checkpoint" \
                        and partial_load(self.context, event):
                    self._report(event, event.var or "the model", flow_)
            for build in built_in(flow_, block):
                for event in flow_.for_var(build.var, {"load"}, flow_.after(build)):
                    if event.detail.get("how") != "checkpoint" and partial_load(self.context, event):
                        self._report(event, build.var, flow_)

    def _report(self, event: Event, var: str, flow_: Flow) -> None:
        if flow_.for_var(var, {"reinit"}, flow_.after(event)):
            return
        message = (f"partial load into `{var}`{_through(event)}, built with `empty_init=True`: parameters the "
                   f"checkpoint lacks keep uninitialized memory (NaNs in practice); initialize them "
                   f"(`fastinit_runtime.load_partial`)")
        replacement = self._replacement(event)
        if replacement is None:
            self.report(event.call, message)
            return
        changes = {event.call: replacement, **ensure_import(self.context, RUNTIME)}
        self.report(event.call, message, fix=fix(changes, "Load through fastinit_runtime, which initializes missing "
                                                          "parameters", unsafe=True))

    def _replacement(self, event: Event) -> cst.BaseExpression | None:
        call = event.call
        how = event.detail.get("how")
        code = self.context.code
        positional = [a for a in call.args if a.keyword is None]
        rest = [a for a in call.args if a.keyword is not None and a.keyword.value != "strict"]
        if how == "state_dict" and positional and not rest:
            return cst.parse_expression(f"{RUNTIME}.load_partial({event.var}, {code(positional[0].value)})")
        if how == "fabric.load_raw" and len(positional) == 2 and not rest:
            return cst.parse_expression(f"{RUNTIME}.load_partial({code(positional[1].value)}, {code(positional[0].value)})")
        if how == "checkpoint":
            args = ", ".join(code(a).rstrip(", ") for a in call.args)
            return cst.parse_expression(f"{RUNTIME}.lightning.load_from_checkpoint({code(call.func.value)}, {args})")
        return None


def _through(event: Event) -> str:
    """For a load inside a project helper: " through `load_checkpoint` (`load_state_dict` at utils.py:398)"."""
    if event.detail.get("how") != "helper":
        return ""
    return f" through `{event.detail['helper']}` (`{event.detail['what']}` at {event.detail['where']})"

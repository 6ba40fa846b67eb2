"""FI002 empty-init-partial-load."""

from __future__ import annotations

from fastinit_lint.api import LOADING_HOOKS, Invalid, Valid, cst, fix

from ._flow import Event, Flow, FlowRule, Kind, file_has_runner, flow_of, partial_load
from ._runtime_dependency import RUNTIME

# The dependency-free remedy first: `load_partial` needs the runtime library installed.
REMEDY = (
    "drop `empty_init=True` (so every parameter is initialized) or initialize them (`fastinit_runtime.load_partial`)"
)


# A project helper like litgpt's `load_checkpoint`: `strict` passed through to `load_state_dict`.
_HELPERS = {
    "helpers.py": """
    import torch

    def load_checkpoint(fabric, model, path, strict=True):
        model.load_state_dict(torch.load(path), strict=strict)

    def load_backbone(model, path):
        load_checkpoint(None, model.backbone, path, strict=False)

    def load_then_init(model, path):
        model.load_state_dict(torch.load(path), strict=False)
        model.head.reset_parameters()
    """
}


class EmptyInitPartialLoad(FlowRule):
    """A partial checkpoint loaded into a model built with `empty_init=True`: missing weights are garbage.

    ## What it flags
    A model built inside `trainer.init_module(empty_init=True)` / `fabric.init_module(empty_init=True)`
    (strategies that do not use the meta device) and then loaded partially: `load_from_checkpoint(...,
    strict=False)` or a class with `strict_loading = False`, `model.load_state_dict(..., strict=False)`,
    `fabric.load(..., strict=False)`, `fabric.load_raw(..., strict=False)` — unless the function re-initializes
    afterwards (`reset_parameters()`, `nn.init.*`, `fastinit_runtime.load_partial`).

    Also a project helper that loads the model partially (`load_checkpoint(fabric, model, path, strict=False)`
    where `load_checkpoint` passes `strict` on to `load_state_dict`, by keyword or position, or a helper that
    fixes `strict=False` itself, in any module and through helpers it calls), reported at the call, naming the
    helper and the load it reaches. A helper that initializes what it loaded partially is not reported.

    Also a partial load in a Lightning hook that runs on the fitted model (`setup`, `configure_model`,
    `on_fit_start`, `on_train_start`, `on_load_checkpoint`, ...) of a class some Trainer fits after building
    it under `init_module(empty_init=True)` (found through the training graph, in any file), directly, through
    a project helper, or in a method the hook calls (`self._load_base()`).

    ## Why it matters
    Lightning's guide, under `empty_init=True`: "If you are loading a partial checkpoint (`strict=False`),
    you may end up with a subset of parameters that have uninitialized weights." `_EmptyInit` skips every
    `torch.nn.init` call, so parameters the checkpoint lacks keep whatever memory held: NaN in 13 of 20
    trials in a CPU experiment; Lightning only warns about the missing keys.

    ## Example
    ```python
    import lightning as L
    import torch
    from model import Classifier

    fabric = L.Fabric(precision="bf16-true")
    with fabric.init_module(empty_init=True):
        model = Classifier()  # new head
    model.load_state_dict(torch.load("backbone.pt"), strict=False)
    ```

    Use instead:
    ```python
    import lightning as L
    import torch
    from model import Classifier

    fabric = L.Fabric(precision="bf16-true")
    with fabric.init_module():  # without empty_init: every parameter is initialized, then loaded over
        model = Classifier()
    model.load_state_dict(torch.load("backbone.pt"), strict=False)
    ```

    or, keeping the faster `empty_init=True`, with the runtime library (`fastinit-lint[runtime]`):
    ```python
    import fastinit_runtime
    import lightning as L
    import torch
    from model import Classifier

    fabric = L.Fabric(precision="bf16-true")
    with fabric.init_module(empty_init=True):
        model = Classifier()
    fastinit_runtime.load_partial(model, torch.load("backbone.pt"))  # initializes what the checkpoint lacks
    ```

    ## Fix
    Rewrites `model.load_state_dict(sd, strict=False)` and `fabric.load_raw(path, model, strict=False)` to
    `fastinit_runtime.load_partial(model, sd_or_path)`, and `Cls.load_from_checkpoint(..., strict=False)` to
    `fastinit_runtime.lightning.load_from_checkpoint(Cls, ..., strict=False)`, adding `import fastinit_runtime`.

    ## Fix safety
    Unsafe: it adds a runtime dependency on `fastinit_runtime`. And `load_partial` returns the missing and
    unexpected keys where `load_state_dict` returned a `NamedTuple` of them. `fabric.load` with a state dict
    of several objects has no fix.

    ## References
    - [Efficient initialization (Fabric)](https://lightning.ai/docs/fabric/stable/advanced/model_init.html):
      `empty_init=True` is safe only for a checkpoint holding every parameter
    - [Efficient initialization (Trainer)](https://lightning.ai/docs/pytorch/latest/advanced/model_init.html)
    - [`_EmptyInit`](https://github.com/Lightning-AI/pytorch-lightning/blob/2.6.5/src/lightning/fabric/utilities/init.py#L29)
      (fabric/utilities/init.py): skips initialization
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
        # The helper's `strict` defaults to True, or is given True; the other helper initializes what it skipped.
        Valid(
            """
            import lightning as L
            from helpers import load_checkpoint, load_then_init
            from model import Net

            def main(path):
                fabric = L.Fabric()
                with fabric.init_module(empty_init=True):
                    model = Net()
                    other = Net()
                load_checkpoint(fabric, model, path)
                load_checkpoint(fabric, other, path, True)
                load_then_init(other, path)
            """,
            files=_HELPERS,
        ),
    ]
    INVALID = [
        Invalid(
            """
            import lightning as L
            import torch
            from model import Net

            def finetune():
                fabric = L.Fabric(precision="bf16-true")
                with fabric.init_module(empty_init=True):
                    model = Net()
                model.load_state_dict(torch.load("backbone.pt"), strict=False)
            """,
            rows=(9,),
            unsafe=True,
            message_contains=("uninitialized", "`model`"),
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
            """,
        ),
        Invalid(
            """
            import pytorch_lightning as pl
            import fastinit_runtime
            trainer = pl.Trainer()
            with trainer.init_module(empty_init=True):
                model = Net.load_from_checkpoint("pre.ckpt", strict=False, lr=1e-3)
            """,
            rows=(5,),
            unsafe=True,
            fixed="""
            import pytorch_lightning as pl
            import fastinit_runtime
            trainer = pl.Trainer()
            with trainer.init_module(empty_init=True):
                model = fastinit_runtime.lightning.load_from_checkpoint(
                    Net, "pre.ckpt", strict=False, lr=1e-3
                )
            """,
        ),
        # A load into a submodule: the fix loads into that submodule, not into the whole model.
        Invalid(
            """
            import lightning as L
            import torch
            from model import Net

            def finetune():
                fabric = L.Fabric()
                with fabric.init_module(empty_init=True):
                    model = Net()
                model.backbone.load_state_dict(torch.load("backbone.pt"), strict=False)
            """,
            rows=(9,),
            unsafe=True,
            fixed="""
            import lightning as L
            import torch
            from model import Net
            import fastinit_runtime

            def finetune():
                fabric = L.Fabric()
                with fabric.init_module(empty_init=True):
                    model = Net()
                fastinit_runtime.load_partial(model.backbone, torch.load("backbone.pt"))
            """,
        ),
        # The fix adds the import: the fixed call is the runtime's, and is not flagged again.
        Invalid(
            """
            import pytorch_lightning as pl
            trainer = pl.Trainer()
            with trainer.init_module(empty_init=True):
                model = Net.load_from_checkpoint("pre.ckpt", strict=False)
            """,
            rows=(4,),
            unsafe=True,
            message_contains=("drop `empty_init=True`",),
            fixed="""
            import pytorch_lightning as pl
            import fastinit_runtime

            trainer = pl.Trainer()
            with trainer.init_module(empty_init=True):
                model = fastinit_runtime.lightning.load_from_checkpoint(
                    Net, "pre.ckpt", strict=False
                )
            """,
        ),
        Invalid(
            """
            import lightning as L
            fabric = L.Fabric()
            with fabric.init_module(empty_init=True):
                model = Net()
            fabric.load(path, {"model": model}, strict=False)
            """,
            rows=(5,),
        ),
        # The base weights are loaded in a hook; the LoRA matrices the checkpoint lacks stay garbage.
        Invalid(
            """
            import lightning as L
            import torch

            class LoRAFinetune(L.LightningModule):
                def on_train_start(self):
                    state_dict = torch.load("base.pth", mmap=True)
                    self.model.load_state_dict(state_dict, strict=False)
            """,
            rows=(7,),
            message_contains=(
                "partial load in `on_train_start`",
                "trained by `trainer.fit(...)` with strategy 'auto'",
                "built under `trainer.init_module(empty_init=True)` at train.py:5",
                "trained by `trainer.fit(...)` at train.py:6",
                "strategy 'auto' at train.py:3",
            ),
            files={
                "train.py": """
                import lightning as L
                from snippet import LoRAFinetune
                trainer = L.Trainer(precision="bf16-true")
                with trainer.init_module(empty_init=True):
                    model = LoRAFinetune()
                trainer.fit(model)
                """
            },
        ),
        # Through a project helper: `strict=False` passed by keyword and by position, or fixed inside a helper
        # that calls the first one (helpers.py).
        Invalid(
            """
            import lightning as L
            from helpers import load_backbone, load_checkpoint
            from model import Net

            def finetune(path):
                fabric = L.Fabric(precision="bf16-true")
                with fabric.init_module(empty_init=True):
                    a, b, c = Net(), Net(), Net()
                    model = Net()
                    head = Net()
                    tail = Net()
                load_checkpoint(fabric, model, path, strict=False)
                load_checkpoint(fabric, head, path, False)
                load_backbone(tail, path)
            """,
            rows=(12, 13, 14),
            files=_HELPERS,
            message_contains=(
                "partial load into `model` through `load_checkpoint`",
                "`load_state_dict` reached through `load_checkpoint` at helpers.py:4",
                "`model` built under `fabric.init_module(empty_init=True)` at snippet.py:9",
                "partial load into `tail` through `load_backbone`",
            ),
        ),
        # In a method the hook calls, and through a helper called in a hook.
        Invalid(
            """
            import lightning as L
            from helpers import load_checkpoint

            class Finetune(L.LightningModule):
                def setup(self, stage):
                    self._load_base()
                    load_checkpoint(None, self.model, "base.pth", strict=False)

                def _load_base(self):
                    self.model.load_state_dict(torch.load("base.pth"), strict=False)
            """,
            rows=(7, 10),
            message_contains=("in `_load_base` (run by `setup`)", "through `load_checkpoint`"),
            files={
                **_HELPERS,
                "train.py": """
                import lightning as L
                from snippet import Finetune
                trainer = L.Trainer()
                with trainer.init_module(empty_init=True):
                    model = Finetune()
                trainer.fit(model)
                """,
            },
        ),
    ]

    @classmethod
    def relevant(cls, facts, index, settings) -> bool:
        # Hooks are everywhere (the markers): a runner file counts only with an `empty_init=True` block.
        return (
            facts.empty_init_blocks
            and file_has_runner(facts)
            or any(
                index.loads.hook_loads(c.qualname).partial and index.training.empty_init_trainer_link(c.qualname)
                for c in facts.classes
            )
        )

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
        for event in flow_of(self.context, node).events:
            if event.kind is Kind.LOAD and partial_load(self.context, event):
                self.report(
                    event.call,
                    f"partial load{_through(event)} in {where} into a model built with `empty_init=True` and "
                    f"{link.describe()}: parameters the checkpoint lacks keep uninitialized memory (NaNs in "
                    f"practice); {REMEDY}",
                    no_fix_reason="the load is in a hook, away from where the model is built",
                    notes=(*_helper_notes(event), *link.notes()),
                )

    def check_flow(self, flow: Flow) -> None:
        for block in flow.empty_init_blocks(meta=False):
            for event in flow.loads_in(block, "checkpoint"):
                if partial_load(self.context, event):
                    self._report(event, event.var or "the model", flow, ())
            for build in flow.built_in(block):
                for event in flow.for_var(build.var, {Kind.LOAD}, flow.after(build)):
                    if event.load.how != "checkpoint" and partial_load(self.context, event):
                        self._report(event, build.var, flow, (block.build_note(build),))

    def _report(self, event: Event, var: str, flow: Flow, built: tuple) -> None:
        """`built`: the note locating the build, when the load is not the build itself."""
        if flow.for_var(var, {Kind.REINIT}, flow.after(event)):
            return
        message = (
            f"partial load into `{var}`{_through(event)}, built with `empty_init=True`: parameters the "
            f"checkpoint lacks keep uninitialized memory (NaNs in practice); {REMEDY}"
        )
        notes = (*built, *_helper_notes(event))
        replacement = self._replacement(event)
        if replacement is None:
            self.report(event.call, message, notes=notes)
            return
        self.report(
            event.call,
            message,
            fix=fix(
                {event.call: replacement},
                "Load through fastinit_runtime, which initializes missing parameters",
                unsafe=True,
                imports=((RUNTIME, None),),
            ),
            notes=notes,
        )

    @staticmethod
    def _replacement(event: Event) -> cst.BaseExpression | None:
        """The runtime's call, built from the original argument nodes (their comments and layout kept)."""
        call = event.call
        how = event.load.how
        positional = [a.value for a in call.args if a.keyword is None]
        rest = [a for a in call.args if a.keyword is not None and a.keyword.value != "strict"]
        if how == "state_dict" and positional and not rest:  # into the module the method was called on
            return _runtime_call(("load_partial",), [cst.Arg(call.func.value), cst.Arg(positional[0])])
        if how == "fabric.load_raw" and len(positional) == 2 and not rest:
            return _runtime_call(("load_partial",), [cst.Arg(positional[1]), cst.Arg(positional[0])])
        if how == "checkpoint":
            return _runtime_call(("lightning", "load_from_checkpoint"), [cst.Arg(call.func.value), *call.args])
        return None


def _runtime_call(path: tuple[str, ...], args: list[cst.Arg]) -> cst.Call:
    func: cst.BaseExpression = cst.Name(RUNTIME)
    for attr in path:
        func = cst.Attribute(value=func, attr=cst.Name(attr))
    return cst.Call(func=func, args=args)


def _through(event: Event) -> str:
    """For a load inside a project helper: " through `load_checkpoint`"."""
    return f" through `{event.load.helper}`" if event.load.how == "helper" else ""


def _helper_notes(event: Event) -> tuple:
    """For a load inside a project helper: where the helper loads ("`load_state_dict` reached through
    `load_checkpoint` at utils.py:398")."""
    if event.load.how != "helper":
        return ()
    return (event.load.where.note(f"`{event.load.what}` reached through `{event.load.helper}`"),)

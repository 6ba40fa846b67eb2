"""FI003 missing-init-module."""

from __future__ import annotations

from fastinit_lint.api import Invalid, Valid, cst, fix, init_dtype, precision_kind

from ._flow import Flow, FlowRule, Kind, build_size, partial_load, runner_in_scope, small_enough, wrap_in_with
from ._preceding import default_dtype

_MODELS = {"project", "checkpoint", "pretrained"}
_NET = {
    "model.py": """
    import torch
    from torch import nn
    class Net(nn.Module):
        def __init__(self, dim=1024):
            super().__init__()
            self.layers = nn.Sequential(*[nn.Linear(dim, dim) for _ in range(4)])
    class Tiny(nn.Module):
        def __init__(self):
            super().__init__()
            self.head = nn.Linear(4, 2)
"""
}


class MissingInitModule(FlowRule):
    """A model built outside `init_module()` while a Trainer/Fabric would build it faster and smaller.

    ## What it flags
    A model (a project `nn.Module`/LightningModule, `Cls.load_from_checkpoint(...)`, `from_pretrained`) of at
    least `large-layer-threshold` parameters, built outside any `init_module()` after, in the same function
    (or at module level), a Trainer with a true precision (`16-true`, `bf16-true`, `64-true`,
    `transformer-engine*`) and a non-sharded strategy, or a Fabric with a true precision or a sharded strategy.

    A model built under `with fabric.device:` is materialized on that device, in the default dtype set before it
    (`torch.set_default_dtype`, `torch.set_default_tensor_type`): the message says so; with a sharded Fabric it is
    still reported (every rank builds the whole model before the strategy shards it), with a true precision it is
    not when that dtype is the precision's (which is what `init_module()` does).

    ## Why it matters
    Lightning's guide ("Half-precision"): inside `init_module()` "models created here will be on GPU and in
    float16". Outside it, the model is materialized in float32 on CPU, initialized there, and only later cast
    and moved: twice the memory and a slow copy. For Fabric with FSDP/DeepSpeed/ModelParallel the docs say
    `fabric.init_module(empty_init=True)` "is necessary in most cases".

    ## Example
    ```python
    import lightning as L
    from torch import nn


    class GPT(nn.Module):
        def __init__(self, vocab=50_304, dim=2048):
            super().__init__()
            self.embed = nn.Embedding(vocab, dim)


    trainer = L.Trainer(precision="bf16-true")
    model = GPT()
    ```

    Use instead:
    ```python
    import lightning as L
    from torch import nn


    class GPT(nn.Module):
        def __init__(self, vocab=50_304, dim=2048):
            super().__init__()
            self.embed = nn.Embedding(vocab, dim)


    trainer = L.Trainer(precision="bf16-true")
    with trainer.init_module():
        model = GPT()
    ```

    ## Fix
    Wraps the statement in `with trainer.init_module():` (or `fabric.init_module()`); for a strict
    `load_from_checkpoint` under a non-meta strategy, `init_module(empty_init=True)` (every parameter is
    overwritten); for Fabric with FSDP, DeepSpeed or ModelParallel, `init_module(empty_init=True)`.

    ## Fix safety
    Safe; unsafe for a Fabric with a sharded strategy. There `empty_init=True` relies on every module that
    owns parameters implementing `reset_parameters()` (see FI013), so that fix is unsafe.

    ## Options
    `large-layer-threshold` (parameters, default 1,000,000): models known to be smaller are not reported;
    `unknown-size` (default `"large"`): whether a model whose size cannot be computed, but grows with a product
    of dimensions, is reported (`"small"` reports only sizes known to reach the threshold).

    ## References
    - [Efficient initialization (Trainer)](https://lightning.ai/docs/pytorch/latest/advanced/model_init.html) and
      [Efficient initialization (Fabric)](https://lightning.ai/docs/fabric/stable/advanced/model_init.html):
      "Half-precision"
    - [`Trainer.init_module`](https://github.com/Lightning-AI/pytorch-lightning/blob/2.6.5/src/lightning/pytorch/trainer/trainer.py#L1172)
      and
      [`Fabric.init_module`](https://github.com/Lightning-AI/pytorch-lightning/blob/2.6.5/src/lightning/fabric/fabric.py#L805)
    """

    code = "FI003"
    name = "missing-init-module"
    fixable = "always"
    markers = ("precision", "strategy")

    VALID = [
        Valid(
            """
            import lightning as L
            from model import Net
            trainer = L.Trainer(precision="bf16-true")
            with trainer.init_module():
                model = Net()
            """,
            files=_NET,
        ),
        Valid(
            """
            import lightning as L
            from model import Net
            trainer = L.Trainer(precision="bf16-mixed")
            model = Net()
            """,
            files=_NET,
        ),
        Valid(
            """
            import lightning as L
            from model import Tiny
            trainer = L.Trainer(precision="bf16-true")
            model = Tiny()
            """,
            files=_NET,
        ),
        Valid(
            """
            from model import Net
            model = Net()
            """,
            files=_NET,
        ),
        Valid(
            """
            import lightning as L
            from model import Net
            def main():
                model = Net()
                fabric = L.Fabric(precision="bf16-true")
            """,
            files=_NET,
        ),
        # Built on the Fabric's device in the precision's dtype: what `init_module()` does.
        Valid(
            """
            import lightning as L
            import torch
            from model import Net
            fabric = L.Fabric(precision="bf16-true")
            with fabric.device:
                torch.set_default_dtype(torch.bfloat16)
                model = Net()
                torch.set_default_dtype(torch.float32)
            """,
            files=_NET,
        ),
    ]
    INVALID = [
        Invalid(
            """
            import lightning as L
            from model import Net

            def main():
                trainer = L.Trainer(accelerator="cpu", precision="bf16-true")
                # the model
                model = Net(dim=2048)  # big
                trainer.fit(model)
            """,
            rows=(7,),
            files=_NET,
            message_contains=("16,785,408 parameters", "'bf16-true'", "snippet.py:5"),
            fixed="""
            import lightning as L
            from model import Net

            def main():
                trainer = L.Trainer(accelerator="cpu", precision="bf16-true")
                # the model
                with trainer.init_module():
                    model = Net(dim=2048)  # big
                trainer.fit(model)
            """,
        ),
        Invalid(
            """
            from lightning.pytorch import Trainer
            from model import Net
            trainer = Trainer(precision="16-true")
            model = Net.load_from_checkpoint("last.ckpt")
            """,
            rows=(4,),
            files=_NET,
            fixed="""
            from lightning.pytorch import Trainer
            from model import Net
            trainer = Trainer(precision="16-true")
            with trainer.init_module(empty_init=True):
                model = Net.load_from_checkpoint("last.ckpt")
            """,
        ),
        Invalid(
            """
            import lightning_fabric as lf
            from model import Net
            fabric = lf.Fabric(strategy="fsdp")
            model = Net()
            """,
            rows=(4,),
            files=_NET,
            unsafe=True,
            fixed="""
            import lightning_fabric as lf
            from model import Net
            fabric = lf.Fabric(strategy="fsdp")
            with fabric.init_module(empty_init=True):
                model = Net()
            """,
        ),
        # Under `with fabric.device:` the model is built on the device, in the default dtype set before it:
        # with FSDP every rank still builds all of it (lit-llama's pretraining scripts).
        Invalid(
            """
            import lightning as L
            import torch
            from model import Net

            def main():
                fabric = L.Fabric(strategy="fsdp")
                with fabric.device:
                    torch.set_default_dtype(torch.bfloat16)
                    model = Net()
                    torch.set_default_dtype(torch.float32)
                fabric.setup(model)
            """,
            rows=(9,),
            files=_NET,
            unsafe=True,
            message_contains=("every rank materializes the whole model in bfloat16 on `fabric.device`",),
            fixed="""
            import lightning as L
            import torch
            from model import Net

            def main():
                fabric = L.Fabric(strategy="fsdp")
                with fabric.device:
                    torch.set_default_dtype(torch.bfloat16)
                    with fabric.init_module(empty_init=True):
                        model = Net()
                    torch.set_default_dtype(torch.float32)
                fabric.setup(model)
            """,
        ),
        Invalid(
            """
            import lightning as L
            from model import Net
            fabric = L.Fabric(precision="bf16-true")
            with fabric.device:
                model = Net()
            """,
            rows=(5,),
            files=_NET,
            message_contains=("materialized in float32 on `fabric.device` and converted later",),
            fixed="""
            import lightning as L
            from model import Net
            fabric = L.Fabric(precision="bf16-true")
            with fabric.device:
                with fabric.init_module():
                    model = Net()
            """,
        ),
    ]

    def check_flow(self, flow: Flow) -> None:
        for event in flow.events:
            if event.kind is not Kind.BUILD or event.build.model not in _MODELS or event.block or event.generic_init:
                continue
            runner = next((r for r in flow.runners.values() if self.wants(r) and runner_in_scope(flow, r, event)), None)
            if runner is None or small_enough(self.context, event):
                continue
            strategy = runner.strategy
            sharded_fabric = runner.kind == "fabric" and strategy.sharded
            dtype = default_dtype(self.context, event.owner, event.node) or "float32"
            device = f"`{event.on_runner_device}.device`" if event.on_runner_device else None
            if device and not sharded_fabric and dtype == init_dtype(runner.precision)[0]:
                continue  # built on the device in the precision's dtype: what `init_module()` would do
            size = build_size(self.context, event)
            strict_checkpoint = event.build.model == "checkpoint" and not any(
                partial_load(self.context, e) for e in flow.events if e.call is event.call and e.kind is Kind.LOAD
            )
            empty = sharded_fabric or (strict_checkpoint and strategy.known and not strategy.meta_init)
            context_code = f"{runner.bound_to}.init_module({'empty_init=True' if empty else ''})"
            line = event.node
            by_precision = precision_kind(runner.precision or "") == "true"
            reason = f"with precision '{runner.precision}'" if by_precision else f"with strategy {strategy.describe()}"
            if device and sharded_fabric:
                what = f"every rank materializes the whole model in {dtype} on {device} before the strategy shards it"
            else:
                what = f"it is materialized in {dtype} on {device or 'CPU'} and converted later"
            message = (
                f"`{event.var}` ({size.describe()}) is built outside `{runner.bound_to}.init_module()` {reason}: {what}"
            )
            notes = (
                runner.site.note(
                    f"`{runner.bound_to}` created" + (f" with precision '{runner.precision}'" if by_precision else "")
                ),
                *(() if by_precision else (runner.strategy_note(),)),
            )
            if not isinstance(line, cst.SimpleStatementLine) or len(line.body) != 1:
                self.report(line, message, no_fix_reason="the statement shares its line with others", notes=notes)
                continue
            self.report(
                line,
                message,
                fix=fix(
                    {line: wrap_in_with(line, context_code)},
                    f"Build it inside `with {context_code}:`",
                    unsafe=sharded_fabric,
                ),
                notes=notes,
            )

    @staticmethod
    def wants(runner) -> bool:
        true_precision = precision_kind(runner.precision or "") == "true"
        if runner.kind == "trainer":
            return true_precision and runner.strategy.known and not runner.strategy.sharded
        return true_precision or runner.strategy.sharded

"""FI001 large-layer-in-init."""

from __future__ import annotations

import ast

from fastinit_lint.api import (
    CONFIGURE_MODEL_SINCE,
    FLOAT32,
    Invalid,
    Rule,
    Size,
    Strategy,
    Valid,
    cst,
    cst_dotted,
    descendants,
    fix,
    init_dtype,
    release_text,
)

from ._configure_model_fix import CannotMove, plan_move
from ._direct_builds import direct_builds
from ._fsdp_wrap import CONTAINERS, SHARDING_CALLS, WRAP, WRAP_MODULE, CannotWrap, plan_wrap, wrapper_class
from ._lightning import (
    MethodAnalysis,
    Statement,
    analyse_method,
    is_docstring,
    lightning_class,
    method,
    older_lightning,
)

_SHOWN_SITES = 3  # places building the class outside Lightning given a note each; the rest are counted
# A LightningModule building 51,200,000 parameters in `__init__`, and FI001's fix of it (under FSDP, built inside
# `wrap()`): the examples below differ only in how a sharded Trainer reaches it.
_TASK = """
            from torch import nn
            import lightning as L

            class Task(L.LightningModule):
                def __init__(self):
                    super().__init__()
                    self.embed = nn.Embedding(50_000, 1024)
            """
_TASK_FIXED = """
            from torch import nn
            import lightning as L

            class Task(L.LightningModule):
                def __init__(self):
                    super().__init__()
                    self.embed = None

                def configure_model(self):
                    if self.embed is not None:
                        return
                    self.embed = nn.Embedding(50_000, 1024)
            """
_TASK_WRAPPED = """
            from torch import nn
            import lightning as L
            from torch.distributed.fsdp.wrap import wrap

            class Task(L.LightningModule):
                def __init__(self):
                    super().__init__()
                    self.embed = None

                def configure_model(self):
                    if self.embed is not None:
                        return
                    self.embed = wrap(nn.Embedding(50_000, 1024))
            """


def _fit(model: str, strategy: str = "'fsdp'", precision: str = "") -> dict[str, str]:
    """A `train.py` fitting the snippet's class `model` with a Trainer of `strategy` and `precision` (Python source)."""
    precision = f", precision={precision}" if precision else ""
    return {
        "train.py": f"import lightning as L\nfrom snippet import {model}\n"
        f"trainer = L.Trainer(strategy={strategy}{precision})\ntrainer.fit({model}())\n"
    }


def _per_precision(strategy: str, precision: str, says: str) -> Invalid:
    """The 51,200,000-parameter `Task` trained with `strategy` and `precision`: the message says `says`."""
    stated = (
        f"precision {precision} at train.py:3"
        if precision[0] in "'\""
        else "a precision not known statically at train.py:3"
    )
    return Invalid(
        _TASK,
        rows=(7,),
        message_contains=(stated, says),
        files=_fit("Task", strategy, precision),
        fixed=_TASK_WRAPPED if "fsdp" in strategy else _TASK_FIXED,
    )


class LargeLayerInInit(Rule):
    """Large layers built in `LightningModule.__init__`, or in an unwrapped FSDP `configure_model`, under a sharded strategy.

    ## What it flags
    Statements of a LightningModule's `__init__` that build at least `large-layer-threshold` parameters
    (default 1,000,000; sizes are computed statically from the torch formulas and the project's own
    modules), or whose size cannot be computed but grows with a product of two dimensions ("presumed
    large": each unknown dimension presumed a hidden size of 1024, enough to reach the threshold; a threshold
    above 1024 * 1024 takes three; `unknown-size = "small"` turns that off) — when a Trainer with FSDP,
    DeepSpeed (any stage) or
    ModelParallel trains the class or a subclass of it. The training graph links them: `trainer.fit(m)` /
    `validate` / `test` / `predict` where `m` is built by `Cls(...)`, `Cls.load_from_checkpoint(...)` or a
    project factory function returning one; `LightningCLI(Cls)` with a YAML `trainer:`; a YAML
    `model: class_path:`. Strategies are literal names, Lightning strategy objects, project subclasses of
    them, or conditional (`FSDPStrategy() if n > 1 else "auto"`: reported, saying so). A model built under
    `trainer.init_module(empty_init=True)` with FSDP or ModelParallel is on the meta device and not
    reported. A class no runner in the project reaches (library code, a model built from a Hydra config)
    is reported only when the configuration states a sharded `strategy` (or `--strategy` is given). If no
    single statement is large but the whole `__init__` is, one finding on the `def __init__` line.
    Only parameters count, not buffers (`register_buffer`): FSDP flattens and shards parameters only
    (torch's `FlatParameter` is built from `named_parameters`, fsdp/_flat_param.py) and ZeRO-3 partitions
    parameters only, so a buffer is a full copy on every rank wherever it is built: moving it into
    `configure_model` would not shard it.

    Under an FSDP Trainer with a mixed or 32-bit precision (the default), a `configure_model` that builds
    large layers but never calls `wrap()` (nor `FullyShardedDataParallel`/`fully_shard`, nor the meta device)
    is reported on its `def` line too: its layers cost exactly what they cost in `__init__`. It is reported
    only when the fix below can wrap them (no tie across layers, no bare `nn.Parameter`, nothing built in
    `__init__`), so every such finding can be acted on.

    ## Why it matters
    Lightning's "Efficient initialization" guide: "When training sharded models with FSDP or DeepSpeed,
    `Trainer.init_module` should not be used. Instead, override the `configure_model` hook", because
    delaying layer creation "is necessary in most cases because otherwise initialization gets very slow
    (minutes) or ... you run out of CPU memory". `__init__` runs in no context, so every rank builds the
    full float32 model on its CPU (Lightning issues #17157, #10510). What the hook changes depends on the
    strategy and precision: Lightning 2.6 runs it inside the strategy's `tensor_init_context()` and
    `model_sharded_context()` and the precision's `module_init_context()` (`trainer/call.py`,
    `_call_configure_model`), and the message says which case applies, with the per-rank bytes:

    | strategy | precision | layers built in `configure_model` are |
    |---|---|---|
    | DeepSpeed ZeRO-3 | any | created partitioned by ZeRO-3 (`deepspeed.zero.Init`, `strategies/deepspeed.py` `model_sharded_context`) |
    | DeepSpeed ZeRO-1/2 | true (`bf16-true`, ...) | created on the GPU in bf16 instead of on the CPU in float32 (base `Strategy.tensor_init_context`: root device + dtype); not sharded |
    | DeepSpeed ZeRO-1/2 | mixed, 32 | created on the GPU instead of the CPU, float32 either way (`DeepSpeedPrecision.module_init_context` is a no-op for mixed) |
    | FSDP | true | created in bf16 instead of float32, but still a full copy on every rank's CPU (`FSDPStrategy.tensor_init_context` sets no device) unless wrapped |
    | FSDP | mixed, 32 | still a full float32 copy on every rank's CPU (`FSDPPrecision` maps mixed flags to float32) unless wrapped: `model_sharded_context` is `enable_wrap(FullyShardedDataParallel)`, so only modules passed to `wrap()` in the hook are sharded as they are created |

    ## Example
    ```python
    import lightning as L
    from torch import nn


    class GPT(L.LightningModule):
        def __init__(self, vocab=50_304, dim=2048):
            super().__init__()
            self.save_hyperparameters()
            self.embed = nn.Embedding(vocab, dim)


    trainer = L.Trainer(strategy="fsdp")
    trainer.fit(GPT())
    ```

    Use instead:
    ```python
    import lightning as L
    from torch import nn
    from torch.distributed.fsdp.wrap import wrap


    class GPT(L.LightningModule):
        def __init__(self, vocab=50_304, dim=2048):
            super().__init__()
            self.save_hyperparameters()
            self.embed = None

        def configure_model(self):
            if self.embed is not None:
                return
            self.embed = wrap(nn.Embedding(self.hparams.vocab, self.hparams.dim))


    trainer = L.Trainer(strategy="fsdp")
    trainer.fit(GPT())
    ```

    ## Fix
    Moves every statement that builds parameters, and every statement that depends on them (weight tying,
    `self.apply(init)`, `nn.init.*`, loops that append layers, locals that only feed them), in order and
    with their comments, into `configure_model` behind an idempotency guard (Lightning calls the hook on
    every fit/validate/test/predict and in `load_from_checkpoint`). `__init__` keeps `self.<attr> = None`
    placeholders for the guard attribute and for moved attributes other methods use. `__init__` arguments
    used by moved code are read from `self.hparams` when `save_hyperparameters()` saved them, or from an
    attribute already holding them.

    Under FSDP the fix also builds every moved layer inside `wrap()` (`from torch.distributed.fsdp.wrap
    import wrap`): the items of a `ModuleList` comprehension or literal, of `Sequential(*[...])` and of
    loops appending to a container one by one, other layers (and a `Sequential` of listed layers) whole;
    parameter-free activations, dropouts and losses built from literals stay as they are (wrapped, FSDP
    would cast their inputs to the mixed-precision dtype). All or nothing: once any submodule is wrapped,
    `FSDPStrategy._setup_model` no longer wraps the root, so a parameter or buffer left outside every
    wrapped layer would stay unsharded on the CPU with its gradients never reduced. Ties and other code
    using the built layers (`self.head.weight = self.embed.weight`, `self.apply(init)`), a bare
    `nn.Parameter`, a callee that is neither a `torch.nn` class nor a project `nn.Module`, one layer
    passed to another, a module holding buffers but no parameters (a rotary table), a layer or tensor left
    in `__init__` (`CrossEntropyLoss(weight=...)`), or a project base class with its own `__init__` keep
    the move without wrapping, and the message says which. Outside FSDP's `enable_wrap` (other
    strategies, `load_from_checkpoint`) `wrap()` returns the module unchanged. For an unwrapped
    `configure_model`, the fix builds its layers inside `wrap()` the same way, in place.

    ## Fix safety
    Safe when only construction time changes (and where the class is built outside Lightning, the fix adds the
    `configure_model()` call); unsafe when it stores arguments, merges hooks, wraps layers other
    methods reach inside, or the class is also built outside Lightning where the fix cannot add the
    `configure_model()` call. Unsafe when the fix must store an
    `__init__` argument as a new attribute, or merge into an existing `configure_model` (its remaining code then runs once), or when
    it wraps layers that another method reaches inside (`self.embed.weight`, `self.blocks[0].attn`): FSDP
    holds those parameters as flat shards outside the wrapped layer's own forward. No fix
    when `__init__` has `return`/`yield`, calls `setattr`/`exec`, builds layers before
    `super().__init__()`, shares a local between moved and kept code, or also defines
    `configure_sharded_model`; the message says which. Where the project builds the class (or a subclass)
    itself, outside a scope that hands it to a Trainer/Fabric or a model factory the training graph follows
    (an inference script, a unit test), nothing calls `configure_model()`, so the module has no layers
    (`load_state_dict` raises "Unexpected key(s)", `model(idx)` calls `None`). When the built module is
    bound by an assignment statement of its own (`model = GPT(cfg)`, `self.model: GPT = GPT(cfg)`), the fix
    adds `model.configure_model()` on the next line, in the same edit (written with the class's file, all
    or none; not when that file has fixes of its own in the same run: the next run applies it), and stays
    safe; a build already followed by that call is not such a site. Where it is not
    (`GPT(cfg)(idx)`, `run(GPT(cfg))`), the fix is unsafe and notes locate those sites (the first three),
    where `model.configure_model()` must be called by hand after building it. Unsafe too when the project
    also runs Lightning older than 2.1 (a requirement such as `lightning>=2.0`, the nearest declaration
    naming Lightning): those releases call `configure_sharded_model` and never `configure_model`.

    ## Options
    `large-layer-threshold` (parameters, default 1,000,000), `unknown-size` (`"large"`: sizes that cannot
    be computed but grow with a product of two dimensions are reported), `strategy` (assumed for classes no
    runner reaches).

    ## References
    - [Train models with billions of parameters using
      FSDP](https://lightning.ai/docs/pytorch/latest/advanced/model_parallel/fsdp.html)
    - [`ModelHooks.configure_model`](https://lightning.ai/docs/pytorch/latest/api/lightning.pytorch.core.hooks.ModelHooks.html):
      a hook to create modules in a strategy and precision aware context
    - [`_call_configure_model`](https://github.com/Lightning-AI/pytorch-lightning/blob/2.6.5/src/lightning/pytorch/trainer/call.py#L115)
      (trainer/call.py; these files are the same in 2.6.6)
    - [`FSDPStrategy.tensor_init_context`](https://github.com/Lightning-AI/pytorch-lightning/blob/2.6.5/src/lightning/pytorch/strategies/fsdp.py#L389)
      and
      [`model_sharded_context`](https://github.com/Lightning-AI/pytorch-lightning/blob/2.6.5/src/lightning/pytorch/strategies/fsdp.py#L399)
    - [`DeepSpeedStrategy.tensor_init_context`](https://github.com/Lightning-AI/pytorch-lightning/blob/2.6.5/src/lightning/pytorch/strategies/deepspeed.py#L530)
    - Source lines read: Lightning 2.6.6 (`lightning/pytorch/`): `trainer/call.py:115` `_call_configure_model` (the
      hook's three contexts); `strategies/fsdp.py:389` `tensor_init_context` (no device), `:399`
      `model_sharded_context` (`enable_wrap`), `:292` `_setup_model` (no root wrap once a submodule is wrapped);
      `plugins/precision/fsdp.py:69` (mixed flags initialize in float32); `strategies/deepspeed.py:530`
      `tensor_init_context` and `:543` `model_sharded_context` (`deepspeed.zero.Init`); `strategies/strategy.py:504`
      (root device + precision dtype); `plugins/precision/deepspeed.py:83`; docs `advanced/model_parallel/fsdp.rst`
      "Manual wrapping"; issues #17157, #10510.
    """

    code = "FI001"
    name = "large-layer-in-init"
    fixable = "sometimes"

    VALID = [
        Valid(
            """
            import lightning as L
            from torch import nn
            class Small(L.LightningModule):
                def __init__(self):
                    super().__init__()
                    self.head = nn.Linear(32, 10)
            """,
            files=_fit("Small"),
        ),
        Valid(
            """
            import lightning as L
            from torch import nn
            class Big(L.LightningModule):
                def __init__(self):
                    super().__init__()
                    self.embed = nn.Embedding(50_000, 1024)
            """,
            files=_fit("Big", "'ddp'"),
        ),
        Valid(
            """
            from torch import nn
            class NotLightning(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.embed = nn.Embedding(50_000, 1024)
            """,
            files=_fit("NotLightning"),
        ),
        Valid(
            """
            import lightning as L
            class Linear:
                def __init__(self, a, b):
                    pass
            class UsesOwnLinear(L.LightningModule):
                def __init__(self):
                    super().__init__()
                    self.layer = Linear(100_000, 100_000)
            """,
            files=_fit("UsesOwnLinear"),
        ),
        Valid(
            """
            import lightning as L
            from torch import nn
            from torch.distributed.fsdp.wrap import wrap
            class Deferred(L.LightningModule):
                def __init__(self):
                    super().__init__()
                    self.embed = None

                def configure_model(self):
                    if self.embed is not None:
                        return
                    self.embed = wrap(nn.Embedding(50_000, 1024))
            """,
            files=_fit("Deferred"),
        ),
        # Not wrapped, but built in bf16 (FSDP + a true precision) or partitioned (ZeRO-3) by the hook's contexts.
        Valid(_TASK_FIXED, files=_fit("Task", "'fsdp'", "'bf16-true'")),
        Valid(_TASK_FIXED, files=_fit("Task", "'deepspeed_stage_3'", "'bf16-mixed'")),
        Valid(
            """
            import lightning as L
            from torch import nn
            class Unknown(L.LightningModule):
                def __init__(self, d):
                    super().__init__()
                    self.proj = nn.Linear(d, d)
            """,
            files=_fit("Unknown"),
            settings={"unknown-size": "small"},
        ),
        # A monorepo: one FSDP script trains its own model; this one is trained on a CPU in a test.
        Valid(
            """
            import lightning as L
            from torch import nn
            class Demo(L.LightningModule):
                def __init__(self):
                    super().__init__()
                    self.embed = nn.Embedding(50_000, 1024)
            """,
            files={
                "examples/fsdp/train.py": """
                    import lightning as L
                    from torch import nn

                    class Tiny(L.LightningModule):
                        def configure_model(self):
                            self.layer = nn.Linear(2, 2)

                    trainer = L.Trainer(strategy="fsdp")
                    trainer.fit(Tiny())
                    """,
                "tests/test_demo.py": """
                    import lightning as L
                    from snippet import Demo

                    def test_fit():
                        trainer = L.Trainer(accelerator="cpu")
                        model = Demo()
                        trainer.fit(model)
                    """,
            },
        ),
        # Built on the meta device under ModelParallel: nothing in `__init__` allocates memory.
        Valid(
            """
            import lightning as L
            from torch import nn
            class Llama(L.LightningModule):
                def __init__(self):
                    super().__init__()
                    self.embed = nn.Embedding(128_000, 4096)
            """,
            files={
                "train.py": """
                import lightning as L
                from lightning.pytorch.strategies import ModelParallelStrategy
                from snippet import Llama

                def main():
                    trainer = L.Trainer(strategy=ModelParallelStrategy())
                    with trainer.init_module(empty_init=True):
                        model = Llama()
                    trainer.fit(model)
                """
            },
        ),
    ]
    # More, as whole projects: tests/fixtures/rules/FI001/ (a class also built outside Lightning).
    INVALID = [
        Invalid(
            """
            import lightning as L
            from torch import nn

            class GPT(L.LightningModule):
                def __init__(self, vocab: int = 50_304, dim: int = 1024):
                    super().__init__()
                    self.save_hyperparameters()
                    # token embedding
                    self.embed = nn.Embedding(vocab, dim)
                    self.head = nn.Linear(dim, vocab, bias=False)  # output
                    self.head.weight = self.embed.weight

                def forward(self, x):
                    return self.head(self.embed(x))
            """,
            rows=(9, 10),
            message_contains=(
                "51,511,296 parameters",
                "trained by `trainer.fit(...)` at train.py:4",
                "strategy 'fsdp' at train.py:3",
                "default vocab=50304",
                "(the fix moves them without wrapping: "
                "`self.head.weight = self.embed.weight` is not a plain layer construction",
            ),
            files=_fit("GPT"),
            fixed="""
            import lightning as L
            from torch import nn

            class GPT(L.LightningModule):
                def __init__(self, vocab: int = 50_304, dim: int = 1024):
                    super().__init__()
                    self.save_hyperparameters()
                    self.embed = None
                    self.head = None

                def configure_model(self):
                    if self.embed is not None:
                        return
                    # token embedding
                    self.embed = nn.Embedding(self.hparams.vocab, self.hparams.dim)
                    self.head = nn.Linear(
                        self.hparams.dim, self.hparams.vocab, bias=False
                    )  # output
                    self.head.weight = self.embed.weight

                def forward(self, x):
                    return self.head(self.embed(x))
            """,
        ),
        Invalid(
            """
            import pytorch_lightning as pl
            import torch.nn as tnn

            class Encoder(pl.LightningModule):
                def __init__(self, d_model, depth=6):
                    super().__init__()
                    self.d_model = d_model
                    layer = tnn.TransformerEncoderLayer(d_model, 8)
                    self.encoder = tnn.TransformerEncoder(layer, depth)
            """,
            rows=(8, 9),
            message_contains=("size unknown: depends on d_model",),
            files={
                "conf.yaml": "trainer:\n  strategy: deepspeed_stage_3\nmodel:\n  class_path: snippet.Encoder\n"
                "  init_args:\n    d_model: 1024\n"
            },
            fixed="""
            import pytorch_lightning as pl
            import torch.nn as tnn

            class Encoder(pl.LightningModule):
                def __init__(self, d_model, depth=6):
                    super().__init__()
                    self.d_model = d_model
                    self.depth = depth
                    self.encoder = None

                def configure_model(self):
                    if self.encoder is not None:
                        return
                    layer = tnn.TransformerEncoderLayer(self.d_model, 8)
                    self.encoder = tnn.TransformerEncoder(layer, self.depth)
            """,
            unsafe=True,
        ),
        Invalid(
            """
            from lightning.pytorch import LightningModule
            from torch import nn

            class Many(LightningModule):
                def __init__(self):
                    super().__init__()
                    self.a = nn.Linear(600, 600)
                    self.b = nn.Linear(600, 600)
                    self.c = nn.Linear(600, 600)
            """,
            rows=(5,),
            message_contains=("1,081,800 parameters in total",),
            settings={"strategy": "fsdp"},
            fixed="""
            from lightning.pytorch import LightningModule
            from torch import nn
            from torch.distributed.fsdp.wrap import wrap

            class Many(LightningModule):
                def __init__(self):
                    super().__init__()
                    self.a = None

                def configure_model(self):
                    if self.a is not None:
                        return
                    self.a = wrap(nn.Linear(600, 600))
                    self.b = wrap(nn.Linear(600, 600))
                    self.c = wrap(nn.Linear(600, 600))
            """,
        ),
        Invalid(
            """
            import lightning as L
            from torch import nn

            class Early(L.LightningModule):
                def __init__(self, use_head=True):
                    super().__init__()
                    self.embed = nn.Embedding(100_000, 64)
                    if not use_head:
                        return
            """,
            rows=(7,),
            message_contains=("no automatic fix: `__init__` has a `return` statement",),
            files=_fit("Early"),
        ),
        # The LightningModule base is re-exported by a package (`pkg/core/__init__.py`); the file never says "lightning".
        Invalid(
            """
            from torch import nn
            from pkg.core import Base

            class Task(Base):
                def __init__(self):
                    super().__init__()
                    self.embed = nn.Embedding(50_000, 1024)
            """,
            rows=(7,),
            message_contains=("trained by `trainer.fit(...)` at train.py:4", "strategy 'fsdp' at train.py:3"),
            files={
                "pkg/__init__.py": "",
                "pkg/core/__init__.py": "from .base import Base\n",
                "pkg/core/base.py": "import lightning as L\n\nclass Base(L.LightningModule):\n    pass\n",
                **_fit("Task"),
            },
            fixed="""
            from torch import nn
            from pkg.core import Base
            from torch.distributed.fsdp.wrap import wrap

            class Task(Base):
                def __init__(self):
                    super().__init__()
                    self.embed = None

                def configure_model(self):
                    if self.embed is not None:
                        return
                    self.embed = wrap(nn.Embedding(50_000, 1024))
            """,
        ),
        # A factory in another file links the sharded Trainer to the model it builds.
        Invalid(
            _TASK,
            rows=(7,),
            message_contains=("trained by `trainer.fit(...)` at train.py:7", "strategy 'deepspeed_stage_3'"),
            files={
                "factory.py": """
                from snippet import Task

                def build_model(cfg):
                    model = Task()
                    return model
                """,
                "train.py": """
                import lightning as L
                from factory import build_model

                def main(cfg):
                    trainer = L.Trainer(strategy="deepspeed_stage_3")
                    model = build_model(cfg)
                    trainer.fit(model)
                """,
            },
            fixed=_TASK_FIXED,
        ),
        # A project subclass (two levels deep, another file) of a Lightning strategy class.
        Invalid(
            _TASK,
            rows=(7,),
            message_contains=("strategy 'fsdp' at train.py:5",),
            files={
                "strategies.py": """
                from lightning.pytorch.strategies import FSDPStrategy

                class ClusterFSDP(FSDPStrategy):
                    pass

                class TunedFSDP(ClusterFSDP):
                    pass
                """,
                "train.py": "import lightning as L\nfrom snippet import Task\nfrom strategies import TunedFSDP\n"
                "\ntrainer = L.Trainer(strategy=TunedFSDP())\ntrainer.fit(Task())\n",
            },
            fixed=_TASK_WRAPPED,
        ),
        # ModelParallel: the remedy is meta-device init, not moving the layers.
        Invalid(
            """
            import lightning as L
            from torch import nn

            class Llama(L.LightningModule):
                def __init__(self):
                    super().__init__()
                    self.embed = nn.Embedding(128_000, 4096)
            """,
            rows=(7,),
            message_contains=(
                "build the model on the meta device under `trainer.init_module(empty_init=True)`",
                "no automatic fix: under ModelParallel, moving the layers",
            ),
            files=_fit("Llama", '"model_parallel"'),
        ),
        # Under FSDP the fix builds every layer inside `wrap()`: blocks one by one, other layers whole.
        Invalid(
            """
            import lightning as L
            from torch import nn

            class Block(nn.Module):
                def __init__(self, dim):
                    super().__init__()
                    self.mlp = nn.Linear(dim, 4 * dim)

            class Stack(L.LightningModule):
                def __init__(self, dim=1024, depth=4):
                    super().__init__()
                    self.save_hyperparameters()
                    self.embed = nn.Embedding(32_000, dim)
                    self.blocks = nn.ModuleList([Block(dim) for _ in range(depth)])
                    self.extra = nn.ModuleList()
                    for _ in range(depth):
                        self.extra.append(Block(dim))
                    self.drop = nn.Dropout(0.1)
                    self.head = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, 32_000))
            """,
            rows=(13, 14, 16, 19),
            message_contains=(
                "precision '32-true'",
                "in `configure_model` FSDP creates them on the CPU in float32 too",
                "wrap the blocks with `wrap()` in `configure_model` (the fix does)",
            ),
            files=_fit("Stack"),
            fixed="""
            import lightning as L
            from torch import nn
            from torch.distributed.fsdp.wrap import wrap

            class Block(nn.Module):
                def __init__(self, dim):
                    super().__init__()
                    self.mlp = nn.Linear(dim, 4 * dim)

            class Stack(L.LightningModule):
                def __init__(self, dim=1024, depth=4):
                    super().__init__()
                    self.save_hyperparameters()
                    self.embed = None

                def configure_model(self):
                    if self.embed is not None:
                        return
                    self.embed = wrap(nn.Embedding(32_000, self.hparams.dim))
                    self.blocks = nn.ModuleList(
                        [wrap(Block(self.hparams.dim)) for _ in range(self.hparams.depth)]
                    )
                    self.extra = nn.ModuleList()
                    for _ in range(self.hparams.depth):
                        self.extra.append(wrap(Block(self.hparams.dim)))
                    self.drop = nn.Dropout(0.1)
                    self.head = wrap(
                        nn.Sequential(nn.LayerNorm(self.hparams.dim), nn.Linear(self.hparams.dim, 32_000))
                    )
            """,
        ),
        # A loss holding a `weight` tensor stays in `__init__`: a buffer on the LightningModule itself, which no
        # wrapped layer would move to the GPU once Lightning stops wrapping the root.
        Invalid(
            """
            import lightning as L
            import torch
            from torch import nn

            class Weighted(L.LightningModule):
                def __init__(self):
                    super().__init__()
                    self.embed = nn.Embedding(50_000, 1024)
                    self.loss = nn.CrossEntropyLoss(weight=torch.ones(50_000))
            """,
            rows=(8,),
            message_contains=(
                "(the fix moves them without wrapping: `self.loss = "
                "nn.CrossEntropyLoss(weight=torch.ones(50000))` in `__init__` puts tensors on the "
                "LightningModule itself",
            ),
            files=_fit("Weighted"),
            fixed="""
            import lightning as L
            import torch
            from torch import nn

            class Weighted(L.LightningModule):
                def __init__(self):
                    super().__init__()
                    self.embed = None
                    self.loss = nn.CrossEntropyLoss(weight=torch.ones(50_000))

                def configure_model(self):
                    if self.embed is not None:
                        return
                    self.embed = nn.Embedding(50_000, 1024)
            """,
        ),
        # Another method reads a parameter of a layer the fix would wrap: outside that layer's forward FSDP holds
        # it as flat shards, so the wrapping fix is unsafe (and says why).
        Invalid(
            """
            import lightning as L
            import torch
            from torch import nn

            class Tied(L.LightningModule):
                def __init__(self):
                    super().__init__()
                    self.embed = nn.Embedding(50_000, 1024)

                def forward(self, idx):
                    return self.embed(idx) @ self.embed.weight.T
            """,
            rows=(8,),
            message_contains=("(the fix does)",),
            files=_fit("Tied"),
            fixed="""
            import lightning as L
            import torch
            from torch import nn
            from torch.distributed.fsdp.wrap import wrap

            class Tied(L.LightningModule):
                def __init__(self):
                    super().__init__()
                    self.embed = None

                def configure_model(self):
                    if self.embed is not None:
                        return
                    self.embed = wrap(nn.Embedding(50_000, 1024))

                def forward(self, idx):
                    return self.embed(idx) @ self.embed.weight.T
            """,
            unsafe=True,
        ),
        # A bare `nn.Parameter` cannot be wrapped, and Lightning does not wrap the root once anything is wrapped:
        # the fix moves the layers without wrapping them.
        Invalid(
            """
            import lightning as L
            import torch
            from torch import nn

            class Patches(L.LightningModule):
                def __init__(self):
                    super().__init__()
                    self.proj = nn.Linear(768, 1024)
                    self.pos = nn.Parameter(torch.zeros(1, 4096, 1024))
            """,
            rows=(9,),
            message_contains=(
                "(the fix moves them without wrapping: `self.pos` is a bare `nn.Parameter`, which no "
                "wrapped layer holds)",
            ),
            files=_fit("Patches"),
            fixed="""
            import lightning as L
            import torch
            from torch import nn

            class Patches(L.LightningModule):
                def __init__(self):
                    super().__init__()
                    self.proj = None

                def configure_model(self):
                    if self.proj is not None:
                        return
                    self.proj = nn.Linear(768, 1024)
                    self.pos = nn.Parameter(torch.zeros(1, 4096, 1024))
            """,
        ),
        # FSDP with a mixed precision: a `configure_model` that never wraps saves nothing over `__init__`.
        Invalid(
            _TASK_FIXED,
            rows=(9,),
            message_contains=(
                "`Task.configure_model` builds 51,200,000 parameters but never calls `wrap()`, under "
                "strategy 'fsdp' with precision '16-mixed': the same CPU float32 copy (205 MB) per rank as "
                "in `__init__`",
                "trained by `trainer.fit(...)` at train.py:4",
                "strategy 'fsdp' at train.py:3",
                "precision '16-mixed' at train.py:3",
            ),
            files=_fit("Task", "'fsdp'", "'16-mixed'"),
            fixed=_TASK_WRAPPED,
        ),
        # What moving achieves, per strategy and precision (Lightning 2.6 `_call_configure_model`).
        _per_precision(
            "'fsdp'",
            "'bf16-mixed'",
            "in `configure_model` FSDP creates them on the CPU in float32 too: still "
            "a full float32 copy (205 MB) on every rank's CPU unless wrapped: wrap the blocks with `wrap()` in "
            "`configure_model`",
        ),
        _per_precision(
            "'fsdp'",
            "'bf16-true'",
            "in `configure_model` FSDP creates them in bfloat16 instead of float32 "
            "(102 MB instead of 205 MB per rank), but still a full copy on every rank's CPU unless wrapped",
        ),
        _per_precision(
            "'deepspeed_stage_3'",
            "'16-mixed'",
            "where they are created partitioned by ZeRO-3 "
            "(`deepspeed.zero.Init`), 1/N of them per rank over N ranks, instead of a full float32 copy "
            "(205 MB) on every rank's CPU",
        ),
        _per_precision(
            "'deepspeed_stage_2'",
            "'bf16-true'",
            "where they are created on the GPU in bfloat16 instead of "
            "on the CPU in float32 (102 MB instead of 205 MB per rank); ZeRO stage 2 does not shard parameters",
        ),
        _per_precision(
            "'deepspeed'",
            "'16-mixed'",
            "where they are created on the GPU instead of on the CPU, in float32 "
            "either way (205 MB per rank); ZeRO stage 2 does not shard parameters",
        ),
        _per_precision(
            "'fsdp'",
            "args.precision",
            "in `configure_model` FSDP creates them in the precision's dtype, "
            "but still a full copy on every rank's CPU unless wrapped",
        ),
        # A precision chosen by a condition: the message describes the run where moving saves least.
        Invalid(
            _TASK,
            rows=(7,),
            message_contains=(
                "precision 'bf16-true' or 'bf16-mixed' (chosen by a condition) at train.py:3",
                "in `configure_model` FSDP creates them on the CPU in float32 too",
            ),
            files=_fit("Task", "'fsdp'", "'bf16-true' if true_half else 'bf16-mixed'"),
            fixed=_TASK_WRAPPED,
        ),
        # The precision of a LightningCLI YAML `trainer:`.
        Invalid(
            _TASK,
            rows=(7,),
            message_contains=(
                "strategy 'fsdp' at conf.yaml:2",
                "precision 'bf16-true' at conf.yaml:1",
                "in bfloat16 instead of",
            ),
            files={
                "conf.yaml": "trainer:\n  strategy: fsdp\n  precision: bf16-true\nmodel:\n  class_path: snippet.Task\n"
            },
            fixed=_TASK_WRAPPED,
        ),
        # A strategy chosen by a condition: sharded on multi-GPU runs.
        Invalid(
            _TASK,
            rows=(7,),
            message_contains=("strategy 'fsdp' (on some runs: chosen by a condition) at train.py:6",),
            files={
                "train.py": """
                import lightning as L
                from lightning.pytorch.strategies import FSDPStrategy
                from snippet import Task

                def main(devices):
                    strategy = FSDPStrategy() if devices > 1 else "auto"
                    trainer = L.Trainer(devices=devices, strategy=strategy)
                    trainer.fit(Task())
                """
            },
            fixed=_TASK_WRAPPED,
        ),
        # The project also runs Lightning 2.0, which calls `configure_sharded_model`, not `configure_model`.
        Invalid(
            _TASK,
            rows=(7,),
            message_contains=(
                "`lightning>=2.0`: the project runs Lightning releases older than 2.1",
                "the fix is unsafe: Lightning releases older than 2.1 never call `configure_model`",
            ),
            files={**_fit("Task"), "requirements.txt": "lightning>=2.0\n"},
            unsafe=True,
            fixed=_TASK_WRAPPED,
        ),
    ]

    @classmethod
    def relevant(cls, facts, index, settings) -> bool:
        return any(index.is_lightning_module(c.qualname) and _evidence(index, c.qualname) for c in facts.classes)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        context = self.context
        qualname = lightning_class(context)
        if qualname is None:
            return
        init, hook = method(node, "__init__"), method(node, "configure_model")
        init_analysis = analyse_method(context, init) if init is not None else None
        if init_analysis is not None:
            self._check_init(node, qualname, init_analysis)
        if hook is not None and not _shards_itself(hook):
            self._check_unwrapped_hook(node, qualname, hook, init_analysis)

    def _large(self, analysis: MethodAnalysis) -> tuple[list, bool]:
        """The statements building at least the threshold, and whether only the method's total does."""
        settings = self.context.settings
        threshold = settings.large_layer_threshold
        presume = settings.unknown_size == "large"
        large = [
            s
            for s in analysis.statements
            if s.built.count >= threshold or (presume and s.built.presumed_at_least(threshold))
        ]
        total = analysis.total
        return large, not large and (total.count >= threshold or (presume and total.presumed_at_least(threshold)))

    def _check_init(self, node: cst.ClassDef, qualname: str, analysis: MethodAnalysis) -> None:
        context = self.context
        large, whole = self._large(analysis)
        if not large and not whole:
            return
        found = _evidence(context.index, qualname)
        if found is None:
            return
        evidence, strategy, precisions = found
        total = analysis.total
        notes = [*evidence, f"class total {total.describe()}" + _defaults_used(analysis)]
        plan, reason = None, None
        if strategy.is_model_parallel:
            advice = "build the model on the meta device under `trainer.init_module(empty_init=True)` and parallelize it in `configure_model`"
            reason = "under ModelParallel, moving the layers into `configure_model` does not shard them"
        else:
            advice = "build them in `configure_model`"
            moving = _what_moving_does(strategy, _float32(precisions), total)
            try:
                planner = _wrap_planner(context, node, qualname, analysis) if strategy.is_fsdp else None
                move = plan_move(node, analysis, planner)
                action = "Move layer construction into an idempotent `configure_model`"
                if move.wrapped:
                    action += ", each layer built inside `wrap()` so FSDP shards it as it is created"
                    moving += " (the fix does)"
                elif move.no_wrap_reason:
                    moving += (
                        f" (the fix moves them without wrapping: {move.no_wrap_reason}); or build the model on "
                        f"the meta device under `trainer.init_module(empty_init=True)`, which needs "
                        f"`reset_parameters()` in every module owning parameters (FI013)"
                    )
                unsafe_reasons = list(move.unsafe_reasons)
                direct = direct_builds(context, qualname)
                hooks = tuple(d.call_hook for d in direct if d.call_hook is not None)
                unhooked = [d.site for d in direct if d.call_hook is None]
                if hooks:
                    action += (
                        f", and call `configure_model()` after building `{node.name.value}` where it is built "
                        f"outside a Trainer/Fabric ({_places(len(hooks))})"
                    )
                    notes.extend(_direct_build_notes(node.name.value, [d for d in direct if d.call_hook is not None]))
                if unhooked:
                    outside = _built_outside_lightning(node.name.value, unhooked)
                    unsafe_reasons.append(outside)
                    notes.append(f"the fix is unsafe: {outside}")
                    notes.extend(_direct_build_notes(node.name.value, [d for d in direct if d.call_hook is None]))
                older = older_lightning(context.facts, context.index, CONFIGURE_MODEL_SINCE)
                if older is not None:  # Lightning before 2.1 calls `configure_sharded_model`, never `configure_model`
                    unsafe_reasons.append(
                        f"Lightning releases older than {release_text(CONFIGURE_MODEL_SINCE)} never call `configure_model`"
                    )
                    notes.extend((f"the fix is unsafe: {unsafe_reasons[-1]}", older.note(CONFIGURE_MODEL_SINCE)))
                plan = fix(
                    move.build,
                    action + (f" (unsafe: {'; '.join(unsafe_reasons)})" if unsafe_reasons else ""),
                    unsafe=bool(unsafe_reasons),
                    imports=((WRAP_MODULE, "wrap"),) if move.wrapped else (),
                    elsewhere=hooks,
                )
            except CannotMove as exc:
                reason = str(exc)
            notes.insert(len(evidence), moving)
        class_name = node.name.value
        sharded = f"trained with a sharded strategy ({strategy.describe()})"
        if whole:
            self.report(
                analysis.init,
                f"`{class_name}.__init__` builds {total.describe()} in total and is {sharded}: {advice}",
                fix=plan,
                no_fix_reason=reason,
                notes=tuple(notes),
            )
            return
        for i, statement in enumerate(large):
            first = context.code(statement.node).strip().splitlines()
            shown = next((line for line in first if not line.lstrip().startswith("#")), first[0])
            shown = shown if len(shown) <= 60 else shown[:57] + "..."
            self.report(
                statement.node,
                f"`{shown}` builds {statement.built.describe()} in `{class_name}.__init__`, "
                f"which is {sharded}: {advice}",
                fix=plan,
                no_fix_reason=reason,
                notes=tuple(notes) if i == 0 else (),
            )  # evidence once per class

    def _check_unwrapped_hook(
        self, node: cst.ClassDef, qualname: str, hook: cst.FunctionDef, init: MethodAnalysis | None
    ) -> None:
        """Under FSDP with a mixed or 32-bit precision, layers a `configure_model` builds without `wrap()`
        cost what they cost in `__init__`: a full float32 copy on every rank's CPU."""
        context = self.context
        found = _evidence(context.index, qualname)
        if found is None or not found[1].is_fsdp or not found[2] or any(init_dtype(p) != FLOAT32 for p in found[2]):
            return
        analysis = analyse_method(context, hook)
        if analysis is None:
            return
        large, whole = self._large(analysis)
        if not large and not whole:
            return
        total = analysis.total
        copy = "" if total.unknown else f" ({_bytes(total.count, 4)})"
        evidence, strategy, precisions = found
        message = (
            f"`{node.name.value}.configure_model` builds {total.describe()} but never calls `wrap()`, under "
            f"strategy {strategy.describe()} with {_precision(precisions)}: the same CPU float32 copy{copy} per "
            f"rank as in `__init__` (FSDP's `tensor_init_context` sets no device, and a mixed or 32-bit "
            f"precision keeps float32); build the blocks inside `wrap()` so FSDP shards each as it is created"
        )
        body = [s for s in analysis.statements if not _is_guard_or_docstring(s)]
        try:
            plan = _wrap_planner(context, node, qualname, init)(body)
        except CannotWrap:  # not actionable by wrapping (a tie across layers, a bare parameter): not reported
            return
        changes = lambda: {s.node: s.node.visit(wrapper_class()(plan.calls)) for s in body}
        self.report(
            hook,
            message,
            fix=fix(
                changes,
                "Build the layers of `configure_model` inside `wrap()`"
                + (f" (unsafe: {plan.unsafe_reason})" if plan.unsafe_reason else ""),
                unsafe=plan.unsafe_reason is not None,
                imports=((WRAP_MODULE, "wrap"),),
            ),
            notes=evidence,
        )


def _evidence(index, qualname: str) -> tuple[tuple, Strategy, tuple[str, ...]] | None:
    """Why `qualname` is trained sharded (notes: the runner's call, its strategy and precision, where each is
    stated), with which strategy and precisions (one, the branches of a conditional, or none when unknown): the
    sharded Trainer that trains it, or, when no runner in the project reaches it (library code), the strategy
    the configuration assumes."""
    link = index.training.sharded_trainer_link(qualname)
    if link is not None:
        precisions = link.precisions
        return (*link.notes(), link.runner.site.note(_precision(precisions))), link.strategy, precisions
    assumed = index.assumed
    if assumed is not None and assumed.strategy.sharded and not index.training.reached(qualname):
        return (str(assumed),), assumed.strategy, ()
    return None


def _precision(precisions: tuple[str, ...]) -> str:
    if not precisions:
        return "a precision not known statically"
    return (
        "precision "
        + " or ".join(f"'{p}'" for p in precisions)
        + (" (chosen by a condition)" if len(precisions) > 1 else "")
    )


def _defaults_used(analysis: MethodAnalysis) -> str:
    """ "; used default vocab=50304, dim=1024": the defaults of `__init__` the building statements read (not `lr`)."""
    read = {
        n.id
        for s in analysis.statements
        if s.builds
        for stmt in s.tree
        for n in ast.walk(stmt)
        if isinstance(n, ast.Name)
    }
    used = [note for note in analysis.notes if note.removeprefix("default ").split("=", 1)[0] in read]
    return f"; used {', '.join(used)}" if used else ""


def _places(count: int) -> str:
    return "once" if count == 1 else f"in {count} places"


def _built_outside_lightning(class_name: str, sites: list) -> str:
    return (
        f"`{class_name}` is also built outside a Trainer/Fabric {_places(len(sites))}, where nothing calls "
        f"`configure_model()` and the fix cannot add the call (the model is not bound to a name by an "
        f"assignment of its own): call it there after building the model"
    )


def _direct_build_notes(class_name: str, builds: list) -> list:
    """Where the class is built outside Lightning (and the call the fix adds there): the first three, each
    located, then how many more."""
    notes = [
        d.site.note(
            f"`{class_name}` built outside a Trainer/Fabric"
            + (f": the fix calls `{d.call_hook.line.strip()}` after it" if d.call_hook else "")
        )
        for d in builds[:_SHOWN_SITES]
    ]
    return notes + ([f"and in {len(builds) - _SHOWN_SITES} more places"] if len(builds) > _SHOWN_SITES else [])


def _float32(precisions: tuple[str, ...]) -> str | None:
    """The precision to describe: a float32 one if any run may use it (the case moving saves least in), else
    the first; None when unknown."""
    return next((p for p in precisions if init_dtype(p) == FLOAT32), precisions[0] if precisions else None)


def _shards_itself(hook: cst.FunctionDef) -> bool:
    """Whether the hook wraps or shards what it builds, or builds it on the meta device."""
    for node in descendants(hook):
        if isinstance(node, cst.Call) and (cst_dotted(node.func) or "").rsplit(".", 1)[-1] in SHARDING_CALLS:
            return True
        if isinstance(node, cst.SimpleString) and node.value.strip("'\"") == "meta":
            return True
    return False


def _is_guard_or_docstring(statement: Statement) -> bool:
    """`if self.model is not None: return`, a docstring or `pass`: nothing to wrap."""
    top = statement.tree[0] if len(statement.tree) == 1 else None
    return (
        is_docstring(statement.node)
        or isinstance(top, ast.Pass)
        or (isinstance(top, ast.If) and not top.orelse and all(isinstance(b, ast.Return) for b in top.body))
    )


def _wrap_planner(context, classdef: cst.ClassDef, qualname: str, init: MethodAnalysis | None):
    """`plan_wrap` for statements of `classdef` (moved from `__init__`, or in its `configure_model`), with names
    resolved in `__init__`'s scope; the `__init__` statements not among them stay outside every wrapped layer."""
    index, names = context.index, context.facts.names
    scope = (*context.scope, ("def", "__init__"))

    def kind_of(callee) -> str | None:
        for qname in names.resolve_node(callee, scope):
            if qname in CONTAINERS:
                return "container"
            last = qname.rsplit(".", 1)[-1]
            if qname.startswith("torch.nn.") and last[:1].isupper():
                return "parameter" if "Parameter" in last else "torch"
            project = index.canonical(qname)
            if project in index.classes and index.is_nn_module(project):
                return "module"
        return None

    binds_wrap = "wrap" in names.scopes.get((), {}) and names.resolve("wrap") != {WRAP}
    base = next((b for b in index.project_lineage(qualname)[1:] if index.classes[b].init_source is not None), None)

    def planner(statements: list[Statement]):
        chosen = {id(s) for s in statements}
        kept = [s for s in init.statements if id(s) not in chosen] if init is not None else []
        return plan_wrap(statements, kept, classdef, kind_of, binds_wrap, base)

    return planner


def _bytes(count: int, itemsize: int) -> str:
    total = count * itemsize
    return f"{total / 1e9:,.1f} GB" if total >= 1e9 else f"{total / 1e6:,.0f} MB"


def _what_moving_does(strategy: Strategy, precision: str | None, size: Size) -> str:
    """What building the layers in `configure_model` achieves for this strategy and precision, with per-rank
    bytes when the size is known. Lightning 2.6 runs the hook inside the strategy's `tensor_init_context()`
    and `model_sharded_context()` and the precision's `module_init_context()` (trainer/call.py)."""
    dtype = init_dtype(precision)
    known = not size.unknown
    float32 = f"a full float32 copy{f' ({_bytes(size.count, 4)})' if known else ''} on every rank's CPU"
    halved = (
        ""
        if not known or dtype is None
        else f" ({_bytes(size.count, dtype[1])} instead of {_bytes(size.count, 4)} per rank)"
    )
    if strategy.is_fsdp:
        # FSDPStrategy.tensor_init_context: no device (the CPU) and the true precision's dtype; only `wrap()` shards.
        if dtype is None:
            made = "in the precision's dtype, but still a full copy on every rank's CPU unless wrapped"
        elif dtype[1] != 4:
            made = f"in {dtype[0]} instead of float32{halved}, but still a full copy on every rank's CPU unless wrapped"
        else:
            made = f"on the CPU in float32 too: still {float32} unless wrapped"
        return f"in `configure_model` FSDP creates them {made}: wrap the blocks with `wrap()` in `configure_model`"
    if strategy.zero3:
        return (
            f"build them in `configure_model`, where they are created partitioned by ZeRO-3 (`deepspeed.zero.Init`),"
            f" 1/N of them per rank over N ranks, instead of {float32}"
        )
    if strategy.deepspeed_stage is None:
        return (
            f"build them in `configure_model`, where they are created partitioned if the DeepSpeed config enables "
            f"ZeRO-3, else on the GPU in the training dtype, instead of {float32}"
        )
    # DeepSpeed ZeRO-1/2: the base `Strategy.tensor_init_context` (the root device and the true precision's dtype).
    unsharded = f"ZeRO stage {strategy.deepspeed_stage} does not shard parameters"
    if dtype is None:
        made = f"on the GPU in the precision's dtype instead of {float32}"
    elif dtype[1] != 4:
        made = f"on the GPU in {dtype[0]} instead of on the CPU in float32{halved}"
    else:
        made = f"on the GPU instead of on the CPU, in float32 either way{f' ({_bytes(size.count, 4)} per rank)' if known else ''}"
    return f"build them in `configure_model`, where they are created {made}; {unsharded}"

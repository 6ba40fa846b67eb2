"""FI007 create-then-cast."""

from __future__ import annotations

from typing import NamedTuple

from fastinit_lint.api import CAST_METHODS, Invalid, Valid, child_nodes, cst, cst_dotted, fix, holds_statements

from ._casts import UnclearCast, cast_target
from ._flow import (
    Build,
    Event,
    Flow,
    FlowRule,
    Kind,
    body_of,
    build_size,
    flow_of,
    literal,
    model_kind,
    root_call,
    small_enough,
    wrap_in_with,
)
from ._runtime_dependency import RUNTIME, UNDECLARED, project_uses_runtime

_PINNED = " (unsafe: a tensor the constructor creates with an explicit `dtype=` keeps that dtype, where the cast converted it)"

_NET = {
    "net.py": """
    from torch import nn
    class Big(nn.Module):
        def __init__(self, width=16_384):
            super().__init__()
            self.proj = nn.Linear(width, width)
"""
}


# A monorepo of script directories (RWKV-LM's layout): each version's `train.py` imports `src.model` from its
# own directory (Python's `sys.path[0]`); v1's `src` is a package, v2's a plain directory.
def _versions(v1_width: int, v2_width: int) -> dict[str, str]:
    model = """
        from torch import nn
        class GPT(nn.Module):
            def __init__(self):
                super().__init__()
                self.proj = nn.Linear({0}, {0})
    """
    return {
        "v1/src/__init__.py": "",
        "v1/src/model.py": model.format(v1_width),
        "v2/src/model.py": model.format(v2_width),
    }


# Sizes from literals: a config dataclass whose defaults make a 4B model (3,963,813,888 parameters).
_CONFIG_NET = {
    "cfgnet.py": """
    from dataclasses import dataclass
    from torch import nn

    @dataclass
    class Config:
        n_embd: int = 4096
        n_layer: int = 32
        vocab_size: int = 50_000

    class Block(nn.Module):
        def __init__(self, config):
            super().__init__()
            self.attn = nn.Linear(config.n_embd, 3 * config.n_embd)
            self.mlp = nn.Linear(config.n_embd, 4 * config.n_embd)

    class GPT(nn.Module):
        def __init__(self, config):
            super().__init__()
            self.wte = nn.Embedding(config.vocab_size, config.n_embd)
            self.h = nn.ModuleList([Block(config) for _ in range(config.n_layer)])
"""
}


# Calls that only set flags (training mode, `requires_grad`) and return the module itself: a cast or a move
# keeps those flags (`Module._apply` rewraps each parameter with its `requires_grad`), so they commute with it
# and the fix keeps them on the construction.
_MODE_CALLS = frozenset({"eval", "train", "requires_grad_"})


class _Chain(NamedTuple):
    """Method calls on a freshly built model, split into casts/moves and the mode calls kept by the fix."""

    casts: list[cst.Call]
    kept: list[cst.Call]

    @classmethod
    def of(cls, calls: list[cst.Call]) -> "_Chain | None":
        """None when a call is neither (`.float()`, `.apply(fn)`): what it does in between is not known."""
        names = [c.func.attr.value if isinstance(c.func, cst.Attribute) else "" for c in calls]
        if not all(name in CAST_METHODS or name in _MODE_CALLS for name in names):
            return None
        return cls(
            [c for c, n in zip(calls, names) if n in CAST_METHODS],
            [c for c, n in zip(calls, names) if n in _MODE_CALLS],
        )

    def kept_suffix(self, code) -> str:
        """`.eval().requires_grad_(False)`: the kept calls' text after their receivers."""
        return "".join(code(call)[len(code(call.func.value)) :] for call in self.kept)


def _receiver_calls(value: cst.BaseExpression) -> tuple[str | None, list[cst.Call]]:
    """For `m.to(d).eval()`: ("m", [the `.to(d)` call, the `.eval()` call])."""
    calls = []
    while isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute):
        calls.append(value)
        value = value.func.value
    return cst_dotted(value), list(reversed(calls))


def _separate_cast(
    next_statement: cst.CSTNode | None, var: str | None
) -> tuple[cst.SimpleStatementLine, _Chain] | None:
    """The statement after a build when it casts or moves the built model (`m.to(d)`, `m = m.half().eval()`),
    with its chain; None when it does not, or also calls what the fix cannot keep."""
    if not isinstance(next_statement, cst.SimpleStatementLine) or var is None:
        return None
    small = next_statement.body[0]
    receiver, calls = _receiver_calls(small.value) if isinstance(small, (cst.Assign, cst.Expr)) else (None, [])
    chain = _Chain.of(calls) if receiver == var else None
    return (next_statement, chain) if chain is not None and chain.casts else None


def _next_statements(root: cst.CSTNode) -> dict[int, cst.CSTNode]:
    """id(statement) -> the statement after it in the same block, for every block under `root`."""
    following, pending = {}, [root]
    while pending:
        node = pending.pop()
        body = node.body if isinstance(node, (cst.Module, cst.IndentedBlock)) else ()
        following.update((id(a), b) for a, b in zip(body, body[1:]))
        pending.extend(
            child
            for child in child_nodes(node)
            if holds_statements(child) and not isinstance(child, (cst.FunctionDef, cst.ClassDef))
        )
    return following


def _lines_outside_init_contexts(context, body) -> list[cst.SimpleStatementLine]:
    """Simple statements of a body, nested blocks included (not nested functions or classes), leaving out
    those under a `with` that already builds in place (`torch.device(...)`, any `init_module`)."""
    found, pending = [], list(reversed(body))
    while pending:
        statement = pending.pop()
        if isinstance(statement, cst.SimpleStatementLine):
            found.append(statement)
        elif not isinstance(statement, (cst.FunctionDef, cst.ClassDef)) and not (
            isinstance(statement, cst.With)
            and any(
                isinstance(item.item, cst.Call) and _builds_in_place(context, item.item) for item in statement.items
            )
        ):
            pending.extend(
                reversed(
                    [c for c in child_nodes(statement) if holds_statements(c) or isinstance(c, cst.SimpleStatementLine)]
                )
            )
    return found


def _builds_in_place(context, call: cst.Call) -> bool:
    return (
        (isinstance(call.func, cst.Attribute) and call.func.attr.value == "init_module")
        or context.matches(call.func, {"torch.device", "torch.nn.utils.skip_init"})
        or any(q.startswith(RUNTIME) for q in context.qualified_names(call.func))
    )


def _unfixable(line: cst.CSTNode, separate: cst.SimpleStatementLine | None, var: str) -> str | None:
    if (
        not isinstance(line, cst.SimpleStatementLine)
        or len(line.body) != 1
        or (separate is not None and len(separate.body) != 1)
    ):
        return "the statements share lines with others"
    if (
        separate is not None
        and isinstance(separate.body[0], cst.Assign)
        and (len(separate.body[0].targets) != 1 or cst_dotted(separate.body[0].targets[0].target) != var)
    ):
        return f"the cast model is bound to another name than `{var}`"
    return None


def _without_casts(line: cst.SimpleStatementLine, var: str, chain: _Chain, code):
    """The separate cast statement once the model is built in place: gone, or only its mode calls left."""
    if not chain.kept:
        return cst.RemovalSentinel.REMOVE
    small = line.body[0]
    return line.with_changes(body=[small.with_changes(value=cst.parse_expression(var + chain.kept_suffix(code)))])


class CreateThenCast(FlowRule):
    """A large model built in float32 on CPU, then cast or moved: build it in place instead.

    ## What it flags
    Plain PyTorch (no Trainer/Fabric in scope): a model of at least `create-then-cast-threshold` parameters
    (default 100,000,000) built outside any init context and then cast to a dtype
    (`.half()`, `.bfloat16()`, `.double()`, `.to(dtype)`, `.to(device=..., dtype=...)`) or moved to a device
    (`.cuda()`, `.to(device)`), chained on the construction or as the next statement on the same variable,
    also among mode calls (`Model().to(d).eval()`, `.train()`, `.requires_grad_()`) and in a branch of a
    conditional expression (`Model().to(d) if c else m`).
    A move to the CPU alone (`.to("cpu")`) is not reported: the model is already there. Below the threshold
    the extra copy costs milliseconds and a few hundred MB at most.

    The size is counted from what the code states: torch.nn formulas, the project's own modules, literal
    config constructions (keywords, dataclass defaults, `__post_init__`), module constants and the assignments
    that run before the build in the same function. Only parameters count (a plain tensor attribute is not
    one; a `Lazy*` module has none yet). When part of it is unknown, the model is reported if the counted
    part reaches the threshold, or if it is presumed to: one term of its size multiplies enough unknown
    dimensions to reach the threshold, each presumed a hidden size of 1024, which for the default takes three
    (`n_layer` blocks of `Linear(d, d)`). `Linear(d_in, d_out)` or `Embedding(vocab, d)` alone, a few million
    parameters at such sizes (NeMo's vision connector is 21-31M), is not; nor `Linear(obs_size, 128)`.
    A project function's result is used when its body is one `return` of a literal construction
    (`def medium(): return Config(n_embd=1024)`); a config any other project function returns (openfold's
    `model_config(name)`, litgpt's `Config.from_name(name)`) is unknown and what is read from it is never
    presumed large. Imports resolve as Python would for the running script, from the script's own directory
    first: in a repository of version directories, `from src.model import GPT` in `v4/train.py` is
    `v4/src/model.py`, whatever other directories hold a `src/model.py`. Buffers (`register_buffer`) are
    not counted although a move or cast copies them too: the threshold and the message count parameters,
    and buffers are rarely a large share (nanoGPT's causal masks, when registered: 12.6M values beside 124M parameters; a
    mask's dtype, often bool, is not known statically).
    `unknown-size = "small"` reports only what is counted.

    ## Why it matters
    The constructor allocates and initializes every parameter in float32 on CPU; the cast then allocates a
    second copy. Peak memory is about 3x the final bf16 weights and initialization runs on the slow device.
    Building under `torch.device(...)` and the target default dtype (what Lightning's `init_module` does,
    and `fastinit_runtime.init_module`) allocates once, in place (TorchFix users asked for exactly this
    rule: ruff#12349 "initialize directly on device / with dtype").

    ## Example
    ```python
    from torch import nn


    class GPT(nn.Module):
        def __init__(self, vocab=50_304, dim=2048, depth=24):
            super().__init__()
            self.embed = nn.Embedding(vocab, dim)
            self.blocks = nn.ModuleList(nn.Linear(dim, 4 * dim) for _ in range(depth))


    model = GPT().bfloat16().cuda()
    ```

    Use instead:
    ```python
    import fastinit_runtime
    import torch
    from torch import nn


    class GPT(nn.Module):
        def __init__(self, vocab=50_304, dim=2048, depth=24):
            super().__init__()
            self.embed = nn.Embedding(vocab, dim)
            self.blocks = nn.ModuleList(nn.Linear(dim, 4 * dim) for _ in range(depth))


    with fastinit_runtime.init_module(device="cuda", dtype=torch.bfloat16):
        model = GPT()
    ```

    ## Fix
    A move only (`.cuda()`, `.to(device)`) is built under torch's own `with torch.device(...):` (adding
    `import torch` if needed); a cast under `with fastinit_runtime.init_module(device=..., dtype=...):`,
    adding `import fastinit_runtime`. Either drops the casts and keeps the mode calls in their order
    (`model = Model().eval()`; a separate `m = m.half().eval()` becomes `m = m.eval()`).

    ## Fix safety
    Safe for a move; unsafe for a cast. Parameters and floating buffers end up with the same dtype and device,
    but a tensor the constructor creates with an explicit `dtype=torch.float32` (a rotary `inv_freq` buffer, a
    pinned parameter) keeps that dtype under `fastinit_runtime.init_module`, where the cast converted it, and
    whether a model's modules pin a dtype is not known statically. The fix also says when the project neither
    declares the runtime library (`fastinit-lint[runtime]` in `pyproject.toml`, `setup.cfg`, `setup.py` or
    `requirements*.txt`) nor imports `fastinit_runtime` in any file: the import it adds would fail where the
    library is not installed. There is no dependency-free rewrite that is exact either: torch's own
    `torch.set_default_dtype(dtype)` under `try`/`finally` (what `fastinit_runtime.init_module` does, and
    Lightning's `init_module` for a true precision) builds floating parameters and buffers in the dtype and
    leaves integer buffers (`num_batches_tracked`) alone, as the cast does, with the same pinned-dtype
    difference (tests/test_fi007_dtype_rewrite.py, torch 2.13 on CPU). No fix when it cannot be
    told whether a `.to(x)` argument is a device or a dtype, when the cast model is bound to another name
    (`half = model.half()`: removing the statement would leave `half` unbound), or when the build is a branch
    of a conditional expression (building in place needs an `if` statement there: written by hand). Chains
    with other calls (`.apply(fn)`, `.float()`) are not reported: what they do between build and cast is not
    known. Mode calls commute with a cast: `Module._apply` rewraps each parameter with its `requires_grad`,
    and the training flag is not a tensor.

    ## Options
    `create-then-cast-threshold` (parameters, default 100,000,000): models known to be smaller are not
    reported (the extra float32 copy of a small model costs little); `unknown-size` (default `"large"`):
    whether a model whose size cannot be computed, but is presumed to reach the threshold, is reported.

    ## References
    - [Efficient initialization (Trainer)](https://lightning.ai/docs/pytorch/latest/advanced/model_init.html):
      "Instantiating a nn.Module in PyTorch creates all parameters on CPU in float32 precision by default"
    - [`torch.nn.Module`](https://docs.pytorch.org/docs/stable/generated/torch.nn.Module.html) (`to`, `half`,
      `bfloat16`)
    """

    code = "FI007"
    name = "create-then-cast"
    fixable = "sometimes"
    markers = (".half(", ".bfloat16(", ".double(", ".to(", ".cuda(")

    VALID = [
        Valid("""
            from torch import nn
            model = nn.Linear(16, 16).half()
            """),
        Valid(
            """
            import torch
            import fastinit_runtime
            from net import Big
            with fastinit_runtime.init_module(dtype=torch.bfloat16):
                model = Big()
            """,
            files=_NET,
        ),
        Valid(
            """
            import torch
            from net import Big
            with torch.device("cuda"):
                model = Big().half()
            """,
            files=_NET,
        ),
        Valid(
            """
            import lightning as L
            from net import Big
            def main():
                fabric = L.Fabric(precision="bf16-true")
                model = Big().half()
            """,
            files=_NET,
        ),
        Valid("""
            import torch
            from torch import nn
            model = nn.Transformer(d_model=512).to("cuda")  # 44M parameters: the copy costs milliseconds
            """),
        Valid(
            """
            from net import Big
            model = Big().to("cpu")
            """,
            files=_NET,
        ),
        # A test's config built from literals in the same function: 3,258,240 parameters (litgpt's tests).
        Valid(
            """
            from cfgnet import GPT, Config
            def test_gpt(device):
                config = Config(n_embd=64, n_layer=2)
                model = GPT(config).to(device)
            """,
            files=_CONFIG_NET,
        ),
        # Tuple unpacking of literals: C is 3 (RWKV-v8's ROSA layer test).
        Valid("""
            import torch
            from torch import nn
            class Rosa(nn.Module):
                def __init__(self, C: int):
                    super().__init__()
                    self.emb0 = nn.Parameter(torch.full((1, 1, C), -1e-5))
            B, T, C = 1, 5, 3
            layer = Rosa(C).cuda()
            """),
        # Linear in each unknown, no product of two: not presumed large (Lightning's RL template).
        Valid("""
            from torch import nn
            def build(obs_size, n_actions):
                net = nn.Sequential(nn.Linear(obs_size, 128), nn.ReLU(), nn.Linear(128, n_actions)).cuda()
                return net
            """),
        # Two unknown dimensions multiply (`hidden * hidden`): a few million parameters at hidden sizes, far from
        # the threshold (NeMo's vision connector, 21-31M).
        Valid("""
            import torch
            def build(vision_config, nemo_config, dtype):
                connector = torch.nn.Sequential(
                    torch.nn.Linear(vision_config["hidden_size"], nemo_config["hidden_size"]),
                    torch.nn.GELU(),
                    torch.nn.Linear(nemo_config["hidden_size"], nemo_config["hidden_size"]),
                ).to(dtype=dtype)
                return connector
            """),
        Valid(
            """
            import torch
            from net import Big
            def build(init_fn, fresh, pretrained):
                model = Big().apply(init_fn).half()  # what `apply` does to a float32 model is not known
                with torch.device("cuda"):
                    other = Big().half() if fresh else pretrained
                return model, other
            """,
            files=_NET,
        ),
        # A config a project function reads from a file (openfold's `model_config(name)`): unknown, and what is
        # read from it is no evidence of size (not presumed large).
        Valid(
            """
            import json
            from cfgnet import GPT, Config
            def model_config(name):
                with open(f"{name}.json") as handle:
                    return Config(**json.load(handle))
            def test_gpt():
                c = model_config("tiny")
                c.n_layer = 2
                model = GPT(c).cuda()
            """,
            files=_CONFIG_NET,
        ),
        # v2's own `src/model.py` (262,656 parameters), not v1's large one of the same module name.
        Valid(
            """
            from src.model import GPT
            model = GPT().cuda()
            """,
            files=_versions(16_384, 512),
            snippet="v2/train.py",
        ),
    ]
    INVALID = [
        # A project function returning a literal construction is sized from it: 109,977,600 parameters.
        Invalid(
            """
            from cfgnet import GPT, Config
            def medium():
                return Config(n_embd=1024, n_layer=8)
            model = GPT(medium()).cuda()
            """,
            rows=(4,),
            files=_CONFIG_NET,
            message_contains=("109,977,600 parameters",),
            fixed="""
            from cfgnet import GPT, Config
            import torch

            def medium():
                return Config(n_embd=1024, n_layer=8)
            with torch.device("cuda"):
                model = GPT(medium())
            """,
        ),
        # The same layout the other way round: v2's own GPT is the large one.
        Invalid(
            """
            from src.model import GPT
            model = GPT().cuda()
            """,
            rows=(2,),
            files=_versions(512, 16_384),
            snippet="v2/train.py",
            message_contains=("268,451,840 parameters",),
            fixed="""
            from src.model import GPT
            import torch

            with torch.device("cuda"):
                model = GPT()
            """,
        ),
        Invalid(
            """
            import torch
            from net import Big

            def build():
                model = Big().bfloat16().to("cuda")  # big
                return model
            """,
            rows=(5,),
            files=_NET,
            message_contains=("268,451,840 parameters", "`.bfloat16()`"),
            unsafe=True,
            fixed="""
            import torch
            from net import Big
            import fastinit_runtime

            def build():
                with fastinit_runtime.init_module(device="cuda", dtype=torch.bfloat16):
                    model = Big()  # big
                return model
            """,
        ),
        Invalid(
            """
            import torch
            import torch.nn as nn
            model = nn.Transformer(d_model=1024)
            model = model.to(dtype=torch.float16, device=torch.device("cuda", 0))
            """,
            rows=(3,),
            unsafe=True,
            fixed="""
            import torch
            import torch.nn as nn
            import fastinit_runtime

            with fastinit_runtime.init_module(device=torch.device("cuda", 0), dtype=torch.float16):
                model = nn.Transformer(d_model=1024)
            """,
        ),
        Invalid(
            """
            from net import Big
            def f(device):
                m = Big()
                m.to(device)
            """,
            rows=(3,),
            files=_NET,
            message_contains=("no automatic fix",),
        ),
        # The config's literals make the size known: 1,144,553,472 parameters. The project declares the runtime
        # library, so the fix importing it is safe.
        Invalid(
            """
            import torch
            from cfgnet import GPT, Config

            def main():
                config = Config(n_layer=8)
                model = GPT(config).bfloat16().cuda()
            """,
            rows=(6,),
            files={**_CONFIG_NET, "requirements.txt": "torch\nfastinit-lint[runtime]\n"},
            message_contains=("1,144,553,472 parameters",),
            fixed="""
            import torch
            from cfgnet import GPT, Config
            import fastinit_runtime

            def main():
                config = Config(n_layer=8)
                with fastinit_runtime.init_module(device="cuda", dtype=torch.bfloat16):
                    model = GPT(config)
            """,
            unsafe=True,
        ),
        # Unknown, but three unknown dimensions multiply (`n_layer * d * d`): presumed to reach the threshold.
        Invalid(
            """
            from torch import nn
            def build(n_layer, d):
                model = nn.Sequential(*[nn.Linear(d, d) for _ in range(n_layer)]).cuda()
                return model
            """,
            rows=(3,),
            message_contains=("depends on d, n_layer",),
            fixed="""
            from torch import nn
            import torch

            def build(n_layer, d):
                with torch.device("cuda"):
                    model = nn.Sequential(*[nn.Linear(d, d) for _ in range(n_layer)])
                return model
            """,
        ),
        # Partly unknown (the vocabulary), but the counted part alone is over the threshold.
        Invalid(
            """
            from cfgnet import GPT, Config
            def main(vocab_size):
                model = GPT(Config(n_layer=8, vocab_size=vocab_size)).cuda()
            """,
            rows=(3,),
            files=_CONFIG_NET,
            message_contains=("939,753,472 parameters counted, depends on vocab_size",),
            fixed="""
            from cfgnet import GPT, Config
            import torch

            def main(vocab_size):
                with torch.device("cuda"):
                    model = GPT(Config(n_layer=8, vocab_size=vocab_size))
            """,
        ),
        # Mode calls in the chain (`.eval()`, `.train()`, `.requires_grad_()`) commute with the cast: kept, in order.
        Invalid(
            """
            import torch
            from net import Big
            model = Big().to("cuda").eval().requires_grad_(False)
            """,
            rows=(3,),
            files=_NET,
            message_contains=("`.to()`",),
            fixed="""
            import torch
            from net import Big
            with torch.device("cuda"):
                model = Big().eval().requires_grad_(False)
            """,
        ),
        Invalid(
            """
            import torch
            from net import Big
            def build():
                model = Big().eval().cuda()
                return model
            """,
            rows=(4,),
            files=_NET,
            fixed="""
            import torch
            from net import Big
            def build():
                with torch.device("cuda"):
                    model = Big().eval()
                return model
            """,
        ),
        Invalid(
            """
            import torch
            from net import Big
            def build():
                model = Big()
                model = model.bfloat16().eval()
                return model
            """,
            rows=(4,),
            files={**_NET, "serve.py": "import fastinit_runtime\n"},  # the project imports it already
            fixed="""
            import torch
            from net import Big
            import fastinit_runtime

            def build():
                with fastinit_runtime.init_module(dtype=torch.bfloat16):
                    model = Big()
                model = model.eval()
                return model
            """,
            unsafe=True,
        ),
        # The cast model bound to another name: removing that statement would leave the name unbound.
        Invalid(
            """
            import torch
            from net import Big
            def build():
                model = Big()
                half = model.half()
                return model, half
            """,
            rows=(4,),
            files=_NET,
            message_contains=("bound to another name than `model`",),
        ),
        Invalid(
            """
            import torch
            from net import Big
            def build(args, pretrained):
                model = Big().to("cuda") if args.fresh else pretrained
                return model
            """,
            rows=(4,),
            files=_NET,
            message_contains=("one branch of a conditional expression",),
        ),
    ]

    @classmethod
    def relevant(cls, facts, index, settings) -> bool:
        return facts.cast_hint and not any(r.bound_to for r in facts.runners)

    def check_flow(self, flow: Flow) -> None:
        if flow.runners:
            return  # Lightning code: FI003 covers it
        for event in flow.events:
            if (
                event.kind is not Kind.BUILD
                or event.build.model not in ("project", "torch")
                or event.block
                or event.generic_init
            ):
                continue
            chain = _Chain.of(event.build.chain)
            separate = None
            if chain is not None and not chain.casts:
                separate = _separate_cast(self._next_statement.get(id(event.node)), event.var)
                chain = separate[1] if separate is not None else None
            if chain is None or small_enough(self.context, event, self.context.settings.create_then_cast_threshold):
                continue
            self._report(event, chain, separate[0] if separate else None)

    def visit_Module(self, node: cst.Module) -> None:
        self._next_statement = _next_statements(node)
        super().visit_Module(node)
        self._conditional_builds(node)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._next_statement = _next_statements(node)
        super().visit_FunctionDef(node)
        self._conditional_builds(node)

    def _conditional_builds(self, node: cst.Module | cst.FunctionDef) -> None:
        """`m = Big().half() if c else other`: the flow sees no build in a conditional expression. Reported
        without a fix: building in place would split the assignment into an `if` statement."""
        if flow_of(self.context, node).runners:
            return
        for line in _lines_outside_init_contexts(self.context, body_of(node)):
            for small in line.body:
                value = small.value if isinstance(small, (cst.Assign, cst.AnnAssign, cst.Expr)) else None
                if not isinstance(value, cst.IfExp):
                    continue
                var = (
                    cst_dotted(small.targets[0].target)
                    if isinstance(small, cst.Assign)
                    else cst_dotted(small.target)
                    if isinstance(small, cst.AnnAssign)
                    else None
                )
                for branch in (value.body, value.orelse):
                    root, calls = root_call(branch)
                    chain = _Chain.of(calls) if root is not None else None
                    kind = model_kind(self.context, root) if chain is not None and chain.casts else None
                    if kind not in ("project", "torch"):
                        continue
                    event = Event(Kind.BUILD, line, var, None, root, Build(kind))
                    if small_enough(self.context, event, self.context.settings.create_then_cast_threshold):
                        continue
                    reason = "the build is one branch of a conditional expression; wrap that branch in an `if` by hand"
                    message = self._message(event, chain.casts, ", in one branch of a conditional expression")
                    self.report(line, message, no_fix_reason=reason)

    def _report(self, event: Event, chain: "_Chain", separate: cst.SimpleStatementLine | None) -> None:
        casts = chain.casts
        message = self._message(event, casts)
        try:
            device, dtype = cast_target(self.context, casts)
        except UnclearCast as exc:
            self.report(event.node, message, no_fix_reason=str(exc))
            return
        if dtype is None and device is not None and literal(cst.parse_expression(device)) == "cpu":
            return  # moved to where it already is: no second copy
        line = event.node
        reason = _unfixable(line, separate, event.var)
        if reason is not None:
            self.report(line, message, no_fix_reason=reason)
            return
        if dtype is None:  # a move only: torch's own device context does it, no new dependency
            module, manager = "torch", f"torch.device({device})"
        else:
            arguments = ", ".join(f"{k}={v}" for k, v in (("device", device), ("dtype", dtype)) if v)
            module, manager = RUNTIME, f"{RUNTIME}.init_module({arguments})"
        statement = line.body[0]
        code = self.context.code
        if separate is None:  # the construction keeps its mode calls (`.eval()`), in order, without the casts
            statement = statement.with_changes(value=cst.parse_expression(code(event.call) + chain.kept_suffix(code)))
        changes = {line: wrap_in_with(line.with_changes(body=[statement]), manager)}
        if separate is not None:
            changes[separate] = _without_casts(separate, event.var, chain, code)
        title = f"Build inside `{manager}`"
        if module == RUNTIME:  # a cast: never exact (docs, Fix safety)
            title += UNDECLARED if not project_uses_runtime(self.context) else _PINNED
        self.report(line, message, fix=fix(changes, title, unsafe=module == RUNTIME, imports=((module, None),)))

    def _message(self, event: Event, casts: list[cst.Call], where: str = "") -> str:
        shown = ", ".join(f"`.{c.func.attr.value}()`" for c in casts)
        built = event.var or self.context.code(event.call)
        return (
            f"`{built}` ({build_size(self.context, event).describe()}) is built in float32 on CPU, then {shown}{where}: "
            f"build it in place, under `torch.device(...)` for a move, or with "
            f"`fastinit_runtime.init_module(device=..., dtype=...)` for a cast"
        )

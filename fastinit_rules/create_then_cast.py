"""FI007 create-then-cast."""

from __future__ import annotations

from fastinit_lint.lazy_libcst import cst

from fastinit_lint.rule import Invalid, Rule, Valid, fix

from ._flow import Event, Flow, FlowRule, build_size, ensure_import, literal, small_enough, wrap_in_with

RUNTIME = "fastinit_runtime"
_METHOD_DTYPES = {"half": "torch.float16", "bfloat16": "torch.bfloat16", "double": "torch.float64"}
_TORCH_DTYPES = frozenset(f"torch.{d}" for d in (
    "float16", "half", "bfloat16", "float32", "float", "float64", "double"))
_NET = {"net.py": """
    from torch import nn
    class Big(nn.Module):
        def __init__(self, width=16_384):
            super().__init__()
            self.proj = nn.Linear(width, width)
"""}


# Sizes from literals: a config dataclass whose defaults make a 4B model (3,963,813,888 parameters).
_CONFIG_NET = {"cfgnet.py": """
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
"""}


class UnclearCast(Exception):
    """Why the target of a cast cannot be told statically; the text goes into the finding's message."""


class CreateThenCast(FlowRule, Rule):
    """A large model built in float32 on CPU, then cast or moved: build it in place instead.

    ## What it flags
    Plain PyTorch (no Trainer/Fabric in scope): a model of at least `create-then-cast-threshold` parameters
    (default 100,000,000) built outside any init context and then cast to a dtype
    (`.half()`, `.bfloat16()`, `.double()`, `.to(dtype)`, `.to(device=..., dtype=...)`) or moved to a device
    (`.cuda()`, `.to(device)`), chained on the construction or as the next statement on the same variable.
    A move to the CPU alone (`.to("cpu")`) is not reported: the model is already there. Below the threshold
    the extra copy costs milliseconds and a few hundred MB at most.

    The size is counted from what the code states: torch.nn formulas, the project's own modules, literal
    config constructions (keywords, dataclass defaults, `__post_init__`), module constants and the assignments
    that run before the build in the same function. Only parameters count (a plain tensor attribute is not
    one; a `Lazy*` module has none yet). When part of it is unknown, the model is reported if the counted
    part reaches the threshold, or if it is presumed large: its size multiplies two unknown dimensions
    (`Linear(d, d)`, `Embedding(vocab, d)`); `Linear(obs_size, 128)`, linear in one unknown, is not.
    `unknown-size = "small"` reports only what is counted.

    ## Why it matters
    The constructor allocates and initializes every parameter in float32 on CPU; the cast then allocates a
    second copy. Peak memory is about 3x the final bf16 weights and initialization runs on the slow device.
    Building under `torch.device(...)` and the target default dtype (what Lightning's `init_module` does,
    and `fastinit_runtime.init_module`) allocates once, in place (TorchFix users asked for exactly this
    rule: ruff#12349 "initialize directly on device / with dtype").

    ## Example
    ```python
    model = GPT().bfloat16().cuda()
    ```

    Use instead:
    ```python
    with fastinit_runtime.init_module(device="cuda", dtype=torch.bfloat16):
        model = GPT()
    ```

    ## Fix
    Wraps the construction in `with fastinit_runtime.init_module(device=..., dtype=...):`, drops the casts,
    and adds `import fastinit_runtime`.

    ## Fix safety
    Safe: parameters and floating buffers end up with the same dtype and device. Tensors the constructor
    creates with an explicit `dtype=` keep it (a cast would have converted them). No fix when it cannot be
    told whether a `.to(x)` argument is a device or a dtype.
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
        Valid("""
            import torch
            import fastinit_runtime
            from net import Big
            with fastinit_runtime.init_module(dtype=torch.bfloat16):
                model = Big()
            """, files=_NET),
        Valid("""
            import torch
            from net import Big
            with torch.device("cuda"):
                model = Big().half()
            """, files=_NET),
        Valid("""
            import lightning as L
            from net import Big
            def main():
                fabric = L.Fabric(precision="bf16-true")
                model = Big().half()
            """, files=_NET),
        Valid("""
            import torch
            from torch import nn
            model = nn.Transformer(d_model=512).to("cuda")  # 44M parameters: the copy costs milliseconds
            """),
        Valid("""
            from net import Big
            model = Big().to("cpu")
            """, files=_NET),
        # A test's config built from literals in the same function: 3,258,240 parameters (litgpt's tests).
        Valid("""
            from cfgnet import GPT, Config
            def test_gpt(device):
                config = Config(n_embd=64, n_layer=2)
                model = GPT(config).to(device)
            """, files=_CONFIG_NET),
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
    ]
    INVALID = [
        Invalid("""
            import torch
            from net import Big

            def build():
                model = Big().bfloat16().to("cuda")  # big
                return model
            """, rows=(5,), files=_NET, message_contains=("268,451,840 parameters", "`.bfloat16()`"),
            fixed="""
            import torch
            from net import Big
            import fastinit_runtime

            def build():
                with fastinit_runtime.init_module(device="cuda", dtype=torch.bfloat16):
                    model = Big()  # big
                return model
            """),
        Invalid("""
            import torch
            import torch.nn as nn
            model = nn.Transformer(d_model=1024)
            model = model.to(dtype=torch.float16, device=torch.device("cuda", 0))
            """, rows=(3,),
            fixed="""
            import torch
            import torch.nn as nn
            import fastinit_runtime
            with fastinit_runtime.init_module(device=torch.device("cuda", 0), dtype=torch.float16):
                model = nn.Transformer(d_model=1024)
            """),
        Invalid("""
            from net import Big
            def f(device):
                m = Big()
                m.to(device)
            """, rows=(3,), files=_NET, message_contains=("no automatic fix",)),
        # The config's literals make the size known: 1,144,553,472 parameters.
        Invalid("""
            import torch
            from cfgnet import GPT, Config

            def main():
                config = Config(n_layer=8)
                model = GPT(config).bfloat16().cuda()
            """, rows=(6,), files=_CONFIG_NET, message_contains=("1,144,553,472 parameters",),
            fixed="""
            import torch
            from cfgnet import GPT, Config
            import fastinit_runtime

            def main():
                config = Config(n_layer=8)
                with fastinit_runtime.init_module(device="cuda", dtype=torch.bfloat16):
                    model = GPT(config)
            """),
        # Partly unknown (the vocabulary), but the counted part alone is over the threshold.
        Invalid("""
            from cfgnet import GPT, Config
            def main(vocab_size):
                model = GPT(Config(n_layer=8, vocab_size=vocab_size)).cuda()
            """, rows=(3,), files=_CONFIG_NET,
            message_contains=("939,753,472 parameters counted, depends on vocab_size",),
            fixed="""
            from cfgnet import GPT, Config
            import fastinit_runtime
            def main(vocab_size):
                with fastinit_runtime.init_module(device="cuda"):
                    model = GPT(Config(n_layer=8, vocab_size=vocab_size))
            """),
    ]

    @classmethod
    def relevant(cls, facts, index, settings) -> bool:
        return facts.cast_hint and not any(r.bound_to for r in facts.runners)

    def check(self, flow_: Flow) -> None:
        if flow_.runners:
            return  # Lightning code: FI003 covers it
        for event in flow_.events:
            if event.kind != "build" or event.detail.get("model") not in ("project", "torch") or event.block or event.generic_init:
                continue
            chained = [c for c in event.detail.get("chain", []) if isinstance(c.func, cst.Attribute)]
            casts = [c for c in chained if c.func.attr.value in ("half", "bfloat16", "double", "to", "cuda")]
            separate = None
            if not casts:
                following = [e for e in flow_.after(event) if e.position == event.position + 1 and e.var == event.var and e.kind == "cast"]
                if not following or following[0].call.func.attr.value not in ("half", "bfloat16", "double", "to", "cuda"):
                    continue
                separate = following[0]
                casts = [separate.call]
            if len(casts) != len(chained) and not separate \
                    or small_enough(self.context, event, self.context.settings.create_then_cast_threshold):
                continue
            self._report(event, casts, separate)

    def _report(self, event: Event, casts: list[cst.Call], separate: Event | None) -> None:
        shown = ", ".join(f"`.{c.func.attr.value}()`" for c in casts)
        message = (f"`{event.var}` ({build_size(self.context, event).describe()}) is built in float32 on CPU, then {shown}: "
                   f"build it in place with `fastinit_runtime.init_module(device=..., dtype=...)`")
        try:
            device, dtype = cast_target(self.context, casts)
        except UnclearCast as exc:
            self.report(event.node, f"{message} (no automatic fix: {exc})", no_fix_reason=str(exc))
            return
        if dtype is None and device is not None and literal(cst.parse_expression(device)) == "cpu":
            return  # moved to where it already is: no second copy
        line = event.node
        if not isinstance(line, cst.SimpleStatementLine) or len(line.body) != 1 or (
                separate is not None and (not isinstance(separate.node, cst.SimpleStatementLine) or len(separate.node.body) != 1)):
            self.report(line, message, no_fix_reason="the statements share lines with others")
            return
        arguments = ", ".join(f"{k}={v}" for k, v in (("device", device), ("dtype", dtype)) if v)
        statement = line.body[0]
        constructed = cst.Module([]).code_for_node(event.call)
        if separate is None:
            statement = statement.with_changes(value=cst.parse_expression(constructed))
        changes = {line: wrap_in_with(line.with_changes(body=[statement]), f"{RUNTIME}.init_module({arguments})")}
        if separate is not None:
            changes[separate.node] = cst.RemovalSentinel.REMOVE
        changes.update(ensure_import(self.context, RUNTIME))
        self.report(line, message, fix=fix(changes, f"Build inside `{RUNTIME}.init_module({arguments})`"))


def cast_target(context, casts: list[cst.Call]) -> tuple[str | None, str | None]:
    """(device, dtype) as source text that the chained `.half()`/`.bfloat16()`/`.double()`/`.cuda()`/`.to(...)`
    calls `casts` move a model to; raises UnclearCast when an argument cannot be classified."""
    device = dtype = None
    code = context.code
    for call in casts:
        method = call.func.attr.value
        if method in _METHOD_DTYPES:
            if "torch" not in context.qualified_names(cst.Name("torch")):
                raise UnclearCast("`torch` is not imported under that name here")
            dtype = _METHOD_DTYPES[method]
        elif method == "cuda":
            index = call.args[0].value if call.args else None
            device = '"cuda"' if index is None else f'"cuda:{code(index)}"' if isinstance(literal(index), int) else None
            if device is None:
                raise UnclearCast("`.cuda()` with a non-literal device index")
        else:
            for arg in call.args:
                kind = arg.keyword.value if arg.keyword else _classify(context, arg.value)
                if kind == "dtype":
                    dtype = code(arg.value)
                elif kind == "device":
                    device = code(arg.value)
                else:
                    raise UnclearCast(f"cannot tell whether `{code(arg.value)}` is a device or a dtype")
    return device, dtype


def _classify(context, value: cst.BaseExpression) -> str | None:
    if isinstance(value, cst.SimpleString):
        return "device"
    if context.matches(value, _TORCH_DTYPES):
        return "dtype"
    if isinstance(value, cst.Call) and context.matches(value.func, {"torch.device"}):
        return "device"
    return None

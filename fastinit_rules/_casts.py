"""Where a chain of `.half()`/`.bfloat16()`/`.double()`/`.cuda()`/`.to(...)` calls moves a model: shared by
FI007 (create-then-cast) and FI016 (load-then-cast)."""

from __future__ import annotations

from fastinit_lint.api import cst

from ._flow import literal

_METHOD_DTYPES = {"half": "torch.float16", "bfloat16": "torch.bfloat16", "double": "torch.float64"}
_TORCH_DTYPES = frozenset(
    f"torch.{d}" for d in ("float16", "half", "bfloat16", "float32", "float", "float64", "double")
)


class UnclearCast(Exception):
    """Why the target of a cast cannot be told statically; the text goes into the finding's message."""


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

"""The statements that run before a statement of a function, for the values of its local variables.

`config = Config(n_embd=64)` then `GPT(config).to(device)`: the estimator sizes the build with `config` bound.
Only straight-line code is followed: the owner's body, into the `with` blocks and the `if` branch that hold
the statement. A loop, `try` or other compound statement before it (or holding it) only makes the names it
binds unknown, since which of its assignments ran is not known.
"""

from __future__ import annotations

import ast
import textwrap

from fastinit_lint.api import Context, cst, descendants


def preceding_statements(
    context: Context, owner: cst.FunctionDef | cst.Module, node: cst.CSTNode
) -> list[tuple[ast.stmt, bool]]:
    """(statement, ran straight) pairs in execution order up to `node`: with ran straight, an assignment's value
    is known; without, only the names it binds are (they become unknown)."""
    body = owner.body if isinstance(owner, cst.Module) else _statements(owner.body)
    found: list[tuple[ast.stmt, bool]] = []
    while True:
        position = next((i for i, s in enumerate(body) if s is node or _holds(s, node)), None)
        if position is None:
            return []  # not found: nothing is known about what ran before it
        for statement in body[:position]:
            found.extend((tree, True) for tree in _ast(context, statement))
        holder = body[position]
        if isinstance(holder, cst.With):
            body = _statements(holder.body)
        elif isinstance(holder, cst.If):
            branch = holder.body if _holds(holder.body, node) else holder.orelse
            body = (
                [branch]
                if isinstance(branch, cst.If)
                else _statements(branch.body if isinstance(branch, cst.Else) else branch)
            )
        else:
            found.extend((tree, False) for tree in _ast(context, holder))
            return found


def _statements(block: cst.BaseSuite) -> list[cst.CSTNode]:
    return list(block.body) if isinstance(block, cst.IndentedBlock) else []


def _holds(tree: cst.CSTNode, node: cst.CSTNode) -> bool:
    return any(d is node for d in descendants(tree))


def _ast(context: Context, statement: cst.CSTNode) -> list[ast.stmt]:
    """The statement as `ast`, parsed once per file and statement."""
    return context.shared(_parse, statement)


def _parse(context: Context, statement: cst.CSTNode) -> list[ast.stmt]:
    try:
        return ast.parse(textwrap.dedent(context.code(statement))).body
    except (SyntaxError, RecursionError, ValueError):
        return []


_TENSOR_TYPE_DTYPES = {
    "HalfTensor": "float16",
    "BFloat16Tensor": "bfloat16",
    "FloatTensor": "float32",
    "DoubleTensor": "float64",
}
_DTYPE_NAMES = {
    "float16": "float16",
    "half": "float16",
    "bfloat16": "bfloat16",
    "float32": "float32",
    "float": "float32",
    "float64": "float64",
    "double": "float64",
}


def default_dtype(context: Context, owner: cst.FunctionDef | cst.Module, node: cst.CSTNode) -> str | None:
    """The floating dtype `torch.set_default_dtype(...)`/`torch.set_default_tensor_type(...)` set last in the
    straight-line code before `node` (lit-llama builds its models between such calls), or None when none did
    or which one ran is not known."""
    found = None
    for tree, straight in preceding_statements(context, owner, node):
        for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)):
            if call.func.attr not in ("set_default_dtype", "set_default_tensor_type") or len(call.args) != 1:
                continue
            argument = call.args[0]
            name = argument.attr if isinstance(argument, ast.Attribute) else None
            dtype = _DTYPE_NAMES.get(name) if call.func.attr == "set_default_dtype" else _TENSOR_TYPE_DTYPES.get(name)
            found = dtype if straight else None  # an argument not recognised, or a call that may not have run
    return found

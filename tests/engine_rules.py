"""Small rules that exist only to test the engine (the real rules live in fastinit_rules)."""

from __future__ import annotations

import libcst as cst

from fastinit_lint.engine.rule import Invalid, Rule, Valid, fix

LINEAR = frozenset({"torch.nn.Linear"})


class LinearWithoutBias(Rule):
    """`torch.nn.Linear` called without an explicit `bias=` (test rule, safe fix)."""

    code = "FI990"
    name = "test-linear-without-bias"
    markers = ("Linear",)
    fixable = "always"
    VALID = [
        Valid("import torch.nn as nn\nnn.Linear(2, 2, bias=False)\n"),
        Valid("class Linear:\n    pass\nLinear(2, 2)\n"),
        Valid("from torch import nn\ndef f(nn):\n    return nn.Linear(2, 2)\n"),
    ]
    INVALID = [
        Invalid(
            "from torch import nn as tnn\ntnn.Linear(2, 2)\n",
            rows=(2,),
            fixed="from torch import nn as tnn\ntnn.Linear(2, 2, bias=True)\n",
        ),
        Invalid(
            "import torch.nn\nx = [torch.nn.Linear(1, 1),\n     torch.nn.Linear(2, 2)]  # keep\n",
            rows=(2, 3),
            fixed="import torch.nn\nx = [torch.nn.Linear(1, 1, bias=True),\n     torch.nn.Linear(2, 2, bias=True)]  # keep\n",
        ),
    ]

    def visit_Call(self, node: cst.Call) -> None:
        if self.context.matches(node.func, LINEAR) and not any(
            a.keyword and a.keyword.value == "bias" for a in node.args
        ):
            new_args = (
                [
                    *node.args[:-1],
                    node.args[-1].with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))),
                    cst.Arg(
                        cst.Name("True"),
                        keyword=cst.Name("bias"),
                        equal=cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace("")),
                    ),
                ]
                if node.args
                else []
            )
            self.report(
                node,
                f"`{self.context.code(node.func)}` without `bias=`",
                fix=fix({node: node.with_changes(args=new_args)}, "Add `bias=True`"),
            )


class HalfCall(Rule):
    """`.half()` call (test rule, unsafe fix)."""

    code = "FI991"
    name = "test-half-call"
    markers = (".half(",)
    fixable = "always"
    VALID = [Valid("x.float()\n")]
    INVALID = [Invalid("y = x.half()\n", rows=(1,), fixed="y = x.to(torch.float16)\n", unsafe=True)]

    def visit_Call(self, node: cst.Call) -> None:
        if isinstance(node.func, cst.Attribute) and node.func.attr.value == "half" and not node.args:
            replacement = cst.parse_expression(f"{self.context.code(node.func.value)}.to(torch.float16)")
            self.report(
                node,
                "`.half()` casts after construction",
                fix=fix({node: replacement}, "Use `.to(torch.float16)`", unsafe=True),
            )


class Crashes(Rule):
    """Raises on a name `crash_here` (test rule for crash isolation)."""

    code = "FI992"
    name = "test-crashes"
    markers = ("crash_here",)

    def visit_Name(self, node: cst.Name) -> None:
        if node.value == "crash_here":
            raise ValueError("boom")


class Sleeps(Rule):
    """Hangs on a name `hang_here` (test rule for the per-file time limit)."""

    code = "FI993"
    name = "test-hangs"
    markers = ("hang_here",)

    def visit_Name(self, node: cst.Name) -> None:
        if node.value == "hang_here":
            import time

            time.sleep(30)


class VisitsEverything(Rule):
    """No markers and a visit of every expression node: forces a LibCST parse and full traversal of every file
    (the fuzz tests use it so generated programs really go through phase 2). Never reports."""

    code = "FI994"
    name = "test-visits-everything"

    def visit_Name(self, node: cst.Name) -> None:
        self.context.qualified_names(node)


class Refires(Rule):
    """`refire_here()` call, "fixed" into a call that is flagged the same way (test rule for the fix loop)."""

    code = "FI996"  # FI995 is test_security_parse's own test rule
    name = "test-refires"
    markers = ("refire_here",)
    fixable = "always"

    def visit_Call(self, node: cst.Call) -> None:
        if isinstance(node.func, cst.Name) and node.func.value == "refire_here":
            self.report(
                node,
                "`refire_here()` call",
                fix=fix({node: node.with_changes(args=[cst.Arg(node)])}, "Wrap it in another `refire_here()`"),
            )


TEST_RULES = [LinearWithoutBias, HalfCall, Crashes, Sleeps, VisitsEverything, Refires]

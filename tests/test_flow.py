"""The shared Flow analysis as rules see it: typed events, query helpers, and `FlowRule` a real `Rule`."""

from __future__ import annotations

import ast
import textwrap

import libcst as cst
import pytest

from fastinit_lint.engine.testing import lint_snippet
from fastinit_rules._flow import NOT_LITERAL, Flow, FlowRule, Kind, Load, literal

SOURCE = """
    import torch
    from lightning.fabric import Fabric
    from model import GPT

    def main(fabric: Fabric):
        fabric = Fabric(strategy="fsdp")
        with fabric.init_module(empty_init=True):
            model = GPT().half()
        model.load_state_dict(torch.load("w.pt"), strict=False)
        optimizer = torch.optim.AdamW(model.parameters())
        model = fabric.setup(model)
        model.reset_parameters()
"""
MODEL = {"model.py": "from torch import nn\n\nclass GPT(nn.Module):\n    pass\n"}


class _Recorder(FlowRule):
    """Reports what the flow of each function with an init_module block says, as its message (test rule: the
    check runs in a worker process, so the findings carry the answers back)."""

    code = "FI991"
    name = "test-flow-recorder"

    def check_flow(self, flow: Flow) -> None:
        for block in flow.blocks:
            (build,) = flow.built_in(block)
            load = flow.for_var(build.var, {Kind.LOAD})[0]
            answers = {
                "kinds": [e.kind.name for e in flow.events],
                "build": (
                    type(build.payload).__name__,
                    build.build.model,
                    build.load,
                    [c.func.attr.value for c in build.build.chain],
                ),
                "load": (load.load == Load("state_dict", strict=False), load.is_load("state_dict")),
                "before_setup": [e.kind.name for e in flow.before_setup(build)],
                "first_setup": flow.first_setup(build).kind.name,
                "checkpoint_loads": len(flow.loads_in(block, "checkpoint")),
            }
            self.report(block.call, repr(answers))


def _answers(source: str, files: dict) -> dict:
    (finding,) = lint_snippet(_Recorder, textwrap.dedent(source), files=files).findings
    return eval(finding.message)  # noqa: S307 - our own repr


def test_events_are_typed_and_queries_answer_in_order():
    answers = _answers(SOURCE, MODEL)
    assert answers["kinds"] == ["RUNNER", "BUILD", "LOAD", "OPTIMIZER", "SETUP", "REINIT"]  # `.half()`: in the build
    assert answers["build"] == ("Build", "project", None, ["half"])
    assert answers["load"] == (True, True)
    assert answers["before_setup"] == ["LOAD", "OPTIMIZER"]
    assert answers["first_setup"] == "SETUP" and answers["checkpoint_loads"] == 0


def test_flow_rule_is_a_rule_and_its_gate_cannot_be_lost_by_swapping_bases():
    from fastinit_lint.api import Rule

    assert issubclass(FlowRule, Rule)
    with pytest.raises(TypeError):
        type("Swapped", (Rule, FlowRule), {})


@pytest.mark.parametrize(
    "code",
    [
        "16",
        "+16",
        "-1",
        "'bf16' 'x'",
        "True",
        "(None)",
        "1+2j",
        "(1, 2)",
        "{}",
        "set()",
        "set( )",
        "set(x)",
        "x",
        "a.b",
        "a[0]",
        "f()",
        "(x)",
        "not x",
        "[x]",
        "True if x else 1",
    ],
)
def test_literal_reads_what_literal_eval_reads(code):
    """`literal` tells most non-literals by their node (it is asked of every call argument); its answer is
    `ast.literal_eval`'s on the code."""
    try:
        expected = ast.literal_eval(code)
    except ValueError:
        expected = NOT_LITERAL
    found = literal(cst.parse_expression(code))
    assert found is expected or (type(found) is type(expected) and found == expected)

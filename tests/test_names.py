"""Name resolution from our own import map: aliases, relative imports, shadowing, scopes."""

import ast
from pathlib import Path

import hypothesmith
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import pytest

from fastinit_lint.model.names import collect_names
from fastinit_lint.syntax.lines import python_lines

CODE = """
import torch
import torch.nn
import torch.nn as tnn
from torch import nn
from torch.nn import Linear as L
from . import sibling
from ..pkg import thing
Alias = nn.Linear

class Linear:
    pass

class Model:
    layer = nn.Conv2d
    def method(self, nn):
        return nn.Linear
    def other(self):
        tnn = object()
        return tnn
"""


@pytest.fixture(scope="module")
def names():
    return collect_names(ast.parse(CODE), "proj.sub.mod", False)


@pytest.mark.parametrize(
    ("dotted", "scope", "expected"),
    [
        ("torch.nn.Linear", (), {"torch.nn.Linear"}),
        ("tnn.Linear", (), {"torch.nn.Linear"}),
        ("nn.Linear", (), {"torch.nn.Linear"}),
        ("L", (), {"torch.nn.Linear"}),
        ("Alias", (), {"torch.nn.Linear"}),
        ("Linear", (), {"proj.sub.mod.Linear"}),
        ("sibling.X", (), {"proj.sub.sibling.X"}),
        ("thing", (), {"proj.pkg.thing"}),
        ("nn.Linear", (("class", "Model"), ("def", "method")), set()),  # parameter shadows the import
        ("tnn", (("class", "Model"), ("def", "other")), set()),  # local assignment shadows
        ("tnn.Linear", (("class", "Model"), ("def", "method")), {"torch.nn.Linear"}),
        ("layer", (("class", "Model"), ("def", "method")), set()),  # class body invisible in methods
        ("len", (), {"builtins.len"}),
    ],
)
def test_resolve(names, dotted, scope, expected):
    assert set(names.resolve(dotted, scope)) == expected


def test_package_relative_import():
    names = collect_names(ast.parse("from .models import Block\n"), "proj", True)
    assert names.resolve("Block") == {"proj.models.Block"}


def test_conditional_imports_give_every_candidate():
    code = "try:\n    import lightning.pytorch as pl\nexcept ImportError:\n    import pytorch_lightning as pl\n"
    names = collect_names(ast.parse(code), "m", False)
    assert names.resolve("pl.Trainer") == {"lightning.pytorch.Trainer", "pytorch_lightning.Trainer"}


def test_star_imports_are_candidates():
    names = collect_names(ast.parse("from torch.nn.functional import *\n"), "m", False)
    assert names.resolve("relu") == {"torch.nn.functional.relu"}
    assert names.resolve("len") == {"torch.nn.functional.len", "builtins.len"}


TRICKY = """
import torch
from torch import nn
from lightning import Trainer as T

def f(a, *args, b=lambda nn: nn, **kw):
    global G
    G = 1
    x, (y, *z) = 1, (2, 3)
    d[k] = 1
    with open(a) as (h, g):
        for i in range(3):
            while (n := i):
                pass
    try:
        pass
    except ValueError as err:
        q = [w for w in err.args if (v := w)]
    match a:
        case [1, *rest] | {"k": rest}:
            pass
        case nn.Linear(name=captured):
            pass
    class Inner(nn.Module):
        torch = 1
        def m(self, torch=torch):
            return lambda torch: torch
    del x
    async def g():
        async with a as ag:
            async for af in ag:
                pass
    return sorted(a, key=lambda k: k)
"""


@pytest.mark.parametrize(
    "source",
    [CODE, TRICKY, *(p.read_text() for p in sorted((Path(__file__).parent.parent / "fastinit_lint").rglob("*.py")))],
)
def test_statement_level_names_equal_the_full_walk(source):
    """Walking only statements (and expressions only on lines with `:=` or `lambda`) gives the table the
    full `ast` visitor gives."""
    tree = ast.parse(source)
    walked = collect_names(tree, "proj.mod", False)
    fast = collect_names(tree, "proj.mod", False, text=source)
    assert fast.scopes == walked.scopes and fast.star_imports == walked.star_imports


def test_module_level_names_bind_only_stored_names():
    """`sys.path[0] += ...` assigns into `sys`; it does not rebind it."""
    names = collect_names(ast.parse("import sys\nsys.path[0] += 'x'\n"), "m", False, module_level_only=True)
    assert names.resolve("sys.path") == {"sys.path"}


PREAMBLE = "import lightning as L\nfrom lightning import Trainer as T\nimport torch\n"
RUNNERS = (
    "\ndef _runners(a, strategy='fsdp'):\n    trainer = T(strategy=strategy, precision=a)\n"
    "    with torch.device('meta'):\n        model = torch.nn.Linear(2, 2)\n    model.to_empty(device='cpu')\n"
    "    run(model, trainer)\n    return L.Fabric(strategy=strategy)\n"
)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(code=st.one_of(hypothesmith.from_grammar(), hypothesmith.from_node()))
@example(code="class A: pass\nclass A:\\\r\\\r \n pass\n")  # lone \r after a backslash: two more lines
def test_statement_level_walks_equal_full_walks_on_generated_programs(code):
    """On arbitrary programs: the statement-level import map equals the full visitor's, and the phase-1
    facts found by walking only marked lines equal those of walking every line."""
    from unittest import mock

    import fastinit_lint.model.facts as facts_module

    source = PREAMBLE + code + RUNNERS
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return  # the grammar allows programs the compiler rejects
    walked = collect_names(tree, "m", False)
    fast = collect_names(tree, "m", False, text=source)
    assert fast.scopes == walked.scopes and fast.star_imports == walked.star_imports

    def observed(f):
        return f.runners, f.trains, f.calls, f.returns, f.classes, f.constants, f.cast_hint

    pruned = facts_module.python_facts("m.py", "m.py", tree, source)
    every_line = list(range(1, len(python_lines(source)) + 2))  # as `ast` counts lines (a lone \r is a break)
    with mock.patch.object(facts_module, "marked_lines", lambda text, needles: every_line):
        full = facts_module.python_facts("m.py", "m.py", tree, source)
    assert observed(pruned) == observed(full)


def test_generated_program_frame_holds_runners():
    """The frame the property test wraps programs in really has runners and a meta-device build to find."""
    import fastinit_lint.model.facts as facts_module

    source = PREAMBLE + "pass\n" + RUNNERS
    facts = facts_module.python_facts("m.py", "m.py", ast.parse(source), source)
    assert [r.kind for r in facts.runners] == ["trainer", "fabric"] and len(facts.trains) == len(facts.calls) == 1

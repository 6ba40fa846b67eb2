"""The static estimator against the real thing: torch modules built on the meta device."""

from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings, strategies as st

from fastinit_lint.model.estimate import Estimator
from fastinit_lint.model.facts import python_facts
from fastinit_lint.model.index import ProjectIndex

SMALL = st.integers(1, 24)
BOOL = st.booleans()
FIXTURES = Path(__file__).parent / "fixtures" / "sizes"


def _estimate(expression: str, index: ProjectIndex | None = None, facts=None):
    source = "import torch\nfrom torch import nn\n"
    facts = facts or python_facts("t.py", "t.py", ast.parse(source), source)
    estimator = Estimator(index or ProjectIndex([facts]))
    return estimator.expression(ast.parse(expression, mode="eval").body, estimator.new_frame(facts, ()))


def _real(expression: str, namespace=None) -> int:
    with torch.device("meta"):
        built = eval(expression, {"nn": torch.nn, "torch": torch, **(namespace or {})})
    return sum(p.numel() for p in built.parameters()) if isinstance(built, torch.nn.Module) else built.numel()


def _check(expression: str) -> None:
    size = _estimate(expression)
    assert not size.unknown, (expression, size)
    assert size.count == _real(expression), expression


CONSTRUCTORS = {
    "Linear": st.builds(lambda a, b, bias: f"nn.Linear({a}, {b}, bias={bias})", SMALL, SMALL, BOOL),
    "Bilinear": st.builds(lambda a, b, c, bias: f"nn.Bilinear({a}, {b}, {c}, {bias})", SMALL, SMALL, SMALL, BOOL),
    "Embedding": st.builds(lambda a, b: f"nn.Embedding({a}, embedding_dim={b}, padding_idx=0)", SMALL, SMALL),
    "EmbeddingBag": st.builds(lambda a, b: f"nn.EmbeddingBag({a}, {b}, mode='sum')", SMALL, SMALL),
    "Conv": st.builds(
        lambda n, g, i, o, k, bias: f"nn.Conv{n}d({g * i}, {g * o}, {k}, groups={g}, bias={bias})",
        st.integers(1, 3),
        st.integers(1, 3),
        st.integers(1, 4),
        st.integers(1, 4),
        st.integers(1, 3),
        BOOL,
    ),
    "ConvKernelTuple": st.builds(lambda a, b: f"nn.Conv2d(3, 5, kernel_size=({a}, {b}), stride=2)", SMALL, SMALL),
    "ConvTranspose": st.builds(
        lambda n, g, i, o, k, bias: f"nn.ConvTranspose{n}d({g * i}, {g * o}, {k}, groups={g}, bias={bias})",
        st.integers(1, 3),
        st.integers(1, 3),
        st.integers(1, 4),
        st.integers(1, 4),
        st.integers(1, 3),
        BOOL,
    ),
    "LayerNorm": st.builds(
        lambda s, aff, bias: f"nn.LayerNorm({s}, elementwise_affine={aff}, bias={bias})",
        st.one_of(SMALL.map(str), st.tuples(SMALL, SMALL).map(str)),
        BOOL,
        BOOL,
    ),
    "RMSNorm": st.builds(lambda s, aff: f"nn.RMSNorm({s}, elementwise_affine={aff})", SMALL, BOOL),
    "GroupNorm": st.builds(
        lambda g, c, aff, bias: f"nn.GroupNorm({g}, {g * c}, affine={aff}, bias={bias})", SMALL, SMALL, BOOL, BOOL
    ),
    "BatchNorm": st.builds(lambda n, c, aff: f"nn.BatchNorm{n}d({c}, affine={aff})", st.integers(1, 3), SMALL, BOOL),
    "InstanceNorm": st.builds(
        lambda n, c, aff: f"nn.InstanceNorm{n}d({c}, affine={aff})", st.integers(1, 3), SMALL, BOOL
    ),
    "MultiheadAttention": st.builds(
        lambda h, d, bias, kv, kdim, vdim: (
            f"nn.MultiheadAttention({h * d}, {h}, bias={bias}, add_bias_kv={kv}, kdim={kdim}, vdim={vdim})"
        ),
        st.integers(1, 4),
        st.integers(1, 6),
        BOOL,
        BOOL,
        st.sampled_from(["None", "3", "7"]),
        st.sampled_from(["None", "5"]),
    ),
    "TransformerEncoderLayer": st.builds(
        lambda h, d, ff, bias: f"nn.TransformerEncoderLayer({h * d}, {h}, {ff}, bias={bias})",
        st.integers(1, 4),
        st.integers(1, 6),
        SMALL,
        BOOL,
    ),
    "TransformerDecoderLayer": st.builds(
        lambda h, d, ff: f"nn.TransformerDecoderLayer(d_model={h * d}, nhead={h}, dim_feedforward={ff})",
        st.integers(1, 4),
        st.integers(1, 6),
        SMALL,
    ),
    "TransformerEncoder": st.builds(
        lambda h, n: (
            f"nn.TransformerEncoder(nn.TransformerEncoderLayer({4 * h}, {h}, 16), {n}, norm=nn.LayerNorm({4 * h}))"
        ),
        st.integers(1, 3),
        st.integers(1, 4),
    ),
    "TransformerDecoder": st.builds(
        lambda h, n: f"nn.TransformerDecoder(nn.TransformerDecoderLayer({4 * h}, {h}, 16), num_layers={n})",
        st.integers(1, 3),
        st.integers(1, 4),
    ),
    "Transformer": st.builds(
        lambda h, e, d, ff: f"nn.Transformer({4 * h}, {h}, {e}, {d}, {ff})",
        st.integers(1, 3),
        st.integers(0, 2),
        st.integers(0, 2),
        SMALL,
    ),
    "RNN": st.builds(
        lambda i, h, n, bias, bi: f"nn.RNN({i}, {h}, {n}, 'relu', {bias}, bidirectional={bi})",
        SMALL,
        SMALL,
        st.integers(1, 3),
        BOOL,
        BOOL,
    ),
    "LSTM": st.builds(
        lambda i, h, n, bias, bi, p: (
            f"nn.LSTM({i}, {h + p}, num_layers={n}, bias={bias}, bidirectional={bi}, proj_size={p})"
        ),
        SMALL,
        SMALL,
        st.integers(1, 3),
        BOOL,
        BOOL,
        st.integers(0, 3),
    ),
    "GRU": st.builds(
        lambda i, h, n, bi: f"nn.GRU({i}, {h}, {n}, bidirectional={bi})", SMALL, SMALL, st.integers(1, 3), BOOL
    ),
    "Cells": st.builds(
        lambda c, i, h, bias: f"nn.{c}({i}, {h}, bias={bias})",
        st.sampled_from(["RNNCell", "LSTMCell", "GRUCell"]),
        SMALL,
        SMALL,
        BOOL,
    ),
    "PReLU": st.builds(lambda n: f"nn.PReLU({n})", SMALL),
    "Parameter": st.builds(
        lambda f, a, b: f"nn.Parameter(torch.{f}({a}, {b}))",
        st.sampled_from(["randn", "rand", "empty", "zeros", "ones"]),
        SMALL,
        SMALL,
    ),
    "ParameterFull": st.builds(lambda a, b: f"nn.Parameter(torch.full(({a}, {b}), 0.5))", SMALL, SMALL),
    "Containers": st.builds(
        lambda n, d: (
            f"nn.Sequential(nn.Linear({d}, {d}), nn.ReLU(), nn.ModuleList([nn.Linear({d}, 2) for _ in range({n})]), nn.Dropout(0.1))"
        ),
        SMALL,
        SMALL,
    ),
    "StarredComprehension": st.builds(
        lambda n, d: f"nn.Sequential(*[nn.Linear({d}, {d}) for _ in range({n})], nn.Identity())",
        st.integers(0, 5),
        SMALL,
    ),
    "ModuleDict": st.builds(lambda d: f"nn.ModuleDict({{'a': nn.Linear({d}, 3), 'b': nn.Conv1d(3, {d}, 3)}})", SMALL),
    "Arithmetic": st.builds(
        lambda d, h: f"nn.Linear(4 * {d}, {d} // {h} + 2 ** 3, bias=False)", SMALL, st.integers(1, 4)
    ),
}


@pytest.mark.parametrize("name", sorted(CONSTRUCTORS))
def test_constructor_matches_meta_ground_truth(name):
    @settings(max_examples=25, deadline=None)
    @given(CONSTRUCTORS[name])
    def run(expression):
        _check(expression)

    run()


@pytest.mark.parametrize(
    "expression", ["nn.ReLU()", "nn.Dropout(0.5)", "nn.MaxPool2d(2)", "nn.Identity()", "nn.Flatten()"]
)
def test_parameter_free(expression):
    assert _estimate(expression).count == 0 == _real(expression)


@pytest.mark.parametrize(
    ("expression", "large", "depends"),
    [
        ("nn.Linear(d_model, 4)", False, ("d_model",)),
        ("nn.Linear(d_model, d_model)", True, ("d_model",)),
        ("nn.LayerNorm(dim)", False, ("dim",)),
        ("AutoModel.from_pretrained('gpt2')", True, ()),
        ("nn.Parameter(torch.randn(n, m))", True, ("n", "m")),
        ("nn.Parameter(torch.zeros(n))", False, ("n",)),
        ("nn.ModuleList([nn.Linear(4, 4) for _ in range(depth)])", False, ("depth",)),
        ("nn.ModuleList([nn.Linear(4, d) for _ in range(depth)])", True, ("d", "depth")),
    ],
)
def test_unknown_sizes_are_classified(expression, large, depends):
    size = _estimate(expression)
    assert size.unknown and size.presumed_large is large
    for name in depends:
        assert name in size.depends


@pytest.fixture(scope="module")
def fixture_project():
    path = FIXTURES / "models.py"
    facts = python_facts("models.py", str(path), ast.parse(path.read_text()), path.read_text())
    spec = importlib.util.spec_from_file_location("sizes_models", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["sizes_models"] = module
    spec.loader.exec_module(module)
    return facts, ProjectIndex([facts]), module


@pytest.mark.parametrize(
    "expression",
    [
        "GPT(GPTConfig())",
        "Block(64, 4)",
        "Block(32, 2, mlp_ratio=2)",
        "ViT()",
        "ViT(image=64, depth=3)",
        "ResNetStage()",
        "ResNetStage(128, 32, 4)",
        "Seq2Seq()",
        "Derived(16)",
        "NoInit(8)",
    ],
)
def test_project_modules_match(fixture_project, expression):
    facts, index, module = fixture_project
    size = Estimator(index).expression(ast.parse(expression, mode="eval").body, Estimator(index).new_frame(facts, ()))
    assert not size.unknown, size
    assert size.count == _real(expression, vars(module))

"""Parameter counts of torch.nn constructors: their signatures (torch 2.13) and real formulas.

Each entry binds call arguments to the constructor's parameters (with torch's defaults) and computes
`sum(p.numel() for p in m.parameters())` without building anything. tests/test_estimate.py compares
every formula with real modules built on the meta device, over hypothesis-generated arguments.
"""

from __future__ import annotations

import math
import operator
from typing import Any, Callable

# Argument values as the estimator evaluated them (ints, bools, tuples, None...): the formulas use Python's own
# arithmetic on them, and a value of the wrong kind raises as the constructor would.
Params = dict[str, Any]


# The largest count (and operand) the estimator computes: real models are far below 2**64 parameters, so a bigger
# integer comes from a hostile file, and computing with or printing it could take minutes or gigabytes.
MAX_COUNT_BITS = 1024


def bounded_prod(values) -> int:
    """`math.prod` of integers, refused (OverflowError) when the product could exceed MAX_COUNT_BITS."""
    if sum(abs(int(v)).bit_length() for v in values) > MAX_COUNT_BITS:
        raise OverflowError("product too large")
    return math.prod(int(v) for v in values)


def _prod(shape) -> int:
    return bounded_prod(shape) if isinstance(shape, (tuple, list)) else int(shape)


def _ntuple(value, n: int) -> tuple:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * n


def _linear(p: Params) -> int:
    return p["in_features"] * p["out_features"] + (p["out_features"] if p["bias"] else 0)


def _bilinear(p: Params) -> int:
    return p["in1_features"] * p["in2_features"] * p["out_features"] + (p["out_features"] if p["bias"] else 0)


def _embedding(p: Params) -> int:
    return p["num_embeddings"] * p["embedding_dim"]


def _conv(n: int, transposed: bool) -> Callable[[Params], int]:
    def count(p: Params) -> int:
        kernel = _prod(_ntuple(p["kernel_size"], n))
        if transposed:
            weight = p["in_channels"] * (p["out_channels"] // p["groups"]) * kernel
        else:
            weight = p["out_channels"] * (p["in_channels"] // p["groups"]) * kernel
        return weight + (p["out_channels"] if p["bias"] else 0)

    return count


def _layer_norm(p: Params) -> int:
    if not p["elementwise_affine"]:
        return 0
    size = _prod(p["normalized_shape"])
    return size * (2 if p["bias"] else 1)


def _rms_norm(p: Params) -> int:
    return _prod(p["normalized_shape"]) if p["elementwise_affine"] else 0


def _affine(channels: str) -> Callable[[Params], int]:
    def count(p: Params) -> int:
        return p[channels] * (2 if p["bias"] else 1) if p["affine"] else 0

    return count


def _mha(p: Params) -> int:
    e = p["embed_dim"]
    kdim = p["kdim"] if p["kdim"] is not None else e
    vdim = p["vdim"] if p["vdim"] is not None else e
    total = e * e + e * kdim + e * vdim  # in_proj_weight, or q/k/v_proj_weight
    total += e * e + (e if p["bias"] else 0)  # out_proj
    total += 3 * e if p["bias"] else 0  # in_proj_bias
    total += 2 * e if p["add_bias_kv"] else 0
    return total


def _mha_params(e, heads, bias) -> Params:
    return {"embed_dim": e, "num_heads": heads, "bias": bias, "kdim": None, "vdim": None, "add_bias_kv": False}


def _encoder_layer(p: Params) -> int:
    d, ff, bias = p["d_model"], p["dim_feedforward"], p["bias"]
    linear = {"bias": bias}
    return (
        _mha(_mha_params(d, p["nhead"], bias))
        + _linear({**linear, "in_features": d, "out_features": ff})
        + _linear({**linear, "in_features": ff, "out_features": d})
        + 2 * _layer_norm({"normalized_shape": d, "elementwise_affine": True, "bias": bias})
    )


def _decoder_layer(p: Params) -> int:
    d, bias = p["d_model"], p["bias"]
    return (
        _encoder_layer(p)
        + _mha(_mha_params(d, p["nhead"], bias))
        + _layer_norm({"normalized_shape": d, "elementwise_affine": True, "bias": bias})
    )


def _transformer(p: Params) -> int:
    norm = _layer_norm({"normalized_shape": p["d_model"], "elementwise_affine": True, "bias": p["bias"]})
    return p["num_encoder_layers"] * _encoder_layer(p) + norm + p["num_decoder_layers"] * _decoder_layer(p) + norm


def _rnn(gates: int) -> Callable[[Params], int]:
    def count(p: Params) -> int:
        hidden, proj = p["hidden_size"], p.get("proj_size", 0) or 0
        real_hidden = proj if proj > 0 else hidden
        directions = 2 if p["bidirectional"] else 1

        def layer(layer_input: int) -> int:
            per_direction = gates * hidden * layer_input + gates * hidden * real_hidden
            per_direction += 2 * gates * hidden if p["bias"] else 0
            per_direction += proj * hidden if proj > 0 else 0
            return directions * per_direction

        # Layers after the first are alike: a product, not a loop, so `num_layers=10**12` costs nothing.
        layers = operator.index(p["num_layers"])  # an int, as `range` required
        return layer(p["input_size"]) + (layers - 1) * layer(real_hidden * directions) if layers > 0 else 0

    return count


def _cell(gates: int) -> Callable[[Params], int]:
    def count(p: Params) -> int:
        h = p["hidden_size"]
        return gates * h * (p["input_size"] + h) + (2 * gates * h if p["bias"] else 0)

    return count


REQUIRED = object()
_CONV = ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups", "bias")
_CONVT = (
    "in_channels",
    "out_channels",
    "kernel_size",
    "stride",
    "padding",
    "output_padding",
    "groups",
    "bias",
    "dilation",
)
_CONV_DEFAULTS = {"stride": 1, "padding": 0, "dilation": 1, "groups": 1, "bias": True, "output_padding": 0}
_NORM_DEFAULTS = {"eps": 1e-5, "momentum": 0.1, "bias": True}
_RNN_DEFAULTS = {
    "num_layers": 1,
    "bias": True,
    "batch_first": False,
    "dropout": 0.0,
    "bidirectional": False,
    "nonlinearity": "tanh",
    "proj_size": 0,
}

# name -> (positional parameter names, defaults, formula)
# nn.TransformerEncoderLayer and nn.TransformerDecoderLayer take the same parameters, in the same order.
_TRANSFORMER_LAYER = (
    (
        "d_model",
        "nhead",
        "dim_feedforward",
        "dropout",
        "activation",
        "layer_norm_eps",
        "batch_first",
        "norm_first",
        "bias",
    ),
    {
        "dim_feedforward": 2048,
        "dropout": 0.1,
        "activation": "relu",
        "layer_norm_eps": 1e-5,
        "batch_first": False,
        "norm_first": False,
        "bias": True,
    },
)
TORCH_MODULES: dict[str, tuple[tuple[str, ...], dict, Callable[[Params], int]]] = {
    "Linear": (("in_features", "out_features", "bias"), {"bias": True}, _linear),
    "Bilinear": (("in1_features", "in2_features", "out_features", "bias"), {"bias": True}, _bilinear),
    "Embedding": (("num_embeddings", "embedding_dim"), {}, _embedding),
    "EmbeddingBag": (("num_embeddings", "embedding_dim"), {}, _embedding),
    **{f"Conv{n}d": (_CONV, _CONV_DEFAULTS, _conv(n, False)) for n in (1, 2, 3)},
    **{f"ConvTranspose{n}d": (_CONVT, _CONV_DEFAULTS, _conv(n, True)) for n in (1, 2, 3)},
    "LayerNorm": (
        ("normalized_shape", "eps", "elementwise_affine", "bias"),
        {"eps": 1e-5, "elementwise_affine": True, "bias": True},
        _layer_norm,
    ),
    "RMSNorm": (
        ("normalized_shape", "eps", "elementwise_affine"),
        {"eps": None, "elementwise_affine": True},
        _rms_norm,
    ),
    "GroupNorm": (
        ("num_groups", "num_channels", "eps", "affine"),
        {**_NORM_DEFAULTS, "affine": True},
        _affine("num_channels"),
    ),
    **{
        f"BatchNorm{n}d": (
            ("num_features", "eps", "momentum", "affine", "track_running_stats"),
            {**_NORM_DEFAULTS, "affine": True, "track_running_stats": True},
            _affine("num_features"),
        )
        for n in (1, 2, 3)
    },
    **{
        f"InstanceNorm{n}d": (
            ("num_features", "eps", "momentum", "affine", "track_running_stats"),
            {**_NORM_DEFAULTS, "affine": False, "track_running_stats": False},
            _affine("num_features"),
        )
        for n in (1, 2, 3)
    },
    "MultiheadAttention": (
        ("embed_dim", "num_heads", "dropout", "bias", "add_bias_kv", "add_zero_attn", "kdim", "vdim"),
        {"dropout": 0.0, "bias": True, "add_bias_kv": False, "add_zero_attn": False, "kdim": None, "vdim": None},
        _mha,
    ),
    "TransformerEncoderLayer": (
        *_TRANSFORMER_LAYER,
        _encoder_layer,
    ),
    "TransformerDecoderLayer": (
        *_TRANSFORMER_LAYER,
        _decoder_layer,
    ),
    "Transformer": (
        (
            "d_model",
            "nhead",
            "num_encoder_layers",
            "num_decoder_layers",
            "dim_feedforward",
            "dropout",
            "activation",
            "custom_encoder",
            "custom_decoder",
            "layer_norm_eps",
            "batch_first",
            "norm_first",
            "bias",
        ),
        {
            "d_model": 512,
            "nhead": 8,
            "num_encoder_layers": 6,
            "num_decoder_layers": 6,
            "dim_feedforward": 2048,
            "dropout": 0.1,
            "activation": "relu",
            "custom_encoder": None,
            "custom_decoder": None,
            "layer_norm_eps": 1e-5,
            "batch_first": False,
            "norm_first": False,
            "bias": True,
        },
        _transformer,
    ),
    "RNN": (
        ("input_size", "hidden_size", "num_layers", "nonlinearity", "bias", "batch_first", "dropout", "bidirectional"),
        _RNN_DEFAULTS,
        _rnn(1),
    ),
    "LSTM": (
        ("input_size", "hidden_size", "num_layers", "bias", "batch_first", "dropout", "bidirectional", "proj_size"),
        _RNN_DEFAULTS,
        _rnn(4),
    ),
    "GRU": (
        ("input_size", "hidden_size", "num_layers", "bias", "batch_first", "dropout", "bidirectional"),
        _RNN_DEFAULTS,
        _rnn(3),
    ),
    "RNNCell": (
        ("input_size", "hidden_size", "bias", "nonlinearity"),
        {"bias": True, "nonlinearity": "tanh"},
        _cell(1),
    ),
    "LSTMCell": (("input_size", "hidden_size", "bias"), {"bias": True}, _cell(4)),
    "GRUCell": (("input_size", "hidden_size", "bias"), {"bias": True}, _cell(3)),
    "PReLU": (("num_parameters", "init"), {"num_parameters": 1, "init": 0.25}, lambda p: p["num_parameters"]),
}

# No parameters at construction: they are materialized (and sized) by the first forward.
LAZY_MODULES = frozenset(
    {
        "LazyLinear",
        "LazyConv1d",
        "LazyConv2d",
        "LazyConv3d",
        "LazyConvTranspose1d",
        "LazyConvTranspose2d",
        "LazyConvTranspose3d",
    }
)

PARAMETER_FREE = frozenset(
    """
ReLU ReLU6 GELU SiLU Mish Tanh Sigmoid Hardtanh Hardswish Hardsigmoid LeakyReLU ELU SELU CELU GLU Softplus Softsign
Softshrink Hardshrink Tanhshrink Threshold LogSigmoid Softmax Softmax2d LogSoftmax Softmin RReLU Identity Flatten
Unflatten Dropout Dropout1d Dropout2d Dropout3d AlphaDropout FeatureAlphaDropout MaxPool1d MaxPool2d MaxPool3d
AvgPool1d AvgPool2d AvgPool3d AdaptiveAvgPool1d AdaptiveAvgPool2d AdaptiveAvgPool3d AdaptiveMaxPool1d AdaptiveMaxPool2d
AdaptiveMaxPool3d LPPool1d LPPool2d LPPool3d MaxUnpool1d MaxUnpool2d MaxUnpool3d FractionalMaxPool2d FractionalMaxPool3d
Upsample UpsamplingNearest2d UpsamplingBilinear2d PixelShuffle PixelUnshuffle ChannelShuffle ZeroPad1d ZeroPad2d
ZeroPad3d ConstantPad1d ConstantPad2d ConstantPad3d ReflectionPad1d ReflectionPad2d ReflectionPad3d ReplicationPad1d
ReplicationPad2d ReplicationPad3d CircularPad1d CircularPad2d CircularPad3d CosineSimilarity PairwiseDistance
LocalResponseNorm CrossMapLRN2d Fold Unfold
""".split()
)

TENSOR_FACTORIES = frozenset({"randn", "rand", "empty", "zeros", "ones", "full", "randint", "normal", "empty_strided"})


# Unknown arguments that do not multiply the size: flags at their largest, divisors at 1.
_FLAG_PARAMETERS = frozenset(
    {"bias", "affine", "elementwise_affine", "add_bias_kv", "bidirectional", "track_running_stats"}
)
_DIVISOR_PARAMETERS = frozenset({"groups", "num_heads", "nhead", "num_groups"})
_DEGREE_PROBE = 2**64


def unknown_degree(name: str, bound: Params) -> int:
    """How many unknown dimensions multiply in the largest term of `name`'s parameter count: `Linear(d, 4)` is 1,
    `Linear(d, d)` and `Embedding(v, d)` are 2. Each unknown (or missing, or non-numeric) dimension is set to a
    probe value T and T to 2T; the count grows by 2**degree (an unknown `kernel_size` of Conv2d is k * k: 2)."""
    positional, defaults, formula = TORCH_MODULES[name]

    def probe(t: int) -> int:
        values = dict(bound)
        for parameter in positional:
            value = values.get(parameter, REQUIRED)
            if parameter in _FLAG_PARAMETERS:
                values[parameter] = value if isinstance(value, bool) else True
            elif parameter in _DIVISOR_PARAMETERS:
                values[parameter] = value if isinstance(value, int) else 1
            elif isinstance(value, (tuple, list)):
                values[parameter] = tuple(v if isinstance(v, int) else t for v in value)
            elif not isinstance(value, int) and (value is not None or parameter not in defaults):
                values[parameter] = t
        return formula(values)

    try:
        small, large = probe(_DEGREE_PROBE), probe(2 * _DEGREE_PROBE)
    except Exception:  # noqa: BLE001 - arguments we cannot even probe: one unknown, not presumed large
        return 1
    if not isinstance(small, int) or not isinstance(large, int):
        return 1  # not a count (`Linear(2, [0])` multiplies a list)
    return max(0, round(math.log2(large / small))) if small > 0 else 0

"""fastinit_runtime on real torch (CPU), compared with Lightning's own init contexts where they overlap."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

import fastinit_runtime as fr


class Rope(nn.Module):
    """A computed non-persistent buffer, recomputed by reset_parameters (the convention)."""

    def __init__(self, dim=8):
        super().__init__()
        self.dim = dim
        self.register_buffer("freqs", torch.empty(dim), persistent=False)
        self.reset_parameters()

    def reset_parameters(self):
        with torch.no_grad():
            self.freqs.copy_(torch.arange(self.dim, dtype=torch.float32) / self.dim)


class Tied(nn.Module):
    def __init__(self, vocab=50, dim=16):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.attn = nn.MultiheadAttention(dim, 4, batch_first=True)
        self.rope = Rope(dim)
        self.block = nn.Sequential(nn.Linear(dim, dim), nn.LayerNorm(dim))
        self.head = nn.Linear(dim, vocab, bias=False)
        self.head.weight = self.embed.weight


class Scale(nn.Module):
    def __init__(self, dim=4):
        super().__init__()
        self.gain = nn.Parameter(torch.ones(dim))


class Raw(nn.Module):
    """Memory nothing ever writes, in eager builds too."""

    def __init__(self, dim=4):
        super().__init__()
        self.gain = nn.Parameter(torch.empty(dim))


def _params(model):
    return {name: p for name, p in model.named_parameters()}


@pytest.mark.parametrize(
    ("precision", "dtype"),
    [("32-true", None), ("16-true", torch.float16), ("bf16-true", torch.bfloat16), ("64-true", torch.float64)],
)
def test_init_module_matches_fabric(precision, dtype):
    import lightning as L

    fabric = L.Fabric(accelerator="cpu", devices=1, precision=precision)
    with fabric.init_module():
        theirs = nn.Linear(8, 8)
        their_default = torch.get_default_dtype()
    with fr.init_module(device="cpu", dtype=dtype):
        ours = nn.Linear(8, 8)
        our_default = torch.get_default_dtype()
    assert (ours.weight.dtype, ours.weight.device) == (theirs.weight.dtype, theirs.weight.device)
    assert our_default == their_default
    assert torch.get_default_dtype() == torch.float32


def test_empty_init_skips_nn_init_like_lightning():
    from lightning.fabric.utilities.init import _EmptyInit

    torch.manual_seed(0)
    with fr.init_module(empty_init=True):
        ours = nn.Linear(64, 64)
    with _EmptyInit(True):
        theirs = nn.Linear(64, 64)
    torch.manual_seed(0)
    fresh = nn.Linear(64, 64)
    assert not torch.equal(ours.weight, fresh.weight) and not torch.equal(theirs.weight, fresh.weight)
    with fr.init_module(empty_init=True):
        ones = nn.Parameter(torch.ones(3))  # factories still run: only nn.init is skipped
    assert torch.equal(ones, torch.ones(3))


def test_poison_shows_every_unloaded_weight():
    with fr.init_module(empty_init=True, poison=True):
        model = nn.Sequential(nn.Linear(4, 4), nn.LayerNorm(4))
    # LayerNorm's ones_/zeros_ are not routed through torch function modes in torch 2.13 (Lightning's
    # _EmptyInit does not skip them); the empty init routes every torch.nn.init function while it is active.
    assert set(fr.verify_initialized(model)) == {"0.weight", "0.bias", "1.weight", "1.bias"}
    with fr.poison_empty():
        other = nn.Linear(2, 2)
    assert torch.isnan(other.weight).all()


def test_context_restores_on_exception_and_nests():
    with pytest.raises(RuntimeError):
        with fr.init_module(dtype=torch.float64):
            with fr.init_module(dtype=torch.float16):
                assert torch.get_default_dtype() == torch.float16
            assert torch.get_default_dtype() == torch.float64
            raise RuntimeError("boom")
    assert torch.get_default_dtype() == torch.float32
    with fr.init_module(device="meta"):
        assert nn.Linear(2, 2).weight.is_meta
    assert not nn.Linear(2, 2).weight.is_meta
    with pytest.raises(ValueError, match="floating dtype"):
        with fr.init_module(dtype=torch.int64):
            pass


def test_materialize_keeps_ties_mha_and_buffers():
    with fr.meta_init():
        model = Tied()
    assert model.head.weight is model.embed.weight
    fr.materialize(model, "cpu", dtype=torch.bfloat16)
    assert model.head.weight is model.embed.weight
    assert not fr.verify_initialized(model)
    assert model.attn.in_proj_weight.dtype == torch.bfloat16 and model.attn.in_proj_weight.abs().sum() > 0
    assert torch.equal(model.rope.freqs, Rope(16).freqs.to(torch.bfloat16))
    assert model.block[1].weight.eq(1).all()  # LayerNorm.reset_parameters
    reference = Tied()
    assert {k: v.shape for k, v in model.state_dict().items()} == {
        k: v.shape for k, v in reference.state_dict().items()
    }


def test_materialize_names_tensors_nothing_initializes_before_allocating():
    with fr.meta_init():
        model = nn.Sequential(nn.Linear(2, 2), Raw(), nn.Sequential(Raw()), Scale())
    with pytest.raises(fr.MaterializationError, match=r"1\.gain \(1: Raw\), 2\.0\.gain \(2\.0: Raw\)$"):
        fr.materialize(model)
    assert model[0].weight.is_meta  # nothing allocated
    fr.materialize(model, init=False)
    assert not any(p.is_meta for p in model.parameters())
    with fr.meta_init():
        scale = Scale()
    assert torch.equal(fr.materialize(scale).gain, torch.ones(4))  # the recorded `torch.ones`, no reset needed


def test_load_partial_initializes_exactly_the_missing_head(tmp_path):
    torch.manual_seed(0)
    trained = nn.Sequential(nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 256))
    backbone = {k: v for k, v in trained.state_dict().items() if k.startswith("0.")}
    torch.save(backbone, tmp_path / "backbone.pt")
    nan = torch.full((256, 256), math.nan)
    del nan  # freed NaN memory is what empty init tends to hand back
    with fr.init_module(empty_init=True):
        model = nn.Sequential(nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 256))
    result = fr.load_partial(model, tmp_path / "backbone.pt")
    assert result.missing_keys == ["2.weight", "2.bias"] and result.unexpected_keys == []
    assert not fr.verify_initialized(model)
    assert torch.equal(model[0].weight, trained[0].weight) and torch.equal(model[0].bias, trained[0].bias)
    bound = 1 / math.sqrt(256)  # kaiming_uniform(a=sqrt(5)) of nn.Linear
    assert model[2].weight.abs().max().item() <= bound
    assert model[2].weight.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.05)


def test_load_partial_restores_loaded_siblings_of_missing_tensors():
    source = nn.Linear(4, 4)
    with fr.init_module(empty_init=True):
        model = nn.Linear(4, 4)
    fr.load_partial(model, {"weight": source.weight.detach().clone()})
    assert torch.equal(model.weight, source.weight) and torch.isfinite(model.bias).all()


def test_load_partial_into_meta_model_recomputes_buffers():
    source = Tied()
    state = {k: v for k, v in source.state_dict().items() if not k.startswith("block.")}
    with fr.meta_init():
        model = Tied()
    result = fr.load_partial(model, state)
    assert set(result.missing_keys) == {"block.0.weight", "block.0.bias", "block.1.weight", "block.1.bias"}
    assert not fr.verify_initialized(model)
    assert torch.equal(model.rope.freqs, source.rope.freqs)
    assert model.head.weight is model.embed.weight
    assert torch.equal(model.embed.weight, source.embed.weight)
    with pytest.raises(RuntimeError, match="strict=True"):
        fr.load_partial(nn.Linear(2, 2), {"weight": torch.zeros(2, 2)}, strict=True)


def test_estimate_parameters_allocates_nothing():
    estimate = fr.estimate_parameters(lambda: nn.Transformer(d_model=1024), dtype=torch.bfloat16)
    with torch.device("meta"):
        reference = nn.Transformer(d_model=1024)
    assert estimate.parameters == sum(p.numel() for p in reference.parameters())
    assert estimate.bytes == 2 * estimate.parameters
    real = fr.estimate_parameters(lambda: Tied())
    assert real.parameters == sum(p.numel() for p in Tied().parameters())
    assert real.bytes == sum(p.numel() * 4 for p in Tied().parameters()) + 16 * 4


def test_estimate_prints_sizes_in_a_unit_that_shows_them():
    assert str(fr.estimate_parameters(lambda: nn.Linear(4, 4))) == "20 parameters, 80 bytes"
    assert str(fr.estimate_parameters(lambda: nn.Linear(1024, 1024, bias=False))) == "1,048,576 parameters, 4.00 MiB"
    assert str(fr.estimate_parameters(lambda: nn.Embedding(2**19, 1024), dtype=torch.bfloat16)).endswith(" 1.00 GiB")

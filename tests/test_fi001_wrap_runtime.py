"""FI001's FSDP fix, proven with torch's real FSDP on a CPU gloo process group: the fixed `configure_model`,
run in the contexts Lightning enters for it, wraps each block once and leaves no parameter outside a wrapped
unit, keeps the state-dict layout, and Lightning's own `FSDPStrategy._setup_model` keeps those units."""

from __future__ import annotations

import json
import multiprocessing
import shutil
import socket
import warnings
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch
import torch.distributed as dist

from test_fi001_fix_runtime import FIXTURES, _cli, _import, _layout

TRAIN = (
    'import lightning as L\nfrom {module} import Stack\n\ntrainer = L.Trainer(strategy="fsdp", precision="bf16-mixed")\n'
    "trainer.fit(Stack())\n"
)


@contextmanager
def _gloo_world_of_one():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=0, world_size=1)
    try:
        yield
    finally:
        dist.destroy_process_group()


@contextmanager
def _lightning_configure_model_context(precision: str):
    """What `trainer/call.py:_call_configure_model` enters under `FSDPStrategy`, on a CPU: the strategy's
    `tensor_init_context()` (no device, the precision's dtype), `enable_wrap(FullyShardedDataParallel, ...)`
    with the strategy's mixed-precision config (its `model_sharded_context`, whose `device_id` is the GPU
    index: the CPU here, since Lightning's FSDP requires a GPU), and the precision's `module_init_context()`."""
    from lightning.pytorch.plugins.precision.fsdp import FSDPPrecision
    from lightning.pytorch.strategies import FSDPStrategy
    from torch.distributed.fsdp import FullyShardedDataParallel
    from torch.distributed.fsdp.wrap import enable_wrap

    plugin = FSDPPrecision(precision)
    strategy = FSDPStrategy(parallel_devices=[torch.device("cpu")], precision_plugin=plugin)
    with (
        strategy.tensor_init_context(),
        enable_wrap(
            wrapper_cls=FullyShardedDataParallel,
            mixed_precision=strategy.mixed_precision_config,
            device_id=torch.device("cpu"),
        ),
        plugin.module_init_context(),
    ):
        yield strategy


# The layers built in `__init__` (moved into `configure_model` and wrapped), or already in a `configure_model`
# that never wraps them (wrapped in place), and the phrase the finding says it with.
CASES = {"blocks.py": "(the fix does)", "blocks_hook.py": "but never calls `wrap()`"}


@pytest.mark.parametrize("filename", list(CASES))
def test_fsdp_fix_wraps_each_block_once_and_keeps_the_layout(tmp_path: Path, filename: str):
    for name in {"blocks.py", filename, "fi001_steps.py"}:
        shutil.copy(FIXTURES / name, tmp_path / name)
    (tmp_path / "train.py").write_text(TRAIN.format(module=filename[:-3]))
    (tmp_path / "pyproject.toml").write_text("[tool.fastinit-lint]\nlarge-layer-threshold = 500\n")
    original_source = (tmp_path / filename).read_text()
    findings = json.loads(_cli(tmp_path, "--select", "FI001", "--output-format", "json", filename).stdout)
    said = [" ".join([f["message"], *(n["message"] for n in f["notes"])]) for f in findings]  # evidence: notes
    assert findings and any(CASES[filename] in text for text in said)
    assert {f["fix"]["applicability"] for f in findings} == {"safe"}
    assert _cli(tmp_path, "--select", "FI001", "--fix", filename).exit_code == 0
    assert _cli(tmp_path, "--select", "FI001", filename).exit_code == 0
    (tmp_path / "original.py").write_text(original_source)
    # A fresh process: a gloo process group leaves threads behind, and the linter's worker pool (later tests)
    # forks this one.
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as process:
        process.submit(_check_wrapped_units, tmp_path, filename).result()


def _check_wrapped_units(tmp_path: Path, filename: str) -> None:
    from torch.distributed.fsdp import FullyShardedDataParallel as FSDP

    original = _import(tmp_path / "original.py", f"wrap_original_{filename[:-3]}").Stack
    fixed_module = _import(tmp_path / filename, f"wrap_fixed_{filename[:-3]}")
    with warnings.catch_warnings(), _gloo_world_of_one():
        warnings.simplefilter("ignore")
        with _lightning_configure_model_context("bf16-mixed") as strategy:
            unfixed = original()
            unfixed.configure_model()
            model = fixed_module.Stack()
            model.configure_model()
        assert not any(isinstance(m, FSDP) for m in unfixed.modules())  # the move alone shards nothing

        units = [m for m in model.modules() if isinstance(m, FSDP)]
        inner = [type(u.module).__name__ for u in units]
        assert sorted(inner) == ["Block"] * 4 + ["Embedding", "Linear"]
        assert not any(isinstance(d, FSDP) for u in units for d in u.module.modules())  # wrapped once
        assert all("_fsdp_wrapped_module" in n for n, _ in model.named_parameters())  # nothing left outside
        for block in (u.module for u in units if isinstance(u.module, fixed_module.Block)):
            assert block.down.weight is block.up.weight  # the tie inside the block survives

        reference = original()
        reference.configure_model()
        assert _layout(model)[0] == _layout(reference)[0]  # state-dict keys and shapes

        assert strategy._setup_model(model) is model  # Lightning keeps the units and does not wrap the root
        model.configure_model()
        assert [m for m in model.modules() if isinstance(m, FSDP)] == units  # the guard: no second wrapping

        loss = model(torch.randint(0, 64, (4, 6))).sum()
        loss.backward()
        assert all(p.grad is not None for p in model.parameters())

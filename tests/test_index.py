"""Project facts across files: inheritance chains, aliases, namespaces, Trainer/Fabric and YAML configs."""

from __future__ import annotations

import textwrap

from fastinit_lint.workspace.config import load_settings
from fastinit_lint.engine.pipeline import _STATE, RunRequest, run
from fastinit_lint.engine.registry import Registry

FILES = {
    "pkg/__init__.py": "",
    "pkg/base.py": """
        import pytorch_lightning as pl
        class Base(pl.LightningModule):
            pass
    """,
    "pkg/mid.py": """
        from .base import Base as B
        class Mid(B):
            pass
    """,
    "pkg/leaf.py": """
        from pkg import mid
        import torch.nn as tnn
        class Leaf(mid.Mid):
            pass
        class Plain(tnn.Module):
            pass
        class NotAModule:
            pass
    """,
    "train.py": """
        from lightning.pytorch import Trainer
        from lightning.pytorch.strategies import DeepSpeedStrategy
        import lightning_fabric as lf
        from lightning.fabric.strategies.model_parallel import ModelParallelStrategy as MPS
        def main(args):
            strategy = DeepSpeedStrategy(stage=3)
            trainer = Trainer(strategy=strategy, precision="bf16-true")
            fabric = lf.Fabric(strategy=MPS(), precision=16)
            other = Trainer(strategy=args.strategy)
            plain = Trainer()
    """,
    "conf/fit.yaml": """
        trainer:
          strategy:
            class_path: lightning.pytorch.strategies.FSDPStrategy
          precision: bf16-mixed
    """,
}


def _index(tmp_path):
    for name, content in FILES.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(content).lstrip("\n"))
    (tmp_path / "pyproject.toml").write_text("[tool.fastinit-lint]\n")
    settings = load_settings(str(tmp_path))
    registry = Registry.default()
    import os

    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        run(RunRequest(["."], settings, registry.all(), jobs=1, use_cache=False), registry.expand)
    finally:
        os.chdir(cwd)
    return _STATE["index"]


def test_inheritance_three_deep_through_aliases(tmp_path):
    index = _index(tmp_path)
    assert index.is_lightning_module("pkg.leaf.Leaf")
    assert index.is_lightning_module("pkg.mid.Mid")
    assert not index.is_lightning_module("pkg.leaf.Plain") and index.is_nn_module("pkg.leaf.Plain")
    assert not index.is_nn_module("pkg.leaf.NotAModule")
    assert index.is_nn_module("pkg.leaf.Leaf")


def test_runner_facts_with_sites(tmp_path):
    index = _index(tmp_path)
    runners = {(r.site.filename, r.site.row): r for facts in index.files.values() for r in facts.runners}
    ds = runners[("train.py", 7)]
    assert ds.kind == "trainer" and ds.bound_to == "trainer" and ds.strategy.zero3
    assert str(ds.strategy_site) == "train.py:6" and ds.precision == "bf16-true"
    fabric = runners[("train.py", 8)]
    assert fabric.kind == "fabric" and fabric.strategy.is_model_parallel and fabric.precision == "16"
    assert not runners[("train.py", 9)].strategy.known
    assert runners[("train.py", 10)].strategy.name == "auto" and runners[("train.py", 10)].precision == "32-true"
    yaml_runner = runners[("conf/fit.yaml", 1)]
    assert yaml_runner.strategy.is_fsdp and yaml_runner.precision == "bf16-mixed"
    assert str(yaml_runner.strategy_site) == "conf/fit.yaml:3"
    assert not index.training.links  # strategies alone: nothing hands a model to these runners


PRUNED = """
import torch
from lightning import Trainer as T
import lightning as L
from lightning.fabric.strategies import FSDPStrategy

Runner = L.Fabric

def main(flag):
    strategy = FSDPStrategy()
    precision = "bf16-true"
    if flag:
        for _ in range(2):
            helper = [x for x in range(3)]
    else:
        trainer = T(strategy=strategy, precision=precision)
    fabric = Runner(strategy="deepspeed_stage_3")
    with torch.device(
        "meta"
    ):
        pass
    with fabric.init_module(empty_init=True):
        model = torch.nn.Linear(2, 2)
    fabric.setup(model)

class Holder:
    def build(self):
        self.fabric = L.Fabric(
            precision=16,
        )
"""


def test_runner_facts_through_aliases_and_earlier_assignments():
    """Phase 1 walks only statements on lines that can hold a runner or meta-device build; runners built
    through aliases (`T`, `Runner`), strategies from earlier unwalked assignments and multi-line calls
    are still found."""
    import ast

    from fastinit_lint.model.facts import python_facts

    facts = python_facts("train.py", "train.py", ast.parse(PRUNED), PRUNED)
    runners = {r.site.row: r for r in facts.runners}
    assert set(runners) == {16, 17, 28}
    assert (
        runners[16].strategy.is_fsdp
        and runners[16].precision == "bf16-true"
        and str(runners[16].strategy_site) == "train.py:10"
    )
    assert runners[17].kind == "fabric" and runners[17].strategy.zero3
    assert runners[28].bound_to == "self.fabric" and runners[28].precision == "16"
    assert [(t.call, t.receiver, t.built_under, t.targets, t.site.row) for t in facts.trains] == [
        ("setup", "fabric", "fabric", ("torch.nn.Linear",), 24)
    ]


def test_runner_after_a_lone_carriage_return():
    """Python counts a lone `\\r` as a line break; the marked-line walk must count lines the same way."""
    import ast

    from fastinit_lint.model.facts import python_facts

    source = "import lightning as L\rdef main():\r\n    x = 1\r    trainer = L.Trainer(strategy='fsdp')\n"
    facts = python_facts("t.py", "t.py", ast.parse(source), source)
    assert [(r.site.row, r.strategy.is_fsdp) for r in facts.runners] == [(4, True)]


def test_warm_run_reads_no_facts_and_builds_no_index(tmp_path):
    """Nothing changed: results come from the cache by digests alone; facts stay pickled blobs."""
    _index(tmp_path)  # cold, with the cache off
    settings = load_settings(str(tmp_path))
    registry = Registry.default()
    import os

    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        first = run(RunRequest(["."], settings, registry.all(), jobs=1), registry.expand)
        again = run(RunRequest(["."], settings, registry.all(), jobs=1), registry.expand)
    finally:
        os.chdir(cwd)
    assert [f.findings for f in again.files] == [f.findings for f in first.files]
    store = _STATE["index"].files
    assert store._order is None  # the index's tables were never made
    assert all(stored._facts is None for stored in store.stored.values() if stored.has_facts)


def test_touched_file_reads_only_the_facts_its_gate_asks_for(tmp_path, monkeypatch):
    """One file edited: its gate asks about its own classes' bases (FI013: is it an nn.Module, has it a
    reset?) and which models are built on meta, so only the files defining those are unpickled; the
    rest of the index stays blobs. Findings as in a cold run."""
    _index(tmp_path)
    (tmp_path / "pkg" / "owner.py").write_text(
        textwrap.dedent("""
        import torch
        from pkg import mid
        class Owner(mid.Mid):
            def __init__(self):
                super().__init__()
                self.w = torch.nn.Parameter(torch.ones(2))
    """)
    )
    (tmp_path / "meta.py").write_text(
        "import torch\nfrom pkg.owner import Owner\nwith torch.device('meta'):\n"
        "    model = Owner()\nmodel.to_empty(device='cpu')\n"
    )
    monkeypatch.chdir(tmp_path)
    settings = load_settings(str(tmp_path))
    registry = Registry.default()
    cold = run(RunRequest(["."], settings, registry.all(), jobs=1), registry.expand)
    with open(tmp_path / "pkg" / "owner.py", "a") as handle:
        handle.write("# touched\n")
    touched = run(RunRequest(["."], settings, registry.all(), jobs=1), registry.expand)
    assert [f.findings for f in touched.files] == [f.findings for f in cold.files]
    assert any(f.code == "FI013" for r in touched.files for f in r.findings)
    read = {name for name, stored in _STATE["index"].files.stored.items() if stored._facts is not None}
    assert {"pkg/owner.py", "pkg/mid.py", "pkg/base.py", "meta.py"} <= read  # the class chain, the meta site
    assert "pkg/leaf.py" not in read and "pkg/__init__.py" not in read, read


def test_fi013_gate_leaves_out_files_whose_tensor_owners_all_have_a_reset(tmp_path, monkeypatch):
    """The class-level half of FI013 is decided on the index: a file like torch's `linear.py` (owns
    parameters, defines `reset_parameters`, directly or in a project base) is never parsed with LibCST."""
    from fastinit_lint.engine.checker import gate

    sources = {
        "train.py": """
            import lightning as L
            from torch import nn
            from bare import Bare
            from layers import Child, Scale
            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.parts = nn.ModuleList([Bare(), Child(), Scale()])
            fabric = L.Fabric(strategy='fsdp')
            with fabric.init_module(empty_init=True):
                model = Net()
            model = fabric.setup(model)
        """,
        "layers.py": """
            import torch
            from torch import nn
            class Base(nn.Module):
                def reset_parameters(self):
                    pass
            class Scale(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.w = nn.Parameter(torch.ones(3))
                def reset_parameters(self):
                    nn.init.ones_(self.w)
            class Child(Base):
                def __init__(self):
                    super().__init__()
                    self.w = nn.Parameter(torch.ones(3))
        """,
        "bare.py": """
            import torch
            from torch import nn
            class Bare(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.w = nn.Parameter(torch.ones(3))
        """,
    }
    for name, content in sources.items():
        (tmp_path / name).write_text(textwrap.dedent(content).lstrip("\n"))
    (tmp_path / "pyproject.toml").write_text("[tool.fastinit-lint]\n")
    monkeypatch.chdir(tmp_path)
    settings = load_settings(str(tmp_path))
    registry = Registry.default()
    result = run(RunRequest(["."], settings, registry.all(), jobs=1, use_cache=False), registry.expand)
    assert {f.filename: [x.code for x in f.findings] for f in result.files if f.findings} == {"bare.py": ["FI013"]}
    fi013 = [r for r in registry.all() if r.code == "FI013"]
    index = _STATE["index"]
    store = index.files
    assert gate(fi013, store.stored["bare.py"].markers, store["bare.py"], index, settings) == fi013
    assert gate(fi013, store.stored["layers.py"].markers, store["layers.py"], index, settings) == []


def test_a_class_defined_twice_under_one_module_name_resolves_by_file_order_not_arrival_order(tmp_path):
    """Two scripts named `train.py` in plain directories are both module `train`; which `train.Model` the
    index keeps must not depend on which file a worker finished first or which came from the cache."""
    import ast

    from fastinit_lint.model.facts import python_facts
    from fastinit_lint.model.index import ProjectIndex

    made = []
    for folder, base in (("a", "pl.LightningModule"), ("b", "nn.Module")):
        source = f"import pytorch_lightning as pl\nfrom torch import nn\nclass Model({base}):\n    pass\n"
        path = tmp_path / folder / "train.py"
        path.parent.mkdir()
        path.write_text(source)
        made.append(python_facts(f"{folder}/train.py", str(path), ast.parse(source), source))
    for order in (made, made[::-1]):
        index = ProjectIndex(order)
        assert index.classes["train.Model"].site.filename == "a/train.py"
        assert index.is_lightning_module("train.Model")

"""The training graph: which runner trains, sets up or materializes which model class, on real files."""

from __future__ import annotations

import json
import textwrap

from conftest import run_installed
from fastinit_lint.workspace.config import load_settings
from fastinit_lint.engine.pipeline import _STATE, RunRequest, run
from fastinit_lint.engine.registry import Registry

GPT = """
    import lightning as L
    import torch
    from torch import nn

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = nn.Parameter(torch.ones(4))

    class GPT(L.LightningModule):
        def __init__(self):
            super().__init__()
            self.blocks = nn.ModuleList([Block() for _ in range(2)])
            self.embed = nn.Embedding(50_000, 1024)
"""


def _project(tmp_path, monkeypatch, files: dict[str, str]):
    for name, content in {"pyproject.toml": "[tool.fastinit-lint]\n", **files}.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(content).lstrip("\n"))
    monkeypatch.chdir(tmp_path)
    registry = Registry.default()
    result = run(
        RunRequest(["."], load_settings(str(tmp_path)), registry.all(), jobs=1, use_cache=False), registry.expand
    )
    findings = sorted((r.filename, f.location.row, f.code) for r in result.files for f in r.findings)
    return _STATE["index"], findings


def test_a_sharded_script_says_nothing_about_other_models_in_the_repository(tmp_path, monkeypatch):
    index, findings = _project(
        tmp_path,
        monkeypatch,
        {
            "model.py": GPT,
            "fsdp_demo.py": """
            import lightning as L
            from torch import nn

            class Tiny(L.LightningModule):
                pass

            trainer = L.Trainer(strategy="fsdp")
            trainer.fit(Tiny())
        """,
            "tests/test_gpt.py": """
            import lightning as L
            from model import GPT

            def test_fit():
                trainer = L.Trainer(accelerator="cpu")
                model = GPT()
                trainer.fit(model)
        """,
        },
    )
    assert index.training.sharded_trainer_link("model.GPT") is None
    assert [link.strategy.name for link in index.training.links_to("model.GPT")] == ["auto"]
    link = index.training.sharded_trainer_link("fsdp_demo.Tiny")
    assert link.describe() == "trained by `trainer.fit(...)` with strategy 'fsdp'"
    assert list(map(str, link.notes())) == [
        "trained by `trainer.fit(...)` at fsdp_demo.py:8",
        "strategy 'fsdp' at fsdp_demo.py:7",
    ]
    assert not [f for f in findings if f[2] == "FI001"]


def test_a_runner_kept_on_self_and_used_in_another_method(tmp_path, monkeypatch):
    index, findings = _project(
        tmp_path,
        monkeypatch,
        {
            "model.py": GPT,
            "runner.py": """
            import lightning as L
            from model import GPT

            class Runner:
                def __init__(self):
                    self.trainer = L.Trainer(strategy="deepspeed_stage_3")

                def run(self):
                    model = GPT()
                    self.trainer.fit(model)
        """,
        },
    )
    link = index.training.sharded_trainer_link("model.GPT")
    assert link is not None and link.strategy.zero3 and str(link.train.site) == "runner.py:10"
    assert ("model.py", 14, "FI001") in findings


def test_lightning_cli_links_its_model_to_the_yaml_trainer(tmp_path, monkeypatch):
    index, findings = _project(
        tmp_path,
        monkeypatch,
        {
            "model.py": GPT,
            "main.py": "from lightning.pytorch.cli import LightningCLI\nfrom model import GPT\n\nLightningCLI(GPT)\n",
            "configs/fit.yaml": "trainer:\n  strategy: fsdp\n",
        },
    )
    link = index.training.sharded_trainer_link("model.GPT")
    assert link is not None and list(map(str, link.notes())) == [
        "trained through `LightningCLI(GPT)` at main.py:4",
        "strategy 'fsdp' at configs/fit.yaml:2",
    ]


def test_a_strategy_subclass_two_levels_deep_re_exported_and_returned_by_a_factory(tmp_path, monkeypatch):
    index, findings = _project(
        tmp_path,
        monkeypatch,
        {
            "model.py": GPT,
            "pkg/__init__.py": "",
            "pkg/strategies/__init__.py": "from .fsdp import ClusterFSDP\n",
            "pkg/strategies/fsdp.py": "from lightning.pytorch.strategies import FSDPStrategy\n\n"
            "class ClusterFSDP(FSDPStrategy):\n    pass\n",
            "pkg/custom.py": "from pkg.strategies import ClusterFSDP\n\nclass TunedFSDP(ClusterFSDP):\n    pass\n",
            "train.py": """
            import lightning as L
            from model import GPT
            from pkg.custom import TunedFSDP

            def make_strategy():
                return TunedFSDP(sharding_strategy="HYBRID_SHARD")

            def main():
                trainer = L.Trainer(strategy=make_strategy(), devices=8)
                trainer.fit(GPT())
        """,
        },
    )
    link = index.training.sharded_trainer_link("model.GPT")
    assert (
        link is not None
        and link.strategy.is_fsdp
        and (link.strategy_note.filename, link.strategy_note.location.row) == ("train.py", 9)
    )
    assert ("model.py", 14, "FI001") in findings


def test_lightning_cli_is_not_linked_to_a_hydra_config(tmp_path, monkeypatch):
    """A config LightningCLI would reject (its parser accepts no `exp_manager` key) is not the CLI's: its
    sharded strategy says nothing about the model LightningCLI trains."""
    index, findings = _project(
        tmp_path,
        monkeypatch,
        {
            "model.py": GPT,
            "main.py": "from lightning.pytorch.cli import LightningCLI\nfrom model import GPT\n\nLightningCLI(GPT)\n",
            "conf/megatron.yaml": "name: gpt\ntrainer:\n  strategy: fsdp\nexp_manager:\n  resume: true\n",
        },
    )
    assert index.training.sharded_trainer_link("model.GPT") is None
    assert not [f for f in findings if f[2] == "FI001"]


def test_a_yaml_class_path_links_its_own_trainer(tmp_path, monkeypatch):
    index, _ = _project(
        tmp_path,
        monkeypatch,
        {
            "model.py": GPT,
            "fit.yaml": "trainer:\n  strategy: deepspeed_stage_3\nmodel:\n  class_path: model.GPT\n",
            "other.yaml": "trainer:\n  strategy: ddp\nmodel:\n  class_path: model.Block\n",
        },
    )
    assert index.training.sharded_trainer_link("model.GPT").strategy.zero3
    assert index.training.sharded_trainer_link("model.Block") is None


def test_a_meta_model_built_only_to_count_flops_is_not_materialized(tmp_path, monkeypatch):
    index, findings = _project(
        tmp_path,
        monkeypatch,
        {
            "model.py": GPT,
            "flops.py": """
            import torch
            from model import GPT

            def count(measure):
                with torch.device("meta"):
                    meta_model = GPT()
                return measure(meta_model)
        """,
        },
    )
    assert index.training.meta_built == {}
    assert not [f for f in findings if f[2] == "FI013"]


def test_a_meta_model_set_up_by_fabric_covers_every_module_it_builds(tmp_path, monkeypatch):
    index, findings = _project(
        tmp_path,
        monkeypatch,
        {
            "model.py": GPT,
            "finetune.py": """
            import lightning as L
            from model import GPT

            def main():
                fabric = L.Fabric(strategy="fsdp")
                with fabric.init_module(empty_init=True):
                    model = GPT()
                model = fabric.setup(model)
        """,
        },
    )
    assert set(index.training.meta_built) == {"model.GPT", "model.Block"}
    assert ("model.py", 5, "FI013") in findings
    assert list(map(str, index.training.meta_built["model.Block"].notes())) == [
        "built on the meta device under `fabric.init_module(empty_init=True)` at finetune.py:7",
        "set up by `fabric.setup(...)` at finetune.py:8",
        "strategy 'fsdp' at finetune.py:5",
    ]


def test_empty_init_is_meta_only_for_fsdp_and_model_parallel(tmp_path, monkeypatch):
    index, _ = _project(
        tmp_path,
        monkeypatch,
        {
            "model.py": GPT,
            "finetune.py": """
            import lightning as L
            from model import GPT

            def main():
                fabric = L.Fabric(strategy="ddp")
                with fabric.init_module(empty_init=True):
                    model = GPT()
                model = fabric.setup(model)
        """,
        },
    )
    assert index.training.meta_built == {}


def test_a_setup_expected_to_raise_materializes_nothing(tmp_path, monkeypatch):
    index, findings = _project(
        tmp_path,
        monkeypatch,
        {
            "model.py": GPT,
            "tests/test_setup.py": """
            import lightning as L
            import pytest
            from model import GPT

            def test_meta_setup_raises():
                fabric = L.Fabric(strategy="fsdp")
                with fabric.init_module(empty_init=True):
                    model = GPT()
                with pytest.raises(RuntimeError):
                    fabric.setup(model)
        """,
        },
    )
    assert index.training.meta_built == {}


def test_a_meta_context_inside_a_strategy_class_builds_no_model(tmp_path, monkeypatch):
    index, findings = _project(
        tmp_path,
        monkeypatch,
        {
            "model.py": GPT,
            "strategy.py": """
            import contextlib
            import torch
            from lightning.pytorch.strategies import FSDPStrategy

            class MyFSDP(FSDPStrategy):
                @contextlib.contextmanager
                def module_init_context(self, empty_init=None):
                    with torch.device("meta"):
                        yield
        """,
        },
    )
    assert index.training.meta_built == {}
    assert not findings


def test_reexports_resolve_through_package_chains_and_stop_on_cycles(tmp_path, monkeypatch):
    index, _ = _project(
        tmp_path,
        monkeypatch,
        {
            "pkg/__init__.py": "from .core import GPT\n",
            "pkg/core/__init__.py": "from .gpt import GPT\n",
            "pkg/core/gpt.py": GPT,
            "a/__init__.py": "from b import X\n",
            "b/__init__.py": "from a import X\n",
        },
    )
    assert index.canonical("pkg.GPT") == "pkg.core.gpt.GPT"
    assert index.is_lightning_module("pkg.GPT")
    assert index.canonical("a.X") == "a.X"


def test_a_directory_argument_still_sees_the_trainer_outside_it(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.fastinit-lint]\n")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "model.py").write_text(textwrap.dedent(GPT).lstrip("\n"))
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "train.py").write_text(
        "import sys\nimport lightning as L\nfrom model import GPT\n\ntrainer = L.Trainer(strategy='fsdp')\n"
        "trainer.fit(GPT())\n"
    )
    done = run_installed("--no-cache", "--select", "FI001", "--output-format", "json", "src", cwd=tmp_path)
    found = json.loads(done.stdout)
    assert [(f["filename"], f["location"]["row"]) for f in found] == [("src/model.py", 14)], done.stderr


def test_a_runner_and_a_model_passed_into_a_training_function(tmp_path, monkeypatch):
    index, findings = _project(
        tmp_path,
        monkeypatch,
        {
            "model.py": GPT,
            "loops.py": """
            def train(model, trainer, epochs=1):
                trainer.fit(model)
        """,
            "main.py": """
            import lightning as L
            from loops import train
            from model import GPT

            def main():
                trainer = L.Trainer(strategy="fsdp")
                train(GPT(), trainer=trainer)
        """,
        },
    )
    link = index.training.sharded_trainer_link("model.GPT")
    assert link is not None and str(link.train.site) == "loops.py:2" and str(link.runner.site) == "main.py:6"
    assert ("model.py", 14, "FI001") in findings


def test_the_build_on_meta_is_located_where_the_caller_builds_the_model(tmp_path, monkeypatch):
    index, _ = _project(
        tmp_path,
        monkeypatch,
        {
            "model.py": GPT,
            "loops.py": """
            def prepare(model, fabric):
                return fabric.setup(model)
        """,
            "main.py": """
            import lightning as L
            from loops import prepare
            from model import GPT

            def main():
                fabric = L.Fabric(strategy="fsdp")
                with fabric.init_module(empty_init=True):
                    model = GPT()
                model = prepare(model, fabric)
        """,
        },
    )
    assert list(map(str, index.training.meta_built["model.GPT"].notes())) == [
        "built on the meta device under `fabric.init_module(empty_init=True)` at main.py:8",
        "set up by `fabric.setup(...)` at loops.py:2",
        "strategy 'fsdp' at main.py:6",
    ]


def test_fabric_launch_passes_the_fabric_first(tmp_path, monkeypatch):
    """`fabric.launch(main, cfg)` calls `main(fabric, cfg)`: the model `main` builds on meta and sets up is
    materialized under the launching Fabric's strategy."""
    index, findings = _project(
        tmp_path,
        monkeypatch,
        {
            "model.py": GPT,
            "pretrain.py": """
            import lightning as L
            from lightning.fabric.strategies import FSDPStrategy
            from model import GPT

            def setup(devices, cfg):
                strategy = FSDPStrategy() if devices > 1 else "auto"
                fabric = L.Fabric(devices=devices, strategy=strategy)
                fabric.launch(main, cfg)

            def main(fabric, cfg):
                with fabric.init_module(empty_init=True):
                    model = GPT()
                model = fabric.setup(model)
        """,
        },
    )
    assert set(index.training.meta_built) == {"model.GPT", "model.Block"}
    assert index.training.meta_built["model.Block"].runner.conditional
    assert ("model.py", 5, "FI013") in findings


def test_models_built_in_both_branches_of_an_if_both_reach_the_trainer(tmp_path, monkeypatch):
    index, _ = _project(
        tmp_path,
        monkeypatch,
        {
            "model.py": GPT + "\n    class Other(GPT):\n        pass\n",
            "train.py": """
            import lightning as L
            from model import GPT, Other

            def main(kind):
                unused = GPT()
                if kind == "other":
                    model = Other()
                elif kind == "gpt":
                    model = GPT()
                else:
                    model = Other()
                    model = GPT()
                trainer = L.Trainer(strategy="fsdp")
                trainer.fit(model)
        """,
        },
    )
    assert sorted(index.training.links) == ["model.GPT", "model.Other"]


def test_the_configured_strategy_stands_in_for_one_not_known_statically(tmp_path, monkeypatch):
    index, findings = _project(
        tmp_path,
        monkeypatch,
        {
            "pyproject.toml": '[tool.fastinit-lint]\nstrategy = "deepspeed_stage_3"\n',
            "model.py": GPT,
            "train.py": """
            import lightning as L
            from model import GPT

            def main(args):
                trainer = L.Trainer(strategy=args.strategy)
                trainer.fit(GPT())
        """,
        },
    )
    assert list(map(str, index.training.sharded_trainer_link("model.GPT").notes())) == [
        "trained by `trainer.fit(...)` at train.py:6",
        f"strategy 'deepspeed_stage_3' (ZeRO stage 3) from config {tmp_path / 'pyproject.toml'}: the Trainer's own "
        "is not a literal at train.py:5",
    ]
    assert ("model.py", 14, "FI001") in findings


def test_factories_and_training_functions_re_exported_by_a_package(tmp_path, monkeypatch):
    index, _ = _project(
        tmp_path,
        monkeypatch,
        {
            "model.py": GPT + "\n    class Other(GPT):\n        pass\n",
            "lib/__init__.py": "from .factory import build\nfrom .loops import fit_on\n",
            "lib/factory.py": "from model import GPT\n\ndef build(cfg):\n    return GPT()\n",
            "lib/loops.py": "def fit_on(trainer, model):\n    trainer.fit(model)\n",
            "train.py": """
            import lightning as L
            import lib
            from model import Other

            def main(cfg):
                trainer = L.Trainer(strategy="fsdp")
                trainer.fit(lib.build(cfg))
                lib.fit_on(trainer, Other())
        """,
        },
    )
    assert [str(link.train.site) for link in index.training.links["model.GPT"]] == ["train.py:7"]
    assert [str(link.train.site) for link in index.training.links["model.Other"]] == ["lib/loops.py:2"]


def test_a_meta_model_on_a_long_chain_of_project_bases(tmp_path, monkeypatch):
    """FI013 walks a model's project bases and what their `__init__`s build: 2,500 of them in a checkout must be
    walked once each, without recursion (the reset lookup raised RecursionError; the closure was quadratic)."""
    count = 2_500
    chain = "".join(f"class C{i}(C{i + 1}):\n    pass\n\n" for i in range(count - 1))
    model = (
        f"import torch\nfrom torch import nn\n\nclass C{count - 1}(nn.Module):\n    pass\n\n{chain}"
        "class Own(C0):\n    def __init__(self):\n        super().__init__()\n"
        "        self.w = nn.Parameter(torch.ones(2))\n"
    )
    _, findings = _project(
        tmp_path,
        monkeypatch,
        {
            "chain.py": model,
            "meta.py": "import torch\nfrom chain import Own\n\nwith torch.device('meta'):\n    m = Own()\nm.to_empty(device='cpu')\n",
        },
    )
    assert findings == [("chain.py", 7 + 3 * (count - 1), "FI013")]


def test_a_model_kept_on_self_in_one_method_and_fitted_in_another(tmp_path, monkeypatch):
    """`self.model = GPT()` in `setup` (here under `init_module(empty_init=True)`), `trainer.fit(self.model)` in
    `run`: the link is the same as for a local variable, with how the model was built."""
    index, findings = _project(
        tmp_path,
        monkeypatch,
        {
            "model.py": GPT + "\n        def on_train_start(self):\n"
            "            self.load_state_dict(torch.load('base.pt'), strict=False)\n",
            "driver.py": """
            import lightning as L
            from model import GPT

            class Driver:
                def run(self):
                    self.trainer.fit(self.model)

                def setup(self):
                    self.trainer = L.Trainer(precision="bf16-true")
                    if self.trainer.num_devices == 1:
                        with self.trainer.init_module(empty_init=True):
                            self.model = GPT()
        """,
        },
    )
    links = index.training.links_to("model.GPT")
    assert [str(link.train.site) for link in links] == ["driver.py:6"]
    assert index.training.empty_init_trainer_link("model.GPT") is not None
    assert ("model.py", 17, "FI002") in findings

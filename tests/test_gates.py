"""Gates before LibCST: a rule about runners parses a file only when one of the file's runners is of a kind,
strategy and precision the rule can report on (findings are those of an open gate: the rule examples and
the real-repository runs show it)."""

from __future__ import annotations

import ast

import pytest

from fastinit_lint.model.facts import python_facts
from fastinit_lint.model.index import ProjectIndex
from fastinit_lint.engine.registry import Registry

RULES = {rule.code: rule for rule in Registry.default().all()}


def _gate(code: str, runner: str) -> bool:
    text = f"import lightning as L\n\ndef main(args):\n    runner = {runner}\n"
    facts = python_facts("train.py", "train.py", ast.parse(text), text)
    return RULES[code].relevant(facts, ProjectIndex([facts]), None)


@pytest.mark.parametrize(
    ("runner", "wanted_by"),
    [
        ('L.Trainer(precision="bf16-mixed")', {"FI006", "FI009"}),
        ('L.Trainer(precision="bf16-true")', {"FI003", "FI006", "FI009"}),
        ('L.Trainer(strategy="fsdp")', {"FI004", "FI009", "FI010"}),
        ('L.Trainer(strategy="deepspeed_stage_3")', {"FI004", "FI006", "FI009", "FI014"}),
        ('L.Fabric(strategy="fsdp")', {"FI003", "FI009", "FI010", "FI011"}),
        ('L.Fabric(precision="16-true")', {"FI003", "FI006", "FI009"}),
        ("L.Trainer(strategy=args.strategy)", {"FI009"}),  # not a literal: nothing these rules can report
    ],
)
def test_runner_rules_parse_only_files_with_a_runner_they_can_report_on(runner, wanted_by):
    codes = ("FI003", "FI004", "FI006", "FI009", "FI010", "FI011", "FI014")
    assert {code for code in codes if _gate(code, runner)} == wanted_by


@pytest.mark.parametrize(
    ("precision", "parsed"),
    [
        ("16", True),
        ('"bf16"', True),
        ("32 if args.fp32 else 16", True),
        ("+16", True),
        ('"bf16-mixed"', False),
        ("args.precision", False),
        ('cfg["precision"]', False),
        ("get_precision()", False),
    ],
)
def test_fi012_parses_a_file_only_for_a_precision_argument_that_can_be_an_alias(precision, parsed):
    """A variable (`precision=args.precision`: most of pytorch-lightning's tests) is no alias the rule reports."""
    assert _gate("FI012", f"L.Trainer(precision={precision})") == parsed


def test_links_to_subclasses_match_inherits_in_one_walk_per_linked_model(tmp_path, monkeypatch):
    """FI001's gate asks the training graph about every LightningModule of the project: which runners reach
    it or a subclass. The answer is the one `index.inherits` gives (re-exported bases, diamonds, cycles),
    found without asking `inherits` once per linked model per question."""
    from fastinit_lint.workspace.config import load_settings
    from fastinit_lint.model.index import ProjectIndex
    from fastinit_lint.engine.pipeline import _STATE, RunRequest, run

    files = {
        "pyproject.toml": "[tool.fastinit-lint]\n",
        "pkg/__init__.py": "from .base import Base\n",
        "pkg/base.py": "import lightning as L\nclass Base(L.LightningModule):\n    pass\n",
        "models.py": "import pkg\nfrom pkg.base import Base\n"
        "class Left(pkg.Base):\n    pass\nclass Right(Base):\n    pass\n"
        "class Both(Left, Right):\n    pass\nclass A(B):\n    pass\nclass B(A):\n    pass\n"
        + "".join(f"class M{i}(Both):\n    pass\n" for i in range(30)),
        "train.py": "import lightning as L\nfrom models import *\n"
        "def main():\n    trainer = L.Trainer(strategy='fsdp')\n"
        + "".join(f"    trainer.fit(M{i}())\n" for i in range(30))
        + "    trainer.fit(Left())\n    trainer.fit(A())\n",
    }
    for name, content in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(content)
    monkeypatch.chdir(tmp_path)
    registry = Registry.default()
    run(RunRequest(["."], load_settings(str(tmp_path)), registry.all(), jobs=1, use_cache=False), registry.expand)
    index = _STATE["index"]
    graph = index.training
    names = [
        "pkg.base.Base",
        "pkg.Base",
        "models.Left",
        "models.Right",
        "models.Both",
        "models.A",
        "models.B",
        "models.M3",
        "lightning.LightningModule",
    ]
    asked = []
    inherits = ProjectIndex.inherits
    monkeypatch.setattr(ProjectIndex, "inherits", lambda self, *a: asked.append(a) or inherits(self, *a))
    found = {name: graph.links_to(name) for name in names}
    assert not asked
    for name in names:  # the answer as one `inherits` per linked model
        expected = [
            *graph.links.get(name, ()),
            *(
                link
                for model, links in graph.links.items()
                if model != name and index.inherits(model, frozenset({name}))
                for link in links
            ),
        ]
        assert found[name] == sorted(expected, key=lambda link: (link.train.site.filename, link.train.site.row))
    # (`inherits` compares base names as written: `Left(pkg.Base)` reaches `pkg.Base`, not `pkg.base.Base`.)
    assert [len(found[name]) for name in ("pkg.Base", "pkg.base.Base", "models.Both", "models.B")] == [31, 30, 30, 1]


def test_class_and_text_gates(tmp_path, monkeypatch):
    """FI005/FI008 parse a file only for a LightningModule that defines the hook itself; FI006 only when the
    text holds both a `load_from_checkpoint` and an `init_module`."""
    from fastinit_lint.engine.checker import gate
    from fastinit_lint.workspace.config import load_settings
    from fastinit_lint.engine.pipeline import _STATE, RunRequest, run

    model = "import lightning as L\nclass M(L.LightningModule):\n    def training_step(self, batch, i):\n        pass\n"
    files = {
        "pyproject.toml": "[tool.fastinit-lint]\n",
        # a LightningModule, and the hook names only on a plain class or in a test's text
        "plain.py": model + "class Other:\n    def configure_model(self):\n        pass\n"
        "    def configure_sharded_model(self):\n        pass\n",
        "hooks.py": model + "from torch import nn\nclass H(L.LightningModule):\n    def configure_model(self):\n"
        "        self.layer = nn.Linear(2, 2)\n"
        "    def configure_sharded_model(self):\n        pass\n",
        "load.py": "import lightning as L\nfrom hooks import H\ntrainer = L.Trainer()\n"
        "model = H.load_from_checkpoint('last.ckpt')\n",
        "both.py": "import lightning as L\nfrom hooks import H\ntrainer = L.Trainer()\n"
        "with trainer.init_module():\n    model = H.load_from_checkpoint('last.ckpt')\n",
    }
    for name, content in files.items():
        (tmp_path / name).write_text(content)
    monkeypatch.chdir(tmp_path)
    registry = Registry.default()
    settings = load_settings(str(tmp_path))
    result = run(RunRequest(["."], settings, registry.all(), jobs=1, use_cache=False), registry.expand)
    assert {f.filename: sorted({x.code for x in f.findings}) for f in result.files if f.findings} == {
        "hooks.py": ["FI005", "FI008"],
        "both.py": ["FI006"],
    }
    index = _STATE["index"]
    opened = {
        name: {
            r.code
            for r in gate(
                [RULES[c] for c in ("FI005", "FI006", "FI008")],
                index.files.stored[name].markers,
                index.files[name],
                index,
                settings,
            )
        }
        for name in ("plain.py", "hooks.py", "load.py", "both.py")
    }
    assert opened == {"plain.py": set(), "hooks.py": {"FI005", "FI008"}, "load.py": set(), "both.py": {"FI006"}}


@pytest.mark.parametrize(
    "source",
    [
        "m = Net()\nm = m.to(d)\n",
        "m = Net()\nm.half()\n",
        "def f():\n    try:\n        m = Net()\n        m.cuda()\n    except E:\n        pass\n",
        "m = (Net()\n     .  # a comment between the dot and the name\n     to(d))\n",
        "m = Net().\\\n    bfloat16()\n",
        "m = Net()\nx = 1\nm.to(d)\n",  # not the next statement
        "with g():\n    m = Net() if a else Other().double()\n",
        "m = Model.from_pretrained(p)\nm.to(d)\n",
        "m = Net()\nm.tok()\n",
    ],
)
def test_cast_gates_look_only_at_statements_on_lines_naming_a_cast(source):
    """FI007's and FI016's gates skip statements on no line holding `.to`/`.half`/...: the same answer as
    looking at every statement (of a file whose text holds `.to(` somewhere, as the gates first ask)."""
    from fastinit_lint.model import facts as module

    source += "# x.to(\n"
    tree = module.ast.parse(source)
    every_line = list(range(1, source.count("\n") + 2))
    facts = python_facts("m.py", "m.py", tree, source)
    assert facts.cast_hint == module._has_build_then_cast(tree.body, every_line)
    assert facts.load_cast_hint == module._has_build_then_cast(tree.body, every_line, module._loader_call)

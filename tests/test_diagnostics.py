"""Diagnostics like ruff's: a one-sentence message, the evidence as notes (once per class for FI001), the
no-fix reason once; notes in text (`= note:`), JSON (`notes`) and SARIF (`relatedLocations`)."""

import json
import textwrap

from fastinit_lint.diagnostics import Applicability, FixAvailability, Location
from fastinit_lint.engine.registry import Registry
from fastinit_lint.engine.testing import lint_snippet
from fastinit_rules.large_layer_in_init import LargeLayerInInit
from fastinit_rules.optimizer_before_setup import OptimizerBeforeSetup

GPT = textwrap.dedent("""
    import lightning as L
    from torch import nn

    class GPT(L.LightningModule):
        def __init__(self, vocab=50_304, dim=1024, lr=1e-3):
            super().__init__()
            self.save_hyperparameters()
            self.lr = lr
            self.embed = nn.Embedding(vocab, dim)
            self.head = nn.Linear(dim, vocab)
    """).lstrip()
TRAIN = "import lightning as L\nfrom snippet import GPT\ntrainer = L.Trainer(strategy='fsdp')\ntrainer.fit(GPT())\n"
# FI011's own example: the strategy on line 6, the build on meta on line 8, `fabric.setup` on line 10.
FABRIC_OPTIMIZER = textwrap.dedent(OptimizerBeforeSetup.INVALID[0].code.removeprefix("\n"))


def test_fi001_states_its_evidence_once_per_class_as_notes_without_unused_defaults():
    first, second = lint_snippet(LargeLayerInInit, GPT, {"train.py": TRAIN}).findings
    assert "train.py" not in first.message and "class total" not in first.message  # one sentence, no evidence
    notes = [str(n) for n in first.notes]
    assert notes[:2] == ["trained by `trainer.fit(...)` at train.py:4", "strategy 'fsdp' at train.py:3"], notes
    assert any(n.startswith("class total") and "default vocab=50304, default dim=1024" in n for n in notes), notes
    assert not any("lr=" in n for n in notes), notes  # read only by `self.lr = lr`: not part of the size
    assert second.notes == ()


def test_each_located_fact_is_a_note_with_its_file_and_line():
    first, _ = lint_snippet(LargeLayerInInit, GPT, {"train.py": TRAIN}).findings
    assert [(n.message, n.filename, n.location) for n in first.notes if n.location] == [
        ("trained by `trainer.fit(...)`", "train.py", Location(4, 1)),
        ("strategy 'fsdp'", "train.py", Location(3, 1)),
        ("precision '32-true'", "train.py", Location(3, 1)),
    ]
    assert all(n.filename is None for n in first.notes if n.location is None)  # the class total points nowhere


def test_a_note_about_a_node_of_the_checked_file_has_its_position():
    [found] = lint_snippet(OptimizerBeforeSetup, FABRIC_OPTIMIZER, {"model.py": "class GPT:\n    pass\n"}).findings
    assert "snippet.py" not in found.message
    assert [(n.message, n.filename, n.location) for n in found.notes] == [
        ("strategy 'fsdp'", "snippet.py", Location(6, 1)),
        ("`model` built on the meta device under `fabric.init_module(empty_init=True)`", "snippet.py", Location(8, 9)),
        ("set up by `fabric.setup(...)`", "snippet.py", Location(10, 24)),
    ]


def test_the_reason_for_no_fix_is_said_once(cli, project):
    (project / "a.py").write_text("from net import Big\ndef f(device):\n    m = Big()\n    m.to(device)\n")
    (project / "net.py").write_text(
        "from torch import nn\nclass Big(nn.Module):\n    def __init__(self):\n"
        "        super().__init__()\n        self.proj = nn.Linear(16_384, 16_384)\n"
    )
    out = cli("check", "--no-cache", "--select", "FI007", "--output-format", "full", "a.py").output
    assert out.count("cannot tell whether `device` is a device or a dtype") == 1, out
    assert "  = note: no automatic fix: cannot tell whether `device` is a device or a dtype\n" in out


def test_notes_in_text_json_and_sarif(cli, project):
    (project / "snippet.py").write_text(GPT)
    (project / "train.py").write_text(TRAIN)
    text = cli("check", "--no-cache", "--select", "FI001", "--output-format", "full", ".").output
    assert "  = note: class total" in text
    assert "  = note: trained by `trainer.fit(...)` at train.py:4\n  = note: strategy 'fsdp' at train.py:3\n" in text
    found = json.loads(cli("check", "--no-cache", "--select", "FI001", "--output-format", "json", ".").output)
    assert {"code", "name", "message", "filename", "location", "end_location", "fix", "notes"} <= set(found[0])
    assert any(n["message"].startswith("class total") for n in found[0]["notes"]) and found[1]["notes"] == []
    assert {"message": "strategy 'fsdp'", "filename": "train.py", "location": {"row": 3, "column": 1}} in found[0][
        "notes"
    ]
    sarif = json.loads(cli("check", "--no-cache", "--select", "FI001", "--output-format", "sarif", ".").output)
    related = sarif["runs"][0]["results"][0]["relatedLocations"]
    assert any(r["message"]["text"].startswith("class total") for r in related)
    assert {
        "id": 1,
        "message": {"text": "strategy 'fsdp'"},
        "physicalLocation": {"artifactLocation": {"uri": "train.py"}, "region": {"startLine": 3, "startColumn": 1}},
    } in related


def test_fix_availability_and_applicability_are_enums():
    assert all(isinstance(rule.fixable, FixAvailability) for rule in Registry.default().all())
    found = lint_snippet(LargeLayerInInit, GPT, {"train.py": TRAIN}).findings
    assert isinstance(found[0].fix.applicability, Applicability) and found[0].fix.applicability == "safe"

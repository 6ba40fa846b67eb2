"""Diagnostics like ruff's: a one-sentence message, the evidence as notes (once per class for FI001), the
no-fix reason once; notes in text (`= note:`), JSON (`notes`) and SARIF (`relatedLocations`)."""

import json
import textwrap

from fastinit_lint.diagnostics import Applicability, FixAvailability
from fastinit_lint.engine.registry import Registry
from fastinit_lint.engine.testing import lint_snippet
from fastinit_rules.large_layer_in_init import LargeLayerInInit

GPT = textwrap.dedent('''
    import lightning as L
    from torch import nn

    class GPT(L.LightningModule):
        def __init__(self, vocab=50_304, dim=1024, lr=1e-3):
            super().__init__()
            self.save_hyperparameters()
            self.lr = lr
            self.embed = nn.Embedding(vocab, dim)
            self.head = nn.Linear(dim, vocab)
    ''').lstrip()
TRAIN = "import lightning as L\nfrom snippet import GPT\ntrainer = L.Trainer(strategy='fsdp')\ntrainer.fit(GPT())\n"


def test_fi001_states_its_evidence_once_per_class_as_notes_without_unused_defaults():
    first, second = lint_snippet(LargeLayerInInit, GPT, {"train.py": TRAIN}).findings
    assert "train.py" not in first.message and "class total" not in first.message  # one sentence, no evidence
    notes = [str(n) for n in first.notes]
    assert any("trained by `trainer.fit(...)` at train.py:4 with strategy 'fsdp' at train.py:3" in n for n in notes)
    assert any(n.startswith("class total") and "default vocab=50304, default dim=1024" in n for n in notes), notes
    assert not any("lr=" in n for n in notes), notes  # read only by `self.lr = lr`: not part of the size
    assert second.notes == ()


def test_the_reason_for_no_fix_is_said_once(cli, project):
    (project / "a.py").write_text("from net import Big\ndef f(device):\n    m = Big()\n    m.to(device)\n")
    (project / "net.py").write_text("from torch import nn\nclass Big(nn.Module):\n    def __init__(self):\n"
                                    "        super().__init__()\n        self.proj = nn.Linear(16_384, 16_384)\n")
    out = cli("check", "--no-cache", "--select", "FI007", "--output-format", "full", "a.py").output
    assert out.count("cannot tell whether `device` is a device or a dtype") == 1, out
    assert "  = note: no automatic fix: cannot tell whether `device` is a device or a dtype\n" in out


def test_notes_in_text_json_and_sarif(cli, project):
    (project / "snippet.py").write_text(GPT)
    (project / "train.py").write_text(TRAIN)
    text = cli("check", "--no-cache", "--select", "FI001", "--output-format", "full", "snippet.py").output
    assert "  = note: class total" in text and "  = note: trained by `trainer.fit(...)` at " in text
    found = json.loads(cli("check", "--no-cache", "--select", "FI001", "--output-format", "json", "snippet.py").output)
    assert {"code", "name", "message", "filename", "location", "end_location", "fix", "notes"} <= set(found[0])
    assert any(n["message"].startswith("class total") for n in found[0]["notes"]) and found[1]["notes"] == []
    sarif = json.loads(cli("check", "--no-cache", "--select", "FI001", "--output-format", "sarif", "snippet.py").output)
    related = sarif["runs"][0]["results"][0]["relatedLocations"]
    assert any(r["message"]["text"].startswith("class total") for r in related)


def test_fix_availability_and_applicability_are_enums():
    assert all(isinstance(rule.fixable, FixAvailability) for rule in Registry.default().all())
    found = lint_snippet(LargeLayerInInit, GPT, {"train.py": TRAIN}).findings
    assert isinstance(found[0].fix.applicability, Applicability) and found[0].fix.applicability == "safe"

"""FI012 in LightningCLI YAML configs: reported at the value, fixed in place, suppressible by a comment."""

from __future__ import annotations

import warnings

import yaml

CONFIG = """\
# fit with: python main.py fit --config config.yaml
trainer:
  accelerator: cpu      # comments and spacing are kept
  precision: bf16       # memory
  logger: false
model:
  precision: 16         # the model's own argument: not the Trainer's
"""


def test_fix_rewrites_only_the_value_and_lightning_reads_the_same_precision(cli, project):
    (project / "config.yaml").write_text(CONFIG)
    result = cli("--output-format", "concise", ".")
    assert result.exit_code == 1
    assert "config.yaml:4:14: FI012 [*] `precision: bf16` is Lightning's legacy alias for \"bf16-mixed\"" in result.output
    assert cli("--fix", ".").exit_code == 0
    fixed = (project / "config.yaml").read_text()
    assert fixed == CONFIG.replace("precision: bf16 ", "precision: bf16-mixed ", 1)  # the value's text only

    import lightning as L

    def trainer_precision(text: str) -> tuple[str, list[str]]:
        """What the Trainer makes of the config's `trainer:` values, as LightningCLI's YAML loader reads them."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            trainer = L.Trainer(**yaml.safe_load(text)["trainer"], enable_progress_bar=False,
                                enable_model_summary=False)
        return trainer.precision, [str(w.message) for w in caught if "historical reasons" in str(w.message)]

    before, after = trainer_precision(CONFIG), trainer_precision(fixed)
    assert before[0] == after[0] == "bf16-mixed"
    assert before[1] and not after[1]  # Lightning's own warning about the alias, gone once fixed


def test_noqa_comment_and_add_noqa(cli, project):
    (project / "config.yaml").write_text("trainer:\n  precision: 16  # noqa: FI012\n")
    assert cli(".").exit_code == 0
    (project / "config.yaml").write_text("trainer:\n  precision: '16'\n")
    assert cli("--add-noqa", ".").exit_code == 0
    assert (project / "config.yaml").read_text() == "trainer:\n  precision: '16'  # noqa: FI012\n"
    assert cli(".").exit_code == 0

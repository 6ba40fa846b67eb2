"""FI012 in YAML configs (LightningCLI's, and Hydra's that a script passes to a Lightning Trainer): reported at
the value, fixed in place, suppressible by a comment."""

from __future__ import annotations

import warnings

import pytest
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
    assert (
        'config.yaml:4:14: FI012 [*] `precision: bf16` is Lightning\'s legacy alias for "bf16-mixed"' in result.output
    )
    assert cli("--fix", ".").exit_code == 0
    fixed = (project / "config.yaml").read_text()
    assert fixed == CONFIG.replace("precision: bf16 ", "precision: bf16-mixed ", 1)  # the value's text only

    import lightning as L

    def trainer_precision(text: str) -> tuple[str, list[str]]:
        """What the Trainer makes of the config's `trainer:` values, as LightningCLI's YAML loader reads them."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            trainer = L.Trainer(
                **yaml.safe_load(text)["trainer"], enable_progress_bar=False, enable_model_summary=False
            )
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


HYDRA_CONFIG = "name: run\ntrainer:\n  precision: 16\nexp_manager: {}\n"


@pytest.mark.parametrize(
    "script, reported",
    [
        # Hydra's arguments by position, the config named with its suffix.
        (
            "import hydra\nimport lightning as L\n\n@hydra.main('conf', 'run.yaml')\ndef main(c):\n"
            "    L.Trainer(**c.trainer)\n",
            True,
        ),
        # The config's `trainer` by subscript, or through a conversion.
        (
            "import hydra\nimport lightning as L\n\n@hydra.main(config_path='conf', config_name='run')\ndef main(cfg):\n"
            "    L.Trainer(**cfg['trainer'])\n",
            True,
        ),
        (
            "import hydra\nimport lightning as L\nfrom omegaconf import OmegaConf\n\n"
            "@hydra.main(config_path='conf', config_name='run')\ndef main(cfg):\n"
            "    L.Trainer(**OmegaConf.to_container(cfg.trainer))\n",
            True,
        ),
        # The script removes the precision before the Trainer sees the rest (by `del`, `pop`, or item assignment).
        (
            "import hydra\nimport lightning as L\n\n@hydra.main(config_path='conf', config_name='run')\ndef main(cfg):\n"
            "    del cfg.trainer['precision']\n    L.Trainer(**cfg.trainer)\n",
            False,
        ),
        (
            "import hydra\nimport lightning as L\n\n@hydra.main(config_path='conf', config_name='run')\ndef main(cfg):\n"
            "    plugin = Plugin(cfg.trainer.pop('precision'))\n    L.Trainer(**cfg.trainer)\n",
            False,
        ),
        (
            "import hydra\nimport lightning as L\n\n@hydra.main(config_path='conf', config_name='run')\ndef main(cfg):\n"
            "    cfg.trainer['precision'] = None\n    L.Trainer(**cfg.trainer)\n",
            False,
        ),
        # Another script's config directory; a package config path Hydra resolves elsewhere.
        (
            "import hydra\nimport lightning as L\n\n@hydra.main(config_path='other', config_name='run')\ndef main(cfg):\n"
            "    L.Trainer(**cfg.trainer)\n",
            False,
        ),
        (
            "import hydra\nimport lightning as L\n\n@hydra.main(config_path='pkg://conf', config_name='run')\ndef main(cfg):\n"
            "    L.Trainer(**cfg.trainer)\n",
            False,
        ),
        # The Trainer of another function, not given this config.
        (
            "import hydra\nimport lightning as L\n\n@hydra.main(config_path='conf', config_name='run')\ndef main(cfg):\n"
            "    build(cfg)\n\ndef other(cfg):\n    L.Trainer(**cfg.trainer)\n",
            False,
        ),
    ],
)
def test_a_hydra_config_is_reported_when_its_script_gives_lightning_its_precision(cli, project, script, reported):
    (project / "conf").mkdir()
    (project / "conf" / "run.yaml").write_text(HYDRA_CONFIG)
    (project / "train.py").write_text(script)
    result = cli("--output-format", "concise", "--select", "FI012", ".")
    assert ("conf/run.yaml:3:14: FI012" in result.output) == reported, result.output

"""FI012 ambiguous-precision-alias."""

from __future__ import annotations

from fastinit_lint.api import (
    FABRIC_QNAMES,
    LEGACY_MIXED,
    PRECISION_FLAGS_SINCE,
    TRAINER_QNAMES,
    Invalid,
    Rule,
    TextReport,
    Valid,
    cst,
    fix,
)

from ._flow import keyword, literal, own_calls
from ._lightning import runs_older_lightning


_NEMO_CONFIG = """\
name: megatron_gpt
trainer:
  precision: 16
  devices: 1
exp_manager:
  explicit_log_dir: null
model:
  hidden_size: 64
"""
_TTS_SCRIPT = """
    import lightning.pytorch as pl
    from nemo.core.config import hydra_runner

    @hydra_runner(config_path="conf", config_name="{name}")
    def main(cfg):
        trainer = pl.Trainer(**cfg.trainer)
        trainer.fit(Model(cfg.model))
    """


class AmbiguousPrecisionAlias(Rule):
    """`precision=16`, `"16"` or `"bf16"`: legacy aliases that mean *mixed* precision.

    ## What it flags
    The `precision` argument of a `Trainer` or `Fabric` (any of `lightning`, `lightning.pytorch`,
    `pytorch_lightning`, `lightning.fabric`, `lightning_fabric`) given as `16`, `"16"` or `"bf16"`, also as a
    branch of a conditional expression (`32 if args.fp32 else 16`: reported at that branch); and
    `trainer: precision:` (`precision: 16`, `bf16`) in a YAML config whose `trainer:` mapping Lightning reads,
    reported in the YAML file at the value:
    - a LightningCLI config: all its top-level keys are ones LightningCLI accepts (`trainer`, `model`, `data`,
      `seed_everything`, ...; it rejects any other), or its `model:`/`data:` is a `class_path`;
    - a Hydra config that a script loads (`@hydra.main(config_path=..., config_name=...)`, NeMo's
      `@hydra_runner(...)`, `OmegaConf.load("...yaml")`) and whose `trainer` it passes to a Lightning
      `Trainer(**cfg.trainer)`, or to `hydra.utils.instantiate(cfg.trainer, ...)` when a config of its Hydra
      directory gives the trainer a Lightning `_target_` (`pytorch_lightning.Trainer`); in its own function or in
      a project function it hands the config to (`train(config)`, imported inside the entry point, one level
      deep). An option of the `trainer` config group (`configs/trainer/ddp.yaml`, whose keys Hydra places under
      `trainer` unless a `# @package` header says otherwise) holds the trainer's `precision:` at its top level;
      a `# @package _global_` experiment config holds it under `trainer:`. A script naming the file decides; a config it does not name but that lies in
      its Hydra config directory (`--config-name` can pick it) is reported when every script reading that
      directory passes `cfg.trainer` to a Lightning Trainer.

    Not where the code must also run on Lightning 1.x, which has no "16-mixed" (Lightning 2.0 added the flags,
    #16783) and where `16` is the only spelling: the project pins an older release (`pytorch-lightning==1.8.6`,
    `lightning>=1.8`, `lightning<2.0` in the requirements, `pyproject.toml`, `setup.py`, `setup.cfg`,
    `environment.yml`, a Dockerfile's or shell script's `pip install`, including a version the script is given
    when it runs, `pytorch_lightning==$pl_ver`: the nearest such declaration above the file decides), or a
    LightningModule there defines a hook Lightning 2.0 removed and raises on (`training_epoch_end`,
    `validation_epoch_end`, `test_epoch_end`; a test's class local to a function does not count).

    Other configs are left alone: NeMo's Megatron scripts hand the whole config to their own
    `MegatronTrainerBuilder`, which turns `precision: 16` into a precision plugin and gives Lightning
    `precision=None`; and a config no script loads that LightningCLI would reject is not Lightning's.

    ## Why it matters
    Lightning's connector (`fabric/connector.py`) maps `16`/`"16"` to `"16-mixed"` and `"bf16"` to
    `"bf16-mixed"`, warning that the alias "is supported for historical reasons but its usage is
    discouraged". Mixed precision keeps parameters in float32, so `init_module()` does **not** build the
    model in half precision, which is what readers of `precision=16` usually expect; `"16-true"` /
    `"bf16-true"` is the flag that halves parameter memory.

    ## Example
    ```python
    import lightning as L

    trainer = L.Trainer(precision=16)
    ```

    Use instead:
    ```python
    import lightning as L

    trainer = L.Trainer(precision="16-mixed")  # or "16-true" if you meant half-precision weights
    ```

    ## Fix
    Replaces the alias with its explicit meaning (`"16-mixed"` / `"bf16-mixed"`): the whole value, or only
    the branch of a conditional expression that gives it. In YAML only the value's own text changes
    (`16` -> `16-mixed`, `'bf16'` -> `'bf16-mixed'`), so comments, quoting and layout are kept. YAML
    configs take no `# noqa` comments: exclude one with `per-file-ignores`.

    ## Fix safety
    Safe: Lightning resolves the alias to exactly that value.

    ## Options
    `lightning-version` (default: the oldest release the project's declarations admit): below 2.0 the rule is
    silent, since its advice needs Lightning 2.0.

    ## References
    - [`_convert_precision_to_unified_args`](https://github.com/Lightning-AI/pytorch-lightning/blob/2.6.5/src/lightning/fabric/connector.py#L557)
      (fabric/connector.py): "is supported for historical reasons but its usage is discouraged"
    - [Lightning discussion #18263](https://github.com/Lightning-AI/pytorch-lightning/discussions/18263): `bf16` is
      an alias of `bf16-mixed`
    - [N-Bit Precision](https://lightning.ai/docs/pytorch/stable/common/precision.html)
    """

    code = "FI012"
    name = "ambiguous-precision-alias"
    fixable = "always"
    markers = ("precision",)

    VALID = [
        Valid("import lightning as L\nL.Trainer(precision='bf16-mixed')\n"),
        Valid("import lightning as L\nL.Fabric(precision='16-true')\n"),
        Valid("class Trainer:\n    def __init__(self, precision):\n        pass\nTrainer(precision=16)\n"),
        Valid('import lightning as L\ndef main(args):\n    L.Trainer(precision=32 if args.fp32 else "bf16-mixed")\n'),
        Valid(
            "import lightning as L\ndef main(args):\n    L.Trainer(precision=args.precision)\n"
        ),  # no alias written here
        Valid(
            "trainer:\n  precision: bf16-true\nmodel:\n  precision: 16  # the model's own argument\n",
            snippet="config.yaml",
        ),
        # A Hydra config (LightningCLI would reject `name` and `exp_manager`) that no script is known to load.
        Valid(_NEMO_CONFIG, snippet="conf/megatron_gpt_config.yaml"),
        # Loaded by a script that hands the whole config to its own Trainer builder, which maps the precision to
        # a plugin of its own and gives Lightning `precision=None` (NeMo's MegatronTrainerBuilder).
        Valid(
            _NEMO_CONFIG,
            snippet="conf/megatron_gpt_config.yaml",
            files={
                "megatron_gpt_pretraining.py": """
            from nemo.core.config import hydra_runner
            from nemo.collections.nlp.parts.megatron_trainer_builder import MegatronTrainerBuilder

            @hydra_runner(config_path="conf", config_name="megatron_gpt_config")
            def main(cfg):
                trainer = MegatronTrainerBuilder(cfg).create_trainer()
                trainer.fit(model)
            """
            },
        ),
        # The script maps the precision to a plugin of its own and sets `cfg.trainer.precision = None` before
        # passing the rest on: Lightning never sees the alias (NeMo's megatron_bart_pretraining.py).
        Valid(
            _NEMO_CONFIG,
            snippet="conf/megatron_bart_config.yaml",
            files={
                "megatron_bart_pretraining.py": """
            from lightning.pytorch import Trainer
            from nemo.core.config import hydra_runner

            @hydra_runner(config_path="conf", config_name="megatron_bart_config")
            def main(cfg):
                plugins = []
                if cfg.trainer.precision in [16, "bf16"]:
                    plugins.append(MegatronHalfPrecisionPlugin(precision=cfg.trainer.precision))
                    cfg.trainer.precision = None
                trainer = Trainer(plugins=plugins, **cfg.trainer)
            """
            },
        ),
        # A precision plugin of its own beside the config's keys: Lightning raises on any `precision` with it
        # ("Received both `precision=...` and `plugins=...`"), so a working run passes none.
        Valid(
            _NEMO_CONFIG,
            snippet="conf/megatron_gpt_config.yaml",
            files={
                "megatron_gpt_test.py": """
            from lightning.pytorch import Trainer
            from nemo.core.config import hydra_runner

            @hydra_runner(config_path="conf", config_name="megatron_gpt_config")
            def main(cfg):
                trainer = Trainer(plugins=[NLPMixedPrecisionPlugin()], **cfg.trainer)
            """
            },
        ),
        # In a config directory read by one script passing `cfg.trainer` to Lightning and one that does not:
        # which of them runs this config is not known.
        Valid(
            _NEMO_CONFIG,
            snippet="conf/megatron_falcon_config.yaml",
            files={
                "megatron_gpt_pretraining.py": """
                import hydra
                from builder import MegatronTrainerBuilder

                @hydra.main(version_base=None, config_path="conf", config_name="megatron_gpt_config")
                def main(cfg):
                    MegatronTrainerBuilder(cfg).create_trainer()
                """,
                "megatron_gpt_eval.py": """
                import hydra
                from lightning.pytorch import Trainer

                @hydra.main(version_base=None, config_path="conf", config_name="megatron_gpt_inference")
                def main(cfg):
                    trainer = Trainer(**cfg.trainer)
                """,
            },
        ),
        # The project pins Lightning 1.x, where `16` is the only spelling of mixed precision.
        Valid(
            "import pytorch_lightning as pl\npl.Trainer(precision=16)\n",
            files={"requirements.txt": "torch>=1.12\npytorch-lightning==1.8.6  # 2.0 breaks the callbacks\n"},
        ),
        # `lightning>=1.8` claims Lightning 1.8 works: "16-mixed" would break it.
        Valid(
            "import lightning as L\nL.Trainer(precision='bf16')\n",
            files={"pyproject.toml": '[project]\nname = "x"\ndependencies = ["lightning>=1.8.0"]\n'},
        ),
        # A Dockerfile in the script's directory installs Lightning 1.x (the nearest declaration decides).
        Valid(
            "import pytorch_lightning as pl\npl.Trainer(precision=16)\n",
            snippet="training/run.py",
            files={
                "pyproject.toml": '[project]\nname = "x"\ndependencies = ["lightning>=2.1"]\n',
                "training/Dockerfile": "FROM nvcr.io/nvidia/pytorch:22.12-py3\n"
                "RUN pip install pytorch-lightning==1.8.6 hydra-core==1.3.1\n",
            },
        ),
        # Run by a script that installs whichever release it is given: the file must work on old ones too.
        Valid(
            "import lightning.pytorch as pl\npl.Trainer(precision=16)\n",
            snippet="legacy/train.py",
            files={
                "legacy/generate.sh": 'for v in "$@"; do\n  pip install "pytorch_lightning==$v"\n'
                "  python legacy/train.py $v\ndone\n"
            },
        ),
        # The project's LightningModule defines a hook Lightning 2.0 removed and raises on: it runs 1.x.
        Valid(
            "import pytorch_lightning as pl\nfrom model import Net\npl.Trainer(precision=16).fit(Net())\n",
            files={
                "model.py": """
                  import pytorch_lightning as pl

                  class Net(pl.LightningModule):
                      def validation_epoch_end(self, outputs):
                          pass
                  """
            },
        ),
    ]
    INVALID = [
        Invalid(
            "import lightning as L\ntrainer = L.Trainer(max_epochs=1, precision=16)\n",
            rows=(2,),
            fixed='import lightning as L\ntrainer = L.Trainer(max_epochs=1, precision="16-mixed")\n',
            message_contains=("float32",),
        ),
        Invalid(
            "from lightning_fabric import Fabric as F\nfabric = F(precision='bf16')\n",
            rows=(2,),
            fixed='from lightning_fabric import Fabric as F\nfabric = F(precision="bf16-mixed")\n',
        ),
        Invalid(
            'import pytorch_lightning as pl\npl.Trainer(\n    precision="16",\n)\n',
            rows=(3,),
            fixed='import pytorch_lightning as pl\npl.Trainer(\n    precision="16-mixed",\n)\n',
        ),
        # Inside a function: reported once (the module-level pass does not descend into `def`s).
        Invalid(
            "import lightning as L\n\ndef main():\n    trainer = L.Trainer(precision=16)\n",
            rows=(4,),
            fixed='import lightning as L\n\ndef main():\n    trainer = L.Trainer(precision="16-mixed")\n',
        ),
        # The project requires Lightning 2.x; a test's own model (local to a function) defining a removed hook
        # checks that Lightning raises, and says nothing of the release the project runs.
        Invalid(
            "import lightning as L\nL.Trainer(precision=16)\n",
            rows=(2,),
            fixed='import lightning as L\nL.Trainer(precision="16-mixed")\n',
            files={
                "requirements.txt": "lightning>=2.0,<3\n",
                "test_hooks.py": """
                    import pytest
                    import lightning as L

                    def test_removed_hook():
                        class Old(L.LightningModule):
                            def training_epoch_end(self, outputs):
                                pass
                        with pytest.raises(NotImplementedError):
                            L.Trainer().fit(Old())
                    """,
            },
        ),
        # A LightningCLI config: reported and fixed in the YAML, at the value (its quotes and the comments kept).
        Invalid(
            """
            # fit with: python main.py fit --config config.yaml
            trainer:
              precision: 16  # memory
              strategy: auto
            model:
              dim: 64
            """,
            rows=(3,),
            snippet="config.yaml",
            message_contains=("`precision: 16`", '"16-mixed"'),
            fixed="""
            # fit with: python main.py fit --config config.yaml
            trainer:
              precision: 16-mixed  # memory
              strategy: auto
            model:
              dim: 64
            """,
        ),
        Invalid(
            "trainer:\n  precision: 'bf16'\n",
            rows=(2,),
            snippet="config.yml",
            fixed="trainer:\n  precision: 'bf16-mixed'\n",
        ),
        # A Hydra config that a script loads and passes to a Lightning Trainer.
        Invalid(
            _NEMO_CONFIG,
            rows=(3,),
            snippet="conf/fastpitch.yaml",
            fixed=_NEMO_CONFIG.replace("precision: 16", "precision: 16-mixed"),
            message_contains=(
                "loaded by `@hydra_runner(config_path='conf', config_name='fastpitch')`",
                "`cfg.trainer` goes to the Lightning Trainer at fastpitch.py:6",
            ),
            files={"fastpitch.py": _TTS_SCRIPT.format(name="fastpitch")},
        ),
        # Not named by the script, but in its Hydra config directory (`--config-name de/fastpitch_22050` picks
        # it), and every script reading that directory passes `cfg.trainer` to Lightning.
        Invalid(
            _NEMO_CONFIG,
            rows=(3,),
            snippet="conf/de/fastpitch_22050.yaml",
            fixed=_NEMO_CONFIG.replace("precision: 16", "precision: 16-mixed"),
            message_contains=("in the config directory of `@hydra_runner(",),
            files={
                "fastpitch.py": _TTS_SCRIPT.format(name="fastpitch"),
                "hifigan.py": _TTS_SCRIPT.format(name="hifigan"),
            },
        ),
        # Loaded with OmegaConf from the script's directory.
        Invalid(
            _NEMO_CONFIG,
            rows=(3,),
            snippet="configs/train.yaml",
            fixed=_NEMO_CONFIG.replace("precision: 16", "precision: 16-mixed"),
            message_contains=("loaded by `OmegaConf.load('configs/train.yaml')`",),
            files={
                "train.py": """
                    import lightning as L
                    from omegaconf import OmegaConf

                    def main():
                        cfg = OmegaConf.load("configs/train.yaml")
                        trainer = L.Trainer(**OmegaConf.to_container(cfg.trainer))
                    """
            },
        ),
        # One branch of a conditional expression: reported at that branch, which alone the fix rewrites.
        Invalid(
            """
            import lightning as L

            def main(args):
                trainer = L.Trainer(
                    precision=32 if args.fp32 else 16,
                )
            """,
            rows=(5,),
            message_contains=("`16` (the precision when `args.fp32` is false)", '"16-mixed"'),
            fixed="""
            import lightning as L

            def main(args):
                trainer = L.Trainer(
                    precision=32 if args.fp32 else "16-mixed",
                )
            """,
        ),
    ]

    @classmethod
    def relevant(cls, facts, index, settings) -> bool:
        # Phase 1 records every Trainer/Fabric call, bound or not, with its precision when it is a literal, and
        # whether its `precision=` argument is one only the syntax tree reads (a conditional expression, `+16`):
        # an argument naming a variable (`precision=args.precision`) is no alias the rule reports.
        return any(
            runner.precision in LEGACY_MIXED or runner.precision_expression for runner in facts.runners
        ) and not runs_older_lightning(facts, index, PRECISION_FLAGS_SINCE)

    @classmethod
    def check_yaml(cls, text: str, facts, index) -> list[TextReport]:
        if not any(runner.precision in LEGACY_MIXED for runner in facts.runners) or runs_older_lightning(
            facts, index, PRECISION_FLAGS_SINCE
        ):
            return []
        reader = index.config_readers.precision_reader(facts)
        if reader is None:  # nothing hands this precision to Lightning (NeMo's Megatron configs)
            return []
        from fastinit_lint.api import trainer_precision  # PyYAML: imported only when a config is read

        node = trainer_precision(text, facts.trainer_group)
        if node is None or node.value not in LEGACY_MIXED:
            return []
        start, end = node.start_mark.index, node.end_mark.index
        explicit = LEGACY_MIXED[node.value]
        quote = text[start] if node.style in ("'", '"') else ""
        return [
            TextReport(
                start,
                end,
                alias_message(f"`precision: {text[start:end]}`", explicit),
                f"{quote}{explicit}{quote}",
                f'Replace with "{explicit}"',
                reader,
            )
        ]

    def visit_Module(self, node: cst.Module) -> None:
        for call in own_calls(node):
            self._check(call)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        for call in own_calls(node):
            self._check(call)

    def _check(self, node: cst.Call) -> None:
        if not self.context.matches(node.func, TRAINER_QNAMES | FABRIC_QNAMES):
            return
        arg = keyword(node, "precision")
        if arg is None:
            return
        code = self.context.code
        for value, alias, when in _aliases(arg.value, ""):
            explicit = LEGACY_MIXED[alias]
            shown = (
                f"`precision={code(arg.value)}`"
                if value is arg.value
                else f"`{code(value)}` (the precision when {when})"
            )
            self.report(
                arg if value is arg.value else value,
                alias_message(shown, explicit),
                fix=fix({value: cst.SimpleString(f'"{explicit}"')}, f'Replace with "{explicit}"'),
            )


def alias_message(shown: str, explicit: str) -> str:
    return (
        f'{shown} is Lightning\'s legacy alias for "{explicit}": parameters stay float32 even inside '
        f'`init_module()`; write "{explicit}" (or the "-true" flag if half-precision weights were intended); '
        f'Lightning warns that the alias "is supported for historical reasons but its usage is discouraged"'
    )


def _aliases(value: cst.BaseExpression, when: str) -> list[tuple[cst.BaseExpression, str, str]]:
    """The legacy aliases `value` can give, with the condition that picks each: itself, or the branches of a
    conditional expression (`32 if args.fp32 else 16`), nested ones included."""
    if isinstance(value, cst.IfExp):
        test = cst.Module([]).code_for_node(value.test)
        return [
            *_aliases(value.body, _both(when, f"`{test}` is true")),
            *_aliases(value.orelse, _both(when, f"`{test}` is false")),
        ]
    literal_value = literal(value)
    if (
        isinstance(literal_value, bool)
        or not isinstance(literal_value, (int, str))
        or str(literal_value) not in LEGACY_MIXED
    ):
        return []
    return [(value, str(literal_value), when)]


def _both(outer: str, inner: str) -> str:
    return f"{outer} and {inner}" if outer else inner

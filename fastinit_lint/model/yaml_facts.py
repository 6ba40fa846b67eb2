"""YAML configs: a top-level `trainer:` mapping is a Trainer construction too, when Lightning reads it: a
LightningCLI config (`cli_config`), or a Hydra config a script passes to a Trainer (see config_readers).

Parsed with `yaml.compose` (not `safe_load`) to keep line numbers for messages, and to reject duplicate
keys, which PyYAML would otherwise resolve silently to the last one. Composed by LibYAML when PyYAML has it
(the same nodes and marks, ~10x faster than PyYAML's pure-Python scanner); a file LibYAML rejects is composed
again by the pure-Python loader, so bad YAML is reported in PyYAML's words, as without LibYAML.
"""

from __future__ import annotations

import os
import re

import yaml

from .facts import FileFacts, RunnerFact, TrainFact
from .site import Site
from ..knowledge.lightning import STRATEGY_CLASSES, Strategy, deepspeed_stage, strategy_from_name
from .names import FileNames
from ..diagnostics import SourceError

_FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# A top-level `trainer:` key is the word itself, quoted or not: never `pl_trainer`, `trainer_cfg`,
# `${trainer.devices}` or `lightning.pytorch.trainer.Trainer`, which Hydra configs are full of. A file without
# it configures no Trainer and is not composed at all.
_TRAINER_WORD = re.compile(r"(?<![\w.$-])trainer(?![\w.-])")
_PACKAGE = re.compile(r"^#\s*@package\s+(\S+)", re.MULTILINE)


def _mapping(node: yaml.Node | None) -> dict[str, yaml.Node]:
    if not isinstance(node, yaml.MappingNode):
        return {}
    result: dict[str, yaml.Node] = {}
    for key, value in node.value:
        if isinstance(key, yaml.ScalarNode):
            if key.value in result:
                mark = key.start_mark
                raise SourceError(f"duplicate key '{key.value}' in YAML mapping", mark.line + 1, mark.column + 1)
            result[key.value] = value
    return result


def _check_duplicates(node: yaml.Node) -> None:
    if isinstance(node, yaml.MappingNode):
        _mapping(node)
        for _, value in node.value:
            _check_duplicates(value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _check_duplicates(item)


def _strategy(node: yaml.Node | None) -> Strategy:
    if node is None:
        return Strategy("auto")
    if isinstance(node, yaml.ScalarNode):
        return strategy_from_name(node.value)
    spec = _mapping(node)
    class_path = spec.get("class_path")
    if isinstance(class_path, yaml.ScalarNode):
        kind = STRATEGY_CLASSES.get(class_path.value.rsplit(".", 1)[-1])
        if kind == "deepspeed":
            stage = _mapping(spec.get("init_args")).get("stage") if spec.get("init_args") else None
            return deepspeed_stage(stage.value if isinstance(stage, yaml.ScalarNode) else None)
        if kind is not None:
            return Strategy(kind)
    return Strategy(None)


def _compose(text: str) -> yaml.Node | None:
    # LibYAML's marks do not count a byte-order mark (one left in the text after the decoder took the first),
    # PyYAML's do: rules slice the text at a node's marks, so such a text is composed by PyYAML.
    if _FAST_LOADER is not yaml.SafeLoader and "\ufeff" not in text:
        try:
            return yaml.compose(text, Loader=_FAST_LOADER)
        except yaml.YAMLError:
            pass
    return yaml.compose(text, Loader=yaml.SafeLoader)


# The top-level keys LightningCLI's parser accepts; jsonargparse rejects any other ("Option 'exp_manager.name'
# is not accepted"), so a config holding one (NeMo's Hydra configs: `name`, `exp_manager`) is not LightningCLI's.
_CLI_KEYS = frozenset({"seed_everything", "trainer", "model", "data", "optimizer", "lr_scheduler", "ckpt_path"})


def _cli_config(root: dict[str, yaml.Node]) -> bool:
    """Whether LightningCLI can read this config: all its keys are the CLI's, or its model or data is given as
    a `class_path` (jsonargparse's syntax; a CLI that adds arguments of its own has more keys)."""
    if root.keys() <= _CLI_KEYS:
        return True
    return any(
        isinstance(root.get(key), yaml.MappingNode) and "class_path" in _mapping(root[key]) for key in ("model", "data")
    )


def _in_trainer_group(path: str, text: str) -> bool:
    """An option of Hydra's `trainer` config group: a file in a `trainer/` directory, whose keys Hydra places
    under `trainer` (its default package) unless a `# @package` header says otherwise."""
    if os.path.basename(os.path.dirname(path)) != "trainer":
        return False
    header = _PACKAGE.search(text)
    return header is None or header[1] == "trainer"


def yaml_facts(filename: str, text: str, path: str = "") -> FileFacts:
    """`path`: absolute, to match the config with the scripts loading it (ConfigLoad)."""
    facts = FileFacts(filename, "", FileNames("", False), path=path)
    group = _in_trainer_group(path or filename, text)
    if not group and ("trainer" not in text or not _TRAINER_WORD.search(text)):
        return facts
    try:
        root = _compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SourceError(
            f"invalid YAML: {problem}", (mark.line + 1) if mark else 1, (mark.column + 1) if mark else 1
        ) from None
    if root is None:
        return facts
    _check_duplicates(root)
    trainer = root if group else _mapping(root).get("trainer")
    if not isinstance(trainer, yaml.MappingNode):
        return facts
    facts.trainer_group = group
    facts.cli_config = not group and _cli_config(_mapping(root))
    fields = _mapping(trainer)
    target = fields.get("_target_")
    facts.trainer_target = target.value if isinstance(target, yaml.ScalarNode) else None
    strategy_node = fields.get("strategy")
    precision_node = fields.get("precision")
    key = trainer if group else next(k for k, v in root.value if v is trainer)
    site = Site(filename, key.start_mark.line + 1)
    facts.runners.append(
        RunnerFact(
            kind="trainer",
            bound_to=None,
            scope=(),
            site=site,
            strategy=_strategy(strategy_node),
            strategy_site=Site(filename, strategy_node.start_mark.line + 1) if strategy_node else site,
            precision=precision_node.value
            if isinstance(precision_node, yaml.ScalarNode)
            else ("32-true" if precision_node is None else None),
        )
    )
    model = _mapping(root).get("model")
    class_path = _mapping(model).get("class_path") if isinstance(model, yaml.MappingNode) else None
    if isinstance(class_path, yaml.ScalarNode) and isinstance(class_path.value, str) and class_path.value:
        facts.trains.append(
            TrainFact("class_path", None, (), Site(filename, class_path.start_mark.line + 1), (class_path.value,))
        )
    return facts


def trainer_precision(text: str, group: bool = False) -> yaml.ScalarNode | None:
    """The scalar of `trainer: precision:` (top-level `precision:` in a `trainer` group option), with its marks
    (where its text starts and ends), for rules that report and fix the value in place; None when there is
    none. Only files whose facts show such a value are asked; composed as their facts were, so a config the
    facts read is read here too."""
    try:
        root = _compose(text)
    except yaml.YAMLError:
        return None
    trainer = root if group else _mapping(root).get("trainer") if root is not None else None
    precision = _mapping(trainer).get("precision") if trainer is not None else None
    return precision if isinstance(precision, yaml.ScalarNode) else None

"""YAML configs: LibYAML and PyYAML's own loader give the same facts and the same errors, and files that
cannot configure a Trainer are not composed."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import HealthCheck, given, settings, strategies as st

from fastinit_lint.model import yaml_facts as module
from fastinit_lint.diagnostics import SourceError

SEEDS = [
    "trainer:\n  strategy: fsdp\n  precision: bf16-mixed\nmodel:\n  class_path: pkg.model.GPT\n",
    "trainer:\n  strategy:\n    class_path: lightning.pytorch.strategies.DeepSpeedStrategy\n    init_args:\n"
    "      stage: 3\n",
    "# @package _global_\ndefaults:\n  - override /trainer: ddp\ntrainer:\n  max_epochs: ${oc.env:EPOCHS}\n",
    "  trainer:\n    strategy: fsdp\n",  # a root mapping may be indented as a whole
    '{"trainer": {strategy: deepspeed_stage_2, precision: 16}, model: {class_path: m.M}}\n',
    "x: &t trainer\n*t : {strategy: fsdp}\n",  # an alias as the key
    "%YAML 1.3\n---\ntrainer:\n  strategy: fsdp\n",  # LibYAML refuses the version, PyYAML accepts it
    "trainer:\n  strategy: [fsdp\n",
    "trainer:\n  strategy: fsdp\n  strategy: ddp\n",
    "trainer:\n\t- y\n",
    "trainer: *undefined\n",
    "---\ntrainer: 1\n---\ntrainer: 2\n",
]


def _outcome(text: str):
    try:
        facts = module.yaml_facts("c.yaml", text)
    except SourceError as exc:
        return ("error", exc.message, exc.row, exc.column)
    return ("facts", facts.runners, facts.trains)


def _pure_python(monkeypatch) -> None:
    monkeypatch.setattr(module, "_FAST_LOADER", yaml.SafeLoader)


def test_libyaml_is_used_when_pyyaml_has_it():
    if not yaml.__with_libyaml__:
        pytest.skip("PyYAML without LibYAML here: only the pure-Python loader can run")
    assert module._FAST_LOADER is yaml.CSafeLoader


def _agree(monkeypatch, text: str) -> None:
    """Where PyYAML's own loader accepts a config, LibYAML gives the same facts; where LibYAML rejects one,
    the error is PyYAML's. (LibYAML accepts some text PyYAML's scanner refuses, such as a tab before a
    value; such a config is now read, not reported.)"""
    fast = _outcome(text)
    _pure_python(monkeypatch)
    pure = _outcome(text)
    monkeypatch.undo()
    if pure[0] == "facts" or (fast[0] == "error" and fast[1].startswith("invalid YAML")):
        assert fast == pure


@pytest.mark.parametrize("text", SEEDS)
def test_libyaml_and_pure_python_agree(monkeypatch, text):
    _agree(monkeypatch, text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seed=st.sampled_from(SEEDS),
    edits=st.lists(
        st.tuples(
            st.integers(0, 200),
            st.sampled_from(
                [
                    "",
                    "\t",
                    " ",
                    ":",
                    "- ",
                    "{",
                    "]",
                    "'",
                    '"',
                    "&a ",
                    "*a",
                    "? ",
                    "#",
                    "\n",
                    "trainer: x\n",
                    "  ",
                    "%",
                    "---\n",
                    "!!str ",
                    "|\n",
                    ">-\n",
                    "\\",
                    ",",
                    "\r",
                    "\u2028",
                ]
            ),
        ),
        max_size=3,
    ),
)
def test_libyaml_and_pure_python_agree_on_damaged_configs(monkeypatch, seed, edits):
    text = seed
    for cut, insert in edits:
        text = text[:cut] + insert + text[cut:]
    _agree(monkeypatch, text)


@pytest.mark.parametrize(
    "text",
    [
        "model:\n  max_epochs: ${trainer.max_epochs}\n  broken: [\n",
        "callbacks:\n  - class_path: lightning.pytorch.trainer.connectors.X\n  broken: [\n",
        "pl_trainer_args:\n  devices: 2\n  devices: 4\n",
    ],
)
def test_configs_that_cannot_hold_a_trainer_key_are_not_composed(text):
    """Only a file that can configure a Trainer is composed (and so has its YAML checked): the word `trainer`
    inside an interpolation, a dotted path or a longer name cannot be a top-level key."""
    assert _outcome(text) == ("facts", [], [])


def _precision(text: str):
    try:
        node = module.trainer_precision(text)
    except SourceError as exc:  # a duplicate key
        return ("error", exc.message, exc.row, exc.column)
    return None if node is None else (node.start_mark.index, node.end_mark.index, node.value, node.style or None)


@pytest.mark.parametrize(
    "text",
    [
        *SEEDS,
        '# héllo 😀\ntrainer:\n  name: "ünï 😀"\n  precision: 16  # x\n',  # marks count characters, not bytes
        'trainer:\r\n  precision: "bf16"\r\n',
        "# a\ufeffb\ntrainer:\n  precision: 16\n",  # a byte-order mark LibYAML's marks do not count
    ],
)
def test_trainer_precision_libyaml_and_pure_python_agree(monkeypatch, text):
    """FI012 replaces the text between the precision scalar's marks: LibYAML's must be PyYAML's."""
    fast = _precision(text)
    _pure_python(monkeypatch)
    pure = _precision(text)
    if pure is not None:
        assert fast == pure


@pytest.mark.skipif(not yaml.__with_libyaml__, reason="PyYAML without LibYAML: both read with the same loader")
def test_a_config_the_facts_read_is_read_by_its_rule_too(cli, project):
    """A tab before a value: LibYAML reads it, PyYAML's scanner refuses it. The facts (which send the config to
    FI012) and FI012's own reading of the value use one loader, so the alias the facts saw is reported."""
    (project / "config.yaml").write_text("trainer:\n  precision:\t16\n")
    result = cli("--output-format", "concise", ".")
    assert "config.yaml:2:14: FI012 [*] `precision: 16` is Lightning's legacy alias" in result.output

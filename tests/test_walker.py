"""The statement walker rules run under sees every definition a full LibCST traversal sees, with the same
scopes, and a rule's findings do not depend on which other rules are enabled."""

from __future__ import annotations

import shutil
from pathlib import Path

import hypothesmith
import libcst as cst
import pytest
from engine_rules import TEST_RULES
from hypothesis import HealthCheck, given, settings, strategies as st

from fastinit_lint.engine.checker import CheckOptions, _ScopeTracker, walk_statements
from fastinit_lint.workspace.config import load_settings
from fastinit_lint.engine.pipeline import RunRequest, run
from fastinit_lint.engine.registry import Registry
from fastinit_lint.engine.rule import Context

ROOT = Path(__file__).parent.parent
DEFINITIONS = ("Module", "ClassDef", "FunctionDef")
NESTED = """\
import lightning as L
match command:
    case "train":
        def main():
            return L.Trainer(precision=16)
    case {"model": name} if name:
        class Local:
            def method(self):
                pass
    case _:
        try:
            pass
        except* ValueError:
            def handler():
                pass
while x:
    pass
else:
    class InElse:
        pass
with a:
    async def f():
        async with b:
            def g():
                pass
"""


def _visits(module: cst.Module, walk) -> list[tuple[str, int, tuple]]:
    context = Context("m.py", module, None, None, None)
    seen: list[tuple[str, int, tuple]] = []

    def recorder(event: str):
        return lambda node: seen.append((f"{event}_{type(node).__name__}", id(node), context.scope))

    methods = {f"{event}_{kind}": [recorder(event)] for event in ("visit", "leave") for kind in DEFINITIONS}
    walk(module, methods, _ScopeTracker(context))
    return seen


def _full_traversal(module: cst.Module, methods: dict, tracker: _ScopeTracker) -> None:
    class Recorder:
        def get_visitors(self):
            return {name: callables[0] for name, callables in methods.items()}

    cst.visit_batched(module, [Recorder()], before_visit=tracker.enter, after_leave=tracker.leave)


def _assert_parity(code: str) -> None:
    module = cst.parse_module(code)
    assert _visits(module, walk_statements) == _visits(module, _full_traversal)


FILES = [*sorted((ROOT / "fastinit_lint").rglob("*.py")), *sorted((ROOT / "examples").rglob("*.py"))]


@pytest.mark.parametrize("code", [NESTED, *(p.read_text() for p in FILES)], ids=["nested", *(p.name for p in FILES)])
def test_statement_walker_visits_what_a_full_traversal_visits(code):
    _assert_parity(code)


def test_nested_source_has_definitions_in_match_cases():
    visited = [kind for kind, _, _ in _visits(cst.parse_module(NESTED), walk_statements) if kind.startswith("visit")]
    assert visited.count("visit_FunctionDef") == 5 and visited.count("visit_ClassDef") == 2


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(code=st.one_of(hypothesmith.from_grammar(), hypothesmith.from_node()))
def test_statement_walker_parity_on_generated_programs(code):
    try:
        cst.parse_module(code)
    except Exception:  # noqa: BLE001 - the grammar allows programs LibCST rejects
        return
    _assert_parity(code)


def _findings(root: Path, rules) -> set[tuple]:
    settings_ = load_settings(str(root), None, {})
    request = RunRequest([str(root)], settings_, list(rules), CheckOptions(), jobs=1, use_cache=False, write=False)
    result = run(request, Registry(list(rules)).expand)
    return {
        (f.code, f.filename, f.location.row, f.location.column, f.message) for r in result.files for f in r.findings
    }


def test_each_rule_finds_the_same_alone_as_with_all_rules(tmp_path):
    """With every rule enabled (the engine's test rules, which need a full traversal, included), each real
    rule reports exactly what it reports when selected alone."""
    project = tmp_path / "project"
    shutil.copytree(ROOT / "examples", project)
    (project / "commands.py").write_text(NESTED)
    everything = [*Registry.default().all(), *TEST_RULES]
    together = _findings(project, everything)
    real = [rule for rule in Registry.default().all() if rule.code != "FI900"]
    assert any(code == "FI012" and name.endswith("commands.py") for code, name, *_ in together)
    for rule in real:
        alone = _findings(project, [rule])
        assert alone == {f for f in together if f[0] == rule.code}, rule.code

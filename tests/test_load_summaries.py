"""Load summaries: what project functions do with the models passed to them, across files, and what that
means at run time under a real Fabric on CPU."""

from __future__ import annotations

import ast
import pickle
import sys
import textwrap

import pytest

from fastinit_lint.model.facts import forget_layout, python_facts
from fastinit_lint.model.index import ProjectIndex
from fastinit_lint.model.load_summaries import _MAX_DEPTH, CALL, LOAD, OPAQUE, Load, Outcome
from fastinit_lint.model.site import Site

HELPERS = """
    import torch

    def load_checkpoint(fabric, model, path, strict=True):
        if fabric is None:
            model.load_state_dict(torch.load(path), strict=strict)
        else:
            fabric.load_raw(path, model, strict=strict)

    def load_backbone(model, path):
        load_checkpoint(None, model.backbone, path, strict=False)
"""


@pytest.fixture
def _index(tmp_path, monkeypatch):
    """The index of a project written under tmp_path (module names come from the package layout on disk)."""
    monkeypatch.chdir(tmp_path)
    forget_layout()

    def build(files: dict[str, str]) -> ProjectIndex:
        facts = []
        for name, text in files.items():
            text = textwrap.dedent(text).lstrip("\n")
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / name).write_text(text)
            facts.append(python_facts(name, name, ast.parse(text), text))
        return ProjectIndex(facts)

    yield build
    forget_layout()


def test_a_helper_records_where_each_parameter_goes(_index):
    fact = _index({"helpers.py": HELPERS}).loads.fact("helpers.load_checkpoint")
    assert fact.params == ("fabric", "model", "path", "strict") and fact.defaults == (("strict", "True"),)
    loads = [(r.param, r.what, r.strict) for r in fact.reaches if r.kind == LOAD]
    assert loads == [("model", "load_state_dict", "=strict"), ("model", "fabric.load_raw", "=strict")]
    # The others are used in ways we do not follow: may-be-anything, never "not loaded"; once each.
    assert [r.param for r in fact.reaches if r.kind == OPAQUE] == ["fabric", "path", "strict"]


@pytest.mark.parametrize(
    "bound, strict",
    [
        ((), True),  # the helper's default
        ((("strict", "False"),), False),  # by keyword
        (((3, "False"),), False),  # by position
        (((3, "?"),), None),  # `strict=args.strict`: not known
    ],
)
def test_strict_is_passed_through_by_keyword_or_position(_index, bound, strict):
    outcome = _index({"helpers.py": HELPERS}).loads.reached(("helpers.load_checkpoint",), 1, bound)
    assert {load.strict for load in outcome.loads} == {strict}
    assert outcome.loads[0] == Load(Site("helpers.py", 5), "load_state_dict", strict)


def test_a_helper_fixing_strict_false_in_another_module_is_partial_through_a_re_export(_index):
    index = _index({"lib/__init__.py": "from .helpers import load_backbone\n", "lib/helpers.py": HELPERS})
    outcome = index.loads.reached(("lib.load_backbone",), 0, ())
    assert outcome.partial == Load(Site("lib/helpers.py", 5), "load_state_dict", False)


def test_only_calls_that_merely_report_leave_a_parameter_unloaded(_index):
    loads = _index(
        {
            "h.py": """
        import logging
        import torch

        def report(model, path):
            print(model, len(torch.load(path)))
            logging.info("%s", model)
            return model.eval()

        def swap(model, path):
            getattr(model, "load_state_dict")(torch.load(path))
    """
        }
    ).loads
    assert loads.reached(("h.report",), 0, ()) == Outcome()
    assert loads.reached(("h.swap",), 0, ()).opaque


def test_mutually_recursive_helpers_end_and_keep_what_either_does(_index):
    index = _index(
        {
            "rec.py": """
        import torch

        def even(model, path, n):
            if n:
                odd(model, path, n - 1)
            else:
                model.load_state_dict(torch.load(path))

        def odd(model, path, n):
            even(model, torch.load(path), n)  # summarized: its text can load
    """
        }
    )
    for function in ("rec.even", "rec.odd", "rec.odd"):  # the second `odd` comes from the memo
        outcome = index.loads.reached((function,), 0, ())
        assert [load.strict for load in outcome.loads] == [True] and not outcome.opaque


def test_a_chain_deeper_than_the_bound_counts_as_possibly_loaded(_index):
    steps = _MAX_DEPTH + 3
    chain = "".join(f"def f{i}(model, path):\n    f{i + 1}(model, torch.load(path))\n\n" for i in range(steps))
    last = f"def f{steps}(model, path):\n    model.load_state_dict(path, strict=False)\n"
    index = _index({"chain.py": f"import torch\n\n{chain}{last}"})
    assert index.loads.reached((f"chain.f{steps - 2}",), 0, ()).partial is not None
    deep = index.loads.reached(("chain.f0",), 0, ())
    assert deep.opaque and deep.partial is None  # not followed to the end: FI009 silent, FI002 not claimed


def test_a_dense_web_of_mutually_recursive_helpers_is_bounded(_index):
    """Every helper calls every other one: without the budget, following them is exponential."""
    count = 40
    body = "".join(f"    h{j}(model, torch.load(path))\n" for j in range(count))
    source = "import torch\n\n" + "".join(f"def h{i}(model, path):\n{body}\n" for i in range(count))
    index = _index({"web.py": source})
    calls = 0
    fact = index.loads.fact

    def counting(qualname):
        nonlocal calls
        calls += 1
        return fact(qualname)

    index.loads.fact = counting
    outcome = index.loads.reached(("web.h0",), 0, ())
    assert outcome.opaque and not outcome.loads
    assert calls <= 3 * 2_000 + count


def test_hooks_follow_self_methods_and_stop_on_cycles(_index):
    index = _index(
        {
            "helpers.py": HELPERS,
            "module.py": """
        import lightning as L
        from helpers import load_backbone

        class Base(L.LightningModule):
            def _restore(self):
                self._again()
                load_backbone(self.model, "base.pt")

            def _again(self):
                self._restore()

        class Finetune(Base):
            def setup(self, stage):
                self._restore()
    """,
        }
    )
    assert index.loads.hook_methods("module.Finetune") == {"setup": "setup", "_restore": "setup", "_again": "setup"}
    assert index.loads.hook_loads("module.Finetune").partial.where == Site("helpers.py", 5)
    assert index.loads.hook_loads("module.Base").loads == ()  # its own hooks load nothing


def test_summaries_travel_with_the_cached_facts():
    text = textwrap.dedent(HELPERS).lstrip("\n")
    facts = python_facts("helpers.py", "helpers.py", ast.parse(text), text)
    again = pickle.loads(pickle.dumps(facts))
    assert again.loaders == facts.loaders and again.digest() == facts.digest()
    backbone = next(f for f in facts.loaders if f.qualname == "helpers.load_backbone")
    assert [(r.callee, r.slot, r.bound[-1]) for r in backbone.reaches if r.kind == CALL and r.param == "model"] == [
        (("helpers.load_checkpoint",), 1, ("strict", "False"))
    ]


def test_a_partial_load_through_a_helper_leaves_empty_init_parameters_unwritten(tmp_path, monkeypatch):
    """FI002's claim, run: under a real CPU Fabric's `init_module(empty_init=True)` the head's `nn.init` is
    skipped, and the helper's `strict=False` load does not write it, so it keeps what its memory held (a known
    fill stands in for garbage); with a strict load the checkpoint writes every parameter."""
    import lightning as L
    import torch
    from torch import nn

    (tmp_path / "helpers.py").write_text(textwrap.dedent(HELPERS))
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("helpers", None)
    from helpers import load_backbone, load_checkpoint

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = nn.Linear(2, 2)
            self.head = nn.Parameter(torch.full((2,), 3.0))
            nn.init.constant_(self.head, 7.0)

    torch.save(nn.Linear(2, 2).state_dict(), tmp_path / "backbone.pt")
    torch.save(Net().state_dict(), tmp_path / "full.pt")
    fabric = L.Fabric(accelerator="cpu", devices=1)
    with fabric.init_module(empty_init=True):
        partial, full = Net(), Net()
    load_backbone(partial, tmp_path / "backbone.pt")
    load_checkpoint(None, full, tmp_path / "full.pt")
    assert torch.equal(partial.head, torch.full((2,), 3.0))  # never initialized
    assert torch.equal(full.head, torch.full((2,), 7.0))  # written by the strict load

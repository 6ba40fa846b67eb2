"""Everything a rule may use, in one module: rules import `fastinit_lint.api` and nothing else of the linter
(tests/test_layers.py checks it), so the engine and the model can change behind it.

- the rule API: `Rule`, its examples `Valid`/`Invalid`, `Context`, `fix`, `NoteAt` (evidence at a node of the
  checked file; `Site.note` for a line of another), `TextReport` (YAML findings), and FI900's code and name
  (the engine reports it);
- syntax: `cst` (LibCST, imported on first use), `child_nodes`, `descendants`, `holds_statements`, `cst_dotted`;
- knowledge of Lightning and torch: runner and strategy names, precision aliases and their dtypes, the release
  each API the advice uses appeared in (`index.older_lightning` says whether a project also runs an older one);
- the model of the user's code: runner facts, construction sites and module names (FI001's direct builds), what loads do (`UNKNOWN`, `read_only`), sizes (`Size`, `size_of`),
  and `trainer_precision` (a LightningCLI config's precision), imported on first use.
"""

from __future__ import annotations

from .engine.rule import Context, Invalid, NoteAt, Rule, TextReport, Valid, cst_dotted, fix
from .engine.suppressions import UNUSED_SUPPRESSION_CODE, UNUSED_SUPPRESSION_NAME
from .knowledge.lightning import (
    CONFIGURE_MODEL_SINCE,
    FABRIC_QNAMES,
    FLOAT32,
    LEGACY_MIXED,
    LOADING_HOOKS,
    PRECISION_FLAGS_SINCE,
    TRAINER_QNAMES,
    Strategy,
    init_dtype,
    precision_kind,
    release_text,
)
from .model.estimate import ZERO, Frame, Module, Size, Tensor, size_of
from .diagnostics import LineInsert, SourceError
from .model.facts import CAST_METHODS, PYTEST_RAISES, RunnerFact
from .model.site import Site
from .model.module_identity import module_name
from .model.load_summaries import UNKNOWN, read_only
from .model.names import collect_names, dotted_name
from .syntax.cst_children import child_nodes, descendants, holds_statements
from .syntax.lazy_libcst import cst
from .workspace.source import read_source

__all__ = [
    "CAST_METHODS",
    "CONFIGURE_MODEL_SINCE",
    "FABRIC_QNAMES",
    "FLOAT32",
    "LEGACY_MIXED",
    "LOADING_HOOKS",
    "PRECISION_FLAGS_SINCE",
    "PYTEST_RAISES",
    "TRAINER_QNAMES",
    "UNKNOWN",
    "UNUSED_SUPPRESSION_CODE",
    "UNUSED_SUPPRESSION_NAME",
    "ZERO",
    "Context",
    "Frame",
    "Invalid",
    "LineInsert",
    "Module",
    "NoteAt",
    "Rule",
    "RunnerFact",
    "Site",
    "Size",
    "SourceError",
    "Strategy",
    "Tensor",
    "TextReport",
    "Valid",
    "child_nodes",
    "collect_names",
    "cst",
    "cst_dotted",
    "descendants",
    "dotted_name",
    "fix",
    "holds_statements",
    "init_dtype",
    "module_name",
    "precision_kind",
    "read_only",
    "read_source",
    "release_text",
    "size_of",
]


def __getattr__(name: str):
    # importing PyYAML is costly and most runs read no YAML config: loaded when a rule first asks for it
    if name == "trainer_precision":
        from .model.yaml_facts import trainer_precision

        return trainer_precision
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""Runs a rule's own VALID/INVALID examples through the real engine (stricter than Fixit's harness).

Each example becomes a small project on disk (the snippet as `snippet.py` plus any `files`), checked by
the same pipeline the CLI uses. An INVALID example must produce exactly its rows; a fix must match
`fixed` exactly, with the stated safety, must re-parse, and must leave nothing for the rule to report;
a fix that appears where the example expects none is a failure, as is any file error. A message must not
say where its evidence is (`train.py:12`): each such fact is a located note, on a line of a project file.
"""

from __future__ import annotations

import ast
import os
import re
import tempfile
import textwrap
from typing import Iterator

from .checker import CheckOptions
from ..workspace.config import load_settings, parse_table
from ..diagnostics import UNSAFE, FileResult
from .pipeline import RunRequest, run
from .registry import Registry
from ..syntax.lines import python_lines
from .rule import Invalid, Rule, Valid

SNIPPET = "snippet.py"
_CITED = re.compile(r"[\w/.-]+\.(?:pyi?|ya?ml):\d+")  # `train.py:12`: where a fact is, said in text


def _dedent(code: str) -> str:
    return textwrap.dedent(code.removeprefix("\n"))


def lint_snippet(rule: type[Rule], code: str, files: dict | None = None, settings: dict | None = None,
                 fix: bool = False, unsafe: bool = False, snippet: str = SNIPPET) -> FileResult:
    registry = Registry([rule])
    with tempfile.TemporaryDirectory() as root:
        with open(os.path.join(root, "pyproject.toml"), "w") as handle:
            handle.write("[tool.fastinit-lint]\n")
        for name, content in {snippet: code, **(files or {})}.items():
            path = os.path.join(root, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(_dedent(content) if name != snippet else content)
        overrides = parse_table(dict(settings or {}), "example settings")
        resolved = load_settings(root, None, overrides)
        cwd = os.getcwd()
        os.chdir(root)
        try:
            request = RunRequest(["."], resolved, [rule], CheckOptions(fix=fix, unsafe_fixes=unsafe), jobs=1,
                                 use_cache=False, write=False)
            result = run(request, registry.expand)
        finally:
            os.chdir(cwd)
    if result.errors:
        raise AssertionError("file errors: " + "; ".join(e.line() for e in result.errors))
    return next((r for r in result.files if r.filename == snippet), FileResult(snippet))


def check_valid(rule: type[Rule], example: Valid) -> None:
    found = lint_snippet(rule, _dedent(example.code), dict(example.files), dict(example.settings),
                         snippet=example.snippet).findings
    assert not found, f"{rule.code} fired on VALID code:\n{_dedent(example.code)}\n" + "\n".join(
        f"  {f.location.row}:{f.location.column} {f.message}" for f in found)


def check_invalid(rule: type[Rule], example: Invalid) -> None:
    code = _dedent(example.code)
    found = lint_snippet(rule, code, dict(example.files), dict(example.settings), snippet=example.snippet).findings
    rows = tuple(sorted(f.location.row for f in found))
    assert rows == tuple(sorted(example.rows)), f"{rule.code}: expected findings on rows {example.rows}, got {rows}:\n{code}\n" + "\n".join(
        f"  {f.location.row}: {f.message}" for f in found)
    _check_notes(rule, found, {example.snippet: code, **{name: _dedent(text) for name, text in example.files.items()}})
    said = [" ".join([f.message, *map(str, f.all_notes())]) for f in found]  # the evidence is in the notes
    for needle in example.message_contains:
        assert any(needle in text for text in said), f"{rule.code}: no message or note contains {needle!r}: {said}"
    fixes = [f.fix for f in found if f.fix is not None]
    if example.fixed is None:
        assert not fixes, f"{rule.code}: offered a fix the example does not expect: {fixes[0].message}"
        return
    assert fixes, f"{rule.code}: example expects a fix but none was offered"
    assert all((fx.applicability == UNSAFE) == example.unsafe for fx in fixes), \
        f"{rule.code}: fix applicability {[fx.applicability for fx in fixes]} but example says unsafe={example.unsafe}"
    fixed = lint_snippet(rule, code, dict(example.files), dict(example.settings), fix=True, unsafe=example.unsafe,
                         snippet=example.snippet)
    produced = fixed.fixed_source if fixed.fixed_source is not None else code
    expected = _dedent(example.fixed)
    assert produced == expected, f"{rule.code}: fixed code differs.\n--- expected\n{expected}\n--- produced\n{produced}"
    if example.snippet.endswith(".py"):
        ast.parse(produced)
    again = lint_snippet(rule, produced, dict(example.files), dict(example.settings), snippet=example.snippet).findings
    unfixable = [f for f in found if f.fix is None]
    assert len(again) == len(unfixable) and not any(f.fix for f in again), \
        f"{rule.code}: the fixed code is still flagged: {[f.message for f in again]}"


def _check_notes(rule: type[Rule], found, files: dict[str, str]) -> None:
    """Messages say what the evidence is, located notes say where: each note on a line of a project file."""
    for finding in found:
        cited = _CITED.search(finding.message)
        assert cited is None, f"{rule.code}: the message cites {cited[0]}; give that fact a located note: {finding.message}"
        for note in finding.notes:
            if note.location is not None:
                lines = python_lines(files.get(note.filename, ""))
                assert 1 <= note.location.row <= len(lines), f"{rule.code}: note {note} points at no line of a project file"


def examples(rules: list[type[Rule]]) -> Iterator[tuple[str, type[Rule], Valid | Invalid]]:
    """(test id, rule, example) for pytest parametrization."""
    for rule in rules:
        for i, example in enumerate(rule.VALID):
            yield f"{rule.code}-valid-{i}", rule, example
        for i, example in enumerate(rule.INVALID):
            yield f"{rule.code}-invalid-{i}", rule, example


def check_example(rule: type[Rule], example: Valid | Invalid) -> None:
    if isinstance(example, Invalid):
        check_invalid(rule, example)
    else:
        check_valid(rule, example)

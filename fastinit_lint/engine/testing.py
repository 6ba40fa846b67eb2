"""Runs a rule's own VALID/INVALID examples through the real engine (stricter than Fixit's harness).

Each example becomes a small project on disk (the snippet as `snippet.py` plus any `files`), checked by
the same pipeline the CLI uses. An INVALID example must produce exactly its rows (or its `at` positions); a
fix must match `fixed` exactly, with the stated safety, must re-parse, and must leave nothing for the rule to
report; a fix that appears where the example expects none is a failure, as is any file error. A message must
not say where its evidence is (`train.py:12`): each such fact is a located note, on a line of a project file.

Two more kinds of case: the code blocks of each rule's docs (its "## Example" must be flagged, each block
after "Use instead" must not), and fixture projects, `<root>/<CODE>/<case>/`, for long or multi-file cases:
every file of the case directory is written to the project; `expected.txt` holds the findings (`findings_text`)
and `<file>.fixed` each file as all fixes (unsafe ones too) leave it. `FASTINIT_UPDATE_FIXTURES=1` rewrites
those expected files from what the rule does, for review in the diff.
"""

from __future__ import annotations

import ast
import os
import re
import tempfile
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Mapping, Sequence

from .checker import CheckOptions
from ..workspace.config import load_settings, parse_table
from ..diagnostics import UNSAFE, FileResult, Finding
from .fixes import with_inserted_lines
from .pipeline import RunRequest, run
from .registry import Registry
from ..syntax.lines import python_lines
from .rule import Invalid, Rule, Valid
from .suppressions import UNUSED_SUPPRESSION_CODE

SNIPPET = "snippet.py"
EXPECTED = "expected.txt"  # a fixture case's findings
FIXED = ".fixed"  # suffix of a fixture file's expected content after the fixes
UPDATE = "FASTINIT_UPDATE_FIXTURES"
_CITED = re.compile(r"[\w/.-]+\.(?:pyi?|ya?ml):\d+")  # `train.py:12`: where a fact is, said in text
_CODE_BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Flagged:
    """Code the rule must flag somewhere (a docs "Example": where is the docs' business)."""

    code: str


def _dedent(code: str) -> str:
    return textwrap.dedent(code.removeprefix("\n"))


def lint_project(
    rule: type[Rule], files: Mapping[str, str], settings: Mapping | None = None, fix: bool = False, unsafe: bool = False
) -> list[FileResult]:
    """Every file's findings of `rule` in `files` (name -> text, a `pyproject.toml` added unless given), checked
    as the CLI would from the project's root: with `rule` alone, or for FI900 with every rule (its findings
    are the suppressions no enabled rule used)."""
    registry = Registry([rule]) if rule.code != UNUSED_SUPPRESSION_CODE else Registry.default()
    with tempfile.TemporaryDirectory() as root:
        for name, content in {"pyproject.toml": "[tool.fastinit-lint]\n", **files}.items():
            path = os.path.join(root, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(content)
        overrides = parse_table(dict(settings or {}), "example settings")
        resolved = load_settings(root, None, overrides)
        cwd = os.getcwd()
        os.chdir(root)
        try:
            # Unused suppressions are reported only when asked; asking changes nothing for any other rule.
            options = CheckOptions(fix=fix, unsafe_fixes=unsafe, report_unused_suppressions=True)
            request = RunRequest(["."], resolved, registry.all(), options, jobs=1, use_cache=False, write=False)
            result = run(request, registry.expand)
            _with_lines_added_elsewhere(result.files)
        finally:
            os.chdir(cwd)
    if result.errors:
        raise AssertionError("file errors: " + "; ".join(e.line() for e in result.errors))
    for file in result.files:
        file.findings = [f for f in file.findings if f.code == rule.code]
    return result.files


def _with_lines_added_elsewhere(files: list[FileResult]) -> None:
    """The other files the fixes add lines to (FI001's `model.configure_model()`), as fixed files of their own,
    as the CLI would write them with the fixed file."""
    fixed_here = {r.filename for r in files if r.fixed_source is not None}
    by_name = {r.filename: r for r in files}
    for result in [r for r in files if r.elsewhere]:
        for name, data, _ in with_inserted_lines(result, fixed_here, set()):
            other = by_name.setdefault(name, FileResult(name))
            if other not in files:
                files.append(other)
            other.fixed_source = data.decode("utf-8")


def lint_snippet(
    rule: type[Rule],
    code: str,
    files: dict | None = None,
    settings: dict | None = None,
    fix: bool = False,
    unsafe: bool = False,
    snippet: str = SNIPPET,
) -> FileResult:
    project = {snippet: code, **{name: _dedent(text) for name, text in (files or {}).items()}}
    results = lint_project(rule, project, settings, fix, unsafe)
    return next((r for r in results if r.filename == snippet), FileResult(snippet))


def check_valid(rule: type[Rule], example: Valid) -> None:
    found = lint_snippet(
        rule, _dedent(example.code), dict(example.files), dict(example.settings), snippet=example.snippet
    ).findings
    assert not found, f"{rule.code} fired on VALID code:\n{_dedent(example.code)}\n" + "\n".join(
        f"  {f.location.row}:{f.location.column} {f.message}" for f in found
    )


def check_flagged(rule: type[Rule], example: Flagged) -> None:
    code = _dedent(example.code)
    found = lint_snippet(rule, code).findings
    assert found, f"{rule.code} does not flag the code its docs show as an Example:\n{code}"
    _check_notes(rule, found, {SNIPPET: code})


def check_invalid(rule: type[Rule], example: Invalid) -> None:
    code = _dedent(example.code)
    found = lint_snippet(rule, code, dict(example.files), dict(example.settings), snippet=example.snippet).findings
    shown = f"\n{code}\n" + "\n".join(f"  {f.location.row}:{f.location.column}: {f.message}" for f in found)
    if example.rows:
        rows = tuple(sorted(f.location.row for f in found))
        assert rows == tuple(sorted(example.rows)), (
            f"{rule.code}: expected findings on rows {example.rows}, got {rows}:{shown}"
        )
    if example.at:
        at = tuple(sorted((f.location.row, f.location.column) for f in found))
        assert at == tuple(sorted(example.at)), f"{rule.code}: expected findings at {example.at}, got {at}:{shown}"
    _check_notes(rule, found, {example.snippet: code, **{name: _dedent(text) for name, text in example.files.items()}})
    said = [" ".join([f.message, *map(str, f.all_notes())]) for f in found]  # the evidence is in the notes
    for needle in example.message_contains:
        assert any(needle in text for text in said), f"{rule.code}: no message or note contains {needle!r}: {said}"
    fixes = [f.fix for f in found if f.fix is not None]
    if example.fixed is None:
        assert not fixes, f"{rule.code}: offered a fix the example does not expect: {fixes[0].message}"
        return
    assert fixes, f"{rule.code}: example expects a fix but none was offered"
    assert all((fx.applicability == UNSAFE) == example.unsafe for fx in fixes), (
        f"{rule.code}: fix applicability {[fx.applicability for fx in fixes]} but example says unsafe={example.unsafe}"
    )
    fixed = lint_snippet(
        rule,
        code,
        dict(example.files),
        dict(example.settings),
        fix=True,
        unsafe=example.unsafe,
        snippet=example.snippet,
    )
    produced = fixed.fixed_source if fixed.fixed_source is not None else code
    expected = _dedent(example.fixed)
    assert produced == expected, f"{rule.code}: fixed code differs.\n--- expected\n{expected}\n--- produced\n{produced}"
    if example.snippet.endswith(".py"):
        ast.parse(produced)
    again = lint_snippet(rule, produced, dict(example.files), dict(example.settings), snippet=example.snippet).findings
    _check_refixed(rule, found, again)


def _check_refixed(rule: type[Rule], found: Sequence[Finding], again: Sequence[Finding]) -> None:
    """After the fixes only the findings without one are left, still without one."""
    unfixable = [f for f in found if f.fix is None]
    assert len(again) == len(unfixable) and not any(f.fix for f in again), (
        f"{rule.code}: the fixed code is still flagged: {[f.message for f in again]}"
    )


def _check_notes(rule: type[Rule], found, files: Mapping[str, str]) -> None:
    """Messages say what the evidence is, located notes say where: each note on a line of a project file."""
    for finding in found:
        cited = _CITED.search(finding.message)
        assert cited is None, (
            f"{rule.code}: the message cites {cited[0]}; give that fact a located note: {finding.message}"
        )
        for note in finding.notes:
            if note.location is not None:
                lines = python_lines(files.get(note.filename, ""))
                assert 1 <= note.location.row <= len(lines), (
                    f"{rule.code}: note {note} points at no line of a project file"
                )


def findings_text(findings: Sequence[Finding]) -> str:
    """Findings as a fixture's `expected.txt` holds them: position, code and message, then the fix (its
    safety and title) and the notes, one line each."""
    lines = []
    for f in sorted(findings, key=Finding.sort_key):
        lines.append(f"{f.filename}:{f.location.row}:{f.location.column}: {f.code} {f.message}")
        if f.fix is not None:
            lines.append(f"  fix ({f.fix.applicability}): {f.fix.message}")
        lines.extend(f"  note: {note}" for note in f.all_notes())
    return "".join(line + "\n" for line in lines)


def check_fixture(rule: type[Rule], case: Path) -> None:
    """A fixture case (see the module docstring): its findings are `expected.txt`, each fixed file `<file>.fixed`,
    and the fixed project leaves only the findings that had no fix."""
    given = {
        str(p.relative_to(case)): p.read_text(encoding="utf-8")
        for p in sorted(case.rglob("*"))
        if p.is_file() and p.name != EXPECTED and not p.name.endswith(FIXED)
    }
    found = [f for r in lint_project(rule, given) for f in r.findings]
    _check_notes(rule, found, given)
    fixed = {
        r.filename: r.fixed_source
        for r in lint_project(rule, given, fix=True, unsafe=True)
        if r.fixed_source is not None
    }
    if os.environ.get(UPDATE):
        (case / EXPECTED).write_text(findings_text(found), encoding="utf-8")
        for stale in case.rglob(f"*{FIXED}"):
            stale.unlink()
        for name, text in fixed.items():
            (case / (name + FIXED)).write_text(text, encoding="utf-8")
        return
    expected = (case / EXPECTED).read_text(encoding="utf-8") if (case / EXPECTED).is_file() else ""
    assert findings_text(found) == expected, (
        f"{rule.code} {case.name}: findings differ from {EXPECTED} "
        f"(rerun with {UPDATE}=1 and review the diff):\n{findings_text(found)}"
    )
    wanted = {str(p.relative_to(case))[: -len(FIXED)]: p.read_text(encoding="utf-8") for p in case.rglob(f"*{FIXED}")}
    assert fixed == wanted, (
        f"{rule.code} {case.name}: fixed files {sorted(fixed)} differ from the {FIXED} files {sorted(wanted)}"
    )
    for name, text in fixed.items():
        if name.endswith(".py"):
            ast.parse(text)
    again = [f for r in lint_project(rule, {**given, **fixed}) for f in r.findings]
    _check_refixed(rule, found, again)


def fixture_cases(rules: list[type[Rule]], root: Path) -> Iterator[tuple[str, type[Rule], Path]]:
    """(test id, rule, case directory) for each fixture case under `root/<CODE>/`."""
    for rule in rules:
        for case in sorted(p for p in (root / rule.code).glob("*") if p.is_dir()):
            yield f"{rule.code}-{case.name}", rule, case


def doc_examples(rules: list[type[Rule]]) -> Iterator[tuple[str, type[Rule], Flagged | Valid]]:
    """(test id, rule, case) for the code blocks of each rule's "## Example" section: those before "Use
    instead" must be flagged, those after it must not."""
    for rule in rules:
        section = rule.docs().partition("## Example\n")[2].split("\n## ", 1)[0]
        shown, _, instead = section.partition("\nUse instead")
        for i, block in enumerate(_CODE_BLOCK.findall(shown)):
            yield f"{rule.code}-docs-example-{i}", rule, Flagged(block)
        for i, block in enumerate(_CODE_BLOCK.findall(instead)):
            yield f"{rule.code}-docs-use-instead-{i}", rule, Valid(block)


def examples(rules: list[type[Rule]]) -> Iterator[tuple[str, type[Rule], Valid | Invalid]]:
    """(test id, rule, example) for pytest parametrization: `CODE-name` for a named example, else
    `CODE-valid-N` / `CODE-invalid-N`."""
    for rule in rules:
        seen: set[str] = set()
        groups: tuple[tuple[str, Sequence[Valid | Invalid]], ...] = (("valid", rule.VALID), ("invalid", rule.INVALID))
        for kind, cases in groups:
            for i, example in enumerate(cases):
                case_id = f"{rule.code}-{example.name or f'{kind}-{i}'}"
                if case_id in seen:
                    raise ValueError(f"{rule.code} names two examples {example.name!r}")
                seen.add(case_id)
                yield case_id, rule, example


def check_example(rule: type[Rule], example: Valid | Invalid | Flagged) -> None:
    if isinstance(example, Invalid):
        check_invalid(rule, example)
    elif isinstance(example, Flagged):
        check_flagged(rule, example)
    else:
        check_valid(rule, example)

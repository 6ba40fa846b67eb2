"""Phase 2 for one file: gate, parse with LibCST, run rules in one batched traversal, suppress, fix."""

from __future__ import annotations

import ast
from collections import Counter
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Sequence

from ..syntax.gc_pause import gc_paused
from ..syntax.lazy_libcst import cst

from ..workspace.config import Settings
from ..syntax.cst_children import child_nodes, holds_statements
from ..diagnostics import SAFE, Edit, FileError, FileResult, Finding, Fix, Location, Note
from ..model.facts import FileFacts, python_facts
from .fixes import apply_fixes, edit_between, text_location
from .wrap_lines import line_limit
from ..model.index import ProjectIndex
from .limits import MAX_SYNTAX_DEPTH
from ..model.module_identity import imports_of
from ..model.names import collect_names, has_lone_cr
from ..syntax.lines import python_lines
from .positions import positions as node_positions
from .rule import Context, FixPlan, NoteAt, Report, Rule
from .suppressions import UNUSED_SUPPRESSION_CODE, UNUSED_SUPPRESSION_NAME, Suppressions, comment_suppresses

MAX_FIX_PASSES = 10
# Measured peak memory of a LibCST parse per byte of source: 200-440 on torch's largest files, up to ~2,300 on
# token-dense text (`x=1` lines). Files whose typical tree would exceed `max-file-memory-mb` are skipped before
# parsing; the rest are bounded by the worker's address-space limit (`limits.limit_memory`).
CST_BYTES_PER_SOURCE_BYTE = 350


@dataclass(frozen=True)
class CheckOptions:
    fix: bool = False
    unsafe_fixes: bool = False
    report_unused_suppressions: bool = False
    # Compute each fix's text edit (JSON/SARIF need them). It costs a transform + codegen of the whole
    # module per fix, which on a 10k-line file is seconds, so human formats skip it.
    edits: bool = True

    def applies(self, fix: Fix | None) -> bool:
        return fix is not None and (fix.applicability == SAFE or self.unsafe_fixes)


@dataclass
class FileCheck:
    """One file's phase 2: what each pass of the rules over it reads (the file, the project, the settings, the
    rules its gate let through, the options) and the result it fills."""

    filename: str
    text: str  # as phase 1 saw it
    facts: FileFacts
    index: ProjectIndex
    settings: Settings
    options: CheckOptions
    rules: Sequence[type[Rule]] = ()  # the rules to run (check_text keeps those the file's gate lets through)
    result: FileResult = field(init=False)

    def __post_init__(self) -> None:
        self.result = FileResult(self.filename)


def gate(
    rules: Sequence[type[Rule]], text_markers: frozenset[str], facts: FileFacts, index: ProjectIndex, settings: Settings
) -> list[type[Rule]]:
    """The rules that could fire in this file, decided without LibCST."""
    return [
        rule
        for rule in rules
        if rule.code != UNUSED_SUPPRESSION_CODE
        and (not rule.markers or not text_markers.isdisjoint(rule.markers))
        and text_markers.issuperset(rule.required_markers)
        and rule.relevant(facts, index, settings)
    ]


class _ScopeTracker:
    """Keeps `Context.scope` equal to the chain the phase-1 names table is keyed by, and
    `Context.statement` to the top-level statement being walked (where positions will look first)."""

    def __init__(self, context: Context) -> None:
        self.context = context
        self.top_level = {id(statement): index for index, statement in enumerate(context.module.body)}

    def enter(self, node: cst.CSTNode) -> None:
        index = self.top_level.get(id(node))
        if index is not None:
            self.context.statement = index
        if isinstance(node, cst.ClassDef):
            self.context.scope = (*self.context.scope, ("class", node.name.value))
        elif isinstance(node, cst.FunctionDef):
            self.context.scope = (*self.context.scope, ("def", node.name.value))
        elif isinstance(node, cst.Lambda):
            self.context.scope = (*self.context.scope, ("def", "<lambda>"))

    def leave(self, node: cst.CSTNode) -> None:
        if isinstance(node, (cst.ClassDef, cst.FunctionDef, cst.Lambda)):
            self.context.scope = self.context.scope[:-1]
        if id(node) in self.top_level:
            self.context.statement = None


# Rules that only visit these nodes are run by walking statements, never expressions: on large files that is
# most of the LibCST cost (a full traversal rebuilds every node). They always are, whatever other rules are
# enabled, so a rule finds the same alone as with others.
_STATEMENT_LEVEL = frozenset(
    f"{kind}_{node}" for kind in ("visit", "leave") for node in ("Module", "ClassDef", "FunctionDef")
)


def walk_statements(node: cst.CSTNode, methods: dict, tracker: "_ScopeTracker") -> None:
    """Calls `methods` (`visit_X`/`leave_X` -> callables) on every Module/ClassDef/FunctionDef under `node`, in
    the order and with the scopes a full LibCST traversal would, descending only through statements."""
    tracker.enter(node)
    kind = type(node).__name__
    for visit in methods.get(f"visit_{kind}", ()):
        visit(node)
    for child in child_nodes(node):
        if holds_statements(child):
            walk_statements(child, methods, tracker)
    for leave in methods.get(f"leave_{kind}", ()):
        leave(node)
    tracker.leave(node)


def _run(rules: Sequence[type[Rule]], context: Context) -> None:
    tracker = _ScopeTracker(context)
    by_statements: dict[str, list] = {}
    traversed: list[Rule] = []
    for rule in rules:
        instance = rule(context)
        if set(instance.visitor_names()) <= _STATEMENT_LEVEL:
            for name in instance.visitor_names():
                by_statements.setdefault(name, []).append(getattr(instance, name))
        else:
            traversed.append(instance)
    if by_statements:
        walk_statements(context.module, by_statements, tracker)
    if traversed:
        # A Rule is batchable by its `get_visitors` alone: it cannot subclass BatchableCSTVisitor without importing
        # LibCST, which warm runs never do.
        cst.visit_batched(
            context.module,
            traversed,  # type: ignore[arg-type]
            before_visit=tracker.enter,
            after_leave=tracker.leave,
        )


def _run_isolated(filename: str, rules: Sequence[type[Rule]], context: Context) -> list[FileError]:
    """Run all rules in one traversal; if one crashes, rerun each alone so the others still report."""
    try:
        _run(rules, context)
        return []
    except Exception:  # noqa: BLE001 - a rule bug must not stop the run; it is reported below
        pass
    errors = []
    context.reports.clear()
    for rule in rules:
        kept = len(context.reports)
        context.scope = ()
        try:
            _run([rule], context)
        except Exception as exc:  # noqa: BLE001
            del context.reports[kept:]
            errors.append(
                FileError(
                    filename,
                    f"internal error in rule {rule.code} ({rule.name}): "
                    f"{type(exc).__name__}: {exc} (please report this)",
                )
            )
    return errors


@dataclass
class _Pass:
    module: cst.Module
    reports: list[Report]
    findings: list[Finding]


def _finding(
    filename: str, report: Report, positions, module: cst.Module, edits: bool, line_length: int | None
) -> Finding:
    span = positions[report.node]
    fix = None
    if report.fix is not None:
        changed = (
            (edit_between(module.code, apply_fixes(module, [report.fix], line_limit(line_length, module.code))),)
            if edits
            else ()
        )
        fix = Fix(report.fix.applicability, report.fix.message, changed)
    notes = tuple(
        Note(n.message, filename, _start(positions[n.node])) if isinstance(n, NoteAt) else n for n in report.notes
    )
    return Finding(
        code=report.rule.code,
        name=report.rule.name,
        message=report.message,
        filename=filename,
        location=_start(span),
        end_location=Location(span.end.line, span.end.column + 1),
        fix=fix,
        no_fix_reason=report.no_fix_reason,
        notes=notes,
    )


def _start(span) -> Location:
    return Location(span.start.line, span.start.column + 1)


def _located_nodes(report: Report) -> list[cst.CSTNode]:
    """The finding's node and the nodes its notes point at, positioned together."""
    return [report.node, *(n.node for n in report.notes if isinstance(n, NoteAt))]


def _lint(
    check: FileCheck,
    module: cst.Module,
    facts: FileFacts,
    suppressions: Suppressions,
    errors: list[FileError],
    edits: bool = True,
    first: bool = False,
) -> _Pass:
    """One pass of the rules over `module` (with `facts` of its text). `first`: `module` was parsed from the text
    phase 1 saw (its statement lines then spare generating code the findings are not in)."""
    filename, text = check.filename, check.text if first else None
    context = Context(filename, module, facts, check.index, check.settings)
    errors.extend(_run_isolated(filename, check.rules, context))
    if not context.reports:
        return _Pass(module, [], [])
    positions = node_positions(
        module,
        [n for r in context.reports for n in _located_nodes(r)],
        text,
        facts.statement_lines if text else (),
        {id(n): r.statement for r in context.reports if r.statement is not None for n in _located_nodes(r)},
    )
    kept_reports, findings = [], []
    for report in context.reports:
        span = positions[report.node]
        if suppressions.suppressed(report.rule.code, (span.start.line, span.end.line)):
            continue
        kept_reports.append(report)
        findings.append(_finding(filename, report, positions, module, edits, check.settings.line_length))
    return _Pass(module, kept_reports, findings)


def _non_overlapping(planned: list[tuple[Report, FixPlan]], positions) -> list[tuple[Report, FixPlan]]:
    """Fixes whose changed nodes do not overlap any earlier chosen fix; the rest wait for the next pass."""
    chosen: list[tuple[Report, FixPlan]] = []
    taken: list[tuple[tuple[int, int], tuple[int, int]]] = []
    for report, plan in planned:
        spans = [positions[node] for node in plan.changes]
        ranges = [((s.start.line, s.start.column), (s.end.line, s.end.column)) for s in spans]
        if any(a[0] < b[1] and b[0] < a[1] for a in ranges for b in taken):
            continue
        chosen.append((report, plan))
        taken.extend(ranges)
    return chosen


def _syntax_depth(tree: ast.AST) -> int:
    """How deep LibCST's parser will recurse, from the `ast` tree: `ast` nests as LibCST does, except that
    `a and b and c` and `a < b < c` are one `ast` node but a chain in LibCST. It runs on every file phase 2
    parses, so fields are read directly (not through `ast.iter_child_nodes`) and the childless `Load`/`Store`
    nodes are counted without being visited (docs/performance.md)."""
    deepest, stack = 0, [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        kind = type(node)
        if kind is ast.BoolOp:  # mypy does not narrow `node` through `kind`; `isinstance` would cost more here
            depth += len(node.values) - 1  # type: ignore[attr-defined]
        elif kind is ast.Compare:
            depth += len(node.ops)  # type: ignore[attr-defined]
        else:
            depth += 1
        if depth >= deepest:
            deepest = depth + 1 if isinstance(getattr(node, "ctx", None), ast.expr_context) else depth
        for name in node._fields:
            value = getattr(node, name, None)
            if type(value) is list:
                for item in value:
                    if isinstance(item, ast.AST):
                        stack.append((item, depth))
            elif isinstance(value, ast.AST) and not isinstance(value, ast.expr_context):
                stack.append((value, depth))
    return deepest


def _parse_ast(filename: str, text: str) -> ast.Module | FileError:
    """The `ast` tree of text phase 1 parsed; an error only if that fails (an interpreter limit), and for
    text too deeply nested to give LibCST's native parser (it crashes or takes minutes)."""
    try:
        with gc_paused():
            tree = ast.parse(text)
    except SyntaxError as exc:
        return FileError(filename, f"syntax error: {exc.msg}", exc.lineno or 1, exc.offset or 1)
    except RecursionError:
        return FileError(filename, "too deeply nested to parse; skipped")
    depth = _syntax_depth(tree)
    if depth > MAX_SYNTAX_DEPTH:
        return FileError(
            filename,
            f"too deeply nested for the fixer's parser ({depth:,} levels > {MAX_SYNTAX_DEPTH:,});"
            f" not checked by rules that need it",
        )
    return tree


def _parse(filename: str, text: str) -> cst.Module | FileError:
    try:
        with gc_paused():
            return cst.parse_module(text)
    except cst.ParserSyntaxError as exc:
        return FileError(filename, f"syntax error: {exc.message}", exc.raw_line, exc.raw_column + 1)
    except RecursionError:
        return FileError(filename, "too deeply nested to parse")


def check_text(check: FileCheck, text_markers: frozenset[str], enabled: frozenset[str]) -> FileResult:
    """Phase 2 for one Python file: `check.rules` are the rules enabled for it, narrowed here to those its gate
    lets through; `enabled` the codes enabled (the unused-suppression report's)."""
    filename, text, facts, settings, options = check.filename, check.text, check.facts, check.settings, check.options
    check.rules = active = gate(check.rules, text_markers, facts, check.index, settings)
    result = check.result
    suppressions = Suppressions(text)
    needed_mb = len(text) * CST_BYTES_PER_SOURCE_BYTE / 2**20
    if active and needed_mb > settings.max_file_memory_mb:
        result.errors.append(
            FileError(
                filename,
                f"skipped: checking needs ~{needed_mb:,.0f} MB for the syntax tree "
                f"(max-file-memory-mb = {settings.max_file_memory_mb})",
            )
        )
        return result
    if active:
        tree = _parse_ast(filename, text)
        if isinstance(tree, FileError):
            result.errors.append(tree)
            return result
        if not facts.names.complete:
            # Phase 1 kept names only for some scopes of this file; rules resolve names in every scope.
            facts.names = collect_names(
                tree, facts.module, facts.names.is_package, text=text, imports=imports_of(facts.path)
            )
        parsed = _parse(filename, text)
        if isinstance(parsed, FileError):
            result.errors.append(parsed)
            return result
        current = _lint(
            check, parsed, facts, suppressions, result.errors, options.edits and not options.fix, first=True
        )
        if options.fix:
            first = current.findings
            current = _fix_to_fixpoint(check, current)
            if result.fixed_source is not None:
                result.before_fixes = first
            if options.edits and any(f.fix for f in current.findings):  # fixes left (unsafe ones): show their edits
                current = _lint(check, current.module, facts, Suppressions(current.module.code), [], edits=True)
        result.findings = current.findings
    if options.report_unused_suppressions and UNUSED_SUPPRESSION_CODE in enabled:
        # Their rows are the original text's: fixed only when no other fix rewrote the file in this run.
        unused = _unused(filename, text, suppressions, enabled, with_fixes=result.fixed_source is None)
        if options.fix and any(f.fix for f in unused):
            result.before_fixes = [*result.findings, *unused]
            result.fixed.extend(f for f in unused if f.fix)
            result.original, result.fixed_source = (
                text,
                _apply_text_edits(text, [f.fix.edits[0] for f in unused if f.fix]),
            )
            unused = [f for f in unused if not f.fix]
        result.findings.extend(unused)
    result.errors = list(dict.fromkeys(result.errors))  # a crashing rule crashes again on every fix pass
    return result


def check_yaml_text(
    filename: str, text: str, facts: FileFacts, index: ProjectIndex, rules: Sequence[type[Rule]], options: CheckOptions
) -> FileResult:
    """Phase 2 for a LightningCLI YAML config: rules report spans of its text; a fix replaces exactly its span,
    so comments, quoting and layout elsewhere are kept byte for byte."""
    result = FileResult(filename)
    fixes: list[tuple[int, int, str, Finding]] = []  # the span, its replacement, and the finding fixed
    for rule in rules:
        for report in rule.check_yaml(text, facts, index):
            line_end = text.find("\n", report.end)
            after = text[report.end : line_end if line_end != -1 else len(text)].strip()  # a comment, or nothing
            if after.startswith("#") and comment_suppresses(after, rule.code):
                continue
            fix = None
            if report.replacement is not None:
                edit = Edit(report.replacement, text_location(text, report.start), text_location(text, report.end))
                fix = Fix(SAFE, report.fix_message, (edit,))
            finding = Finding(
                rule.code,
                rule.name,
                report.message,
                filename,
                text_location(text, report.start),
                text_location(text, report.end),
                fix,
                notes=report.notes,
            )
            if report.replacement is not None and options.fix and options.applies(fix):
                fixes.append((report.start, report.end, report.replacement, finding))
            else:
                result.findings.append(finding)
    if fixes:
        fixed = text
        for start, end, replacement, _ in sorted(fixes, key=lambda fixed_span: fixed_span[0], reverse=True):
            fixed = fixed[:start] + replacement + fixed[end:]
        result.fixed = [finding for *_, finding in fixes]
        result.before_fixes = [*result.findings, *result.fixed]
        result.original, result.fixed_source = text, fixed
    return result


def _fix_to_fixpoint(check: FileCheck, current: _Pass) -> _Pass:
    filename, text, options, result, facts = check.filename, check.text, check.options, check.result, check.facts

    def abandon(message: str) -> _Pass:
        result.errors.append(FileError(filename, f"{message}; file left unchanged (please report this)"))
        result.fixed.clear()
        result.elsewhere.clear()
        return _lint(check, cst.parse_module(text), check.facts, Suppressions(text), [])

    fixed_text = text
    for _ in range(MAX_FIX_PASSES):
        pending = _pending(current, options)
        if not pending:
            break
        if fixed_text is text and current.module.code != text:
            # A fix is written as the regenerated module: it must reproduce every byte it does not change.
            # LibCST drops the final line end of a file with lone carriage-return line ends.
            cause = "its lone carriage-return line ends" if has_lone_cr(text) else "please report this"
            result.errors.append(
                FileError(
                    filename,
                    f"fixes not applied: LibCST does not reproduce this file "
                    f"byte for byte ({cause}); file left unchanged",
                )
            )
            break
        planned = [(r, plan) for r, plan, _ in pending]
        positions = node_positions(current.module, [node for _, plan in planned for node in plan.changes])
        chosen = _non_overlapping(planned, positions)
        candidate = apply_fixes(
            current.module, [plan for _, plan in chosen], line_limit(check.settings.line_length, text)
        )
        parsed = _parse(filename, candidate)
        if isinstance(parsed, FileError) or (tree := _ast_or_none(candidate)) is None:
            return abandon(f"fix for {_codes(r for r, _ in chosen)} produced code that does not parse")
        chosen_plans = {id(plan) for _, plan in chosen}  # one plan may resolve several findings (FI001)
        fixed_now = [f for _, plan, f in pending if id(plan) in chosen_plans]
        result.fixed.extend(fixed_now)
        result.elsewhere.extend(
            line for plan in {id(plan): plan for _, plan in chosen}.values() for line in plan.elsewhere
        )
        fixed_text = candidate
        # The rules see the fixed text as a fresh run would: a fix that added an import changes what names denote.
        facts = refreshed_facts(facts, candidate, tree)
        current = _lint(check, parsed, facts, Suppressions(candidate), result.errors, edits=False)
        refired = _refired([f for *_, f in pending], fixed_now, [f for *_, f in _pending(current, options)])
        if refired:
            return abandon(f"internal error: the fix for {refired} is flagged again by its rule on its own output")
    else:
        if _pending(current, options):
            return abandon(
                f"internal error: fixes for {_codes(r for r, *_ in _pending(current, options))} did not "
                f"settle after {MAX_FIX_PASSES} passes"
            )
    if fixed_text != text:
        result.original, result.fixed_source = text, fixed_text
    return current


def _pending(current: _Pass, options: CheckOptions) -> list[tuple[Report, FixPlan, Finding]]:
    """The findings whose fix is to be applied, with their reports and fix plans (a finding has a fix exactly
    when its report has a plan)."""
    return [
        (r, r.fix, f) for r, f in zip(current.reports, current.findings) if r.fix is not None and options.applies(f.fix)
    ]


def _codes(reports) -> str:
    return ", ".join(sorted({r.rule.code for r in reports}))


def _refired(before: list[Finding], fixed: list[Finding], after: list[Finding]) -> str | None:
    """The code of a fix whose finding is still there after it was applied (its own output is flagged the same
    way): applying fixes must lower the count of each (code, message) by the number of them fixed."""
    key = attrgetter("code", "message")
    left = Counter(map(key, before)) - Counter(map(key, fixed))
    again = Counter(map(key, after))
    return next(
        (code for code, message in Counter(map(key, fixed)) if again[code, message] > left[code, message]), None
    )


def refreshed_facts(facts: FileFacts, text: str, tree: ast.Module) -> FileFacts:
    """Phase-1 facts of a fixed text, with the whole names table phase 2 needs."""
    fresh = python_facts(facts.filename, facts.path or facts.filename, tree, text)
    fresh.names = collect_names(tree, fresh.module, fresh.names.is_package, text=text)
    return fresh


def _ast_or_none(text: str) -> ast.Module | None:
    try:
        return ast.parse(text)
    except (SyntaxError, ValueError, RecursionError):
        return None


def _unused(
    filename: str, text: str, suppressions: Suppressions, enabled: frozenset[str], with_fixes: bool
) -> list[Finding]:
    lines = python_lines(text)
    findings = []
    for directive, message, idle in suppressions.unused(set(enabled)):
        start, end = Location(directive.row, directive.column + 1), Location(directive.row, directive.end_column + 1)
        replacement = directive.without(idle) if with_fixes else None
        fix = None
        if replacement is not None:
            line = lines[directive.row - 1]
            code = line[: directive.column].rstrip()
            if replacement:
                edit = Edit(replacement, start, end)
            elif code:  # a trailing comment goes, with the spaces before it
                edit = Edit("", Location(directive.row, len(code) + 1), end)
            else:  # a comment alone on its line: the line goes
                edit = Edit("", Location(directive.row, 1), Location(directive.row + 1, 1))
            fix = Fix(SAFE, "Remove the unused suppression" if not replacement else f"Keep `{replacement}`", (edit,))
        findings.append(Finding(UNUSED_SUPPRESSION_CODE, UNUSED_SUPPRESSION_NAME, message, filename, start, end, fix))
    return findings


def _apply_text_edits(text: str, edits: list[Edit]) -> str:
    """`text` with non-overlapping `edits` (rows and columns as `python_lines` counts them) applied."""
    starts = [0]
    for line in python_lines(text):
        starts.append(starts[-1] + len(line))

    def offset(location: Location) -> int:
        return (
            min(starts[location.row - 1] + location.column - 1, len(text)) if location.row <= len(starts) else len(text)
        )

    for edit in sorted(edits, key=lambda e: (e.location.row, e.location.column), reverse=True):
        text = text[: offset(edit.location)] + edit.content + text[offset(edit.end_location) :]
    return text

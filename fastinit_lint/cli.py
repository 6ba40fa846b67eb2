"""The `fastinit-lint` command: ruff's flags and exit codes, so CI and pre-commit configs carry over.

`fastinit-lint [PATHS]` is `fastinit-lint check [PATHS]`; `rules` and `explain CODE` document the rules.
Exit codes: 0 nothing left to report, 1 findings left (or files fixed with --exit-non-zero-on-fix, or
diffs with --diff), 2 bad usage/config or a file that could not be read, parsed or written.
"""

from __future__ import annotations

import difflib
import os
import signal
import sys
import threading
from typing import Any, Callable

import click

from . import __version__
from .output.add_noqa import add_noqa, with_noqa
from .output.docs import explain_text
from .engine.checker import CheckOptions
from .workspace.config import ConfigError, Settings, find_config, load_settings, parse_table, search_start
from .diagnostics import FileError, SourceError, error_finding
from .engine.fixes import with_inserted_lines
from .engine.pipeline import RunRequest, RunResult, run
from .workspace.writer import WriteRefused
from .engine.registry import Registry
from .output.reporters import FORMATS, HUMAN_FORMATS, render
from .output.reporters.printable import printable
from .output.reporters.text import statistics as render_statistics
from . import server
from .syntax.lines import python_lines
from .workspace.source import decode

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells and CI runners expect after Ctrl-C


class _DefaultToCheck(click.Group):
    """Lets `fastinit-lint src/` mean `fastinit-lint check src/` (paths are the common case)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # A path named like a subcommand (a `rules/` package) is a path when it exists, as in ruff.
        if not args or (
            args[0] not in ("--help", "-h", "--version")
            and (args[0] not in self.commands or args[0] != "check" and os.path.exists(args[0]))
        ):
            args = ["check", *args]
        return super().parse_args(ctx, args)

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """`fastinit-lint --help` shows what `check` takes too: it is what a bare `fastinit-lint PATHS` runs."""
        super().format_help(ctx, formatter)
        check_command = self.commands["check"]
        with formatter.section("Check options (`fastinit-lint [PATHS]` is `fastinit-lint check [PATHS]`)"):
            formatter.write_dl(
                [
                    record
                    for param in check_command.get_params(ctx)
                    if isinstance(param, click.Option)
                    and "--help" not in param.opts
                    and (record := param.get_help_record(ctx)) is not None
                ]
            )
        with formatter.section("Exit codes"):
            formatter.write_dl(
                [
                    ("0", "nothing left to report"),
                    ("1", "findings left (or files fixed with --exit-non-zero-on-fix, or fixes pending with --diff)"),
                    ("2", "bad usage or config, or a file that could not be read, parsed or written"),
                ]
            )
        with formatter.section("Examples"):
            formatter.write_dl(
                [
                    ("fastinit-lint src/", "check src/ (the project around it is indexed too)"),
                    ("fastinit-lint --fix --diff train.py", "show the safe fixes as a diff, write nothing"),
                    ("fastinit-lint --output-format json --select FI001 .", "one rule, as JSON"),
                ]
            )

    def invoke(self, ctx: click.Context):
        """Ctrl-C anywhere in a command: one line and exit 130 (click would say "Aborted!" and exit 1)."""
        in_main_thread = threading.current_thread() is threading.main_thread()  # the only one that may set handlers
        previous = signal.signal(signal.SIGINT, _interrupt_in(os.getpid())) if in_main_thread else None
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            _error("error: interrupted")
            sys.exit(EXIT_INTERRUPTED)
        finally:
            if in_main_thread and previous is not None:  # None: a handler not set from Python, left alone
                signal.signal(signal.SIGINT, previous)


def _interrupt_in(parent: int):
    """A SIGINT handler that interrupts only `parent`. Forked workers inherit it and get the same Ctrl-C
    (the terminal signals the whole process group): they finish the file in hand instead of each printing
    a traceback, and the parent stops the pool and reports once."""

    def handler(signum, frame) -> None:
        if os.getpid() == parent:
            raise KeyboardInterrupt

    return handler


def _split_codes(values: tuple[str, ...]) -> list[str] | None:
    if not values:
        return None
    return [code.strip() for value in values for code in value.split(",") if code.strip()]


def _colorizer(stream) -> Callable[[str, str], str]:
    enabled = stream.isatty() and "NO_COLOR" not in os.environ
    styles: dict[str, dict[str, Any]] = {
        "bold": {"bold": True},
        "red": {"fg": "red", "bold": True},
        "green": {"fg": "green"},
    }
    return (lambda text, style: click.style(text, **styles[style])) if enabled else (lambda text, _style: text)


def _registry(ctx: click.Context) -> Registry:
    return ctx.obj if isinstance(ctx.obj, Registry) else Registry.default()


def _error(line: str) -> None:
    click.echo(printable(line), err=True)  # file names and messages come from the checkout


@click.group(cls=_DefaultToCheck, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="fastinit-lint")
def main() -> None:
    """Lint and autofix PyTorch / Lightning model initialization. `fastinit-lint [PATHS]` checks PATHS."""


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--fix/--no-fix", default=False, help="Apply safe fixes (and unsafe ones with --unsafe-fixes).")
@click.option("--unsafe-fixes/--no-unsafe-fixes", default=None, help="Also show and apply fixes classed unsafe.")
@click.option("--diff", is_flag=True, help="Print the fixes as a unified diff, write nothing; exit 1 if any.")
@click.option("--select", multiple=True, help="Rule codes, prefixes or names to enable (comma-separated; ALL).")
@click.option("--extend-select", multiple=True, help="Enable these in addition to `select`.")
@click.option("--ignore", multiple=True, help="Rule codes, prefixes or names to disable.")
@click.option(
    "--output-format",
    type=click.Choice(sorted(FORMATS)),
    default=None,
    help="Output format (default: full; env FASTINIT_LINT_OUTPUT_FORMAT).",
)
@click.option("-o", "--output-file", type=click.Path(dir_okay=False), help="Write the report to this file.")
@click.option("--statistics", is_flag=True, help="Print counts per rule instead of each finding.")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even with findings (still 2 on errors).")
@click.option("--exit-non-zero-on-fix", is_flag=True, help="Exit 1 if any file was fixed, even if nothing remains.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="Use this config file.")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the cache.")
@click.option("-j", "--jobs", type=click.IntRange(min=0), default=0, help="Worker processes (0 = one per CPU).")
@click.option("--strategy", help="Assume a Trainer with this strategy (e.g. fsdp, deepspeed_stage_3).")
@click.option("--show-fixes", is_flag=True, help="List the findings that were fixed.")
@click.option("--add-noqa", is_flag=True, help="Add `# noqa: CODE` to every line with a finding.")
@click.option("--force-exclude", is_flag=True, help="Apply excludes to paths given explicitly (for pre-commit).")
@click.option("--stdin-filename", help="Read source from stdin; this name drives config and per-file-ignores.")
@click.option(
    "--report-unused-suppressions", is_flag=True, help="Report suppression comments that suppress nothing (FI900)."
)
@click.option("-q", "--quiet", is_flag=True, help="Print findings only, no summary.")
@click.pass_context
def check(ctx: click.Context, paths: tuple[str, ...], **flags) -> None:
    """Check PATHS (files or directories; default `.`)."""
    sys.exit(_check(_registry(ctx), list(paths), flags))


def _check(registry: Registry, paths: list[str], flags: dict) -> int:
    stdin = None
    if flags["stdin_filename"] is not None or paths == ["-"]:
        name = flags["stdin_filename"] or "-"
        raw = sys.stdin.buffer.read()
        try:
            stdin_source = decode(raw, 1 << 62)
        except SourceError as exc:
            _error(FileError(name, exc.message, exc.row, exc.column).line())
            return EXIT_ERROR
        stdin = (name, stdin_source.text)
        paths = [name]
    paths = paths or ["."]
    overrides = {}
    try:
        for key, value in (
            ("select", _split_codes(flags["select"])),
            ("ignore", _split_codes(flags["ignore"])),
            ("extend-select", _split_codes(flags["extend_select"])),
            ("strategy", flags["strategy"]),
            ("unsafe-fixes", flags["unsafe_fixes"]),
        ):
            if value is not None:
                overrides.update(parse_table({key: value}, "command line"))
        if stdin is not None:
            starts = [(os.path.dirname(os.path.abspath(paths[0])), paths)]
        else:
            starts = [(group[0], group) for group in _by_config(paths, flags["config_path"])]
        runs = [(*_configured(registry, start, flags, overrides), group) for start, group in starts]
    except ConfigError as exc:
        _error(f"error: {exc}")
        return EXIT_ERROR
    output_format = flags["output_format"] or os.environ.get("FASTINIT_LINT_OUTPUT_FORMAT", "full")
    if output_format not in FORMATS:
        _error(f"error: unknown output format {output_format!r} (choose from {', '.join(sorted(FORMATS))})")
        return EXIT_ERROR
    if flags["output_file"] and not _write_report(flags["output_file"], "", "a"):
        return EXIT_ERROR  # found before any work is done, and before any fix is written
    diff_mode = flags["diff"]
    results = []
    for settings, enabled, group in runs:  # one run per config, each with its settings
        options = CheckOptions(
            fix=flags["fix"] or diff_mode,
            unsafe_fixes=settings.unsafe_fixes,
            report_unused_suppressions=flags["report_unused_suppressions"],
            edits=output_format in ("json", "json-lines", "sarif") and not flags["statistics"],
        )
        request = RunRequest(
            group,
            settings,
            [registry.by_code[code] for code in sorted(enabled)],
            options,
            jobs=flags["jobs"],
            use_cache=not flags["no_cache"],
            force_exclude=flags["force_exclude"],
            stdin=stdin,
            write=not diff_mode,
            progress=sys.stderr.isatty() and not flags["quiet"] and "NO_COLOR" not in os.environ,
        )
        try:
            results.append(run(request, registry.expand))
            # Directories inside the walked ones with a config of their own (ruff's hierarchy): a run each, with it.
            runs.extend((*_configured(registry, path, flags, overrides), [path]) for path in results[-1].nested)
        except ConfigError as exc:
            _error(f"error: {exc}")
            return EXIT_ERROR
    result = RunResult(
        [f for r in results for f in r.files],
        [e for r in results for e in r.errors],
        sum(r.checked for r in results),
        [e for r in results for e in r.write_errors],
    )
    settings = runs[0][0]
    rules = [registry.by_code[code] for code in sorted(set().union(*(enabled for _, enabled, _ in runs)))]

    for error in (*result.errors, *result.write_errors):
        _error(error.line())
    findings = sorted((f for r in result.files for f in r.findings), key=lambda f: f.sort_key())
    fixed = sorted((f for r in result.files for f in r.fixed), key=lambda f: f.sort_key())
    changed_files = [r for r in result.files if r.fixed_source is not None]

    out = sys.stdout
    if stdin is not None and (flags["add_noqa"] or (flags["fix"] and not diff_mode)):
        # The buffer goes back to stdout in its own encoding (the same bytes if nothing changed); the file
        # of that name on disk may differ from the editor's unsaved buffer and is never written.
        fixed_source = changed_files[0].fixed_source if changed_files else None
        text = stdin[1] if fixed_source is None else fixed_source
        if flags["add_noqa"]:
            text, added, noqa_errors = with_noqa(text, findings)
        sys.stdout.buffer.write(raw if text == stdin[1] else stdin_source.encode(text))
        out = sys.stderr
    if flags["add_noqa"]:
        if stdin is None:
            added, noqa_errors = add_noqa(result.files)
        for error in noqa_errors:
            _error(error.line())
        click.echo(f"Added {added} noqa directive{'s' if added != 1 else ''}.", err=True)
        return EXIT_ERROR if result.errors or noqa_errors else EXIT_CLEAN
    if diff_mode:
        return _report_diff(changed_files, fixed, result, flags)

    color = _colorizer(out) if not flags["output_file"] else (lambda t, _s: t)
    human = output_format in HUMAN_FORMATS
    # Tools reading a machine format see the files that could not be checked too (ruff's `invalid-syntax`).
    reported = (
        findings
        if human
        else sorted(
            [*findings, *map(error_finding, (*result.errors, *result.write_errors))], key=lambda f: f.sort_key()
        )
    )
    if flags["statistics"]:
        report = render_statistics(reported, unsafe_fixes=settings.unsafe_fixes, as_json=not human)
    else:
        sources = {stdin[0]: python_lines(stdin[1], keepends=False)} if stdin else None
        report = render(
            output_format, reported, rules=rules, unsafe_fixes=settings.unsafe_fixes, color=color, sources=sources
        )
    if human and not flags["quiet"]:
        if not result.checked and not result.errors:
            _error("warning: No Python files found under the given paths")
        report += _summary(
            findings,
            fixed,
            settings.unsafe_fixes,
            flags["show_fixes"],
            len({e.filename for e in result.errors}),
            len({e.filename for e in result.write_errors}),
        )
    if flags["output_file"]:
        if not _write_report(flags["output_file"], report, "w"):
            return EXIT_ERROR
    else:
        out.write(report)
    if result.errors or result.write_errors:
        return EXIT_ERROR
    if flags["exit_zero"]:
        return EXIT_CLEAN
    if findings or (flags["exit_non_zero_on_fix"] and changed_files):
        return EXIT_FINDINGS
    return EXIT_CLEAN


def _configured(registry: Registry, start: str, flags: dict, overrides: dict) -> tuple[Settings, set[str]]:
    """The settings for paths starting at `start` (their closest config, or `--config`) and the codes they enable."""
    settings = load_settings(start, flags["config_path"], overrides)
    _check_per_file_ignores(registry, settings)
    enabled = registry.enabled(settings.select, settings.extend_select, settings.ignore)
    if flags["report_unused_suppressions"]:
        enabled.add("FI900")  # the flag is the request; --select need not repeat it
    return settings, enabled


def _by_config(paths: list[str], config_path: str | None) -> list[list[str]]:
    """The paths grouped by the config that governs them (the closest one, as ruff resolves it per path), in
    the order given: `projA projB` and `projB projA` check each project with its own settings."""
    if config_path is not None:
        return [paths]
    groups: dict[str | None, list[str]] = {}
    for path in paths:
        found = find_config(search_start(path))
        groups.setdefault(str(found[0]) if found else None, []).append(path)
    return list(groups.values())


def _check_per_file_ignores(registry: Registry, settings) -> None:
    for glob, codes in settings.per_file_ignores:
        for code in codes:
            try:
                registry.expand(code)
            except ConfigError as exc:
                raise ConfigError(f"{settings.config_path}: `per-file-ignores.{glob}`: {exc}") from None


def _write_report(path: str, report: str, mode: str) -> bool:
    """Mode "a" writes nothing: it checks that the report can be written (directory exists, writable)."""
    try:
        with open(path, mode, encoding="utf-8") as handle:
            handle.write(report)
    except OSError as exc:
        _error(f"error: {path}: cannot write the report: {exc.strerror or exc}")
        return False
    return True


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _summary(findings, fixed, unsafe_fixes: bool, show_fixes: bool, failed_files: int = 0, unwritten: int = 0) -> str:
    lines = []
    if show_fixes and fixed:
        lines.append(f"Fixed {_plural(len(fixed), 'error')}:")
        by_file: dict[str, dict[tuple[str, str], int]] = {}
        for f in fixed:
            counts = by_file.setdefault(f.filename, {})
            counts[(f.code, f.name)] = counts.get((f.code, f.name), 0) + 1
        for filename, counts in by_file.items():
            lines.append(f"- {printable(filename)}:")
            lines.extend(f"    {n} × {code} ({name})" for (code, name), n in sorted(counts.items()))
        lines.append("")
    if not findings and not fixed:
        lines.append(
            f"No findings, but {_plural(failed_files, 'file')} could not be checked (errors above)."
            if failed_files
            else "All checks passed!"
        )
        return "\n".join(lines) + "\n"
    if fixed:
        lines.append(
            f"Found {_plural(len(findings) + len(fixed), 'error')} ({len(fixed)} fixed, {len(findings)} remaining)."
        )
    else:
        lines.append(f"Found {_plural(len(findings), 'error')}.")
    fixable = sum(1 for f in findings if f.fix and (f.fix.applicability == "safe" or unsafe_fixes))
    hidden = sum(1 for f in findings if f.fix and f.fix.applicability == "unsafe" and not unsafe_fixes)
    hidden_fixes = f"{hidden} hidden fix{'' if hidden == 1 else 'es'} can be enabled with the `--unsafe-fixes` option"
    if fixable:
        lines.append(f"[*] {fixable} fixable with the `--fix` option" + (f" ({hidden_fixes})." if hidden else "."))
    elif hidden:
        lines.append(f"No fixes available ({hidden_fixes}).")
    if failed_files:
        lines.append(f"{_plural(failed_files, 'file')} could not be checked (errors above).")
    if unwritten:
        lines.append(f"Fixes not written to {_plural(unwritten, 'file')} (errors above).")
    return "\n".join(lines) + "\n"


def _report_diff(changed_files, fixed, result, flags) -> int:
    fixed_here = {r.filename for r in changed_files}
    for file_result in changed_files:
        _print_diff(file_result.filename, file_result.original, file_result.fixed_source)
        try:  # the lines its fixes add to other files (FI001's `model.configure_model()`), written with it
            for other, data, _ in with_inserted_lines(file_result, fixed_here, set()):
                with open(other, "rb") as handle:
                    _print_diff(other, decode(handle.read(), 1 << 62).text, decode(data, 1 << 62).text)
        except (WriteRefused, OSError, SourceError) as exc:
            _error(f"{file_result.filename}: {exc}")
    if not flags["quiet"]:
        click.echo(f"Would fix {_plural(len(fixed), 'error')}." if fixed else "No errors would be fixed.", err=True)
    if result.errors:
        return EXIT_ERROR
    return EXIT_FINDINGS if changed_files else EXIT_CLEAN


def _print_diff(filename: str, before: str, after: str) -> None:
    sys.stdout.writelines(
        difflib.unified_diff(
            python_lines(before),
            python_lines(after),
            fromfile=f"a/{printable(filename)}",
            tofile=f"b/{printable(filename)}",
        )
    )


@main.command("server")
@click.option(
    "--debounce",
    type=click.FloatRange(min=0),
    default=0.25,
    show_default=True,
    help="Seconds of quiet after an edit before re-checking.",
)
@click.option(
    "-j", "--jobs", type=click.IntRange(min=0), default=0, help="Worker processes for indexing (0 = one per CPU)."
)
@click.option("--no-cache", is_flag=True, help="Neither read nor write the cache.")
def server_command(debounce: float, jobs: int, no_cache: bool) -> None:
    """Run the language server (LSP over stdio) for editors; needs `fastinit-lint[server]`."""
    if not server.available():
        click.echo(server.INSTALL_HINT, err=True)
        sys.exit(EXIT_ERROR)
    sys.exit(server.serve(debounce, jobs, not no_cache))


@main.command("rules")
@click.option("--output-format", type=click.Choice(["text", "json"]), default="text")
@click.pass_context
def list_rules(ctx: click.Context, output_format: str) -> None:
    """List every rule: code, name, fix availability, summary."""
    rules = _registry(ctx).all()
    if output_format == "json":
        import json

        click.echo(
            json.dumps(
                [
                    {"code": r.code, "name": r.name, "fix": r.fixable, "summary": r.summary(), "docs": r.docs()}
                    for r in rules
                ],
                indent=2,
            )
        )
        return
    for rule in rules:
        click.echo(f"{rule.code}  {rule.name:<40} fix: {rule.fixable:<9} {rule.summary()}")


@main.command()
@click.argument("code")
@click.pass_context
def explain(ctx: click.Context, code: str) -> None:
    """Print a rule's documentation (by code or name)."""
    rule = _registry(ctx).lookup(code)
    if rule is None:
        _error(f"error: unknown rule '{code}' (see `fastinit-lint rules`)")
        sys.exit(EXIT_ERROR)
    click.echo(explain_text(rule))

"""One run, in one direction: discover -> index (phase 1) -> check (phase 2) -> write fixes.

Both phases fan out over a fork-based process pool; workers inherit the rules, settings and (in phase 2)
the finished project index through module state set before the fork, so nothing large is pickled per
task. Results are sorted by file name, so output never depends on scheduling.
"""

from __future__ import annotations

import ast
import gc
import os
import signal
import sys
import threading
from dataclasses import dataclass, field
from typing import Callable, Sequence, TypeVar

from .cache import Cache, schema_digest
from .checker import CheckOptions, FileCheck, check_text, check_yaml_text, gate
from .fixes import with_inserted_lines
from ..workspace.config import Settings
from ..diagnostics import FileError, FileResult, SourceError
from ..workspace.discovery import Excluder, SourceFile, discover, file_kind, DEFAULT_EXCLUDES
from ..model.facts import python_facts
from ..model.module_identity import ModuleTable, forget_layout, use_table
from ..workspace.ignore_patterns import PatternSet
from ..model.index import ProjectIndex, project_digest
from ..model.lightning_versions import LightningVersions
from ..model.store import FactsStore, StoredFile
from .limits import FileTimeout, allow_valid_python, limit_memory, time_limit
from .pool import Lost, isolated_map
from .progress import Progress
from .rule import Rule
from ..workspace.source import digest_bytes, read_bytes, read_source
from .suppressions import may_have_directives
from ..syntax.gc_pause import gc_paused
from ..syntax.lazy_libcst import cst
from ..workspace.writer import WriteRefused, write_together


@dataclass
class RunRequest:
    paths: list[str]
    settings: Settings
    rules: list[type[Rule]]
    options: CheckOptions = field(default_factory=CheckOptions)
    jobs: int = 0  # 0 = one per CPU
    use_cache: bool = True
    force_exclude: bool = False
    stdin: tuple[str, str] | None = None  # (filename, text)
    write: bool = True  # False for --diff: compute fixes, write nothing
    progress: bool = False  # a counter on stderr (the CLI enables it on terminals)


@dataclass
class RunResult:
    files: list[FileResult]
    errors: list[FileError]
    checked: int
    write_errors: list[FileError] = field(default_factory=list)
    nested: list[str] = field(default_factory=list)  # directories not checked here: each has its own config


# Module state inherited by forked workers; set only by `run` just before it forks.
_STATE: dict = {}


def _bounded(work: Callable, item, display: str, doing: str):
    """`work(item)` under the per-file time limit; a FileError instead of a result when it runs out of time
    or memory, so one pathological file is reported and skipped. (Native code ignores the alarm: a worker
    stuck in it is killed by the parent, see `_lost`.)"""
    try:
        with time_limit(_STATE["settings"].max_file_seconds):
            return work(item)
    except FileTimeout:
        return FileError(display, _took_too_long(doing))
    except MemoryError:
        return FileError(
            display,
            f"ran out of memory while {doing} (max-file-memory-mb = {_STATE['settings'].max_file_memory_mb}); skipped",
        )


def _took_too_long(doing: str) -> str:
    return f"{doing} took longer than {_STATE['settings'].max_file_seconds} s (max-file-seconds); skipped"


def _lost(doing: str, why: Lost) -> str:
    """The error line for a file whose worker was killed at the time bound or died in native code."""
    if why.timed_out:
        return _took_too_long(doing)
    if why.signal == signal.SIGSEGV:
        return f"crashed while {doing} (SIGSEGV: nested too deeply for the parser's stack?); skipped"
    if why.signal is not None:  # LibCST aborts (SIGABRT) when an allocation fails under the worker's limit
        return (
            f"crashed while {doing} ({why.signal_name()}: out of memory? max-file-memory-mb = "
            f"{_STATE['settings'].max_file_memory_mb}); skipped"
        )
    return f"crashed while {doing} (worker exited with code {why.exit_code}; please report this); skipped"


def _index_one(source: SourceFile) -> StoredFile:
    outcome = _bounded(_index_unbounded, source, source.display, "indexing")
    return _index_failed(source, outcome.message) if isinstance(outcome, FileError) else outcome


def _index_failed(source: SourceFile, message: str) -> StoredFile:
    return StoredFile(-1, -1, "", None, frozenset(), False, FileError(source.display, message))


def _index_unbounded(source: SourceFile) -> StoredFile:
    try:
        stat = os.stat(source.path)
        size, mtime = stat.st_size, stat.st_mtime_ns
    except OSError:
        size, mtime = -1, -1
    try:
        text_source = read_source(source.path, _STATE["settings"].max_file_bytes)
        return _facts_for(source, text_source.text, text_source.digest, size, mtime)
    except SourceError as exc:
        error = FileError(source.display, exc.message, exc.row, exc.column)
        return StoredFile(size, mtime, "", None, frozenset(), False, error)


def _syntax_message(exc: SyntaxError, text: str) -> str:
    """What a syntax error means: text newer Pythons accept (LibCST's parser knows their grammar: `type X = ...`,
    `def f[T]()`) needs the linter run under such a Python; anything else is a syntax error."""
    try:
        cst.parse_module(text)
    except Exception:  # noqa: BLE001 - any failure means the text is not newer syntax either
        return f"syntax error: {exc.msg}"
    running = f"{sys.version_info.major}.{sys.version_info.minor}"
    return (
        f"syntax error under Python {running}, which runs fastinit-lint: the file uses newer syntax; run "
        f"fastinit-lint under the Python version the project uses"
    )


def _facts_for(source: SourceFile, text: str, digest: str, size: int, mtime: int) -> StoredFile:
    markers = frozenset(m for m in _STATE["markers"] if m in text)
    try:
        if source.kind == "yaml":
            from ..model.yaml_facts import yaml_facts  # importing PyYAML is costly; most runs index no YAML

            facts = yaml_facts(source.display, text, source.path)
        else:
            with gc_paused():
                tree = ast.parse(text, filename=source.display)
            facts = python_facts(source.display, source.path, tree, text)
    except SyntaxError as exc:
        row, col = exc.lineno or 1, exc.offset or 1
        error = FileError(source.display, _syntax_message(exc, text), row, col)
        return StoredFile(size, mtime, digest, None, markers, False, error, lasting=True)
    except RecursionError:  # (a MemoryError is `_bounded`'s to report)
        error = FileError(source.display, "too deeply nested to parse; skipped")
        return StoredFile(size, mtime, digest, None, markers, False, error)
    except SourceError as exc:
        return StoredFile(
            size, mtime, digest, None, markers, False, FileError(source.display, exc.message, exc.row, exc.column)
        )
    has_directives = source.kind == "python" and may_have_directives(text)
    return StoredFile(size, mtime, digest, facts, markers, has_directives, None)


def _check_one(task: tuple[SourceFile, frozenset[str]]) -> FileResult:
    outcome = _bounded(_check_unbounded, task, task[0].display, "checking")
    return FileResult(task[0].display, errors=[outcome]) if isinstance(outcome, FileError) else outcome


def _check_failed(task: tuple[SourceFile, frozenset[str]], message: str) -> FileResult:
    return FileResult(task[0].display, errors=[FileError(task[0].display, message)])


def _check_unbounded(task: tuple[SourceFile, frozenset[str]]) -> FileResult:
    source, codes = task
    state = _STATE
    index: ProjectIndex = state["index"]
    stored = index.files.stored[source.display]
    rules = [rule for rule in state["rules"] if rule.code in codes]
    try:
        if "stdin" in state and state["stdin"][0] == source.display:
            text, encoding, digest = state["stdin"][1], "utf-8", None
        else:
            text_source = read_source(source.path, state["settings"].max_file_bytes)
            text, encoding, digest = text_source.text, text_source.encoding, text_source.digest
            if digest != stored.digest:  # edited since phase 1: its facts (lines, names) describe other text
                return FileResult(
                    source.display,
                    errors=[FileError(source.display, "file changed on disk while being checked; skipped (run again)")],
                )
        check = FileCheck(
            source.display, text, index.files[source.display], index, state["settings"], state["options"], rules
        )
        result = check_text(check, stored.markers, codes)
    except SourceError as exc:
        return FileResult(source.display, errors=[FileError(source.display, exc.message, exc.row, exc.column)])
    except RecursionError:
        return FileResult(source.display, errors=[FileError(source.display, "too deeply nested to check; skipped")])
    result.encoding, result.digest = encoding, digest
    return result


def _check_yaml(source: SourceFile, index: ProjectIndex, rules: list[type[Rule]], options: CheckOptions) -> FileResult:
    """A YAML config is checked here, in this process (no LibCST); only those configuring a Trainer are read
    again."""
    facts = index.files[source.display]
    if not facts.runners:
        return FileResult(source.display)
    if "stdin" in _STATE and _STATE["stdin"][0] == source.display:
        return check_yaml_text(source.display, _STATE["stdin"][1], facts, index, rules, options)
    try:
        text_source = read_source(source.path, _STATE["settings"].max_file_bytes)
    except SourceError as exc:
        return FileResult(source.display, errors=[FileError(source.display, exc.message, exc.row, exc.column)])
    if text_source.digest != index.files.stored[source.display].digest:
        return FileResult(
            source.display,
            errors=[FileError(source.display, "file changed on disk while being checked; skipped (run again)")],
        )
    result = check_yaml_text(source.display, text_source.text, facts, index, rules, options)
    result.encoding, result.digest = text_source.encoding, text_source.digest
    return result


def _size(source: SourceFile) -> int:
    try:
        return os.stat(source.path).st_size
    except OSError:
        return 0


_Item = TypeVar("_Item")
_Result = TypeVar("_Result")


def _map(
    function: Callable[[_Item], _Result],
    failed: Callable[[_Item, str], _Result],
    doing: str,
    items: Sequence[_Item],
    jobs: int,
    progress: Progress,
    from_workers: Callable[[_Result], None] | None = None,
) -> list[_Result]:
    """`function` over `items` in forked workers, also for one job or one item: LibCST's native parser can
    crash the process or hang where no alarm reaches it, and only a worker can die or be killed for one
    file. A lost item gets `failed(item, why)`. `from_workers` sees each result as it arrives (in this
    process, while others run)."""
    results: list[_Result] = []
    # What workers inherit (rules, the index, LibCST) is never garbage: frozen, their full collections skip it
    # (and leave its pages shared with this process); unfrozen when they are done.
    gc.freeze()
    try:
        for result in isolated_map(
            function,
            items,
            jobs,
            _STATE["settings"].max_file_seconds + 1,
            _setup_worker,
            lambda item, why: failed(item, _lost(doing, why)),
            _cannot_fork,
        ):
            results.append(result)
            progress.tick()
            if from_workers is not None:
                from_workers(result)
        return results
    finally:
        gc.unfreeze()
        progress.close()


def _setup_worker() -> None:
    limit_memory(_STATE["settings"].max_file_memory_mb)


def _cannot_fork(error: OSError) -> None:
    if _STATE.get("cannot_fork"):
        return  # said once per run, not once per phase
    _STATE["cannot_fork"] = True
    sys.stderr.write(
        f"fastinit-lint: warning: cannot start worker processes ({error.strerror or error}); "
        f"checking in this process, without crash isolation\n"
    )


class PerFileIgnores:
    def __init__(self, settings: Settings) -> None:
        self.root = settings.root
        self.entries = [(PatternSet([glob]), frozenset(codes)) for glob, codes in settings.per_file_ignores]

    def codes_ignored(self, source: SourceFile, expand: Callable[[str], set[str]]) -> set[str]:
        if not self.entries:
            return set()
        rel = os.path.relpath(source.path, self.root).replace(os.sep, "/")
        ignored: set[str] = set()
        for patterns, codes in self.entries:
            if patterns.match(rel, False):
                for code in codes:
                    ignored |= expand(code)
        return ignored


def run(request: RunRequest, expand: Callable[[str], set[str]]) -> RunResult:
    settings = request.settings
    jobs = request.jobs or os.cpu_count() or 1
    forget_layout()
    allow_valid_python()
    excluder = project_excluder(settings, nested_configs=True)
    errors: list[FileError] = []
    declarations: list[tuple[str, str]] = []  # files that may pin the Lightning release
    if request.stdin is not None:
        name = request.stdin[0]
        sources = [SourceFile(name, os.path.abspath(name), file_kind(name) or "python")]
    else:
        sources, errors = discover(request.paths, excluder, request.force_exclude, declarations)
    nested = [display for display, _ in excluder.nested]  # under the paths given (the context walk skips them too)
    checked = {s.display for s in sources}
    context_sources = _project_context(request, excluder, sources, declarations)
    lightning = LightningVersions.of_project(
        declarations, settings.lightning_version, settings.root, settings.config_path
    )
    errors.extend(excluder.errors)

    cache = _open_cache(settings, request.use_cache and request.stdin is None, [*sources, *context_sources])
    _prepare(settings, request.rules, request.options)

    preload = _LibCSTPreload()
    store, reindexed = _phase_one(sources + context_sources, cache, jobs, request, preload)
    for source in sources:
        if (error := store.stored[source.display].error) is not None:
            errors.append(error)

    index_digest = project_digest(store, settings.strategy, settings.strategy_source, lightning)
    # Made now, it reads nothing: a run whose every result comes from the cache asks it nothing.
    index = ProjectIndex(store, settings.strategy, settings.strategy_source, lightning)
    _STATE.update(index=index)
    if request.stdin is not None:
        _STATE["stdin"] = request.stdin

    ignores = PerFileIgnores(settings)
    all_codes = frozenset(r.code for r in request.rules)
    results: dict[str, FileResult] = {}
    keys: dict[str, tuple] = {}
    tasks = []
    fresh = 0  # results not taken from the cache: the cache file needs rewriting
    for source in sources:
        stored = store.stored[source.display]
        if not stored.has_facts:
            continue
        codes = all_codes - ignores.codes_ignored(source, expand)
        keys[source.display] = key = (stored.digest, index_digest, codes, request.options)
        cached = cache.results.get(source.display)
        if cached is not None and cached[0] == key and not (request.options.fix and cached[1].findings):
            results[source.display] = cached[1]
            continue
        fresh += 1
        if source.kind == "yaml":
            results[source.display] = _check_yaml(
                source, index, [r for r in request.rules if r.code in codes], request.options
            )
        elif gate(
            [r for r in request.rules if r.code in codes], stored.markers, store[source.display], index, settings
        ) or (request.options.report_unused_suppressions and stored.has_directives):
            tasks.append((source, codes))
        else:
            results[source.display] = FileResult(source.display)
    tasks.sort(key=lambda task: _size(task[0]), reverse=True)
    preload.wait()  # never fork while another thread may hold the import lock
    if tasks:
        store.summarize()  # before the fork, so workers inherit the index's tables instead of each making them
    for result in _map(
        _check_one, _check_failed, "checking", tasks, jobs, Progress("checking", len(tasks), request.progress)
    ):
        results[result.filename] = result
    for name, result in results.items():
        if result.errors or result.fixed_source is not None:
            cache.results.pop(name, None)
        else:
            cache.results[name] = (keys[name], result)
    write_errors = _write_fixes(results.values()) if request.write and request.stdin is None else []
    cache.save(changed=fresh > 0 or reindexed > 0)
    ordered = [results[name] for name in sorted(results)]
    for result in ordered:
        errors.extend(result.errors)
    return RunResult(ordered, errors, len(checked), write_errors, nested)


def project_excluder(settings: Settings, nested_configs: bool = False) -> Excluder:
    """`exclude` replaces the default excludes, `extend-exclude` adds to them (ruff's model); with
    `nested_configs`, directories holding their own config are left to runs of their own."""
    excludes = (*(settings.exclude if settings.exclude is not None else DEFAULT_EXCLUDES), *settings.extend_exclude)
    return Excluder(settings.root, excludes, nested_configs=nested_configs and settings.nested_configs)


def _open_cache(settings: Settings, enabled: bool, sources: Sequence[SourceFile]) -> Cache:
    """The project's cache, under the schema of what phases 1 and 2 store (the CLI and the server share it).
    Module names several files share are told apart by path (monorepos of scripts); the facts then depend on
    which names collide, so the cache does too: the table is set here, before phase 1 forks its workers."""
    modules = ModuleTable(settings.root, (s.path for s in sources if s.kind == "python"))
    use_table(modules)
    return Cache(
        settings.root,
        settings.fingerprint(),
        enabled=enabled,
        schema=schema_digest(StoredFile, FileResult),
        layout=modules.digest(),
    )


def _prepare(settings: Settings, rules: list[type[Rule]], options: CheckOptions) -> None:
    """The module state phase-1 and phase-2 work reads (and forked workers inherit)."""
    _STATE.clear()
    _STATE.update(
        settings=settings,
        markers=frozenset(m for r in rules for m in (*r.markers, *r.required_markers)),
        rules=rules,
        options=options,
    )


def index_project(
    settings: Settings, rules: list[type[Rule]], jobs: int = 0, use_cache: bool = True
) -> tuple[FactsStore, list[FileError], LightningVersions]:
    """Phase 1 over every file of the project at `settings.root`, through the CLI's cache, for a front end
    that keeps the index between checks (the language server). Files are stored by absolute path, which
    is also each file's display name. Without a project marker there is no project: nothing is indexed.
    Also which Lightning releases the project's declarations admit, as a run reads them."""
    forget_layout()
    allow_valid_python()
    excluder = project_excluder(settings)
    declarations: list[tuple[str, str]] = []
    sources, errors = (
        discover([settings.root], excluder, declarations=declarations) if settings.index_project else ([], [])
    )
    errors.extend(excluder.errors)
    cache = _open_cache(settings, use_cache and settings.index_project, sources)
    _prepare(settings, rules, CheckOptions())
    request = RunRequest([settings.root], settings, rules, use_cache=use_cache)
    store, reindexed = _phase_one(sources, cache, jobs or os.cpu_count() or 1, request, _LibCSTPreload())
    cache.save(changed=reindexed > 0)
    errors.extend(stored.error for stored in store.stored.values() if stored.error is not None)
    return (
        store,
        errors,
        LightningVersions.of_project(declarations, settings.lightning_version, settings.root, settings.config_path),
    )


def index_text(source: SourceFile, text: str, settings: Settings, rules: list[type[Rule]]) -> StoredFile:
    """Phase 1 for one file's text as an editor holds it (not as saved), in this process."""
    _prepare(settings, rules, CheckOptions())
    return _facts_for(source, text, digest_bytes(text.encode()), -1, -1)


def _project_context(
    request: RunRequest, excluder: Excluder, sources: list[SourceFile], declarations: list[tuple[str, str]]
) -> list[SourceFile]:
    """Index the rest of the project too: a Trainer's strategy in `train.py` must still be known when only
    `model.py` changed (pre-commit gives files) or only `src/` is linted. Nothing to add when the project
    root itself is given; without a project marker there is no project to index."""
    root = os.path.realpath(request.settings.root)
    if not request.settings.index_project or (
        request.stdin is None and any(os.path.realpath(p) == root for p in request.paths)
    ):
        return []
    context, _ = discover([request.settings.root], excluder, declarations=declarations)
    given = {s.path for s in sources}
    return [s for s in context if s.path not in given]


class _LibCSTPreload:
    """Imports libcst on a thread of this process while phase-1 workers run, once a phase-1 result shows a
    file that rules will likely parse (it binds a Trainer/Fabric): phase-2 workers, forked later, then
    inherit it instead of each importing it. Started only on that evidence, since on a 2-core machine the
    import competes with phase-1 workers (docs/performance.md)."""

    def __init__(self) -> None:
        self.thread: threading.Thread | None = None

    def consider(self, stored: StoredFile) -> None:
        # Reading the facts unpickles them here, on the parent's time, for every file: the summary first.
        if self.thread is not None or not stored.has_runners:
            return
        if any(r.bound_to for r in stored.facts().runners):
            self.thread = threading.Thread(target=self._load, daemon=True)
            self.thread.start()

    @staticmethod
    def _load() -> None:
        import libcst

        libcst.parse_module("pass\n")  # loads the native parser too

    def wait(self) -> None:
        if self.thread is not None:
            self.thread.join()


def _phase_one(
    sources: list[SourceFile], cache: Cache, jobs: int, request: RunRequest, preload: _LibCSTPreload
) -> tuple[FactsStore, int]:
    store = FactsStore()
    todo = []
    by_digest = 0  # cached files kept after a doubt: saved again, so the next run trusts their stat
    for source in sources:
        if request.stdin is not None and source.display == request.stdin[0]:
            text = request.stdin[1]
            store.put(_facts_for(source, text, digest_bytes(text.encode()), -1, -1))
            continue
        cached = cache.facts.get(source.path)
        if cached is not None and (vouched := _vouch(source, cached, request.settings.max_file_bytes)) is not None:
            store.put(cached)
            by_digest += vouched == "digest"
            continue
        todo.append(source)
    todo.sort(key=_size, reverse=True)  # largest first: no single big file left running at the end
    for stored in _map(
        _index_one,
        _index_failed,
        "indexing",
        todo,
        jobs,
        Progress("indexing", len(todo), request.progress),
        preload.consider,
    ):
        store.put(stored)
    by_display = {s.display: s for s in sources}
    for display, stored in store.stored.items():
        if (stored.error is None or stored.lasting) and stored.size >= 0:
            stored.verified_ns = cache.started_ns
            cache.facts[by_display[display].path] = stored
    return store, len(todo) + by_digest


# File timestamps lag the clock by up to their granularity (a kernel tick; 2 s on FAT), so a change made
# just after a run looked at a file can carry a ctime a little before that run started.
_TIMESTAMP_SLACK_NS = 2_000_000_000


def _vouch(source: SourceFile, cached: StoredFile, max_bytes: int) -> str | None:
    """How a cached file's record is known to still be true of it: "stat", or "digest" when the stat leaves a
    doubt (the record then takes the file's new mtime); None when it is not. Size and mtime can both survive
    an edit (`os.utime`, `cp -p`, tar); the ctime cannot, so the stat alone is trusted only for a file whose
    ctime is older than the run that last verified the record (git's racy-entry rule)."""
    if not (cached.has_facts or cached.lasting) or cached.filename != source.display:
        return None
    try:
        stat = os.stat(source.path)
        if stat.st_size != cached.size:
            return None
        if stat.st_mtime_ns == cached.mtime_ns and stat.st_ctime_ns < cached.verified_ns - _TIMESTAMP_SLACK_NS:
            return "stat"
        if digest_bytes(read_bytes(source.path, max_bytes)) != cached.digest:
            return None
    except (OSError, SourceError):
        return None
    cached.mtime_ns = stat.st_mtime_ns
    return "digest"


def _write_fixes(results) -> list[FileError]:
    errors = []
    results = [result for result in results if result.fixed_source is not None]
    fixed_here = {result.filename for result in results}
    edited_elsewhere: set[str] = set()  # files a fix of another file added lines to in this run
    for result in results:
        path = result.filename
        try:
            others = with_inserted_lines(result, fixed_here, edited_elsewhere)
            write_together([(path, result.fixed_source.encode(result.encoding), result.digest), *others])
            edited_elsewhere.update(other for other, _, _ in others)
        except WriteRefused as exc:
            errors.append(FileError(path, f"{exc}; fixes not written"))
            result.fixes_not_written()
        except OSError as exc:
            errors.append(FileError(path, f"cannot write fixed file: {exc.strerror or exc}"))
            result.fixes_not_written()
    return errors

"""`fastinit-lint server`: the Language Server Protocol over stdio, on pygls.

Threads: pygls's event loop (this module's handlers) owns the documents and what was published; one engine
thread owns the LiveProjects and does all indexing and checking, one job at a time, so the loop keeps
answering while a large project is indexed. Edits are debounced; a job's results are published only if no
edit, close or setting arrived since it started (a newer job is then queued and publishes instead).
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import logging
import os
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from lsprotocol import types
from pygls.server import LanguageServer
from pygls.uris import to_fs_path

from .. import __version__
from ..output.docs import explain_text
from ..engine.checker import CheckOptions
from ..diagnostics import FileResult, Finding
from ..engine.fixes import edit_between
from ..engine.live import LiveProject
from ..engine.registry import Registry
from ..engine.suppressions import UNUSED_SUPPRESSION_CODE
from ..output.add_noqa import with_noqa
from ..workspace.config import CONFIG_FILE, ConfigError, load_settings, parse_table
from ..workspace.discovery import file_kind
from ..workspace.source import digest_bytes
from .convert import SOURCE, Lines, diagnostic, error_diagnostic

FIX_ALL = f"source.fixAll.{SOURCE}"
EXPLAIN = f"{SOURCE}.explain"
SETTINGS_SECTION = SOURCE
_CONFIG_NAMES = (CONFIG_FILE, "pyproject.toml")
log = logging.getLogger(__name__)


@dataclass
class Checked:
    """What was published for one document: the findings behind its diagnostics, for code actions and hover."""

    version: int | None
    key: tuple
    result: FileResult
    project: LiveProject


class Server(LanguageServer):
    def __init__(self, debounce: float, jobs: int = 0, use_cache: bool = True) -> None:
        super().__init__("fastinit-lint", __version__, max_workers=2)
        self.debounce, self.jobs, self.use_cache = debounce, jobs, use_cache
        self.registry = Registry.default()
        self.engine = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fastinit-engine")
        # Loop thread only:
        self.overrides: dict = {}  # editor settings, as config fields (jobs carry a copy)
        self.generation = 0  # bumped by every change a running job has not seen
        self.checked: dict[str, Checked] = {}
        self.closed: set[str] = set()
        self.changed_files: set[str] = set()
        self.reload_settings = False
        self.timer: asyncio.TimerHandle | None = None
        self.progress_tokens = itertools.count(1)
        # Engine thread only:
        self.engine_overrides: dict = {}
        self.fixed: tuple = (None, None, None)  # (uri, text, fixed text) of the last "fix all"
        self.projects: dict[str, LiveProject] = {}  # by root
        self.project_of: dict[str, str | None] = {}  # document path -> its project's root (None: bad config)

    # -- loop thread ------------------------------------------------------------------------------------

    def changed(self, delay: float | None = None) -> None:
        """Something the diagnostics depend on changed: (re)start the debounce timer."""
        self.generation += 1
        if self.timer is not None:
            self.timer.cancel()
        self.timer = self.loop.call_later(self.debounce if delay is None else delay, self.start_job)

    def start_job(self) -> None:
        self.timer = None
        self.submit(self.next_job())

    async def index_folders(self) -> None:
        """Index the workspace folders in the background, before any document asks (with progress)."""
        folders = [folder.uri for folder in self.workspace.folders.values()] or [self.workspace.root_uri]
        roots = tuple(path for path in map(_path, filter(None, folders)) if path is not None)
        token = await self.begin_progress("fastinit-lint: indexing the project")
        self.generation += 1
        try:
            await self.submit(self.next_job(roots))
        finally:
            if token is not None:
                self.progress.end(token, types.WorkDoneProgressEnd())

    async def watch_files(self) -> None:
        """Ask the client to tell us of files changed outside it (a `git checkout`, a config file edited)."""
        workspace = self.client_capabilities.workspace
        watched = workspace.did_change_watched_files if workspace is not None else None
        if watched is None or not watched.dynamic_registration:
            return
        watchers = [
            types.FileSystemWatcher(glob_pattern=f"**/{name}")
            for name in ("*.py", "*.pyi", "*.yaml", "*.yml", *_CONFIG_NAMES)
        ]
        options = types.DidChangeWatchedFilesRegistrationOptions(watchers=watchers)
        await self.register_capability_async(
            types.RegistrationParams(
                registrations=[
                    types.Registration(
                        id=f"{SOURCE}-watched-files",
                        method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                        register_options=options,
                    )
                ]
            )
        )

    async def begin_progress(self, title: str) -> str | None:
        window = self.client_capabilities.window
        if window is None or not window.work_done_progress:
            return None
        token = f"fastinit-lint-{next(self.progress_tokens)}"
        await self.progress.create_async(token)
        self.progress.begin(token, types.WorkDoneProgressBegin(title=title))
        return token

    def next_job(self, roots: tuple[str, ...] = ()) -> "_Job":
        """A job for everything changed so far; the changes are its from now on."""
        documents = {}
        for uri, document in self.workspace.text_documents.items():
            path = _path(uri)
            if path is not None:
                documents[uri] = (path, document.version, document.source, self.checked.get(uri))
        job = _Job(
            documents,
            self.closed,
            self.changed_files,
            self.reload_settings,
            dict(self.overrides),
            self.generation,
            roots,
        )
        self.closed, self.changed_files, self.reload_settings = set(), set(), False
        return job

    def submit(self, job: "_Job") -> asyncio.Future:
        future = self.loop.run_in_executor(self.engine, self.run_job, job)
        future.add_done_callback(lambda done: self.publish(job, done))
        return future

    def publish(self, job: "_Job", done: asyncio.Future) -> None:
        if done.cancelled():
            return
        if (error := done.exception()) is not None:
            self.report_crash("the project", error)
            return
        if job.generation != self.generation:
            return  # a newer job has everything this one saw, and more
        for uri, checked in done.result().items():
            document = self.workspace.text_documents.get(uri)
            if document is None:
                continue
            self.checked[uri] = checked
            lines = Lines(document.source, self.workspace.position_codec)
            root = checked.project.settings.root
            diagnostics = [diagnostic(f, lines, root) for f in checked.result.findings]
            diagnostics += [error_diagnostic(e, lines) for e in checked.result.errors]
            self.publish_diagnostics(uri, diagnostics, version=checked.version)

    def set_overrides(self, settings: object) -> None:
        try:
            overrides = _overrides(settings)
        except ConfigError as exc:
            self.show_message(f"fastinit-lint: {exc}", types.MessageType.Error)
            return
        if overrides != self.overrides:
            self.overrides = overrides
            self.reload_settings = True

    def current(self, uri: str) -> Checked | None:
        """What is published for `uri`, if it describes the document's text as it is now."""
        checked = self.checked.get(uri)
        document = self.workspace.text_documents.get(uri)
        if checked is None or document is None or checked.version != document.version or self.timer is not None:
            return None
        return checked

    def report_crash(self, what: str, error: BaseException) -> None:
        text = "".join(traceback.format_exception(error))
        log.error("fastinit-lint: crashed while checking %s:\n%s", what, text)
        self.show_message_log(
            f"fastinit-lint: crashed while checking {what} (please report this):\n{text}", types.MessageType.Error
        )

    # -- engine thread ----------------------------------------------------------------------------------

    def run_job(self, job: "_Job") -> dict[str, Checked]:
        if job.reload_settings:
            self.projects.clear()
            self.project_of.clear()
        self.engine_overrides = job.overrides
        for root in job.roots:
            self.project(root)
        for path in job.closed:
            project = self.project(path)
            if project is not None:
                project.forget_text(path)
        for path in job.changed_files:
            for project in self.projects.values():
                if project.owns(path):
                    project.reload(path)
        by_uri = {}
        for uri, (path, _version, text, _published) in job.documents.items():
            project = self.project(path)
            if project is None or not project.owns(path):
                continue
            if project.texts.get(path) == text or self.guarded(path, project.set_text, path, text):
                by_uri[uri] = project  # every open text is in the index before any document is checked
        results = {}
        for uri, project in by_uri.items():
            path, version, text, published = job.documents[uri]
            options = _options(project)
            key = (digest_bytes(text.encode()), project.digest(), options)
            if published is not None and published.key == key and published.project is project:
                if published.version != version:  # the same text again (an undo): the same findings
                    results[uri] = Checked(version, key, published.result, project)
                continue
            result = self.guarded(path, project.check, path, options)
            if result is not None:
                results[uri] = Checked(version, key, result, project)
        return results

    def guarded(self, path: str, work, *args):
        """`work(*args)` (True for a None result), or None and a log message if it crashes: one document must
        not stop the server."""
        try:
            return work(*args) or True
        except Exception as exc:  # noqa: BLE001
            self.loop.call_soon_threadsafe(self.report_crash, path, exc)
            return None

    def project(self, path: str) -> LiveProject | None:
        """The project holding `path`, indexed on first use; None (and a message) if its config is bad."""
        if path not in self.project_of:
            try:
                settings = load_settings(path, None, self.engine_overrides)
                folder = self.folder_of(path)
                if not settings.index_project and folder is not None:
                    # No marker, but the editor says what the project is: as if the folder had one.
                    settings = dataclasses.replace(settings, root=folder, index_project=True)
                root = settings.root
                if root not in self.projects:
                    self.projects[root] = LiveProject(settings, self.registry, self.jobs, self.use_cache)
            except ConfigError as exc:
                self.loop.call_soon_threadsafe(self.show_message, f"fastinit-lint: {exc}", types.MessageType.Error)
                root = None
            self.project_of[path] = root
        root = self.project_of[path]
        return self.projects.get(root) if root is not None else None

    def folder_of(self, path: str) -> str | None:
        """The innermost workspace folder holding `path`."""
        folders = [p for p in (_path(f.uri) for f in list(self.workspace.folders.values())) if p is not None]
        holding = [f for f in folders if path == f or path.startswith(f.rstrip(os.sep) + os.sep)]
        return max(holding, key=len, default=None)

    def fix_all(self, uri: str, path: str, text: str) -> str | None:
        """The document with every applicable fix applied, as `fastinit-lint --fix` would write it."""
        if self.fixed[:2] != (uri, text):
            project = self.project(path)
            if project is None or project.texts.get(path) != text:
                return None  # the engine has not seen this text yet: no edit computed on other text
            options = CheckOptions(fix=True, unsafe_fixes=project.settings.unsafe_fixes, edits=False)
            self.fixed = (uri, text, project.check(path, options).fixed_source)
        return self.fixed[2]


@dataclass
class _Job:
    documents: dict  # uri -> (path, version, text, what is published for it)
    closed: set[str]
    changed_files: set[str]
    reload_settings: bool
    overrides: dict
    generation: int
    roots: tuple[str, ...] = ()  # workspace folders to index before any document asks


def _options(project: LiveProject) -> CheckOptions:
    # Fix edits for the quick fixes; unused suppressions faded in place whenever FI900 is enabled.
    return CheckOptions(unsafe_fixes=project.settings.unsafe_fixes, report_unused_suppressions=True, edits=True)


def _path(uri: str) -> str | None:
    path = to_fs_path(uri) if uri.startswith("file:") else None
    return os.path.realpath(path) if path else None


def _overrides(settings: object) -> dict:
    """Editor settings (`{"fastinit-lint": {"select": [...], "strategy": "fsdp"}}`, keys as in the config
    file) as config fields; ConfigError names what is wrong."""
    if isinstance(settings, dict) and isinstance(settings.get(SETTINGS_SECTION), dict):
        settings = settings[SETTINGS_SECTION]
    if not settings:
        return {}
    if not isinstance(settings, dict):
        raise ConfigError(f"editor settings: expected an object, got {settings!r}")
    return parse_table(settings, "editor settings")


def build(debounce: float = 0.25, jobs: int = 0, use_cache: bool = True) -> Server:
    server = Server(debounce, jobs, use_cache)

    @server.feature(types.INITIALIZE)
    def initialize(ls: Server, params: types.InitializeParams) -> None:
        ls.set_overrides(params.initialization_options)

    @server.feature(types.INITIALIZED)
    async def initialized(ls: Server, params: types.InitializedParams) -> None:
        await ls.watch_files()
        await ls.index_folders()

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def edited(ls: Server, params) -> None:
        ls.changed()

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def closed(ls: Server, params: types.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        ls.checked.pop(uri, None)
        path = _path(uri)
        if path is not None:
            ls.closed.add(path)
        ls.publish_diagnostics(uri, [])
        ls.changed()

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def files_changed(ls: Server, params: types.DidChangeWatchedFilesParams) -> None:
        for change in params.changes:
            path = _path(change.uri)
            if path is None:
                continue
            if os.path.basename(path) in _CONFIG_NAMES:
                ls.reload_settings = True
            ls.changed_files.add(path)
        ls.changed()

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    def configuration(ls: Server, params: types.DidChangeConfigurationParams) -> None:
        ls.set_overrides(params.settings)
        ls.changed()

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def hover(ls: Server, params: types.HoverParams) -> types.Hover | None:
        checked = ls.current(params.text_document.uri)
        if checked is None:
            return None
        at = params.position
        codes = dict.fromkeys(
            d.code
            for d in _diagnostics(ls, params.text_document.uri, checked)
            if (d.range.start.line, d.range.start.character)
            <= (at.line, at.character)
            <= (d.range.end.line, d.range.end.character)
        )
        pages = [explain_text(ls.registry.by_code[code]) for code in codes if code in ls.registry.by_code]
        if not pages:
            return None
        return types.Hover(types.MarkupContent(types.MarkupKind.Markdown, "\n---\n".join(pages)))

    @server.command(EXPLAIN)
    def explain(ls: Server, arguments: list) -> str | None:
        rule = ls.registry.lookup(str(arguments[0])) if arguments else None
        return explain_text(rule) if rule is not None else None

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix, FIX_ALL], resolve_provider=False),
    )
    async def code_action(ls: Server, params: types.CodeActionParams) -> list[types.CodeAction] | None:
        uri = params.text_document.uri
        checked, path = ls.current(uri), _path(uri)
        if checked is None or path is None:  # only documents with a file path are checked
            return None
        document = ls.workspace.get_text_document(uri)
        lines = Lines(document.source, ls.workspace.position_codec)
        only = params.context.only
        actions = []
        if not only or any(kind.startswith(types.CodeActionKind.QuickFix) for kind in only):
            actions += _quick_fixes(ls, uri, checked, lines, params)
        options = _options(checked.project)
        # Asked for on every cursor move: computed unasked only when some finding has a fix to apply.
        wanted = (
            any(FIX_ALL.startswith(kind) for kind in only)
            if only
            else any(options.applies(f.fix) for f in checked.result.findings)
        )
        if wanted:
            version, text = document.version, document.source
            fixed = await ls.loop.run_in_executor(ls.engine, ls.fix_all, uri, path, text)
            if fixed is not None and fixed != text and ls.workspace.get_text_document(uri).version == version:
                actions.append(
                    types.CodeAction(
                        title=f"Fix all {'' if checked.project.settings.unsafe_fixes else 'safe '}fastinit-lint fixes",
                        kind=FIX_ALL,
                        edit=_edit(ls, uri, version, [lines.text_edit(edit_between(text, fixed))]),
                    )
                )
        return actions

    return server


def _diagnostics(ls: Server, uri: str, checked: Checked) -> list[types.Diagnostic]:
    lines = Lines(ls.workspace.get_text_document(uri).source, ls.workspace.position_codec)
    return [diagnostic(f, lines, checked.project.settings.root) for f in checked.result.findings]


def _quick_fixes(
    ls: Server, uri: str, checked: Checked, lines: Lines, params: types.CodeActionParams
) -> list[types.CodeAction]:
    """A fix and a noqa for each of our findings the client asks about (the diagnostics in its context)."""
    asked = {
        (d.code, d.range.start.line, d.range.start.character) for d in params.context.diagnostics if d.source == SOURCE
    }
    document = ls.workspace.get_text_document(uri)
    actions = []
    for finding in checked.result.findings:
        start = lines.position(finding.location)
        if (finding.code, start.line, start.character) not in asked:
            continue
        diagnostic_ = diagnostic(finding, lines, checked.project.settings.root)
        fix = finding.fix
        if fix is not None and fix.edits:
            unsafe = fix.applicability != "safe"
            actions.append(
                types.CodeAction(
                    title=f"{finding.code}: {fix.message}" + (" (unsafe fix: review it)" if unsafe else ""),
                    kind=types.CodeActionKind.QuickFix,
                    diagnostics=[diagnostic_],
                    is_preferred=not unsafe,
                    edit=_edit(ls, uri, document.version, [lines.text_edit(e) for e in fix.edits]),
                )
            )
        actions.extend(_noqa(ls, uri, document.version, document.source, finding, diagnostic_, lines))
    return actions


def _noqa(
    ls: Server, uri: str, version: int | None, text: str, finding: Finding, diagnostic_: types.Diagnostic, lines: Lines
) -> list[types.CodeAction]:
    if finding.code == UNUSED_SUPPRESSION_CODE:
        return []  # suppressing "this suppression is unused" would be circular
    noqa_text, added, _ = with_noqa(text, [finding], python=file_kind(finding.filename) != "yaml")
    if not added:
        return []
    return [
        types.CodeAction(
            title=f"Suppress {finding.code} with `# noqa: {finding.code}`",
            kind=types.CodeActionKind.QuickFix,
            diagnostics=[diagnostic_],
            edit=_edit(ls, uri, version, [lines.text_edit(edit_between(text, noqa_text))]),
        )
    ]


def _edit(ls: Server, uri: str, version: int | None, edits: list[types.TextEdit]) -> types.WorkspaceEdit:
    """Versioned where the client supports it, so an edit computed on other text is refused, not misapplied."""
    workspace = ls.client_capabilities.workspace
    if workspace is None or workspace.workspace_edit is None or not workspace.workspace_edit.document_changes:
        return types.WorkspaceEdit(changes={uri: edits})
    document = types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=version)
    return types.WorkspaceEdit(document_changes=[types.TextDocumentEdit(document, [*edits])])

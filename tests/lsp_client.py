"""A minimal LSP client over a subprocess's stdio: JSON-RPC framing by hand, so the tests see every byte the
server writes (anything on stdout that is not a framed message fails the read)."""

from __future__ import annotations

import itertools
import json
import queue
import subprocess
import sys
import threading
from pathlib import Path

WAIT = 120  # seconds: a bound for a hung server, not a latency expectation


class ProtocolError(AssertionError):
    pass


class Client:
    def __init__(self, *args: str, cwd: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "fastinit_lint", "server", *args],
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.ids = itertools.count(1)
        self.responses: dict[int, queue.Queue] = {}
        self.notifications: queue.Queue = queue.Queue()
        self.seen: list[dict] = []  # every notification, in order
        self.errors: list[str] = []
        self.lock = threading.Lock()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.stderr_lines: list[bytes] = []
        threading.Thread(target=lambda: self.stderr_lines.extend(self.process.stderr), daemon=True).start()

    def _read(self) -> None:
        stream = self.process.stdout
        try:
            while True:
                headers = {}
                while True:
                    line = stream.readline()
                    if not line:
                        return
                    if line == b"\r\n":
                        break
                    name, sep, value = line.decode("ascii").partition(":")
                    if not sep or not line.endswith(b"\r\n"):
                        raise ProtocolError(f"not an LSP header on stdout: {line!r}")
                    headers[name.strip().lower()] = value.strip()
                message = json.loads(stream.read(int(headers["content-length"])))
                if "id" in message and "method" in message:
                    self._answer(message)
                elif "id" in message:
                    self.responses.setdefault(message["id"], queue.Queue()).put(message)
                else:
                    self.seen.append(message)
                    self.notifications.put(message)
        except Exception as exc:  # noqa: BLE001 - surfaced by every later wait
            self.errors.append(repr(exc))
            self.notifications.put({"method": "<protocol error>", "params": repr(exc)})

    def _answer(self, request: dict) -> None:
        """Server-to-client requests: progress tokens, capability registrations, configuration."""
        self.seen.append(request)
        result = [] if request["method"] == "workspace/configuration" else None
        self._send({"jsonrpc": "2.0", "id": request["id"], "result": result})

    def _send(self, message: dict) -> None:
        body = json.dumps(message).encode()
        with self.lock:
            self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
            self.process.stdin.flush()

    def request(self, method: str, params: object = None) -> object:
        number = next(self.ids)
        box = self.responses.setdefault(number, queue.Queue())
        self._send({"jsonrpc": "2.0", "id": number, "method": method, "params": params})
        try:
            response = box.get(timeout=WAIT)
        except queue.Empty:
            raise AssertionError(f"no response to {method}; stderr: {b''.join(self.stderr_lines)[-3000:]!r}") from None
        if "error" in response:
            raise AssertionError(f"{method} failed: {response['error']}")
        return response["result"]

    def notify(self, method: str, params: object = None) -> None:
        self._send({"jsonrpc": "2.0", "method": method, "params": params})

    def wait_for(self, method: str, where=lambda params: True) -> dict:
        while True:
            try:
                message = self.notifications.get(timeout=WAIT)
            except queue.Empty:
                raise AssertionError(f"no {method}; stderr: {b''.join(self.stderr_lines)[-3000:]!r}") from None
            if message["method"] == "<protocol error>":
                raise ProtocolError(message["params"])
            if message["method"] == method and where(message["params"]):
                return message["params"]

    def diagnostics(self, uri: str, version: int | None = None) -> list[dict]:
        """The next diagnostics published for `uri` (for its `version` when given)."""
        return self.wait_for(
            "textDocument/publishDiagnostics",
            lambda p: p["uri"] == uri and (version is None or p.get("version") == version),
        )["diagnostics"]

    def initialize(self, root: Path, options: dict | None = None) -> dict:
        result = self.request(
            "initialize",
            {
                "processId": None,
                "rootUri": root.as_uri(),
                "initializationOptions": options,
                "workspaceFolders": [{"uri": root.as_uri(), "name": root.name}],
                "capabilities": {
                    "window": {"workDoneProgress": True},
                    "workspace": {
                        "workspaceEdit": {"documentChanges": True},
                        "didChangeWatchedFiles": {"dynamicRegistration": True},
                    },
                },
            },
        )
        self.notify("initialized", {})
        return result

    def open(self, path: Path, version: int = 1) -> str:
        uri = path.as_uri()
        self.notify(
            "textDocument/didOpen",
            {"textDocument": {"uri": uri, "languageId": "python", "version": version, "text": path.read_text()}},
        )
        return uri

    def change(self, uri: str, version: int, text: str) -> None:
        self.notify(
            "textDocument/didChange",
            {"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"text": text}]},
        )

    def close(self) -> int:
        """shutdown + exit; the server's exit code."""
        assert self.request("shutdown") is None
        self.notify("exit")
        code = self.process.wait(timeout=WAIT)
        assert not self.errors, self.errors
        return code

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def apply_edits(text: str, edits: list[dict]) -> str:
    """Text edits (UTF-16 positions; these tests' files are ASCII) applied as an editor would, last first."""
    lines = text.splitlines(keepends=True)
    offsets = list(itertools.accumulate((len(line) for line in lines), initial=0))

    def offset(position: dict) -> int:
        return offsets[min(position["line"], len(lines))] + position["character"]

    for edit in sorted(edits, key=lambda e: offset(e["range"]["start"]), reverse=True):
        text = text[: offset(edit["range"]["start"])] + edit["newText"] + text[offset(edit["range"]["end"]) :]
    return text


def workspace_edits(edit: dict, uri: str) -> list[dict]:
    return [e for change in edit["documentChanges"] if change["textDocument"]["uri"] == uri for e in change["edits"]]

"""`fastinit-lint server`, driven as an editor drives it: the real server in a subprocess, over stdio, with a
JSON-RPC client that fails on any byte of stdout that is not the protocol."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import run_installed
from lsp_client import Client, apply_edits, workspace_edits

EXAMPLES = Path(__file__).parent.parent / "examples"
MODEL = "src/mylm/model.py"
FIXED_CLASS = """\
        self.embed = None
        self.blocks = None
        self.head = None

    def configure_model(self):
        if self.embed is not None:
            return
        # Built eagerly on every rank, in float32, before FSDP can shard anything.
        self.embed = nn.Embedding(VOCAB, self.hparams.dim)
        self.blocks = nn.ModuleList(
            [Block(self.hparams.dim, self.hparams.heads) for _ in range(self.hparams.depth)]
        )
        self.head = nn.Linear(self.hparams.dim, VOCAB, bias=False)
        self.head.weight = self.embed.weight  # weight tying
"""


@pytest.fixture
def examples(tmp_path: Path) -> Path:
    target = tmp_path / "examples"
    shutil.copytree(EXAMPLES, target)
    return target


@pytest.fixture
def client(examples: Path):
    client = Client("--debounce", "0.05", "--no-cache", cwd=examples)
    client.initialize(examples)
    yield client
    client.kill()


def codes(diagnostics: list[dict]) -> list[str]:
    return [d["code"] for d in diagnostics]


def code_actions(client: Client, uri: str, diagnostics: list[dict], only: list[str] | None = None) -> list[dict]:
    context = {"diagnostics": diagnostics, **({"only": only} if only else {})}
    return client.request(
        "textDocument/codeAction", {"textDocument": {"uri": uri}, "range": diagnostics[0]["range"], "context": context}
    )


def test_model_file_gets_fi001_from_the_trainer_in_another_file(client, examples):
    uri = client.open(examples / MODEL)
    diagnostics = client.diagnostics(uri, version=1)
    assert codes(diagnostics) == ["FI001", "FI001", "FI001", "FI005", "FI008"]
    embed = diagnostics[0]
    assert embed["range"] == {"start": {"line": 14, "character": 8}, "end": {"line": 14, "character": 45}}
    assert embed["source"] == "fastinit-lint" and embed["severity"] == 2
    assert embed["codeDescription"]["href"].endswith("/docs/rules/FI001.md")
    assert "strategy 'fsdp' at train.py:9" in embed["message"] and str(examples) not in embed["message"]
    train = (examples / "train.py").as_uri()
    assert [
        (r["location"]["uri"], r["location"]["range"]["start"]["line"], r["message"])
        for r in embed["relatedInformation"]
    ] == [(train, 11, "trained by `trainer.fit(...)`"), (train, 8, "strategy 'fsdp'"), (train, 8, "precision 'bf16'")]
    assert client.close() == 0
    assert not any(m["method"] == "window/logMessage" and m["params"]["type"] == 1 for m in client.seen)


def test_quick_fix_edit_gives_the_fixed_class_as_the_cli_writes_it(client, examples, tmp_path):
    uri = client.open(examples / MODEL)
    diagnostics = client.diagnostics(uri)
    actions = code_actions(client, uri, diagnostics[:1])
    fix = actions[0]
    assert fix["kind"] == "quickfix" and fix["isPreferred"] and fix["title"].startswith("FI001: ")
    assert fix["diagnostics"][0]["code"] == "FI001"
    fixed = apply_edits((examples / MODEL).read_text(), workspace_edits(fix["edit"], uri))
    assert FIXED_CLASS in fixed

    by_cli = tmp_path / "by_cli"
    shutil.copytree(EXAMPLES, by_cli)
    run_installed("--fix", "--select", "FI001", "--no-cache", MODEL, cwd=by_cli)
    assert fixed == (by_cli / MODEL).read_text()


def test_fix_all_equals_the_cli_fix(client, examples, tmp_path):
    uri = client.open(examples / MODEL)
    diagnostics = client.diagnostics(uri)
    [fix_all] = code_actions(client, uri, diagnostics, only=["source.fixAll"])
    assert fix_all["kind"] == "source.fixAll.fastinit-lint" and fix_all["title"] == "Fix all safe fastinit-lint fixes"
    fixed = apply_edits((examples / MODEL).read_text(), workspace_edits(fix_all["edit"], uri))

    by_cli = tmp_path / "by_cli"
    shutil.copytree(EXAMPLES, by_cli)
    run_installed("--fix", "--no-cache", MODEL, cwd=by_cli)
    assert fixed == (by_cli / MODEL).read_text() != (examples / MODEL).read_text()


def test_edits_update_diagnostics_and_stale_versions_get_no_actions(client, examples):
    uri = client.open(examples / MODEL)
    first = client.diagnostics(uri, version=1)
    text = (examples / MODEL).read_text()
    client.change(uri, 2, "# a comment\n" + text)
    moved = client.diagnostics(uri, version=2)
    assert [d["range"]["start"]["line"] for d in moved] == [d["range"]["start"]["line"] + 1 for d in first]

    client.change(uri, 3, text.replace("self.embed = nn.Embedding(VOCAB, dim)", "self.embed = nn.Embedding(VOCAB, 8)"))
    fewer = client.diagnostics(uri, version=3)
    assert codes(fewer) == ["FI001", "FI001", "FI005", "FI008"]  # the embedding is small now
    # Actions asked for a version the document no longer has are not computed on other text.
    client.change(uri, 4, text)
    assert code_actions(client, uri, fewer) in (None, [])


def test_a_burst_of_edits_never_publishes_an_older_version_over_a_newer_one(client, examples):
    uri = client.open(examples / MODEL)
    client.diagnostics(uri, version=1)
    text = (examples / MODEL).read_text()
    for version in range(2, 12):  # faster than the server checks: most are superseded before publishing
        client.change(uri, version, text + "\n" * version)
    client.diagnostics(uri, version=11)
    versions = [
        m["params"]["version"]
        for m in client.seen
        if m["method"] == "textDocument/publishDiagnostics" and m["params"]["uri"] == uri
    ]
    assert versions == sorted(versions) and versions[-1] == 11


def test_changing_the_strategy_in_train_py_republishes_model_py(client, examples):
    model = client.open(examples / MODEL)
    assert "FI001" in codes(client.diagnostics(model))
    train = client.open(examples / "train.py")
    client.diagnostics(train)
    text = (examples / "train.py").read_text()
    assert 'strategy="fsdp"' in text
    client.change(train, 2, text.replace('strategy="fsdp"', 'strategy="ddp"'))
    assert "FI001" not in codes(client.diagnostics(model))
    client.change(train, 3, text)
    assert "FI001" in codes(client.diagnostics(model))
    # Closing train.py gives the project the file on disk again (still fsdp): model.py keeps its FI001.
    client.change(train, 4, text.replace('strategy="fsdp"', 'strategy="ddp"'))
    assert "FI001" not in codes(client.diagnostics(model))
    client.notify("textDocument/didClose", {"textDocument": {"uri": train}})
    client.wait_for("textDocument/publishDiagnostics", lambda p: p["uri"] == train and p["diagnostics"] == [])
    assert "FI001" in codes(client.diagnostics(model))


def test_noqa_quick_fix_suppresses(client, examples):
    uri = client.open(examples / MODEL)
    diagnostics = client.diagnostics(uri)
    fi005 = [d for d in diagnostics if d["code"] == "FI005"]
    [noqa] = [a for a in code_actions(client, uri, fi005) if a["title"].startswith("Suppress")]
    assert noqa["title"] == "Suppress FI005 with `# noqa: FI005`"
    text = apply_edits((examples / MODEL).read_text(), workspace_edits(noqa["edit"], uri))
    assert "    def configure_model(self):  # noqa: FI005\n" in text
    client.change(uri, 2, text)
    assert "FI005" not in codes(client.diagnostics(uri, version=2))


def test_unused_suppression_is_faded(client, examples):
    path = examples / "src" / "mylm" / "blocks.py"
    text = path.read_text().replace("import torch\n", "import torch  # noqa: FI001\n", 1)
    assert "# noqa: FI001" in text
    uri = path.as_uri()
    client.notify(
        "textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}}
    )
    [unused] = [d for d in client.diagnostics(uri) if d["code"] == "FI900"]
    assert unused["tags"] == [1] and unused["severity"] == 4


def test_hover_and_explain_show_the_rule_docs(client, examples):
    uri = client.open(examples / MODEL)
    client.diagnostics(uri)
    hover = client.request(
        "textDocument/hover", {"textDocument": {"uri": uri}, "position": {"line": 14, "character": 12}}
    )
    assert hover["contents"]["kind"] == "markdown"
    assert hover["contents"]["value"].startswith("# large-layer-in-init (FI001)")
    assert (
        client.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": {"line": 0, "character": 0}})
        is None
    )
    explained = client.request("workspace/executeCommand", {"command": "fastinit-lint.explain", "arguments": ["FI005"]})
    assert explained.startswith("# configure-model-not-idempotent (FI005)")


def test_settings_and_config_file_changes_relint(client, examples):
    uri = client.open(examples / MODEL)
    assert "FI001" in codes(client.diagnostics(uri))
    client.notify("workspace/didChangeConfiguration", {"settings": {"fastinit-lint": {"ignore": ["FI001"]}}})
    assert codes(client.diagnostics(uri)) == ["FI005", "FI008"]

    [registration] = [
        m["params"]["registrations"][0] for m in client.seen if m["method"] == "client/registerCapability"
    ]
    assert registration["method"] == "workspace/didChangeWatchedFiles"
    assert {"globPattern": "**/pyproject.toml"} in registration["registerOptions"]["watchers"]
    config = examples / "pyproject.toml"
    config.write_text(
        config.read_text().replace(
            "[tool.fastinit-lint]", '[tool.fastinit-lint]\nper-file-ignores = { "src/mylm/model.py" = ["FI008"] }', 1
        )
    )
    client.notify("workspace/didChangeWatchedFiles", {"changes": [{"uri": config.as_uri(), "type": 2}]})
    assert codes(client.diagnostics(uri)) == ["FI005"]

    # A bad setting is a message to the user; the server keeps the settings it had.
    client.notify("workspace/didChangeConfiguration", {"settings": {"fastinit-lint": {"select": "FI001"}}})
    message = client.wait_for("window/showMessage")
    assert message["type"] == 1 and "`select` must be a list of strings" in message["message"]
    assert client.close() == 0


def test_syntax_error_while_typing_is_one_diagnostic_and_keeps_the_project(client, examples):
    model = client.open(examples / MODEL)
    client.diagnostics(model)
    train = client.open(examples / "train.py")
    client.diagnostics(train)
    client.change(train, 2, (examples / "train.py").read_text() + "\ndef broken(:\n")
    [error] = client.diagnostics(train, version=2)
    assert error["severity"] == 1 and error["message"].startswith("syntax error")
    client.change(model, 2, (examples / MODEL).read_text() + "\n")
    # model.py still sees train.py's last good facts (its Trainer), not a project without one.
    assert "FI001" in codes(client.diagnostics(model, version=2))
    assert client.close() == 0


def test_exit_without_shutdown_is_exit_code_1(examples):
    client = Client("--no-cache", cwd=examples)
    try:
        client.initialize(examples)
        client.notify("exit")
        assert client.process.wait(timeout=120) == 1
    finally:
        client.kill()


def test_without_pygls_says_how_to_install_it(tmp_path):
    # `sys.modules[name] = None` makes importing it fail as if it were not installed.
    script = "import sys; sys.modules['pygls'] = None; from fastinit_lint.cli import main; main(['server'])"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert result.returncode == 2
    assert result.stderr == 'error: `fastinit-lint server` needs pygls: pip install "fastinit-lint[server]"\n'
    assert result.stdout == ""


def test_a_declared_older_lightning_silences_what_the_cli_silences(examples):
    """The server reads the project's Lightning declarations as the CLI does: with `lightning>=2.0,<2.1`,
    neither FI008 (`configure_model` is 2.1's) nor FI005 is said in the editor, nor by the CLI."""
    (examples / "requirements.txt").write_text("lightning>=2.0,<2.1\n")
    client = Client("--debounce", "0.05", "--no-cache", cwd=examples)
    try:
        client.initialize(examples)
        uri = client.open(examples / MODEL)
        assert codes(client.diagnostics(uri, version=1)) == ["FI001", "FI001", "FI001"]
        assert client.close() == 0
    finally:
        client.kill()
    cli = run_installed("--output-format", "concise", "--no-cache", MODEL, cwd=examples)
    assert "FI008" not in cli.stdout and "FI005" not in cli.stdout and "FI001" in cli.stdout, cli.stdout

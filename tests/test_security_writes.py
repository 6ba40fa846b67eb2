"""The linted checkout is untrusted: where we read and write files, and how a write keeps what was there."""

from __future__ import annotations

import ast
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from fastinit_lint.workspace.source import digest_bytes

GOOD = "import torch.nn as nn\nnn.Linear(1, 2)\n"
FIXED = GOOD.replace("nn.Linear(1, 2)", "nn.Linear(1, 2, bias=True)")
REPO = Path(__file__).parent.parent
LINT = [sys.executable, "-m", "fastinit_lint"]
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to chown files to another user")


def _errors(result):
    return [line for line in result.stderr.splitlines() if ": error: " in line]


def _temps(directory: Path) -> list[str]:
    return [name for name in os.listdir(directory) if name.startswith(".fastinit-")]


def _run(root: Path, fix: bool = False, write: bool = True):
    """One run of the pipeline in `root`, with the engine's test rules, as the CLI would make it."""
    from engine_rules import TEST_RULES

    from fastinit_lint.engine.checker import CheckOptions
    from fastinit_lint.workspace.config import load_settings
    from fastinit_lint.engine.pipeline import RunRequest, run
    from fastinit_lint.engine.registry import Registry

    registry = Registry.default(TEST_RULES)
    cwd = os.getcwd()
    os.chdir(root)
    try:
        return run(
            RunRequest(
                ["."], load_settings("."), registry.all(), CheckOptions(fix=fix), jobs=1, use_cache=False, write=write
            ),
            registry.expand,
        )
    finally:
        os.chdir(cwd)


@pytest.fixture
def outside(tmp_path_factory) -> Path:
    """A file outside the project, holding a finding and a secret: a symlink in the checkout points at it."""
    victim = tmp_path_factory.mktemp("outside") / "victim.py"
    victim.write_text(GOOD.replace("\n", "  # SECRET-TOKEN\n"))
    return victim


# 1. Symlinks out of the project are neither read nor written, and are reported once.


def test_fix_does_not_write_through_a_file_symlink_out_of_the_project(cli, project, outside):
    before = outside.read_bytes()
    os.symlink(outside, project / "innocent.py")
    (project / "good.py").write_text(GOOD)
    result = cli("--fix", ".")
    assert outside.read_bytes() == before
    assert _errors(result) == ["innocent.py:1:1: error: symlink to a file outside the project; skipped"]
    assert (project / "good.py").read_text() == FIXED  # the rest of the run goes on
    assert result.exit_code == 2


@pytest.mark.parametrize("fix", [False, True])
def test_symlink_out_of_the_project_given_explicitly(cli, project, outside, fix):
    """As pre-commit passes it: the link named on the command line, alone."""
    before = outside.read_bytes()
    os.symlink(outside, project / "innocent.py")
    result = cli(*(["--fix"] if fix else []), "innocent.py")
    assert outside.read_bytes() == before
    assert "SECRET-TOKEN" not in result.stdout + result.stderr and "FI990" not in result.stdout
    assert _errors(result) == ["innocent.py:1:1: error: symlink to a file outside the project; skipped"]
    assert result.exit_code == 2


def test_no_excerpt_of_a_file_outside_the_project(cli, project, outside):
    os.symlink(outside, project / "innocent.py")
    os.symlink(outside.parent, project / "vendored")  # a directory link: not followed by the walk
    for args in ([], ["--output-format", "json"], ["--fix", "--diff"]):
        result = cli(*args, ".")
        assert "SECRET-TOKEN" not in result.stdout + result.stderr and "victim" not in result.stdout
        assert _errors(result) == ["innocent.py:1:1: error: symlink to a file outside the project; skipped"]


def test_directory_symlink_out_of_the_project_given_explicitly(cli, project, outside):
    before = outside.read_bytes()
    os.symlink(outside.parent, project / "vendored")
    result = cli("--fix", "vendored")
    assert outside.read_bytes() == before
    assert _errors(result) == ["vendored:1:1: error: symlink to a directory outside the project; skipped"]


def test_file_given_through_a_directory_symlink_out_of_the_project(cli, project, outside):
    """pre-commit names `vendored/victim.py`; the directory link resolves outside, so does the file."""
    before = outside.read_bytes()
    os.symlink(outside.parent, project / "vendored")
    result = cli("--fix", "vendored/victim.py")
    assert outside.read_bytes() == before
    assert _errors(result) == ["vendored/victim.py:1:1: error: symlink to a file outside the project; skipped"]


def test_symlinks_inside_the_project_still_work(cli, project):
    (project / "pkg").mkdir()
    (project / "pkg" / "real.py").write_text(GOOD)
    os.symlink("pkg/real.py", project / "alias.py")
    result = cli("--fix", "alias.py")
    assert result.exit_code == 0 and not _errors(result)
    assert (project / "pkg" / "real.py").read_text() == FIXED and os.path.islink(project / "alias.py")


def test_ci_autofix_recipe_leaves_files_outside_the_checkout_alone(tmp_path):
    trainer = 'import lightning as L\ntrainer = L.Trainer(precision="bf16")\n'
    victim = tmp_path / "victim.py"
    victim.write_text(trainer)
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    (checkout / "pyproject.toml").write_text("[tool.fastinit-lint]\n")
    (checkout / "train.py").write_text(trainer)
    os.symlink("../victim.py", checkout / "innocent.py")
    for args in (["init", "-q"], ["add", "-A"], ["-c", "user.email=t@e", "-c", "user.name=t", "commit", "-qm", "x"]):
        subprocess.run(["git", *args], cwd=checkout, check=True, capture_output=True)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(
        ["bash", str(REPO / "examples" / "ci" / "autofix.sh"), "."],
        cwd=checkout,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert victim.read_text() == trainer
    assert "innocent.py:1:1: error: symlink to a file outside the project; skipped" in done.stderr
    assert '"bf16-mixed"' in (checkout / "train.py").read_text() and done.returncode == 2


# 2. A rewrite keeps owner, group and mode; read-only files and hard links are refused.


@as_root
@pytest.mark.parametrize("mode", [0o640, 0o6755, 0o2775])
def test_fix_as_root_keeps_owner_group_and_mode(cli, project, mode):
    path = project / "shared.py"
    path.write_text(GOOD)
    os.chown(path, 12345, 12346)
    path.chmod(mode)
    result = cli("--fix", "shared.py")
    assert result.exit_code == 0, result.stderr
    assert path.read_text() == FIXED
    info = path.stat()
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (12345, 12346, mode)


def test_read_only_file_is_not_rewritten(cli, project):
    path = project / "frozen.py"
    path.write_text(GOOD)
    path.chmod(0o444)
    result = cli("--fix", "--output-format", "concise", ".")
    assert path.read_text() == GOOD and stat.S_IMODE(path.stat().st_mode) == 0o444
    assert _errors(result) == ["frozen.py:1:1: error: read-only file; fixes not written"]
    assert result.exit_code == 2 and not _temps(project)


def test_hard_linked_file_is_not_split(cli, project):
    path = project / "linked.py"
    path.write_text(GOOD)
    os.link(path, project / "other_name.txt")
    result = cli("--fix", "linked.py")
    assert path.read_text() == GOOD and os.path.samefile(path, project / "other_name.txt")
    assert _errors(result) == [
        "linked.py:1:1: error: file has 2 hard links (rewriting it would split them); fixes not written"
    ]
    assert result.exit_code == 2


_AS_USER = textwrap.dedent("""
    import os, sys
    from fastinit_lint.workspace.source import digest_bytes
    from fastinit_lint.workspace.writer import WriteRefused, write_atomic
    path = sys.argv[1]
    os.setgroups([12346]); os.setgid(12345); os.setuid(12345)
    old = open(path, "rb").read()
    try:
        write_atomic(path, b"new\\n", digest_bytes(old))
    except WriteRefused as exc:
        print(exc)
""")


@as_root
@pytest.mark.parametrize(("group", "kept"), [(12346, True), (12347, False)])
def test_fix_as_a_user_keeps_the_group_or_refuses(group, kept):
    """A user rewriting a group-shared file: the new file gets the user's own group unless we set it back,
    which only works for a group the user is in; otherwise the file is left alone."""
    directory = Path(tempfile.mkdtemp())
    try:
        directory.chmod(0o777)
        path = directory / "shared.py"
        path.write_text("old\n")
        os.chown(path, 12345, group)
        path.chmod(0o664)
        done = subprocess.run(
            [sys.executable, "-c", _AS_USER, str(path)],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        assert done.returncode == 0, done.stderr
        info = path.stat()
        assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (12345, group, 0o664)
        if kept:
            assert path.read_text() == "new\n" and done.stdout == ""
        else:
            assert path.read_text() == "old\n"
            assert done.stdout.strip() == "cannot keep its owner and group (12345:12347)"
        assert not _temps(directory)
    finally:
        shutil.rmtree(directory)


# 3. The changed-on-disk check runs right before the rename, after the temp file is written and synced.


def test_an_edit_saved_while_the_temp_file_is_written_survives(project, monkeypatch):
    from fastinit_lint.workspace.writer import ChangedOnDisk, write_atomic

    path = project / "w.py"
    path.write_text("old\n")
    real_fsync = os.fsync

    def fsync_then_edit(fd):
        real_fsync(fd)
        if not path.read_text().startswith("saved"):  # the editor saves while our temp file is synced
            path.write_text("saved by the editor\n")

    monkeypatch.setattr(os, "fsync", fsync_then_edit)
    with pytest.raises(ChangedOnDisk):
        write_atomic(str(path), b"new\n", digest_bytes(b"old\n"))
    assert path.read_text() == "saved by the editor\n" and not _temps(project)


def test_an_edit_saved_after_the_check_survives_the_fix(project, monkeypatch):
    from fastinit_lint.engine.pipeline import _write_fixes

    path = project / "m.py"
    path.write_text(GOOD)
    result = _run(project, fix=True, write=False)
    path.write_text("x = 1\n" + GOOD)  # saved after the checker read the file, before the fix is written
    monkeypatch.chdir(project)
    errors = _write_fixes(result.files)
    assert [e.line() for e in errors] == [
        "m.py:1:1: error: file changed on disk since it was checked; fixes not written"
    ]
    assert path.read_text() == "x = 1\n" + GOOD and not _temps(project)


# 4. stdin: bytes in, the same bytes out when nothing changes; --add-noqa never touches disk; YAML is YAML.

LATIN = b"# -*- coding: latin-1 -*-\nimport torch.nn as nn\nx = 'caf\xe9'\n"


@pytest.mark.parametrize("content", [LATIN, b"\xef\xbb\xbfimport torch.nn as nn\r\nx = 1\r\n"])
def test_stdin_fix_with_nothing_to_fix_echoes_the_same_bytes(cli, content):
    result = cli("--fix", "--stdin-filename", "m.py", input=content)
    assert result.exit_code == 0, result.stderr
    assert result.stdout_bytes == content


@pytest.mark.parametrize(
    "content", [LATIN + b"nn.Linear(1, 2)\n", b"\xef\xbb\xbfimport torch.nn as nn\r\nnn.Linear(1, 2)\r\n"]
)
def test_stdin_fix_keeps_the_encoding(cli, content):
    result = cli("--fix", "--stdin-filename", "m.py", input=content)
    assert result.stdout_bytes == content.replace(b"nn.Linear(1, 2)", b"nn.Linear(1, 2, bias=True)"), result.stderr


def test_stdin_add_noqa_writes_stdout_and_never_the_file(cli, project):
    on_disk = project / "real.py"
    on_disk.write_text("x = 1\n")
    result = cli("--add-noqa", "--stdin-filename", "real.py", input=LATIN + b"nn.Linear(1, 2)\n")
    assert on_disk.read_text() == "x = 1\n"
    assert result.stdout_bytes == LATIN + b"nn.Linear(1, 2)  # noqa: FI990\n"
    assert result.exit_code == 0, result.stderr


def test_stdin_yaml_is_read_as_yaml(cli, project):
    result = cli("--stdin-filename", "conf.yaml", input="trainer:\n  strategy: fsdp\n")
    assert result.exit_code == 0 and not _errors(result), result.stderr
    bad = cli("--stdin-filename", "conf.yaml", input="trainer:\n  strategy: [fsdp\n")
    assert _errors(bad)[0].startswith("conf.yaml:3:1: error: invalid YAML") and bad.exit_code == 2


# 5. --add-noqa writes only code that parses, where a comment can go, and never over a newer file.


def test_add_noqa_after_a_backslash_continuation(cli, project):
    path = project / "cont.py"
    path.write_text("import torch.nn as nn\nm = nn.Linear(1, \\\n    2)\n")
    assert cli("--add-noqa", ".").exit_code == 0
    text = path.read_text()
    assert text == "import torch.nn as nn\nm = nn.Linear(1, \\\n    2)  # noqa: FI990\n"
    ast.parse(text)
    assert cli(".").exit_code == 0  # the comment suppresses the finding


def test_add_noqa_refuses_when_no_line_of_the_finding_can_carry_a_comment(cli, project):
    content = "import torch.nn as nn\nm = nn.Linear(1, 2) + \\\n    0\n"
    path = project / "cont.py"
    path.write_text(content)
    result = cli("--add-noqa", ".")
    assert path.read_text() == content
    assert _errors(result) == [
        "cont.py:2:1: error: cannot add noqa for FI990: its first and last lines end "
        "inside a string or with a backslash"
    ]
    assert result.exit_code == 2


def test_add_noqa_never_returns_code_that_does_not_parse():
    from fastinit_lint.output.add_noqa import with_noqa
    from fastinit_lint.diagnostics import Finding, Location

    text = "x = 1\ny = $\n"  # what a placement bug would leave; the check refuses it whatever the cause
    finding = Finding("FI990", "n", "m", "bad.py", Location(1, 1), Location(1, 6))
    assert with_noqa(text, [finding])[:2] == (text, 0)
    assert [e.line() for e in with_noqa(text, [finding])[2]] == [
        "bad.py:2:1: error: noqa not added: the result would not parse (invalid syntax)"
    ]


def test_add_noqa_does_not_write_over_a_file_changed_since_it_was_checked(cli, project):
    """Same size, same mtime: the cache vouches for the old content, whose findings sit on other rows."""
    path = project / "m.py"
    path.write_text("import torch.nn as nn\nnn.Linear(1, 2)\nx = 1\n")
    assert cli(".").exit_code == 1
    info = path.stat()
    edited = "import torch.nn as nn\nx = 1\nnn.Linear(1, 2)\n"
    path.write_text(edited)
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))
    result = cli("--add-noqa", ".")
    text = path.read_text()
    if text != edited:  # checked afresh: the noqa must then be on the finding's real row
        assert text == edited.replace("nn.Linear(1, 2)\n", "nn.Linear(1, 2)  # noqa: FI990\n")
    else:
        assert _errors(result) == ["m.py:1:1: error: file changed on disk since it was checked; noqa not added"]


def test_add_noqa_checks_the_digest_of_what_was_checked(project, monkeypatch):
    from fastinit_lint.output.add_noqa import add_noqa

    path = project / "m.py"
    path.write_text(GOOD)
    result = _run(project)
    path.write_text("x = 1\n" + GOOD)
    monkeypatch.chdir(project)
    added, errors = add_noqa(result.files)
    assert added == 0 and path.read_text() == "x = 1\n" + GOOD
    assert [e.line() for e in errors] == ["m.py:1:1: error: file changed on disk since it was checked; noqa not added"]


# 6. A SIGTERM during a write removes the temp file and leaves the old file.

_SLOW_WRITE = textwrap.dedent("""
    import os, sys, time
    from fastinit_lint.workspace.writer import write_atomic
    real_fsync = os.fsync
    def slow_fsync(fd):  # a slow disk: the write is under way when the signal comes
        print("writing", flush=True)
        time.sleep(30)
        real_fsync(fd)
    os.fsync = slow_fsync
    write_atomic(sys.argv[1], b"new\\n")
""")


def test_sigterm_during_a_write_leaves_no_temp_file(tmp_path):
    path = tmp_path / "w.py"
    path.write_text("old\n")
    process = subprocess.Popen(
        [sys.executable, "-c", _SLOW_WRITE, str(path)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        assert process.stdout.readline() == "writing\n"
        assert _temps(tmp_path)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 128 + signal.SIGTERM
    finally:
        process.kill()
        process.wait()
    assert path.read_text() == "old\n" and not _temps(tmp_path)

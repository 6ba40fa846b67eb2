"""Bad input gets one clear line and the rest of the run goes on; fixes preserve every other byte."""

from __future__ import annotations

import os
import stat

import pytest
from conftest import run_installed

GOOD = "import torch.nn as nn\nnn.Linear(1, 2)\n"


def _errors(result):
    return [line for line in result.stderr.splitlines() if ": error: " in line]


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("syntax.py", b"def f(:\n", "syntax.py:1:7: error: syntax error: invalid syntax"),
        ("py2.py", b"print 'hello'\n", "py2.py:1:1: error: syntax error: Missing parentheses"),
        ("latin.py", b"x = '\xff\xfe'\n", "latin.py:1:6: error: cannot decode as utf-8"),
        ("binary.py", b"\x00\x01\x02ELF", "binary.py:1:1: error: binary file"),
        ("cookie.py", b"# -*- coding: nosuch -*-\nx = 1\n", "cookie.py:1:1: error: bad encoding declaration"),
        ("conf.yaml", b"trainer:\n  strategy: [fsdp\n", "conf.yaml:3:1: error: invalid YAML"),
        ("dup.yaml", b"trainer:\n  strategy: fsdp\n  strategy: ddp\n", "dup.yaml:3:3: error: duplicate key 'strategy'"),
    ],
)
def test_bad_file_is_one_line_and_run_continues(cli, project, name, content, expected):
    (project / name).write_bytes(content)
    (project / "good.py").write_text(GOOD)
    result = cli("--output-format", "concise", ".")
    assert result.exit_code == 2
    errors = _errors(result)
    assert len(errors) == 1 and errors[0].startswith(expected), errors
    assert "good.py:2:1: FI990" in result.stdout
    assert "Traceback" not in result.stderr + result.stdout


def test_empty_file_is_fine(cli, project):
    (project / "empty.py").write_text("")
    assert cli(".").exit_code == 0


def test_huge_file_is_skipped_with_reason(cli, project):
    (project / "pyproject.toml").write_text("[tool.fastinit-lint]\nmax-file-bytes = 1000\n")
    (project / "big.py").write_text("x = 1\n" * 1000)
    result = cli(".")
    assert (
        result.exit_code == 2 and "big.py:1:1: error: file too large to check (0.0 MB > limit 0.0 MB)" in result.stderr
    )


def test_directory_named_py_and_broken_symlink_and_loop(cli, project):
    (project / "pkg.py").mkdir()
    (project / "pkg.py" / "inner.py").write_text(GOOD)
    os.symlink(project / "missing.py", project / "broken.py")
    (project / "loop").mkdir()
    os.symlink(project / "loop", project / "loop" / "again")
    result = cli("--output-format", "concise", ".")
    assert "broken.py:1:1: error: no such file (or a broken symlink)" in result.stderr
    assert "pkg.py/inner.py:2:1: FI990" in result.stdout
    assert result.exit_code == 2


def test_missing_path_argument(cli, project):
    result = cli("nope.py")
    assert result.exit_code == 2 and "nope.py:1:1: error: no such file or directory" in result.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads unreadable files")
def test_unreadable_file(cli, project):
    path = project / "secret.py"
    path.write_text(GOOD)
    path.chmod(0)
    assert "secret.py:1:1: error: permission denied" in cli(".").stderr


def test_directory_given_to_the_reader(project):
    from fastinit_lint.diagnostics import SourceError
    from fastinit_lint.workspace.source import read_source

    with pytest.raises(SourceError, match="is a directory"):
        read_source(str(project), 100)


def test_crashing_rule_reported_and_others_still_run(cli, project):
    (project / "c.py").write_text("crash_here\nimport torch.nn as nn\nnn.Linear(1, 2)\n")
    result = cli("--output-format", "concise", ".")
    assert result.exit_code == 2
    assert "c.py:1:1: error: internal error in rule FI992 (test-crashes): ValueError: boom" in result.stderr
    assert "c.py:3:1: FI990" in result.stdout


@pytest.mark.parametrize(
    "content",
    [
        "\ufeffimport torch.nn as nn\r\nnn.Linear(1, 2)  # c\r\n",
        "import torch.nn as nn\r\nx = 1\nnn.Linear(1, 2)\r\nif x:\n\tpass  # tab\n",
    ],
)
def test_fix_preserves_bom_line_endings_and_untouched_bytes(cli, project, content):
    path = project / "e.py"
    path.write_bytes(content.encode("utf-8"))
    path.chmod(0o640)
    cli("--fix", ".")
    data = path.read_bytes()
    assert data == content.replace("nn.Linear(1, 2)", "nn.Linear(1, 2, bias=True)").encode("utf-8")
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert not [p for p in os.listdir(project) if p.startswith(".fastinit-")]  # no temp files left


def test_fix_refuses_a_file_libcst_cannot_reproduce(cli, project):
    """LibCST regenerates a file with lone carriage-return line ends without its final line end; writing
    that would change bytes no fix touched."""
    content = b"import torch.nn as nn\rx = 1\rnn.Linear(1, 2)\r"
    path = project / "mac.py"
    path.write_bytes(content)
    result = cli("--fix", "--output-format", "concise", ".")
    assert path.read_bytes() == content
    assert _errors(result) == [
        "mac.py:1:1: error: fixes not applied: LibCST does not reproduce this file byte for byte "
        "(its lone carriage-return line ends); file left unchanged"
    ]
    assert "mac.py:3:1: FI990" in result.stdout  # still reported, at the right line
    assert result.exit_code == 2


def test_fix_refuses_to_overwrite_a_file_changed_meanwhile(project):
    from fastinit_lint.workspace.source import digest_bytes
    from fastinit_lint.workspace.writer import ChangedOnDisk, write_atomic

    path = project / "w.py"
    path.write_text("old\n")
    stale = digest_bytes(b"older\n")
    with pytest.raises(ChangedOnDisk):
        write_atomic(str(path), b"new\n", stale)
    assert path.read_text() == "old\n"
    write_atomic(str(path), b"new\n", digest_bytes(b"old\n"))
    assert path.read_text() == "new\n"


def test_fix_through_symlink_writes_target(cli, project):
    (project / "real.py").write_text(GOOD)
    os.symlink(project / "real.py", project / "link.py")
    cli("--fix", "link.py")
    assert os.path.islink(project / "link.py")
    assert "bias=True" in (project / "real.py").read_text()


def test_corrupted_cache_is_rebuilt(cli, project):
    (project / "good.py").write_text(GOOD)
    cli(".")
    for directory, _, names in os.walk(project / ".fastinit_cache"):
        for name in names:
            if name.endswith(".pickle"):
                (open(os.path.join(directory, name), "wb")).write(b"garbage")
    result = cli("--output-format", "concise", ".")
    assert result.exit_code == 1 and "good.py:2:1: FI990" in result.stdout


def test_cache_sees_edits(cli, project):
    path = project / "good.py"
    path.write_text(GOOD)
    assert cli(".").exit_code == 1
    path.write_text("x = 1\n")
    assert cli(".").exit_code == 0


def test_pathological_file_is_skipped_after_time_limit(cli, project):
    import time

    (project / "pyproject.toml").write_text("[tool.fastinit-lint]\nmax-file-seconds = 1\n")
    (project / "slow.py").write_text("hang_here\n")
    (project / "good.py").write_text(GOOD)
    start = time.monotonic()
    result = cli("--jobs", "1", "--output-format", "concise", ".")
    assert time.monotonic() - start < 10
    assert "slow.py:1:1: error: checking took longer than 1 s (max-file-seconds); skipped" in result.stderr
    assert "good.py:2:1: FI990" in result.stdout and result.exit_code == 2


def test_file_symlink_loop(cli, project):
    os.symlink(project / "b.py", project / "a.py")
    os.symlink(project / "a.py", project / "b.py")
    result = cli(".")
    assert result.exit_code == 2
    assert "a.py:1:1: error: cannot read: Too many levels of symbolic links" in result.stderr


def test_50_mb_file_hits_default_size_limit(cli, project):
    (project / "huge.py").write_bytes(b"x = 1\n" * (50_000_000 // 6))
    (project / "good.py").write_text(GOOD)
    result = cli("--output-format", "concise", ".")
    assert "huge.py:1:1: error: file too large to check (50.0 MB > limit 20.0 MB)" in result.stderr
    assert "good.py:2:1: FI990" in result.stdout


def test_memory_bound_skips_file_before_parsing(cli, project):
    (project / "pyproject.toml").write_text("[tool.fastinit-lint]\nmax-file-memory-mb = 1\n")
    (project / "big.py").write_text(GOOD + "x = 1\n" * 2000)
    (project / "good.py").write_text(GOOD)
    result = cli("--output-format", "concise", ".")
    assert (
        "big.py:1:1: error: skipped: checking needs ~4 MB for the syntax tree (max-file-memory-mb = 1)" in result.stderr
    )
    assert "good.py:2:1: FI990" in result.stdout and result.exit_code == 2


# A form feed (GNU style, CPython's stdlib) and a U+2028 in a comment: `str.splitlines` breaks lines there,
# Python does not. Rows must stay the ones `ast` and LibCST give.
ODD_SEPARATORS = "import torch.nn as nn\n\x0c\n# odd \u2028 separator\nx = 1\nnn.Linear(1, 2)\n"


def test_odd_separators_keep_rows_in_frames_and_add_noqa(cli, project):
    path = project / "odd.py"
    path.write_text(ODD_SEPARATORS, newline="")
    result = cli(".")
    assert "odd.py:5:1: FI990" in result.stdout
    assert "5 | nn.Linear(1, 2)" in result.stdout  # the code frame shows row 5 itself
    assert cli("--add-noqa", ".").exit_code == 0
    assert path.read_bytes().decode() == ODD_SEPARATORS.replace("nn.Linear(1, 2)\n", "nn.Linear(1, 2)  # noqa: FI990\n")


def test_odd_separators_keep_phase_one_source_segments(tmp_path):
    import ast

    from fastinit_lint.model.facts import python_facts

    text = (
        ODD_SEPARATORS
        + "WIDTH = 4096\nclass Net(nn.Module):\n    def __init__(self):\n        self.a = nn.Linear(WIDTH, WIDTH)\n"
    )
    facts = python_facts("odd.py", str(tmp_path / "odd.py"), ast.parse(text), text)
    assert facts.constants == {"x": "1", "WIDTH": "4096"}
    assert facts.classes[0].init_source == "def __init__(self):\n    self.a = nn.Linear(WIDTH, WIDTH)\n"


def test_noqa_in_a_file_with_lone_carriage_returns(cli, project):
    (project / "mac.py").write_bytes(b"import torch.nn as nn\rx = 1\rnn.Linear(1, 2)  # noqa: FI990\rnn.Linear(3, 4)\r")
    result = cli("--output-format", "concise", ".")
    assert result.stdout.splitlines()[0] == "mac.py:4:1: FI990 [*] `nn.Linear` without `bias=`"
    assert "mac.py:3" not in result.stdout


def test_python_lines_fast_path_equals_the_exact_split():
    import io
    import itertools

    from fastinit_lint.syntax.lines import python_lines

    pieces = ["a", "\n", "\r", "\r\n", "\x0c", "\u2028", "\x85", ""]
    for combo in itertools.product(pieces, repeat=4):
        text = "".join(combo)
        assert python_lines(text) == io.StringIO(text, newline="").readlines(), repr(text)


def test_code_frame_decodes_like_the_checker(cli, project):
    (project / "latin.py").write_bytes(
        b"# -*- coding: latin-1 -*-\nimport torch.nn as nn\nnn.Linear(1, 2)  # caf\xe9\n"
    )
    result = cli(".")
    assert "3 | nn.Linear(1, 2)  # café" in result.stdout


def test_a_file_reached_by_two_paths_is_checked_and_fixed_once(cli, project):
    """Through a symlinked directory given on the command line (macOS's /tmp is one) and a file symlink
    beside the file: one finding, shown by the file's own name, fixed once."""
    (project / "real" / "pkg").mkdir(parents=True)
    (project / "real" / "pkg" / "a.py").write_text(GOOD)
    os.symlink(project / "real" / "pkg" / "a.py", project / "real" / "b.py")
    os.symlink(project / "real", project / "link")
    result = cli("--output-format", "concise", str(project / "link"))
    assert (
        result.stdout.splitlines()[0]
        == f"{project / 'link' / 'pkg' / 'a.py'}:2:1: FI990 [*] `nn.Linear` without `bias=`"
    )
    assert "Found 1 error." in result.stdout
    fixed = cli("--fix", str(project / "link"))
    assert fixed.exit_code == 0 and not _errors(fixed)
    assert (project / "real" / "pkg" / "a.py").read_text() == GOOD.replace(
        "nn.Linear(1, 2)", "nn.Linear(1, 2, bias=True)"
    )


def test_a_crlf_class_with_blank_lines_in_init_is_sized(project):
    """`textwrap.dedent` counts a blank `\\r\\n` line as unindented text, so the `__init__` source the estimator
    re-parses kept its indentation: FI007 reported an internal error on such files (seen on real code)."""
    source = (
        "import torch\r\nfrom torch import nn\r\n\r\nclass Big(nn.Module):\r\n    def __init__(self):\r\n"
        "        super().__init__()\r\n\r\n        self.proj = nn.Linear(16_384, 16_384)\r\n\r\n"
        "model = Big().cuda()\r\n"
    )
    (project / "model.py").write_bytes(source.encode())
    done = run_installed("--no-cache", "--select", "FI007", "--output-format", "concise", ".", cwd=project)
    assert "internal error" not in done.stderr, done.stderr
    assert "model.py:10:1: FI007" in done.stdout, done.stdout

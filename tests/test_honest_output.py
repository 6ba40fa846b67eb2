"""Honest output and exit codes: a summary never claims success after an error, machine formats carry the files
that could not be checked, and paths win over subcommand names."""

import json


def test_a_missing_path_is_not_followed_by_all_checks_passed(cli):
    result = cli("check", "--no-cache", "missing.py")
    assert result.exit_code == 2
    assert "All checks passed!" not in result.output and "1 file could not be checked" in result.output


def test_no_python_files_is_a_warning_and_exit_0(cli, project):
    (project / "empty").mkdir()
    result = cli("check", "--no-cache", "empty")
    assert result.exit_code == 0 and "warning: No Python files found" in result.stderr


def test_syntax_errors_appear_in_machine_formats(cli, project):
    (project / "bad.py").write_text("def f(:\n")
    found = json.loads(cli("check", "--no-cache", "--output-format", "json", "bad.py").stdout)
    assert [(f["code"], f["location"]["row"]) for f in found] == [("invalid-syntax", 1)]
    lines = cli("check", "--no-cache", "--output-format", "github", "bad.py").stdout
    assert "invalid-syntax" in lines
    sarif = json.loads(cli("check", "--no-cache", "--output-format", "sarif", "bad.py").stdout)
    assert sarif["runs"][0]["results"][0]["ruleId"] == "invalid-syntax"


def test_statistics_in_json(cli, project):
    (project / "bad.py").write_text("def f(:\n")
    counts = json.loads(cli("check", "--no-cache", "--statistics", "--output-format", "json", "bad.py").stdout)
    assert counts == [{"code": "invalid-syntax", "name": "invalid-syntax", "count": 1, "fixable": False}]


def test_newer_syntax_says_to_run_under_that_python(cli, project):
    (project / "new.py").write_text("type Vector = list[float]\n")
    result = cli("check", "--no-cache", "new.py")
    assert result.exit_code == 2 and "uses newer syntax; run fastinit-lint under the Python version" in result.stderr


def test_a_directory_named_like_a_subcommand_is_checked(cli, project):
    (project / "rules").mkdir()
    (project / "rules" / "a.py").write_text("x = 1\n")
    result = cli("rules", "--no-cache")
    assert result.exit_code == 0 and "All checks passed!" in result.output


def test_one_hidden_fix_is_singular(cli, project):
    (project / "a.py").write_text("y = x.half()\n")
    result = cli("check", "--no-cache", "--select", "FI991", "a.py")
    assert "(1 hidden fix can be enabled with the `--unsafe-fixes` option)" in result.output, result.output


def test_top_level_help_shows_check_options_exit_codes_and_examples(cli):
    result = cli("--help")
    assert result.exit_code == 0
    for needle in (
        "--fix / --no-fix",
        "--output-format",
        "--force-exclude",
        "Exit codes:",
        "Examples:",
        "fastinit-lint src/",
    ):
        assert needle in result.output, needle


BIG = (
    "from torch import nn\nclass Big(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
    "        self.proj = nn.Linear(16_384, 16_384)\n"
)


def test_fixes_that_cannot_be_written_are_not_counted_and_rows_are_the_files(cli, project):
    import stat

    (project / "net.py").write_text(BIG)
    path = project / "a.py"
    path.write_text("# a script\nfrom net import Big\nm = Big().cuda()\n")
    path.chmod(0o444)
    result = cli("check", "--no-cache", "--fix", "--output-format", "concise", "a.py")
    assert stat.S_IMODE(path.stat().st_mode) == 0o444 and "with torch.device" not in path.read_text()
    assert "a.py:3:1: FI007 [*]" in result.output, result.output  # the row in the file on disk
    assert "Found 1 error.\n" in result.output and "Fixes not written to 1 file (errors above)." in result.output
    assert result.exit_code == 2

"""Every CLI flag, through the real command (in-process, with the engine's test-only rules)."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET

import pytest

from fastinit_lint import __version__

BOTH = "import torch\nfrom torch import nn as tnn\n\nm = tnn.Linear(2, 3)  # keep me\ny = m.half()\n"
CLEAN = "import torch.nn as nn\nnn.Linear(2, 2, bias=False)\n"


@pytest.fixture
def files(project):
    (project / "a.py").write_text(BOTH)
    (project / "clean.py").write_text(CLEAN)
    return project


def test_findings_exit_1_and_concise_format(cli, files):
    result = cli("--output-format", "concise", ".")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0] == "a.py:4:5: FI990 [*] `tnn.Linear` without `bias=`"
    assert lines[1] == "a.py:5:5: FI991 `.half()` casts after construction"
    assert "Found 2 errors." in result.stdout
    assert "1 hidden fix can be enabled with the `--unsafe-fixes` option" in result.stdout


def test_clean_exit_0(cli, files):
    result = cli("clean.py")
    assert result.exit_code == 0 and "All checks passed!" in result.stdout


def test_default_path_is_cwd_and_check_subcommand(cli, files):
    assert cli().exit_code == 1
    assert cli("check", ".").exit_code == 1


def test_full_format_shows_source_and_help(cli, files):
    out = cli("a.py").stdout
    assert "4 | m = tnn.Linear(2, 3)  # keep me" in out
    assert "^^^^^^^^^^^^^^^^" in out
    assert "= help: Add `bias=True`" in out
    assert "(unsafe: needs --unsafe-fixes)" in out


@pytest.mark.parametrize(
    ("args", "codes"),
    [
        (["--select", "FI990"], {"FI990"}),
        (["--select", "FI99"], {"FI990", "FI991"}),
        (["--select", "test-half-call"], {"FI991"}),
        (["--ignore", "FI990"], {"FI991"}),
        (["--select", "FI990", "--extend-select", "FI991"], {"FI990", "FI991"}),
        (["--select", "ALL", "--ignore", "FI99"], set()),
        (["--select", "FI990,FI991", "--ignore", "FI991"], {"FI990"}),
    ],
)
def test_selection(cli, files, args, codes):
    result = cli("--output-format", "json", *args, "a.py")
    assert {f["code"] for f in json.loads(result.stdout)} == codes


def test_unknown_selector_is_usage_error(cli, files):
    result = cli("--select", "XX1", ".")
    assert result.exit_code == 2 and "unknown rule selector 'XX1'" in result.stderr


def test_json_fields(cli, files):
    data = json.loads(cli("--output-format", "json", ".").stdout)
    assert [set(f) for f in data] == [
        {"code", "name", "message", "filename", "location", "end_location", "fix", "notes"}
    ] * 2
    first = data[0]
    assert first["filename"] == "a.py" and first["location"] == {"row": 4, "column": 5}
    assert first["end_location"] == {"row": 4, "column": 21}
    assert first["fix"]["applicability"] == "safe"
    assert first["fix"]["edits"] == [
        {"content": ", bias=True", "location": {"row": 4, "column": 20}, "end_location": {"row": 4, "column": 20}}
    ]
    assert data[1]["fix"]["applicability"] == "unsafe"


def test_json_filenames_stay_relative_as_given(cli, files):
    (files / "pkg").mkdir()
    (files / "pkg" / "b.py").write_text(BOTH)
    data = json.loads(cli("--output-format", "json", "pkg").stdout)
    assert {f["filename"] for f in data} == {os.path.join("pkg", "b.py")}


def test_json_lines(cli, files):
    lines = cli("--output-format", "json-lines", ".").stdout.splitlines()
    assert [json.loads(line)["code"] for line in lines] == ["FI990", "FI991"]


def test_github_annotations(cli, files):
    out = cli("--output-format", "github", ".").stdout.splitlines()
    assert out[0] == (
        "::error title=fastinit-lint (FI990),file=a.py,line=4,col=5,endLine=4,endColumn=21::"
        "a.py:4:5: FI990 `tnn.Linear` without `bias=`"
    )


SARIF_SUBSET_SCHEMA = {
    # The parts of the SARIF 2.1.0 schema GitHub code scanning requires, written out (no network at test time).
    "type": "object",
    "required": ["version", "runs", "$schema"],
    "properties": {
        "version": {"const": "2.1.0"},
        "runs": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["tool", "results"],
                "properties": {
                    "tool": {
                        "type": "object",
                        "required": ["driver"],
                        "properties": {
                            "driver": {
                                "type": "object",
                                "required": ["name", "rules"],
                                "properties": {
                                    "rules": {
                                        "type": "array",
                                        "items": {
                                            "type": "object",
                                            "required": ["id", "shortDescription", "help"],
                                            "properties": {"help": {"type": "object", "required": ["text"]}},
                                        },
                                    }
                                },
                            }
                        },
                    },
                    "results": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["ruleId", "message", "locations"],
                            "properties": {
                                "level": {"enum": ["none", "note", "warning", "error"]},
                                "message": {"type": "object", "required": ["text"]},
                                "locations": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "required": ["physicalLocation"],
                                        "properties": {
                                            "physicalLocation": {
                                                "type": "object",
                                                "required": ["artifactLocation", "region"],
                                                "properties": {
                                                    "region": {
                                                        "type": "object",
                                                        "required": ["startLine", "startColumn"],
                                                        "properties": {
                                                            "startLine": {"type": "integer", "minimum": 1},
                                                            "startColumn": {"type": "integer", "minimum": 1},
                                                        },
                                                    }
                                                },
                                            }
                                        },
                                    },
                                },
                                "fixes": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "required": ["artifactChanges"],
                                        "properties": {
                                            "artifactChanges": {
                                                "type": "array",
                                                "items": {
                                                    "type": "object",
                                                    "required": ["artifactLocation", "replacements"],
                                                    "properties": {
                                                        "replacements": {
                                                            "type": "array",
                                                            "items": {"type": "object", "required": ["deletedRegion"]},
                                                        }
                                                    },
                                                },
                                            }
                                        },
                                    },
                                },
                            },
                        },
                    },
                },
            },
        },
    },
}


def test_sarif(cli, files):
    jsonschema = pytest.importorskip("jsonschema")
    document = json.loads(cli("--output-format", "sarif", ".").stdout)
    jsonschema.validate(document, SARIF_SUBSET_SCHEMA)
    run = document["runs"][0]
    rule_ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert [r["ruleId"] for r in run["results"]] == ["FI990", "FI991"]
    for result in run["results"]:
        assert rule_ids[result["ruleIndex"]] == result["ruleId"]
    assert (
        run["results"][0]["fixes"][0]["artifactChanges"][0]["replacements"][0]["insertedContent"]["text"]
        == ", bias=True"
    )


def test_junit(cli, files):
    root = ET.fromstring(cli("--output-format", "junit", ".").stdout)
    cases = root.findall(".//testcase")
    assert [c.get("name") for c in cases] == ["FI990 (test-linear-without-bias)", "FI991 (test-half-call)"]
    assert all(c.find("failure") is not None for c in cases)


def test_statistics(cli, files):
    out = cli("--statistics", ".").stdout
    assert "1\tFI990\t[*] test-linear-without-bias" in out
    assert "1\tFI991\t[ ] test-half-call" in out


def test_exit_zero(cli, files):
    assert cli("--exit-zero", ".").exit_code == 0


def test_fix_applies_only_safe_fixes_and_is_idempotent(cli, files):
    result = cli("--fix", "--show-fixes", ".")
    assert result.exit_code == 1  # the unsafe finding remains
    text = (files / "a.py").read_text()
    assert "tnn.Linear(2, 3, bias=True)  # keep me" in text and "m.half()" in text
    assert "Fixed 1 error:" in result.stdout and "1 × FI990 (test-linear-without-bias)" in result.stdout
    assert "Found 2 errors (1 fixed, 1 remaining)." in result.stdout
    before = (files / "a.py").read_bytes()
    cli("--fix", ".")
    assert (files / "a.py").read_bytes() == before


def test_unsafe_fixes(cli, files):
    result = cli("--fix", "--unsafe-fixes", ".")
    assert result.exit_code == 0
    assert "y = m.to(torch.float16)" in (files / "a.py").read_text()


def test_unsafe_fixes_from_config(cli, files):
    (files / "pyproject.toml").write_text("[tool.fastinit-lint]\nunsafe-fixes = true\n")
    assert cli("--fix", ".").exit_code == 0
    assert cli("--fix", "--no-unsafe-fixes", ".").exit_code == 0  # nothing left either way


def test_exit_non_zero_on_fix(cli, files):
    (files / "a.py").write_text("import torch.nn as nn\nnn.Linear(1, 1)\n")
    assert cli("--fix", ".").exit_code == 0
    (files / "a.py").write_text("import torch.nn as nn\nnn.Linear(1, 1)\n")
    assert cli("--fix", "--exit-non-zero-on-fix", ".").exit_code == 1


def test_diff_writes_nothing(cli, files):
    result = cli("--diff", ".")
    assert result.exit_code == 1
    assert "-m = tnn.Linear(2, 3)  # keep me\n+m = tnn.Linear(2, 3, bias=True)  # keep me" in result.stdout
    assert (files / "a.py").read_text() == BOTH
    assert "Would fix 1 error." in result.stderr
    assert cli("--diff", "clean.py").exit_code == 0


def test_config_option_and_errors(cli, files):
    (files / "other.toml").write_text('[tool.fastinit-lint]\nselect = ["FI991"]\n')
    data = json.loads(cli("--config", "other.toml", "--output-format", "json", ".").stdout)
    assert {f["code"] for f in data} == {"FI991"}
    (files / "bad.toml").write_text('[tool.fastinit-lint]\nselekt = ["FI991"]\n')
    result = cli("--config", "bad.toml", ".")
    assert result.exit_code == 2 and "unknown key `selekt`" in result.stderr
    assert cli("--config", "missing.toml", ".").exit_code == 2


def test_cache_dir_and_no_cache(cli, files):
    cli("--no-cache", ".")
    assert not (files / ".fastinit_cache").exists()
    first = cli("--output-format", "json", ".").stdout
    assert (files / ".fastinit_cache").is_dir()
    assert cli("--output-format", "json", ".").stdout == first


def test_jobs_serial_and_parallel_identical(cli, project):
    for i in range(30):
        (project / f"m{i:02}.py").write_text(BOTH if i % 3 else CLEAN)
    serial = cli("--no-cache", "--jobs", "1", "--output-format", "json", ".").stdout
    parallel = cli("--no-cache", "--jobs", "2", "--output-format", "json", ".").stdout
    assert serial == parallel and len(json.loads(serial)) == 40


def test_strategy_flag_validated(cli, files):
    assert cli("--strategy", "fsdp", "clean.py").exit_code == 0
    result = cli("--strategy", "fsdp_native", "clean.py")
    assert result.exit_code == 2 and "`strategy` must be one of" in result.stderr


def test_add_noqa(cli, files):
    result = cli("--add-noqa", ".")
    assert result.exit_code == 0 and "Added 2 noqa directives." in result.stderr
    text = (files / "a.py").read_text()
    assert "m = tnn.Linear(2, 3)  # keep me  # noqa: FI990\n" in text
    assert "y = m.half()  # noqa: FI991\n" in text
    assert cli(".").exit_code == 0


def test_force_exclude(cli, files):
    (files / "pyproject.toml").write_text('[tool.fastinit-lint]\nextend-exclude = ["a.py"]\n')
    assert cli(".").exit_code == 0
    assert cli("a.py").exit_code == 1  # explicit paths are checked ...
    assert cli("--force-exclude", "a.py").exit_code == 0  # ... unless excludes are forced


def test_quiet(cli, files):
    out = cli("--quiet", "--output-format", "concise", ".").stdout
    assert "Found" not in out and out.count("\n") == 2


def test_output_file(cli, files):
    assert cli("--output-format", "json", "-o", "report.json", ".").exit_code == 1
    assert len(json.loads((files / "report.json").read_text())) == 2


def test_version(cli):
    assert cli("--version").stdout.strip() == f"fastinit-lint, version {__version__}"


def test_rules_and_explain(cli):
    listing = cli("rules").stdout
    assert "FI990  test-linear-without-bias" in listing and "FI900  unused-suppression" in listing
    assert json.loads(cli("rules", "--output-format", "json").stdout)[0]["code"]
    explained = cli("explain", "FI900")
    assert explained.exit_code == 0 and explained.stdout.startswith("# unused-suppression (FI900)")
    assert "## Why it matters" in explained.stdout
    assert cli("explain", "unused-suppression").exit_code == 0
    assert cli("explain", "FI000").exit_code == 2


def test_stdin(cli, project):
    result = cli("--stdin-filename", "pkg/x.py", "--output-format", "concise", input=BOTH)
    assert result.exit_code == 1
    assert result.stdout.startswith("pkg/x.py:4:5: FI990")
    fixed = cli("--stdin-filename", "x.py", "--fix", input=BOTH)
    assert fixed.stdout == BOTH.replace("(2, 3)", "(2, 3, bias=True)")
    assert cli("-", input=CLEAN).exit_code == 0


def test_report_unused_suppressions(cli, project):
    (project / "s.py").write_text(
        "import torch.nn as nn\nnn.Linear(1, 2)  # noqa: FI990\nx = 1  # noqa: FI991, E501\ny = 2  # noqa\n"
    )
    assert cli("s.py").exit_code == 0
    result = cli("--report-unused-suppressions", "--output-format", "concise", "s.py")
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == "s.py:3:8: FI900 [*] unused suppression for FI991"  # fixable
    assert "s.py:2" not in result.stdout and "s.py:4" not in result.stdout


class _Tty:
    def __init__(self):
        self.written = []

    def isatty(self):
        return True

    def write(self, text):
        self.written.append(text)

    def flush(self):
        pass


def test_colors_only_on_tty_and_no_color(monkeypatch):
    from fastinit_lint.cli import _colorizer

    monkeypatch.delenv("NO_COLOR", raising=False)
    assert _colorizer(_Tty())("x", "red") != "x"
    monkeypatch.setenv("NO_COLOR", "1")
    assert _colorizer(_Tty())("x", "red") == "x"


def test_progress_draws_only_after_a_moment():
    from fastinit_lint.engine.progress import Progress

    quick = Progress("checking", 3, True, _Tty())
    for _ in range(3):
        quick.tick()
    quick.close()
    assert quick.stream.written == []
    slow = Progress("checking", 2, True, _Tty())
    slow.start -= 1.0
    slow.tick()
    slow.tick()
    slow.close()
    assert "\rchecking 2/2 files" in slow.stream.written and slow.stream.written[-1] == "\r\033[K"
    off = Progress("checking", 2, False, _Tty())
    off.start -= 1.0
    off.tick()
    assert off.stream.written == []

"""FI900's fix (ruff's RUF100): unused codes leave the comment, an emptied comment leaves its line."""

SOURCE = (
    "# fastinit: noqa: FI001\n"
    "import os  # noqa: FI001, E501\n"
    "x = 1  # noqa: FI002\n"
    "y = 2  # fastinit: ignore[FI003, FI004]\n"
    "z = 3  # noqa: FI006 keep me\n"
)


def test_unused_suppressions_are_removed_and_others_kept(cli, project):
    (project / "a.py").write_text(SOURCE)
    result = cli("check", "--no-cache", "--report-unused-suppressions", "--fix", "a.py")
    assert (project / "a.py").read_text() == ("import os  # noqa: E501\nx = 1\ny = 2\nz = 3  # noqa: FI006 keep me\n")
    assert result.exit_code == 1 and "Found 5 errors (4 fixed, 1 remaining)." in result.output, result.output


def test_the_fix_is_shown_as_an_edit_in_json(cli, project):
    import json

    (project / "a.py").write_text("x = 1  # noqa: FI002\n")
    (finding,) = json.loads(
        cli("check", "--no-cache", "--report-unused-suppressions", "--output-format", "json", "a.py").stdout
    )
    assert finding["fix"]["applicability"] == "safe"
    assert finding["fix"]["edits"] == [
        {"content": "", "location": {"row": 1, "column": 6}, "end_location": {"row": 1, "column": 21}}
    ]

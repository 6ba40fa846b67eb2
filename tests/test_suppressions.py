"""Suppression comments on the finding's line and at file level; only real comments count."""

import pytest

FINDING = "import torch.nn as nn\nnn.Linear(1, 2){comment}\n"


@pytest.mark.parametrize(
    ("comment", "suppressed"),
    [
        ("  # noqa", True),
        ("  # noqa: FI990", True),
        ("  # noqa:FI991,FI990", True),
        ("  # NOQA: fi990", True),
        ("  # noqa: FI991", False),
        ("  # fastinit: ignore[FI990]", True),
        ("  # fastinit: ignore[FI991, FI990]", True),
        ("  # fastinit: ignore[FI991]", False),
        ("  # noqa: E501", False),
    ],
)
def test_line_suppressions(cli, project, comment, suppressed):
    (project / "s.py").write_text(FINDING.format(comment=comment))
    assert cli("s.py").exit_code == (0 if suppressed else 1)


def test_noqa_inside_string_does_not_count(cli, project):
    (project / "s.py").write_text('import torch.nn as nn\nnn.Linear(1, "# noqa")\n')
    assert cli("s.py").exit_code == 1


def test_multiline_statement_noqa_on_last_line(cli, project):
    (project / "s.py").write_text("import torch.nn as nn\nnn.Linear(\n    1, 2)  # noqa: FI990\n")
    assert cli("s.py").exit_code == 0


@pytest.mark.parametrize(
    ("header", "code"),
    [
        ("# fastinit: noqa\n", 0),
        ("# fastinit: noqa: FI990\n", 0),
        ("# fastinit: noqa: FI991\n", 1),
    ],
)
def test_file_level(cli, project, header, code):
    (project / "s.py").write_text(header + FINDING.format(comment=""))
    assert cli("s.py").exit_code == code

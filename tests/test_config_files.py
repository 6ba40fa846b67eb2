"""Config files as ruff reads them: `.fastinit-lint.toml`, `--config FILE` of any name (headerless), excluded
directories honoured for explicit paths under `--force-exclude`."""

from __future__ import annotations

from fastinit_lint.workspace.config import load_settings

BIG_CAST = "import torch\nfrom torch import nn\nm = nn.Transformer(d_model=4096).half()\n"


def test_dot_fastinit_lint_toml_is_a_config(tmp_path):
    (tmp_path / ".fastinit-lint.toml").write_text('select = ["FI007"]\n')
    assert tuple(load_settings(str(tmp_path)).select) == ("FI007",)


def test_config_file_of_any_name_is_read_headerless_and_checked(cli, project, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("configs")
    (elsewhere / "ci.toml").write_text('select = ["FI001"]\n')
    (project / "a.py").write_text(BIG_CAST)
    result = cli("check", "--config", str(elsewhere / "ci.toml"), "a.py")
    assert result.exit_code == 0 and "All checks passed!" in result.output, result.output  # FI007 not selected
    assert not (elsewhere / ".fastinit_cache").exists()  # the cache belongs to the project, not to the config
    (elsewhere / "ci.toml").write_text('selct = ["FI001"]\n')
    result = cli("check", "--config", str(elsewhere / "ci.toml"), "a.py")
    assert result.exit_code == 2 and "ci.toml: unknown key `selct`" in result.stderr


def test_force_exclude_honours_excluded_directories_for_explicit_files(cli, project):
    (project / "pyproject.toml").write_text('[tool.fastinit-lint]\nextend-exclude = ["generated/"]\n')
    (project / "generated").mkdir()
    (project / "generated" / "a.py").write_text(BIG_CAST)
    result = cli("check", "--no-cache", "--force-exclude", "generated/a.py")
    assert result.exit_code == 0 and "FI007" not in result.output
    assert "FI007" in cli("check", "--no-cache", "generated/a.py").output  # without the flag, given files are checked


def test_each_path_is_checked_with_its_closest_config_whatever_the_order(cli, project):
    source = "import torch.nn as nn\nnn.Linear(1, 2)\ny = x.half()\n"
    for name, code in (("projA", "FI991"), ("projB", "FI990")):
        (project / name).mkdir()
        (project / name / "pyproject.toml").write_text(f'[tool.fastinit-lint]\nselect = ["{code}"]\n')
        (project / name / "m.py").write_text(source)
    outputs = [cli("check", "--no-cache", "--output-format", "concise", *order).output
               for order in (("projA", "projB"), ("projB", "projA"))]
    for output in outputs:
        found = sorted(line.split(" ")[:2] for line in output.splitlines() if ": FI9" in line)
        assert found == [["projA/m.py:3:5:", "FI991"], ["projB/m.py:2:1:", "FI990"]], output

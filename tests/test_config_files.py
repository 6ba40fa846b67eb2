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
    outputs = [
        cli("check", "--no-cache", "--output-format", "concise", *order).output
        for order in (("projA", "projB"), ("projB", "projA"))
    ]
    for output in outputs:
        found = sorted(line.split(" ")[:2] for line in output.splitlines() if ": FI9" in line)
        assert found == [["projA/m.py:3:5:", "FI991"], ["projB/m.py:2:1:", "FI990"]], output


def test_a_directory_with_its_own_config_inside_a_walked_one_uses_it(cli, project):
    """ruff's hierarchy: `fastinit-lint .` checks `sub/` with `sub/pyproject.toml`'s settings, its excludes
    relative to `sub/`; the closest config wins whole, nothing inherited from the outer one."""
    source = "import torch.nn as nn\nnn.Linear(1, 2)\ny = x.half()\n"
    (project / "pyproject.toml").write_text('[tool.fastinit-lint]\nselect = ["FI991"]\n')
    (project / "m.py").write_text(source)
    sub = project / "sub"
    (sub / "deeper").mkdir(parents=True)
    (sub / "pyproject.toml").write_text('[tool.fastinit-lint]\nselect = ["FI990"]\nextend-exclude = ["/skipped.py"]\n')
    for where in (sub, sub / "deeper"):
        (where / "m.py").write_text(source)
        (where / "skipped.py").write_text(source)
    (project / "other").mkdir()  # a pyproject.toml without our table is not a config: `other/` stays the outer one's
    (project / "other" / "pyproject.toml").write_text('[project]\nname = "other"\n')
    (project / "other" / "m.py").write_text(source)
    for args in ((".",), ("m.py", "sub", "other")):
        output = cli("check", "--no-cache", "--output-format", "concise", *args).output
        found = sorted(line.split(" ")[:2] for line in output.splitlines() if ": FI9" in line)
        assert found == [
            ["m.py:3:5:", "FI991"],
            ["other/m.py:3:5:", "FI991"],
            ["sub/deeper/m.py:2:1:", "FI990"],
            ["sub/deeper/skipped.py:2:1:", "FI990"],
            ["sub/m.py:2:1:", "FI990"],
        ], (args, output)


def test_config_given_applies_to_nested_directories_too(cli, project, tmp_path_factory):
    """`--config FILE` is the one config for every file (ruff): a nested `pyproject.toml` does not take over."""
    (project / "sub").mkdir()
    (project / "sub" / "pyproject.toml").write_text('[tool.fastinit-lint]\nselect = ["FI990"]\n')
    (project / "sub" / "m.py").write_text("import torch.nn as nn\nnn.Linear(1, 2)\ny = x.half()\n")
    given = tmp_path_factory.mktemp("configs") / "ci.toml"
    given.write_text('select = ["FI991"]\n')
    output = cli("check", "--no-cache", "--output-format", "concise", "--config", str(given), ".").output
    assert [line.split(" ")[1] for line in output.splitlines() if ": FI9" in line] == ["FI991"], output


def test_a_bad_nested_config_is_a_config_error_and_nothing_is_fixed(cli, project):
    (project / "m.py").write_text(BIG_CAST)
    (project / "sub").mkdir()
    (project / "sub" / "fastinit-lint.toml").write_text('selct = ["FI001"]\n')
    before = (project / "m.py").read_text()
    result = cli("check", "--no-cache", "--fix", "--unsafe-fixes", ".")
    assert result.exit_code == 2 and "fastinit-lint.toml: unknown key `selct`" in result.stderr, result.output
    assert (project / "m.py").read_text() == before

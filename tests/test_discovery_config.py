"""File discovery (excludes, .gitignore) and configuration validation."""

from __future__ import annotations

import pytest

from fastinit_lint.workspace.config import ConfigError, load_settings
from fastinit_lint.workspace.discovery import DEFAULT_EXCLUDES, Excluder, discover
from fastinit_lint.workspace.ignore_patterns import PatternSet


def _tree(root, paths):
    for path in paths:
        full = root / path
        full.parent.mkdir(parents=True, exist_ok=True)
        full.write_text("x = 1\n")


def test_default_excludes_gitignore_and_negation(tmp_path):
    _tree(
        tmp_path,
        [
            "a.py",
            "conf.yaml",
            "notes.txt",
            ".venv/x.py",
            "build/y.py",
            "gen/z.py",
            "gen/keep.py",
            "sub/deep/w.py",
            "sub/deep/skip_me.py",
            "node_modules/n.py",
        ],
    )
    (tmp_path / ".gitignore").write_text("gen/*\n!gen/keep.py\n# comment\n")
    (tmp_path / "sub" / ".gitignore").write_text("skip_*.py\n")
    found, errors = discover([str(tmp_path)], Excluder(str(tmp_path), DEFAULT_EXCLUDES))
    rel = sorted(f.path[len(str(tmp_path)) + 1 :] for f in found)
    assert rel == ["a.py", "conf.yaml", "gen/keep.py", "sub/deep/w.py"] and not errors


@pytest.mark.parametrize(
    ("pattern", "path", "is_dir", "expected"),
    [
        ("*.py", "a/b.py", False, True),
        ("/a.py", "sub/a.py", False, None),
        ("a/**/c.py", "a/x/y/c.py", False, True),
        ("a/**/c.py", "a/c.py", False, True),
        ("build/", "build", False, None),
        ("build/", "x/build", True, True),
        ("doc/*.md", "doc/sub/x.md", False, None),
        ("[ab].py", "b.py", False, True),
        ("**/gen", "x/y/gen", True, True),
    ],
)
def test_gitignore_semantics(pattern, path, is_dir, expected):
    assert PatternSet([pattern]).match(path, is_dir) is expected


def test_exclude_replaces_defaults_and_extend_adds(tmp_path):
    _tree(tmp_path, ["build/y.py", "a.py", "tests/fixtures/f.py"])
    found, _ = discover([str(tmp_path)], Excluder(str(tmp_path), ("tests/fixtures",)))
    assert sorted(f.display.rsplit("/", 2)[-2:][-1] for f in found) == ["a.py", "y.py"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('select = "FI001"', "`select` must be a list of strings"),
        ("large-layer-threshold = -5", "`large-layer-threshold` must be a positive integer"),
        ('unknown-size = "huge"', '`unknown-size` must be "large" or "small"'),
        ('strategy = "fsdp_native"', "`strategy` must be one of"),
        ("per-file-ignores = [1]", "`per-file-ignores` must be a table"),
        ('unsafe-fixes = "yes"', "`unsafe-fixes` must be true or false"),
        ("colour = 1", "unknown key `colour`"),
        ("select = [", "invalid TOML"),
    ],
)
def test_config_errors_name_file_and_problem(tmp_path, body, message):
    (tmp_path / "pyproject.toml").write_text(f"[tool.fastinit-lint]\n{body}\n")
    with pytest.raises(ConfigError, match="pyproject.toml") as info:
        load_settings(str(tmp_path))
    assert message in str(info.value)


def test_closest_config_wins_and_fastinit_toml(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.fastinit-lint]\nlarge-layer-threshold = 5\n")
    sub = tmp_path / "sub"
    sub.mkdir()
    assert load_settings(str(sub)).large_layer_threshold == 5
    (sub / "fastinit-lint.toml").write_text('large-layer-threshold = 7\nstrategy = "deepspeed_stage_3"\n')
    settings = load_settings(str(sub))
    assert settings.large_layer_threshold == 7 and settings.strategy.zero3
    assert settings.root == str(sub)


def test_per_file_ignores(cli, project):
    (project / "pyproject.toml").write_text(
        '[tool.fastinit-lint]\n[tool.fastinit-lint.per-file-ignores]\n"legacy/*.py" = ["FI99"]\n'
    )
    (project / "legacy").mkdir()
    (project / "legacy" / "old.py").write_text("import torch.nn as nn\nnn.Linear(1, 2)\n")
    (project / "new.py").write_text("import torch.nn as nn\nnn.Linear(1, 2)\n")
    out = cli("--output-format", "concise", ".").stdout
    assert "new.py:2:1: FI990" in out and "legacy" not in out


def test_strategy_source_named_in_evidence(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.fastinit-lint]\nstrategy = "fsdp"\n')
    assert load_settings(str(tmp_path)).strategy_source == f"config {tmp_path / 'pyproject.toml'}"
    from fastinit_lint.workspace.config import parse_table

    overridden = load_settings(str(tmp_path), None, parse_table({"strategy": "deepspeed_stage_3"}, "command line"))
    assert overridden.strategy.zero3 and overridden.strategy_source == "--strategy"


def test_alternation_of_patterns_gives_the_per_pattern_verdicts():
    """Without negations one combined regex decides; it must agree with asking each pattern in turn."""
    patterns = PatternSet([*DEFAULT_EXCLUDES, "build/", "docs/**/*.py", "/top.py", "a?c", "[xy]z"])
    assert patterns._any is not None
    paths = [
        "build",
        "src/build",
        "build/x.py",
        "docs/a/b.py",
        "docs/x.txt",
        "top.py",
        "sub/top.py",
        "abc",
        "sub/xz",
        "yz/q.py",
        ".git",
        "pkg/__pycache__",
        "node_modules/m.py",
        "ok.py",
        "venv",
        ".venv",
    ]
    for path in paths:
        for is_dir in (False, True):
            fast = patterns.match(path, is_dir)
            patterns._any, combined = None, patterns._any
            assert patterns.match(path, is_dir) == fast, (path, is_dir)
            patterns._any = combined

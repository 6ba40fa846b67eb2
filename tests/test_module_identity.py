"""Imports resolve as Python would for the importing file (`sys.path[0]` first), keyed by path: monorepos of
script directories (RWKV-LM: `RWKV-v1/src/` a package, `RWKV-v4/src/` a plain directory, each version's
scripts importing `src.model`)."""

from __future__ import annotations

import textwrap
from pathlib import Path

from fastinit_lint.workspace.config import load_settings
from fastinit_lint.engine.pipeline import RunRequest, run
from fastinit_lint.engine.registry import Registry

MODEL = """
from torch import nn
class GPT(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Linear({0}, {0})
"""
SCRIPT = "from src.model import GPT\nmodel = GPT().cuda()\n"


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def _findings(root: Path, monkeypatch, use_cache: bool = False) -> dict[str, list[str]]:
    monkeypatch.chdir(root)
    registry = Registry.default()
    rules = [r for r in registry.all() if r.code == "FI007"]
    result = run(RunRequest(["."], load_settings(str(root)), rules, jobs=1, use_cache=use_cache), registry.expand)
    assert not result.errors
    return {f.filename: [x.message for x in f.findings] for f in result.files if f.findings}


def test_each_version_directory_imports_its_own_src_package(tmp_path, monkeypatch):
    """v1 and v3 both have a `src` package (module `src.model` twice), v2 a plain `src/` directory (module
    `model`, spelled `src.model` from v2 through a namespace package); only v3's GPT is large."""
    (tmp_path / "pyproject.toml").write_text("[tool.fastinit-lint]\n")
    _write(
        tmp_path,
        {
            "v1/src/__init__.py": "",
            "v1/src/model.py": MODEL.format(512),
            "v1/train.py": SCRIPT,
            "v2/src/model.py": MODEL.format(512),
            "v2/train.py": SCRIPT,
            "v3/src/__init__.py": "",
            "v3/src/model.py": MODEL.format(16_384),
            "v3/train.py": SCRIPT,
            # A relative import inside v3's package and an aliased `import` reach v3's module too.
            "v3/src/build.py": "from .model import GPT\nmodel = GPT().cuda()\n",
            "v3/eval.py": "import src.model as m\nmodel = m.GPT().cuda()\n",
        },
    )
    found = _findings(tmp_path, monkeypatch)
    assert sorted(found) == ["v3/eval.py", "v3/src/build.py", "v3/train.py"]
    assert all("268,451,840 parameters" in message for messages in found.values() for message in messages)


def test_a_new_script_directory_invalidates_cached_facts(tmp_path, monkeypatch):
    """Which file `src.model` names in v2 changes when v2 gets its own `src/`: cached facts of the unchanged
    `v2/train.py` must not keep pointing at v1's module."""
    (tmp_path / "pyproject.toml").write_text("[tool.fastinit-lint]\n")
    _write(tmp_path, {"v1/src/__init__.py": "", "v1/src/model.py": MODEL.format(16_384), "v2/train.py": SCRIPT})
    assert list(_findings(tmp_path, monkeypatch, use_cache=True)) == ["v2/train.py"]  # v1's, the only `src`
    _write(tmp_path, {"v2/src/model.py": MODEL.format(512)})
    assert _findings(tmp_path, monkeypatch, use_cache=True) == {}


def test_unique_module_names_are_unchanged(tmp_path, monkeypatch):
    """A `src/` layout and tests importing the project by its package name keep resolving from anywhere."""
    (tmp_path / "pyproject.toml").write_text("[tool.fastinit-lint]\n")
    _write(
        tmp_path,
        {
            "src/pkg/__init__.py": "",
            "src/pkg/model.py": MODEL.format(16_384),
            "tests/test_model.py": "from pkg.model import GPT\nmodel = GPT().cuda()\n",
        },
    )
    assert list(_findings(tmp_path, monkeypatch)) == ["tests/test_model.py"]

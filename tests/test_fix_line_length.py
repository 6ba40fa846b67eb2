"""Lines a fix makes keep to the project's line length (its ruff, black or flake8 setting), else to the file's
own longest line or 88: split as black splits them, lines the file already had left alone."""

from __future__ import annotations

import ast
import textwrap

import pytest

from fastinit_lint.engine.testing import lint_snippet

try:
    from fastinit_lint.workspace.config import formatter_line_length
except ImportError:
    formatter_line_length = None
from fastinit_rules.create_then_cast import CreateThenCast
from fastinit_rules.large_layer_in_init import LargeLayerInInit

PARTIAL_LOAD = """\
import pytorch_lightning as pl
trainer = pl.Trainer()
with trainer.init_module(empty_init=True):
    model = Net.load_from_checkpoint("pre.ckpt", strict=False)
"""
TRAIN = {
    "train.py": "import lightning as L\nfrom snippet import Task\ntrainer = L.Trainer(strategy='fsdp')\n"
    "trainer.fit(Task())\n"
}


@pytest.mark.parametrize(
    "name, text",
    [
        ("pyproject.toml", "[tool.fastinit-lint]\n[tool.ruff]\nline-length = 60\n"),
        ("ruff.toml", "line-length = 60\n"),
        ("pyproject.toml", "[tool.fastinit-lint]\n[tool.black]\nline-length = 60\n"),
        ("setup.cfg", "[flake8]\nmax-line-length = 60\n"),
    ],
)
def test_the_project_line_length_splits_the_lines_a_fix_makes(cli, project, name, text):
    (project / name).write_text(text)
    (project / "a.py").write_text(PARTIAL_LOAD)
    cli("check", "--fix", "--unsafe-fixes", "--no-cache", "--select", "FI002", "a.py")
    fixed = (project / "a.py").read_text()
    assert fixed.endswith(
        '    model = fastinit_runtime.lightning.load_from_checkpoint(\n        Net, "pre.ckpt", strict=False\n    )\n'
    ), fixed
    assert max(map(len, fixed.splitlines())) <= 60


def test_a_longer_project_line_length_keeps_the_line_whole(cli, project):
    (project / "pyproject.toml").write_text("[tool.fastinit-lint]\n[tool.ruff]\nline-length = 120\n")
    (project / "a.py").write_text(PARTIAL_LOAD)
    cli("check", "--fix", "--unsafe-fixes", "--no-cache", "--select", "FI002", "a.py")
    assert (
        'model = fastinit_runtime.lightning.load_from_checkpoint(Net, "pre.ckpt", strict=False)\n'
        in (project / "a.py").read_text()
    )


def test_without_a_setting_the_files_own_longest_line_is_the_limit(cli, project):
    long_line = f"NOTE = {'x' * 100!r}\n"  # 109 characters: this file runs that long
    (project / "a.py").write_text(long_line + PARTIAL_LOAD)
    cli("check", "--fix", "--unsafe-fixes", "--no-cache", "--select", "FI002", "a.py")
    fixed = (project / "a.py").read_text()
    assert 'load_from_checkpoint(Net, "pre.ckpt", strict=False)\n' in fixed and long_line in fixed, fixed


def test_a_merged_import_longer_than_the_line_is_parenthesized_one_name_a_line():
    code = textwrap.dedent("""
        from torch import nn
        import lightning as L
        from torch.distributed.fsdp.wrap import enable_wrap, size_based_auto_wrap_policy, ModuleWrapPolicy

        class Task(L.LightningModule):
            def __init__(self):
                super().__init__()
                self.embed = nn.Embedding(50_000, 1024)
        """).lstrip()
    fixed = lint_snippet(LargeLayerInInit, code, TRAIN, fix=True).fixed_source
    assert (
        "from torch.distributed.fsdp.wrap import (\n    wrap,\n    enable_wrap,\n    size_based_auto_wrap_policy,\n"
        "    ModuleWrapPolicy,\n)\n"
    ) in fixed, fixed
    assert max(map(len, fixed.splitlines())) <= 88


def test_the_with_line_a_fix_adds_is_split_when_longer_than_the_file_runs():
    net = {
        "net.py": "from torch import nn\nclass Big(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.proj = nn.Linear(16_384, 16_384)\n"
    }
    code = (
        "import torch\nimport net\n\n\ndef build(local_rank):\n    for _ in range(1):\n"
        '        model = net.Big().to(device=torch.device(f"cuda:{local_rank}"), dtype=torch.bfloat16)\n'
        "    return model\n"
    )  # 93 characters at most
    fixed = lint_snippet(CreateThenCast, code, net, fix=True, unsafe=True).fixed_source
    assert (
        "        with fastinit_runtime.init_module(\n"
        '            device=torch.device(f"cuda:{local_rank}"), dtype=torch.bfloat16\n'
        "        ):\n            model = net.Big()\n"
    ) in fixed, fixed
    assert max(map(len, fixed.splitlines())) <= 93
    ast.parse(fixed)


def test_formatter_line_length_is_the_closest_setting_and_ignores_what_it_cannot_read(tmp_path):
    (tmp_path / "setup.cfg").write_text("[flake8]\nmax-line-length = 100\n")
    inner = tmp_path / "pkg"
    inner.mkdir()
    (inner / "pyproject.toml").write_text("[tool.black]\nline-length = 'long'\n")  # not a number: passed over
    assert formatter_line_length(inner) == 100
    (inner / "ruff.toml").write_text("line-length = 79\n")
    assert formatter_line_length(inner) == 79
    (inner / "ruff.toml").write_text("line-length = [\n")  # not ours to judge: passed over, no error
    assert formatter_line_length(inner) == 100

"""Our position recorder agrees with LibCST's PositionProvider on every node of real files."""

from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

import fastinit_lint
from fastinit_lint.positions import positions

FILES = [Path(fastinit_lint.__file__).parent / "checker.py", Path(__file__).parent / "fixtures" / "sizes" / "models.py",
         Path(cst.__file__).parent / "_nodes" / "statement.py"]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_positions_match_position_provider(path):
    module = cst.parse_module(path.read_text())
    reference = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    ours = positions(module, list(reference))
    assert ours == dict(reference)


def test_crlf_and_tabs():
    module = cst.parse_module("if x:\r\n\ty = f(1,\r\n\t      2)\r\n")
    reference = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    assert positions(module, list(reference)) == dict(reference)

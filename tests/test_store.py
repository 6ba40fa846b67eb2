"""The facts store: what the index reads every file's facts through, as a run and the language server use it."""

from __future__ import annotations

import ast
import pickle

import pytest

from fastinit_lint.diagnostics import FileError
from fastinit_lint.model.facts import python_facts
from fastinit_lint.model.index import ProjectIndex
from fastinit_lint.model.store import FactsStore, StoredFile


def _stored(tmp_path, name: str, text: str) -> StoredFile:
    path = tmp_path / name
    path.write_text(text)
    facts = python_facts(name, str(path), ast.parse(text), text)
    return StoredFile(len(text), 0, "", facts, frozenset(), False, None)


def test_a_replaced_or_dropped_file_is_what_the_next_index_sees(tmp_path):
    """The language server puts an edited document's facts in the store: the class, module and runner tables
    made before the edit (and the ClassFacts read through them) must not answer for the new text."""
    store = FactsStore(
        [
            _stored(tmp_path, "base.py", "from torch import nn\nclass Base(nn.Module):\n    pass\n"),
            _stored(tmp_path, "leaf.py", "from base import Base\nclass Leaf(Base):\n    pass\n"),
        ]
    )
    assert ProjectIndex(store).is_nn_module("leaf.Leaf")
    assert list(store) == ["base.py", "leaf.py"] and store.runner_files == []

    store.put(_stored(tmp_path, "base.py", "import lightning as L\nclass Base:\n    pass\ntrainer = L.Trainer()\n"))
    assert not ProjectIndex(store).is_nn_module("leaf.Leaf")
    assert store.classes["base.Base"].bases == () and store.runner_files == ["base.py"]

    store.drop("base.py")
    assert "base.Base" not in store.classes and "base.py" not in store and list(store) == ["leaf.py"]
    assert store.module_files == {"leaf": "leaf.py"}


def test_facts_travel_pickled_and_are_unpickled_on_first_read(tmp_path):
    """From a worker or the cache a file arrives with its summary and a blob: asking the summary, or whether the
    file is in the store, reads no facts; reading them does, once."""
    sent = _stored(tmp_path, "model.py", "from torch import nn\nclass Net(nn.Module):\n    pass\n")
    broken = StoredFile(-1, -1, "", None, frozenset(), False, FileError("broken.py", "syntax error"))
    store = FactsStore([pickle.loads(pickle.dumps(sent)), pickle.loads(pickle.dumps(broken))])
    arrived = store.stored["model.py"]
    assert arrived.classes == ("model.Net",) and arrived.facts_digest == sent.facts_digest
    assert "model.py" in store and "model.Net" in store.classes and "broken.py" not in store
    assert arrived._facts is None
    assert store["model.py"] is store["model.py"] and store["model.py"].classes[0].name == "Net"
    with pytest.raises(KeyError):
        store["broken.py"]

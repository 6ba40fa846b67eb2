"""The cache lives in the linted checkout, which may be a stranger's pull request: nothing planted there
runs, redirects our writes or hides an edit, and a killed save leaves nothing behind for long."""

from __future__ import annotations

import os
import pickle
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fastinit_lint.engine.cache import Cache, schema_digest
from fastinit_lint.model.module_identity import ModuleTable
from fastinit_lint.workspace.config import load_settings
from fastinit_lint.diagnostics import FileResult
from fastinit_lint.model.store import StoredFile
from fastinit_lint.workspace.source import digest_bytes

EXAMPLES = Path(__file__).parent.parent / "examples"


class _Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def _project(tmp_path: Path) -> Path:
    root = tmp_path / "checkout"
    shutil.copytree(EXAMPLES, root, ignore=shutil.ignore_patterns(".fastinit_cache", "__pycache__", "ci"))
    return root


def _lint(root: Path, *args: str, xdg: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "XDG_CACHE_HOME": str(xdg)}
    return subprocess.run(
        [sys.executable, "-m", "fastinit_lint", "--output-format", "concise", *args, "."],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _cache_files(root: Path) -> set[Path]:
    """Every file a real run left in the cache directory, and the predictable name of the cache itself."""
    predictable = Path(Cache(str(root), load_settings(str(root)).fingerprint(), enabled=False).path)
    found = {path for path in (root / ".fastinit_cache").rglob("*") if path.is_file()}
    assert predictable in found
    return found


def _forged_cache(root: Path, blob: bytes) -> bytes:
    """A well-formed unauthenticated cache whose entries match the files' stats, their facts blobs a payload."""
    facts = {}
    for path in sorted(root.rglob("*.py")):
        data, info = path.read_bytes(), path.stat()
        stored = StoredFile(info.st_size, info.st_mtime_ns, digest_bytes(data), None, frozenset(), False, None)
        stored._blob, stored.filename, stored.verified_ns = blob, path.relative_to(root).as_posix(), time.time_ns() * 2
        facts[str(path)] = stored
    magic = Cache(str(root), "", enabled=False, schema=schema_digest(StoredFile, FileResult)).magic
    layout = ModuleTable(str(root), [str(path) for path in root.rglob("*.py")]).digest()
    return pickle.dumps((magic, layout, facts, {}))


def test_planted_cache_files_run_nothing(tmp_path):
    root, xdg, marker = _project(tmp_path), tmp_path / "xdg", tmp_path / "pwned"
    reference = _lint(root, "--no-cache", xdg=xdg)
    assert reference.returncode == 1 and reference.stdout
    _lint(root, xdg=xdg)
    names = _cache_files(root)
    payload = pickle.dumps(_Payload(marker))
    outside = tmp_path / "outside.pickle"
    outside.write_bytes(payload)
    plants = {
        "a payload": payload,
        "a payload after a made-up MAC": bytes(32) + payload,
        "a cache with payload facts blobs": _forged_cache(root, payload),
    }
    for what, content in [*plants.items(), ("a symlink to a payload", None)]:
        for name in names:
            name.unlink()
            if content is None:
                name.symlink_to(outside)
            else:
                name.write_bytes(content)
        result = _lint(root, xdg=xdg)
        assert not marker.exists(), f"{what} ran"
        assert (result.stdout, result.stderr, result.returncode) == (reference.stdout, "", 1), what


def test_a_cache_from_another_key_is_ignored(tmp_path):
    """A cache made by this user's runs stops being trusted when the key changes (as with a cache copied
    from another machine): it is rebuilt, findings unchanged."""
    root, xdg = _project(tmp_path), tmp_path / "xdg"
    reference = _lint(root, xdg=xdg)
    (xdg / "fastinit-lint" / "key").write_bytes(os.urandom(32))
    again = _lint(root, xdg=xdg)
    assert (again.stdout, again.returncode) == (reference.stdout, reference.returncode)


@pytest.mark.parametrize("spoil", ["symlink", "group-readable", "another user's"])
def test_an_untrusted_key_file_is_replaced(tmp_path, spoil):
    if spoil == "another user's" and os.geteuid() != 0:
        pytest.skip("making a file another user's needs root")
    root, xdg = _project(tmp_path), tmp_path / "xdg"
    reference = _lint(root, xdg=xdg)
    key = xdg / "fastinit-lint" / "key"
    known = tmp_path / "known-key"
    known.write_bytes(key.read_bytes())
    known.chmod(0o600)
    if spoil == "symlink":
        key.unlink()
        key.symlink_to(known)
    elif spoil == "group-readable":
        key.chmod(0o640)
    else:
        os.chown(key, 12345, -1)
    result = _lint(root, xdg=xdg)
    assert (result.stdout, result.returncode) == (reference.stdout, reference.returncode)
    assert not key.is_symlink() and key.stat().st_mode & 0o777 == 0o600 and key.stat().st_uid == os.geteuid()
    assert key.read_bytes() != known.read_bytes() and len(key.read_bytes()) == 32


def test_an_unsafe_key_directory_disables_the_cache(tmp_path):
    root, xdg = _project(tmp_path), tmp_path / "xdg"
    (xdg / "fastinit-lint").mkdir(parents=True)
    (xdg / "fastinit-lint").chmod(0o777)
    reference = _lint(root, "--no-cache", xdg=xdg)
    result = _lint(root, xdg=xdg)
    assert (result.stdout, result.stderr, result.returncode) == (reference.stdout, "", reference.returncode)
    assert not (xdg / "fastinit-lint" / "key").exists() and not (root / ".fastinit_cache").exists()


@pytest.mark.parametrize("linked", [".fastinit_cache", ".fastinit_cache/0.1.0"])
def test_a_symlinked_cache_directory_is_refused(tmp_path, linked):
    root, xdg, target = _project(tmp_path), tmp_path / "xdg", tmp_path / "elsewhere"
    target.mkdir()
    reference = _lint(root, "--no-cache", xdg=xdg)
    (root / linked).parent.mkdir(exist_ok=True)
    (root / linked).symlink_to(target)
    for _ in range(2):
        result = _lint(root, xdg=xdg)
        assert (result.stdout, result.returncode) == (reference.stdout, reference.returncode)
        assert result.stderr == f"warning: {root / linked} is a symbolic link; running without the cache\n"
        assert list(target.iterdir()) == []


def test_a_cache_directory_of_another_user_is_refused(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("making a directory another user's needs root")
    root, xdg = _project(tmp_path), tmp_path / "xdg"
    (root / ".fastinit_cache").mkdir()
    os.chown(root / ".fastinit_cache", 12345, -1)
    result = _lint(root, xdg=xdg)
    assert result.returncode == 1 and "FI001" in result.stdout
    assert result.stderr == f"warning: {root / '.fastinit_cache'} belongs to another user; running without the cache\n"
    assert list((root / ".fastinit_cache").iterdir()) == []


def test_symlinked_markers_are_not_written_through(tmp_path):
    root, xdg, target = _project(tmp_path), tmp_path / "xdg", tmp_path / "elsewhere"
    (root / ".fastinit_cache").mkdir()
    for name in ("CACHEDIR.TAG", ".gitignore"):
        (root / ".fastinit_cache" / name).symlink_to(target / name)  # dangling: opening it would create it
    target.mkdir()
    result = _lint(root, xdg=xdg)
    assert result.returncode == 1 and result.stderr == ""
    assert list(target.iterdir()) == []


def test_same_size_edit_with_mtime_restored_is_seen(tmp_path):
    """Right after a run (the edit may share its timestamps' tick) and long after it (only the ctime moved)."""
    root, xdg = _project(tmp_path), tmp_path / "xdg"
    train = root / "train.py"
    before = train.read_text()
    after = before.replace('precision="bf16"', 'precision="b-16"')
    assert len(after) == len(before) and after != before
    edited = None
    for wait in (0, 2.5):
        train.write_text(before)
        if wait:
            time.sleep(wait)  # past the timestamp slack: a stat that vouched now is trusted from here on
        assert "train.py:9:42: FI012" in _lint(root, xdg=xdg).stdout
        cache_file = next((root / ".fastinit_cache").rglob("*.pickle"))
        written = cache_file.stat().st_mtime_ns
        if wait:  # a warm run with nothing in doubt trusts the stat and writes nothing
            assert "FI012" in _lint(root, xdg=xdg).stdout and cache_file.stat().st_mtime_ns == written
        mtime = train.stat().st_mtime_ns
        train.write_text(after)
        os.utime(train, ns=(mtime, mtime))
        result = _lint(root, xdg=xdg)
        assert "train.py:9:42: FI012" not in result.stdout, wait  # (config.yaml has its own FI012)
        edited = edited or _lint(root, "--no-cache", xdg=xdg).stdout
        assert result.stdout == edited


def test_stale_cache_temp_files_are_removed(tmp_path):
    root, xdg = _project(tmp_path), tmp_path / "xdg"
    _lint(root, xdg=xdg)
    directory = next((root / ".fastinit_cache").rglob("*.pickle")).parent
    stale, fresh = directory / "tmpkilled.tmp", directory / "tmpsaving.tmp"
    for temp in (stale, fresh):
        temp.write_bytes(b"half a cache")
    an_hour_ago = time.time() - 3600
    os.utime(stale, (an_hour_ago, an_hour_ago))
    with open(root / "train.py", "a") as handle:
        handle.write("# edited\n")  # something to save
    _lint(root, xdg=xdg)
    assert not stale.exists() and fresh.exists()


def test_a_key_directory_inside_the_checkout_disables_the_cache(tmp_path):
    """A home directory inside the checkout (some CI images): the key could be the checkout's own, or be
    committed with it."""
    root = _project(tmp_path)
    reference = _lint(root, "--no-cache", xdg=root / ".cache")
    result = _lint(root, xdg=root / ".cache")
    assert (result.stdout, result.stderr, result.returncode) == (reference.stdout, "", reference.returncode)
    assert not (root / ".cache").exists() and not (root / ".fastinit_cache").exists()

"""Blob garbage collection against writers: spool copies left by a killed ingest go, ones in use stay, and a blob an
ingest re-uses while the collection deletes it is never lost (the steps are interleaved in a fixed order, no timing)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fsspec.implementations.local import LocalFileSystem
from tests.unit.store.spool_support import DAY, HOUR, make_old, object_store

from assetgrade.store.blob_gc import collect_blob_garbage
from assetgrade.store.blobs import SPOOL_PREFIX, BlobStore, system_spool_dir

# -- spool copies -----------------------------------------------------------------------------------

def test_an_object_stores_spool_lies_in_a_known_folder_under_a_prefix(system_tmp: Path) -> None:
    store = object_store("spool")
    spooled = store.spool(__import__("io").BytesIO(b"a large photo"))
    try:
        assert spooled.path.parent == system_spool_dir() == system_tmp / f"assetgrade-spool-{os.getuid()}"
        assert spooled.path.name.startswith(SPOOL_PREFIX) and spooled.path.name.endswith(".part")
    finally:
        spooled.discard()
    assert not spooled.path.exists()


def test_the_spool_of_a_killed_ingest_is_removed_by_the_collection(system_tmp: Path) -> None:
    # a real ingest process, killed (SIGKILL) while it holds its spool copy
    script = ("import io, os, signal, sys\n"
              "from assetgrade.store.blobs import BlobStore\n"
              "s = BlobStore(sys.argv[1]).spool(io.BytesIO(b'x' * 1000))\n"
              "print(s.path, flush=True)\n"
              "os.kill(os.getpid(), signal.SIGKILL)\n")
    store = object_store("spool")
    done = subprocess.run([sys.executable, "-c", script, store.url], capture_output=True, text=True,
                          env={**os.environ, "TMPDIR": str(system_tmp)}, check=False)
    assert done.returncode == -9, done.stderr
    left = Path(done.stdout.strip())
    assert left.exists() and left.parent == system_spool_dir()
    assert collect_blob_garbage(store, set(), grace_s=HOUR).stale_tmp == 0 and left.exists()  # young: kept
    make_old(left)
    dry = collect_blob_garbage(store, set(), grace_s=HOUR, dry_run=True)
    assert dry.stale_tmp == 1 and left.exists()
    assert collect_blob_garbage(store, set(), grace_s=HOUR).stale_tmp == 1
    assert not left.exists()


def test_a_spool_in_use_is_never_removed_however_old(system_tmp: Path, tmp_path: Path) -> None:
    import io

    for store in (object_store("spool"), BlobStore(tmp_path / "local")):
        spooled = store.spool(io.BytesIO(b"validated while the collection runs"))
        make_old(spooled.path, 30 * DAY)  # e.g. a slow upload of a huge file
        rep = collect_blob_garbage(store, set(), grace_s=HOUR, force=True)
        assert rep.stale_tmp == 0 and spooled.path.exists(), store
        assert store.put_spool(spooled) == spooled.sha and store.exists(spooled.sha)  # the ingest goes on
        assert not spooled.path.exists()


def test_other_files_in_the_system_temp_folder_are_left_alone(system_tmp: Path) -> None:
    store = object_store("spool")
    system_spool_dir().mkdir(parents=True, exist_ok=True)
    strangers = [system_tmp / "someone-else.part", system_tmp / f"{SPOOL_PREFIX}outside.part",
                 system_spool_dir() / "not-ours.txt"]
    for p in strangers:
        p.write_bytes(b"not ours")
        make_old(p)
    assert collect_blob_garbage(store, set(), grace_s=HOUR).stale_tmp == 0
    assert all(p.exists() for p in strangers)


# -- a blob re-used while the collection deletes it ---------------------------------------------------

class _Interleaved(LocalFileSystem):
    """The local file system, running ``before`` once, just before the first call named in ``at`` on a path
    holding ``sha``: another process's step placed at that exact point."""

    def __init__(self, sha: str, at: tuple[str, ...], before: Callable[[], Any], *, after: bool = False) -> None:
        super().__init__(skip_instance_cache=True)
        self._sha, self._at, self._before, self._after, self._done = sha, at, before, after, False

    def _step(self, name: str, path: Any) -> None:
        if not self._done and name in self._at and self._sha in str(path):
            self._done = True
            self._before()

    def rm_file(self, path: Any) -> None:
        self._step("rm_file", path)
        super().rm_file(path)

    def mv(self, path1: Any, path2: Any, *args: Any, **kwargs: Any) -> None:
        self._step("mv", path1)
        super().mv(path1, path2, *args, **kwargs)

    def info(self, path: Any, **kwargs: Any) -> Any:
        if self._after:
            out = super().info(path, **kwargs)
            self._step("info", path)
            return out
        self._step("info", path)
        return super().info(path, **kwargs)


def test_an_ingest_reusing_the_blob_just_before_the_collection_deletes_it_keeps_it(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blobs")
    data = b"an orphan an ingest picks up again"
    sha = store.put_bytes(data)
    make_old(store.path_for(sha))
    reused: list[str] = []
    # after the collection's last age check, before its delete: the ingest finds the blob and refreshes it
    store.fs = _Interleaved(sha, ("rm_file", "mv"), lambda: reused.append(store.put_bytes(data)))
    rep = collect_blob_garbage(store, set(), grace_s=HOUR, force=True)
    assert reused == [sha]  # the ingest now commits a row naming it
    assert rep.deleted == 0 and rep.kept_young == 1
    assert store.get_bytes(sha, verify=True) == data
    assert not list((Path(store.root) / "tmp").glob("*"))  # nothing left in the trash


def test_an_ingest_finding_the_blob_as_the_collection_deletes_it_writes_it_again(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blobs")
    data = b"an orphan an ingest picks up again"
    sha = store.put_bytes(data)
    make_old(store.path_for(sha))
    collected: list[int] = []

    def collect() -> None:  # a whole collection, run by another process between the ingest's look and its refresh
        other = BlobStore(tmp_path / "blobs")
        collected.append(collect_blob_garbage(other, set(), grace_s=HOUR, force=True).deleted)

    store.fs = _Interleaved(sha, ("info",), collect, after=True)
    assert store.put_bytes(data) == sha
    assert collected == [1]
    assert store.get_bytes(sha, verify=True) == data  # written again, not named while gone


def test_a_spooled_ingest_finding_the_blob_as_the_collection_deletes_it_writes_it_again(tmp_path: Path) -> None:
    import io

    store = BlobStore(tmp_path / "blobs")
    data = b"a large photo, spooled" * 100
    sha = store.put_bytes(data)
    make_old(store.path_for(sha))
    spooled = store.spool(io.BytesIO(data))

    def collect() -> None:
        collect_blob_garbage(BlobStore(tmp_path / "blobs"), set(), grace_s=HOUR, force=True)

    store.fs = _Interleaved(sha, ("info",), collect, after=True)
    assert store.put_spool(spooled) == sha
    assert store.get_bytes(sha, verify=True) == data


def test_a_blob_left_in_the_trash_by_a_killed_collection_comes_back_when_named(tmp_path: Path) -> None:
    # a collection killed between moving a blob aside and deleting it: the next one puts back what a row names
    store = BlobStore(tmp_path / "blobs")
    named, orphan = store.put_bytes(b"named by a row committed meanwhile"), store.put_bytes(b"still an orphan")
    trash = Path(store.root) / "tmp"
    trash.mkdir(exist_ok=True)
    for sha in (named, orphan):
        make_old(store.path_for(sha))
        Path(store.path_for(sha)).rename(trash / f"{sha}.{uuid.uuid4().hex}.gc-trash")
    rep = collect_blob_garbage(store, {named}, grace_s=HOUR)
    assert store.exists(named) and not store.exists(orphan)
    assert rep.deleted == 1 and rep.missing == 0
    assert not list(trash.glob("*"))


def test_blobs_written_through_a_temp_file_keep_the_usual_permissions(tmp_path: Path) -> None:
    # a shared team store: other users read the blobs; a private temp file renamed into place would be 0600
    store = BlobStore(tmp_path / "blobs")
    umask = os.umask(0o022)
    try:
        src = tmp_path / "f.bin"
        src.write_bytes(b"read by the whole team")
        for sha in (store.put_bytes(b"a small photo"), store.put_file(src)):
            assert Path(store.path_for(sha)).stat().st_mode & 0o777 == 0o644
    finally:
        os.umask(umask)

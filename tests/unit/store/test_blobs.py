"""Blob store: content addressing, dedup, atomic local writes, streamed files, verify-on-read, fsspec memory://."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path
from typing import Any

import pytest

from assetgrade.errors import NotFoundError, StoreError, ValidationError
from assetgrade.store.blobs import BlobStore


@pytest.fixture(params=["file", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    if request.param == "file":
        return BlobStore(tmp_path / "blobs")
    return BlobStore(f"memory://blobs-{uuid.uuid4().hex}")


def test_put_get_roundtrip_and_name_is_sha256(store: BlobStore) -> None:
    data = b"\x00\x01 some bytes" * 100
    sha = store.put_bytes(data)
    assert sha == hashlib.sha256(data).hexdigest()
    assert store.exists(sha)
    assert store.get_bytes(sha) == data
    with store.open(sha) as fh:
        assert fh.read() == data


def test_dedup_does_not_rewrite(store: BlobStore) -> None:
    sha = store.put_bytes(b"abc")
    path = store.path_for(sha)
    before = store.fs.info(path)
    assert store.put_bytes(b"abc") == sha
    after = store.fs.info(path)
    if store.is_local:
        # same file, not a new one renamed over it; only its time stamp is refreshed (for blob GC)
        assert after["ino"] == before["ino"]
        assert after["mtime"] >= before["mtime"]
    else:
        assert after.get("created") == before.get("created")
    assert len([p for p in store.fs.find(store.root) if not p.endswith(".part")]) == 1


def test_put_file_streams_and_matches_put_bytes(store: BlobStore, tmp_path: Path) -> None:
    data = bytes(range(256)) * 9000  # > 1 chunk
    f = tmp_path / "big.bin"
    f.write_bytes(data)
    sha = store.put_file(f)
    assert sha == hashlib.sha256(data).hexdigest()
    assert store.get_bytes(sha, verify=True) == data
    assert store.put_file(f) == sha


def test_local_write_leaves_no_temp_files(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "b")
    for i in range(5):
        store.put_bytes(f"blob {i}".encode())
    assert not list((tmp_path / "b" / "tmp").glob("*"))


def test_verify_on_read_detects_corruption(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "b", verify_on_read=True)
    sha = store.put_bytes(b"original")
    Path(store.path_for(sha)).write_bytes(b"tampered")
    with pytest.raises(StoreError, match="corrupt"):
        store.get_bytes(sha)
    assert store.get_bytes(sha, verify=False) == b"tampered"


def test_missing_and_malformed_ids(store: BlobStore) -> None:
    with pytest.raises(NotFoundError):
        store.get_bytes("0" * 64)
    with pytest.raises(ValidationError, match="sha256"):
        store.get_bytes("../../etc/passwd")
    assert not store.exists("f" * 64)


def test_a_source_read_error_stays_the_sources_and_a_write_error_is_the_stores(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = BlobStore(str(tmp_path / "blobs"))
    src = tmp_path / "photo.jpg"
    src.write_bytes(b"x" * 10)
    real_open = Path.open

    class Failing:
        def __init__(self, fh: Any) -> None:
            self.fh = fh

        def __enter__(self) -> Failing:
            return self

        def __exit__(self, *exc: object) -> None:
            self.fh.close()

        def read(self, n: int) -> bytes:
            raise OSError(5, "Input/output error")  # no filename, as a failing disk reports it

    def fake_open(self: Path, mode: str = "r", *args: Any, **kw: Any) -> Any:
        fh = real_open(self, mode, *args, **kw)
        return Failing(fh) if self == src else fh

    monkeypatch.setattr(Path, "open", fake_open)
    with pytest.raises(OSError, match="Input/output error") as info:
        store.put_file(src)
    assert not isinstance(info.value, StoreError)
    monkeypatch.setattr(Path, "open", real_open)
    (tmp_path / "blobs" / "tmp").rmdir()
    (tmp_path / "blobs" / "tmp").write_text("a file where the temp folder should be")
    with pytest.raises(StoreError, match="cannot write to the blob store"):
        store.put_file(src)
    with pytest.raises(StoreError, match="cannot write to the blob store"):
        store.put_bytes(b"y" * 10)


def test_a_blob_that_cannot_be_read_is_a_store_error_naming_it(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blöbs here")
    sha = store.put_bytes(b"payload")
    path = Path(store.path_for(sha))
    path.unlink()
    path.mkdir()  # present, but reading it fails with an OSError other than "not found"
    for read in (store.get_bytes, store.open):
        with pytest.raises(StoreError, match=f"cannot read blob {sha}"):
            read(sha)


def test_a_new_blob_is_durable_before_its_row_is_committed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the file was fsynced but not the folder holding its new name: after a power cut a committed
    # row could name a blob whose rename was lost
    import os


    synced: list[str] = []
    real = os.fsync

    def fsync(fd: int) -> None:
        synced.append(str(Path(f"/proc/self/fd/{fd}").readlink()))
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    store = BlobStore(tmp_path / "blobs")
    store.put_bytes(b"warm-up")  # creates the store's own folders
    synced.clear()
    sha = store.put_bytes(b"first blob under new fan-out folders")
    leaf = Path(store.path_for(sha)).parent
    root = leaf.parent.parent
    # the data, then its folder, then each folder above a fan-out folder the write created
    assert synced[1:] == [str(leaf), str(leaf.parent), str(root)]
    assert synced[0].endswith(".part") or synced[0] == store.path_for(sha)
    src = tmp_path / "big.bin"
    src.write_bytes(b"x" * 10)
    synced.clear()
    sha2 = store.put_file(src)
    assert str(Path(store.path_for(sha2)).parent) in synced
    synced.clear()
    store.put_bytes(b"first blob under new fan-out folders")  # already stored: nothing written, nothing synced
    assert synced == []

"""A blob at its content-hash path always holds that content: a short write is not left under the name, and
a damaged blob found there (another size) is written again instead of being named by new rows."""

from __future__ import annotations

import hashlib
import io
import uuid
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from assetgrade.errors import StoreError
from assetgrade.ingest import Ingestor, manifest_items
from assetgrade.store.blobs import BlobStore
from assetgrade.store.schema import Evidence
from assetgrade.workspace import Workspace


def _memory() -> BlobStore:
    return BlobStore(f"memory://audit-blobs-{uuid.uuid4().hex}")


def test_an_object_store_write_that_comes_up_short_leaves_nothing_under_the_name(
        monkeypatch: pytest.MonkeyPatch) -> None:
    store = _memory()
    data = b"hello world, a whole blob"
    real = store.fs.pipe_file
    monkeypatch.setattr(store.fs, "pipe_file", lambda path, value, **kw: real(path, value[:3], **kw))
    with pytest.raises(StoreError, match="written with 3 bytes"):
        store.put_bytes(data)
    sha = hashlib.sha256(data).hexdigest()
    assert not store.exists(sha)
    monkeypatch.setattr(store.fs, "pipe_file", real)
    assert store.put_bytes(data) == sha  # the retry writes the whole blob, not "already stored"
    assert store.get_bytes(sha, verify=True) == data


def test_an_object_store_upload_that_comes_up_short_leaves_nothing_under_the_name(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    store = _memory()
    src = tmp_path / "big.bin"
    src.write_bytes(bytes(range(256)) * 10)
    real = store.fs.put_file

    def short(lpath: str, rpath: str, **kw: Any) -> None:
        store.fs.pipe_file(rpath, Path(lpath).read_bytes()[:7])

    monkeypatch.setattr(store.fs, "put_file", short)
    with pytest.raises(StoreError, match="written with 7 bytes"):
        store.put_file(src)
    sha = hashlib.sha256(src.read_bytes()).hexdigest()
    assert not store.exists(sha)
    monkeypatch.setattr(store.fs, "put_file", real)
    assert store.put_file(src) == sha and store.get_bytes(sha, verify=True) == src.read_bytes()


@pytest.mark.parametrize("kind", ["file", "memory"])
@pytest.mark.parametrize("how", ["bytes", "file"])
def test_a_damaged_blob_of_another_size_is_written_again(tmp_path: Path, kind: str, how: str) -> None:
    store = BlobStore(tmp_path / "blobs") if kind == "file" else _memory()
    data = b"0123456789" * 50
    sha = store.put_bytes(data)
    store.fs.pipe_file(store.path_for(sha), data[:17])  # truncated in place (a damaged disk, an old partial copy)
    src = tmp_path / "src.bin"
    src.write_bytes(data)
    assert (store.put_bytes(data) if how == "bytes" else store.put_file(src)) == sha
    assert store.get_bytes(sha, verify=True) == data
    if kind == "file":
        assert not list((tmp_path / "blobs" / "tmp").glob("*"))


def test_ingest_does_not_name_a_truncated_blob_left_under_the_images_hash(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "ws")
    try:
        buf = io.BytesIO()
        Image.new("L", (32, 32), 90).save(buf, "PNG")
        data = buf.getvalue()
        (tmp_path / "a.png").write_bytes(data)
        sha = hashlib.sha256(data).hexdigest()
        final = Path(ws.blobs.path_for(sha))
        final.parent.mkdir(parents=True)
        final.write_bytes(data[: len(data) // 2])  # an orphan from a damaged earlier write
        m = tmp_path / "m.csv"
        m.write_text("asset_id,kind,path\npump-1,image,a.png\n")
        rep = Ingestor(ws, kind="manifest", source="m").run(manifest_items(m))
        assert rep.ok and rep.added["evidence"] == 1
        with ws.session(readonly=True) as s:
            blob = s.query(Evidence.blob_sha).scalar()
        assert blob == sha and ws.blobs.get_bytes(sha, verify=True) == data
    finally:
        ws.close()

"""Ingest reads each file's bytes once: the sha recorded, the bytes validated and the blob are the same bytes.

A file over the streaming threshold used to be read three times (hash, validate, store), so a file
replaced during ingest (a camera still writing, a sync client swapping it) was recorded under one
sha, validated as other bytes and stored as a third. Here every open of the source gets the next
version of the file, as if it were replaced between reads.
"""

from __future__ import annotations

import gc
import hashlib
import io
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import select

from assetgrade.ingest import Ingestor, preparation
from assetgrade.ingest.images import validate_image
from assetgrade.ingest.items import ItemSpec
from assetgrade.ingest.manifest import count_rows
from assetgrade.store.blobs import BlobStore
from assetgrade.store.schema import Evidence
from assetgrade.workspace import Workspace


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    w = Workspace.init(tmp_path / "ws")
    yield w
    w.close()


def _png(width: int, height: int, seed: int) -> bytes:
    """A PNG of noise (it does not compress, so its size is about width x height bytes)."""
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (height, width), dtype=np.uint8), "L").save(buf, "PNG")
    return buf.getvalue()


class _Replaced:
    """Counts the opens of ``src``; from the second one on, the file is first replaced by the next version."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, src: Path, versions: list[bytes]) -> None:
        self.src, self.versions, self.opens = src, versions, 0
        real_open = Path.open

        def fake_open(path: Path, mode: str = "r", *args: Any, **kw: Any) -> Any:
            if path == src:
                if self.opens:  # a sync client swapping the file: write beside it, rename over it
                    swap = src.with_name(src.name + ".swap")
                    swap.write_bytes(versions[min(self.opens, len(versions) - 1)])
                    swap.replace(src)
                self.opens += 1
            return real_open(path, mode, *args, **kw)

        monkeypatch.setattr(Path, "open", fake_open)
        monkeypatch.setattr(Path, "read_bytes", lambda path: _read(path))

        def _read(path: Path) -> bytes:
            with path.open("rb") as fh:
                return bytes(fh.read())


def _evidence(ws: Workspace) -> list[Evidence]:
    with ws.session(readonly=True) as s:
        return list(s.execute(select(Evidence)).scalars())


def _spec(path: Path, eid: str = "ev-photo") -> ItemSpec:
    return ItemSpec(where=path.name, asset_id="pump-1", kind="image", source_key=path.name, path=path,
                    evidence_id=eid)


def _tmp_files(ws: Workspace) -> list[Path]:
    tmp = Path(ws.blobs.root) / "tmp"
    return sorted(tmp.glob("*")) if tmp.exists() else []


@pytest.mark.parametrize("large", [False, True], ids=["small", "over-threshold"])
def test_a_file_replaced_between_reads_is_recorded_validated_and_stored_as_one_version(
        ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, large: bool) -> None:
    first, second, third = _png(64, 48, 1), _png(80, 40, 2), _png(96, 56, 3)
    if large:  # the threshold lowered: these PNGs are ~3-5 kB
        monkeypatch.setattr(preparation, "_STREAM_BYTES", 1024)
        assert min(map(len, (first, second, third))) > 1024
    src = tmp_path / "photo.png"
    src.write_bytes(first)
    replaced = _Replaced(monkeypatch, src, [first, second, third])
    rep = Ingestor(ws, kind="image", source="test").run([_spec(src)])
    assert rep.errors == [] and rep.added["evidence"] == 1
    (ev,) = _evidence(ws)
    stored = ws.blobs.get_bytes(ev.blob_sha or "")
    assert ev.sha256 == ev.blob_sha == hashlib.sha256(stored).hexdigest()
    assert stored == first  # the bytes read once, at the first open
    assert (ev.attributes["width"], ev.attributes["height"]) == (64, 48)  # validated: the stored bytes
    assert replaced.opens == 1
    assert _tmp_files(ws) == []


def test_an_over_threshold_file_leaves_no_temp_copy_when_rejected_or_already_stored(
        ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(preparation, "_STREAM_BYTES", 1024)
    good, bad = tmp_path / "good.png", tmp_path / "bad.png"
    good.write_bytes(_png(64, 48, 1))
    bad.write_bytes(b"not an image " * 200)
    rep = Ingestor(ws, kind="image", source="test").run([_spec(good), _spec(bad, "ev-bad")])
    assert rep.added["evidence"] == 1 and len(rep.errors) == 1 and "bad.png" in str(rep.errors[0])
    assert _tmp_files(ws) == []
    again = Ingestor(ws, kind="image", source="test").run([_spec(good)])  # already stored: skipped
    assert again.skipped_existing == 1 and again.added["evidence"] == 0
    good.write_bytes(_png(64, 48, 9))  # other content under the same id: a conflict
    clash = Ingestor(ws, kind="image", source="test").run([_spec(good)])
    assert len(clash.errors) == 1 and clash.errors[0].field == "evidence_id"
    assert _tmp_files(ws) == []
    (ev,) = _evidence(ws)
    assert ev.sha256 == ev.blob_sha


def test_a_run_stopped_by_the_store_leaves_no_temp_copy(
        ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from assetgrade.errors import StoreError

    monkeypatch.setattr(preparation, "_STREAM_BYTES", 1024)
    files = [tmp_path / "a.png", tmp_path / "b.png"]
    for i, f in enumerate(files):
        f.write_bytes(_png(64, 48, i))

    def full(spooled: Any) -> str:
        raise StoreError("cannot write to the blob store: No space left on device")

    monkeypatch.setattr(ws.blobs, "put_spool", full)
    with pytest.raises(StoreError, match="No space left"):
        Ingestor(ws, kind="image", source="test").run([_spec(f, f"ev-{f.stem}") for f in files])
    assert _tmp_files(ws) == [] and _evidence(ws) == []


@pytest.mark.parametrize("kind", ["file", "memory"])
def test_put_file_reads_its_source_once_and_stores_what_it_hashed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    # an object store used to hash the file, then upload it again from the source
    import tempfile
    import uuid

    (tmp_path / "systmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "systmp"))  # where an object store's copy goes
    store = BlobStore(tmp_path / "blobs") if kind == "file" else BlobStore(f"memory://single-{uuid.uuid4().hex}")
    src = tmp_path / "big.bin"
    src.write_bytes(b"a" * 5000)
    replaced = _Replaced(monkeypatch, src, [b"a" * 5000, b"b" * 4000])
    real_put = store.fs.put_file

    def put(lpath: str, rpath: str, **kw: Any) -> None:
        if Path(lpath) == src:  # an upload straight from the source: it was replaced after the hash
            src.write_bytes(b"b" * 4000)
        real_put(lpath, rpath, **kw)

    monkeypatch.setattr(store.fs, "put_file", put)
    sha = store.put_file(src)
    assert sha == hashlib.sha256(b"a" * 5000).hexdigest()
    assert store.get_bytes(sha, verify=True) == b"a" * 5000
    assert replaced.opens == 1
    assert list((tmp_path / "systmp").iterdir()) == []
    assert not (tmp_path / "blobs" / "tmp").exists() or list((tmp_path / "blobs" / "tmp").iterdir()) == []


def test_validate_image_reads_a_file_object_as_it_reads_bytes(tmp_path: Path) -> None:
    import json

    from PIL import PngImagePlugin

    from assetgrade.synth.base import MARK_KEY

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "x" * 3000)  # a chunk before the mark
    info.add_text(MARK_KEY, json.dumps({"origin": "synthetic", "generator": "scratch"}))
    buf = io.BytesIO()
    Image.new("L", (64, 48), 7).save(buf, "PNG", pnginfo=info)
    for data in (_png(64, 48, 1), buf.getvalue()):
        with io.BytesIO(data) as fh:
            assert validate_image(fh, where="x.png") == validate_image(data, where="x.png")
    assert validate_image(buf.getvalue(), where="x.png").synthetic_mark == {"origin": "synthetic",
                                                                             "generator": "scratch"}
    from assetgrade.errors import IngestError

    with io.BytesIO(b"") as fh, pytest.raises(IngestError, match="empty"):
        validate_image(fh, where="x.png")


def test_count_rows_closes_its_file(tmp_path: Path) -> None:
    manifest = tmp_path / "m.csv"
    manifest.write_text("asset_id,kind,path\na,image,1.png\n\nb,image,2.png\n")
    with warnings.catch_warnings(record=True) as caught:  # an unclosed file warns when it is collected
        warnings.simplefilter("always", ResourceWarning)
        assert count_rows(manifest) == 2
        gc.collect()
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []

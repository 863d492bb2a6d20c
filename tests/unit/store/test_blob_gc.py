"""Blob garbage collection: orphans go, anything a row names (evidence, masks, overlays) or a writer may need stays."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from assetgrade.errors import ValidationError
from assetgrade.store import add_asset, add_evidence, add_label, add_prediction, verify_chain
from assetgrade.store.blob_gc import collect_blob_garbage, record_blob_gc, referenced_blobs
from assetgrade.store.blobs import BlobStore
from assetgrade.workspace import Workspace

DAY = 24 * 3600.0


def _age(blobs: BlobStore, sha: str, seconds: float) -> None:
    """Make blob ``sha`` look ``seconds`` old."""
    stamp = time.time() - seconds
    os.utime(blobs.path_for(sha), (stamp, stamp))


def _populate(ws: Workspace) -> dict[str, str]:
    b = ws.blobs
    shas = {name: b.put_bytes(name.encode() * 10) for name in
            ("image", "mask", "overlay", "old_orphan", "young_orphan")}
    with ws.session() as s:
        add_asset(s, "pump-1")
        add_evidence(s, asset_id="pump-1", kind="image", sha256=shas["image"], blob_sha=shas["image"],
                     evidence_id="img-1")
        add_label(s, asset_id="pump-1", kind="defect", value="corrosion", mask_sha=shas["mask"])
        add_prediction(s, "pump-1", model_version="m1", grade="B", distribution={"A": 0.4, "B": 0.6},
                       conformal_set=["A", "B"], decision="review", payload={"overlays": {"img-1": shas["overlay"]}})
    for name in ("image", "mask", "overlay", "old_orphan"):
        _age(b, shas[name], 3 * DAY)
    return shas


def test_references_cover_evidence_masks_and_overlays(ws: Workspace) -> None:
    shas = _populate(ws)
    with ws.session(readonly=True) as s:
        refs = referenced_blobs(s)
    assert refs == {shas["image"], shas["mask"], shas["overlay"]}


def test_only_old_orphans_are_deleted_and_the_event_is_audited(ws: Workspace) -> None:
    shas = _populate(ws)
    with ws.session(readonly=True) as s:
        refs = referenced_blobs(s)
    dry = collect_blob_garbage(ws.blobs, refs, dry_run=True)
    assert (dry.stored, dry.orphans, dry.kept_young, dry.deleted) == (5, 2, 1, 0)
    assert ws.blobs.exists(shas["old_orphan"])
    rep = collect_blob_garbage(ws.blobs, refs)
    assert (rep.deleted, rep.kept_young, rep.missing) == (1, 1, 0)
    assert rep.freed_bytes == len(b"old_orphan" * 10)
    assert not ws.blobs.exists(shas["old_orphan"])
    assert all(ws.blobs.exists(shas[n]) for n in ("image", "mask", "overlay", "young_orphan"))
    with ws.session() as s:
        record_blob_gc(s, rep, actor="tester")
    with ws.session(readonly=True) as s:
        assert verify_chain(s).ok
    again = collect_blob_garbage(ws.blobs, refs)
    assert again.deleted == 0 and again.stored == 4


def test_a_reused_old_orphan_becomes_young_again(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    sha = blobs.put_bytes(b"left behind by a crashed ingest")
    _age(blobs, sha, 3 * DAY)
    assert blobs.put_bytes(b"left behind by a crashed ingest") == sha  # a new ingest re-uses it
    rep = collect_blob_garbage(blobs, set(), force=True)
    assert rep.deleted == 0 and rep.kept_young == 1 and blobs.exists(sha)
    src = tmp_path / "f.bin"
    src.write_bytes(b"streamed file")
    sha2 = blobs.put_file(src)
    _age(blobs, sha2, 3 * DAY)
    blobs.put_file(src)
    assert collect_blob_garbage(blobs, set(), force=True).deleted == 0


def test_missing_blobs_and_stale_temp_files_are_reported(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    ghost = "ab" * 32
    part = Path(blobs.root) / "tmp" / "dead.part"
    part.parent.mkdir(parents=True, exist_ok=True)
    part.write_bytes(b"half a blob")
    stamp = time.time() - 3 * DAY
    os.utime(part, (stamp, stamp))
    rep = collect_blob_garbage(blobs, {ghost})
    assert rep.missing == 1 and rep.missing_examples == [ghost]
    assert rep.stale_tmp == 1 and not part.exists()
    with pytest.raises(ValidationError, match="grace"):
        collect_blob_garbage(blobs, set(), grace_s=-1)


def test_on_an_object_store_a_reused_old_orphan_is_written_again(tmp_path: Path) -> None:
    import uuid
    from datetime import UTC, datetime, timedelta

    from assetgrade.store.blobs import REFRESH_AFTER_S

    blobs = BlobStore(f"memory://gc-{uuid.uuid4().hex}")
    assert not blobs.is_local

    def age(sha: str, seconds: float) -> None:  # the memory filesystem keeps a creation time per object
        blobs.fs.store[blobs.path_for(sha)].created = datetime.now(tz=UTC) - timedelta(seconds=seconds)

    data = b"left behind by a crashed ingest"
    sha = blobs.put_bytes(data)
    age(sha, 3 * DAY)
    assert blobs.put_bytes(data) == sha  # a new ingest re-uses it: written again, young again
    assert collect_blob_garbage(blobs, set(), force=True).deleted == 0 and blobs.exists(sha)
    src = tmp_path / "f.bin"
    src.write_bytes(b"streamed file")
    sha2 = blobs.put_file(src)
    age(sha2, 3 * DAY)
    blobs.put_file(src)
    assert collect_blob_garbage(blobs, set(), force=True).deleted == 0 and blobs.exists(sha2)
    # a recently written blob is not uploaded again (no write when the grace period covers it)
    age(sha2, REFRESH_AFTER_S / 2)
    before = blobs.modified(blobs.path_for(sha2))
    blobs.put_file(src)
    assert blobs.modified(blobs.path_for(sha2)) == before
    # left alone, an old orphan goes; a grace period the refresh cannot cover is refused
    age(sha, 3 * DAY)
    with pytest.raises(ValidationError, match="object store"):
        collect_blob_garbage(blobs, set(), grace_s=REFRESH_AFTER_S / 2)
    rep = collect_blob_garbage(blobs, {sha2})
    assert rep.deleted == 1 and not blobs.exists(sha) and blobs.exists(sha2)


def test_nothing_referenced_with_blobs_stored_is_refused_unless_forced(tmp_path: Path) -> None:
    from assetgrade.errors import ConflictError

    blobs = BlobStore(str(tmp_path / "blobs"))
    sha = blobs.put_bytes(b"an image a lost database named")
    _age(blobs, sha, 3 * DAY)
    with pytest.raises(ConflictError, match="wrong or an empty database"):
        collect_blob_garbage(blobs, set())
    assert blobs.exists(sha)
    assert collect_blob_garbage(blobs, set(), dry_run=True).orphans == 1  # a dry run may look
    assert collect_blob_garbage(BlobStore(str(tmp_path / "empty")), set()).stored == 0  # nothing to protect
    young = BlobStore(str(tmp_path / "young"))
    young.put_bytes(b"a first ingest crashed a minute ago")
    assert collect_blob_garbage(young, set()).kept_young == 1  # nothing old enough to delete: no refusal
    assert collect_blob_garbage(blobs, set(), force=True).deleted == 1 and not blobs.exists(sha)


def test_a_blob_that_cannot_be_deleted_is_counted_and_the_rest_goes_on(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blobs = BlobStore(str(tmp_path / "blobs"))
    stuck, free = blobs.put_bytes(b"stuck orphan"), blobs.put_bytes(b"free orphan")
    for sha in (stuck, free):
        _age(blobs, sha, 3 * DAY)
    real_rm = blobs.fs.rm_file

    def rm_file(path: str) -> None:
        if stuck in str(path):
            raise PermissionError(1, "Operation not permitted", str(path))
        real_rm(path)

    monkeypatch.setattr(blobs.fs, "rm_file", rm_file)
    rep = collect_blob_garbage(blobs, set(), force=True)
    assert (rep.deleted, rep.failed) == (1, 1) and blobs.exists(stuck) and not blobs.exists(free)
    assert stuck in rep.failed_examples[0] and "Operation not permitted" in rep.failed_examples[0]


def test_the_collection_lists_the_store_a_folder_at_a_time(tmp_path: Path) -> None:
    # the whole store used to be listed (with each blob's details) and kept in a list before anything was
    # checked: a store of millions of blobs needed gigabytes just to be collected
    import hashlib
    import tracemalloc

    store = BlobStore(tmp_path / "blobs")
    shas = []
    for i in range(5000):  # written where the store keeps them, without put_bytes's fsyncs (three a blob: 90 % of
        data = f"blob {i}".encode()  # this test's time); the store's listing is what is under test, not its writes
        sha = hashlib.sha256(data).hexdigest()
        path = Path(store.path_for(sha))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        shas.append(sha)
    assert store.put_bytes(b"blob 0") == shas[0] and store.exists(shas[-1])  # the store's own address for each
    keep = set(shas[::2])
    collect_blob_garbage(store, keep, grace_s=0.0, dry_run=True)  # imports and caches warmed outside the count
    tracemalloc.start()
    try:
        rep = collect_blob_garbage(store, keep, grace_s=0.0, dry_run=True)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (rep.stored, rep.referenced, rep.orphans, rep.missing) == (5000, 2500, 2500, 0)
    assert peak < 2e6, f"collecting 5,000 blobs peaked at {peak / 1e6:.1f} MB (whole listing: ~5 MB)"

"""Batch grade/extract with a lost or corrupt image blob: a bad asset, no degraded row stored, shard unmarked."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from assetgrade.batch.jobs import SHARD_EVENT, read_features, run_batch
from assetgrade.batch.local_executor import LocalExecutor
from assetgrade.store.repository import get_evidence
from assetgrade.store.schema import AuditEvent, Prediction
from assetgrade.workspace import Workspace

from .conftest import N_ASSETS, seed

FAST = {"vision": {"image_size": 64, "coreset_size": 64, "augment": []}, "text": {"embedder": "none"}}


def _photo(i: int) -> bytes:
    """A 48x48 photo whose brightness follows the grade (``seed`` grades asset i as "ABCD"[i % 4])."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    level = 40 + 60 * (i % 4)
    Image.new("RGB", (48, 48), (level, (level + 7 * i) % 256, 255 - level)).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def vision_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seeded workspace with a saved text + vision Grader (tiny images at 64 px)."""
    from assetgrade.grader import Grader

    from . import conftest

    root = tmp_path_factory.mktemp("batch-vision") / "ws"
    ws = Workspace.init(root)
    small = conftest.png
    conftest.png = _photo  # seed() with photos the vision extractor accepts (at least 16 px a side)
    try:
        seed(ws)
    finally:
        conftest.png = small
    grader = Grader(extractors=("text", "vision"), folds=2, seed=0, extractor_settings=FAST).fit(ws)
    assert "vision" in grader.extractors_, grader.notes_
    grader.save(ws.models_dir / "grader")
    ws.close()
    return root


@pytest.fixture
def vws(vision_template: Path, tmp_path: Path) -> Iterator[Workspace]:
    from assetgrade.modalities.vision.evidence_cache import clear_memory_cache

    clear_memory_cache()  # forked workers start as cold as spawned ones: no image seen in the fit is remembered
    shutil.copytree(vision_template, tmp_path / "ws")
    ws = Workspace.open(tmp_path / "ws")
    yield ws
    ws.close()


def _blob(ws: Workspace, evidence_id: str) -> Path:
    with ws.session(readonly=True) as s:
        sha = get_evidence(s, evidence_id).blob_sha
    assert sha is not None
    return Path(ws.blobs.path_for(sha))


def _marks(ws: Workspace) -> int:
    with ws.session(readonly=True) as s:
        q = select(func.count()).select_from(AuditEvent).where(AuditEvent.action == SHARD_EVENT)
        return int(s.execute(q).scalar_one())


def test_grade_with_a_lost_image_reports_the_asset_stores_no_degraded_grade_and_retries(
        vws: Workspace, tmp_path: Path) -> None:
    lost = _blob(vws, "asset-002/img")
    kept = tmp_path / "lost-blob"
    shutil.move(lost, kept)
    with LocalExecutor(workers=1) as ex:
        first = run_batch(vws, "grade", ex, shard_size=12)
        assert [a for a, _ in first.errors] == ["asset-002"]
        assert "asset-002/img" in first.errors[0][1] and "not graded" in first.errors[0][1]
        assert first.written == N_ASSETS - 1 and _marks(vws) == 2  # the other shards are whole and marked
        with vws.session(readonly=True) as s:
            assert s.scalar(select(func.count()).select_from(Prediction)
                            .where(Prediction.asset_id == "asset-002")) == 0
        shutil.move(kept, lost)  # the blob is restored: the unmarked shard runs again and grades it whole
        again = run_batch(vws, "grade", ex, shard_size=12)
    assert (again.shards_skipped, again.shards_done, again.errors) == (2, 1, [])
    assert (again.written, again.skipped_existing) == (1, 10) and _marks(vws) == 3  # its shard holds 11 assets
    with vws.session(readonly=True) as s:
        pred = s.scalars(select(Prediction).where(Prediction.asset_id == "asset-002")).one()
    flags = [f for e in pred.payload["evidence"] for f in e.get("quality_flags", [])]
    assert not [f for f in flags if f.startswith("unreadable:")]


def test_extract_with_a_corrupt_image_leaves_its_row_out_and_the_shard_unmarked(vws: Workspace) -> None:
    _blob(vws, "asset-013/img").write_bytes(b"not a picture any more")
    with LocalExecutor(workers=1) as ex:
        rep = run_batch(vws, "extract", ex, shard_size=12)
    assert [a for a, _ in rep.errors] == ["asset-013"] and "asset-013/img" in rep.errors[0][1]
    assert _marks(vws) == 2
    ids, _, _ = read_features(vws, rep.model_version or "")["vision"]
    assert "asset-013" not in ids and len(ids) == N_ASSETS - 1


def test_grade_with_an_image_blob_replaced_by_another_valid_picture_reports_the_asset(vws: Workspace) -> None:
    # the blob still decodes, but it is not the evidence its sha256 names (a bit flip in pixel data, a file
    # overwritten by another photo): batch workers read blobs without checking the hash and graded it silently
    _blob(vws, "asset-006/img").write_bytes(_photo(7))
    with LocalExecutor(workers=1) as ex:
        rep = run_batch(vws, "grade", ex, shard_size=12)
    assert [a for a, _ in rep.errors] == ["asset-006"], rep.errors
    assert "asset-006/img" in rep.errors[0][1]
    assert rep.written == N_ASSETS - 1 and _marks(vws) == 2
    with vws.session(readonly=True) as s:
        assert s.scalar(select(func.count()).select_from(Prediction).where(Prediction.asset_id == "asset-006")) == 0

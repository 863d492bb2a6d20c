"""A row whose evidence id another writer stored with other content between its preparation and its commit (a
race) is refused with the conflict message preparation gives (the asset, the stored item, when and by which batch
it was ingested, and both ways out), not the older 'evidence id ... is stored with other content'."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import select

import assetgrade.ingest.writer as writer
from assetgrade.ingest import Ingestor, manifest_items
from assetgrade.store.schema import Evidence
from assetgrade.workspace import Workspace


def _jpeg(color: int) -> bytes:
    buf = io.BytesIO()
    Image.new("L", (32, 24), color).save(buf, "JPEG")
    return buf.getvalue()


def _manifest(folder: Path, asset: str, color: int) -> Path:
    folder.mkdir()
    (folder / "a.jpg").write_bytes(_jpeg(color))
    m = folder / "m.csv"
    m.write_text(f"asset_id,kind,path,evidence_id\n{asset},image,a.jpg,E1\n", encoding="utf-8")
    return m


def _race(monkeypatch: pytest.MonkeyPatch, ws: Workspace, other: Path) -> dict[str, Any]:
    """Make another ingest store ``other`` right before the first group of the next run is written."""
    real, seen = writer._write, {}

    def write_after_another_writer(*args: Any, **kw: Any) -> None:
        if not seen:
            seen["report"] = None  # the other writer's own write goes through unchanged
            seen["report"] = Ingestor(ws, kind="manifest", source="other").run(manifest_items(other))
        real(*args, **kw)

    monkeypatch.setattr(writer, "_write", write_after_another_writer)
    return seen


@pytest.mark.parametrize("store", ["sqlite", "postgresql"])
def test_a_raced_row_gets_the_conflict_message(store: str, request: pytest.FixtureRequest, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    ws: Workspace = request.getfixturevalue("ws" if store == "sqlite" else "pg_ws")
    mine, theirs = _manifest(tmp_path / "mine", "p", 10), _manifest(tmp_path / "theirs", "p", 200)
    seen = _race(monkeypatch, ws, theirs)
    rep = Ingestor(ws, kind="manifest", source=str(mine)).run(manifest_items(mine))
    assert seen["report"].ok
    [err] = rep.errors
    assert (err.file, err.row, err.field, err.error) == (str(mine), 2, "evidence_id", "ConflictError")
    assert err.reason.startswith(f"asset 'p' already has an image under evidence id 'E1', the evidence_id {mine}:row"
                                 " 2 gives, with other content: E1, ingested ")
    assert err.reason.endswith(f" UTC by ingest batch {seen['report'].batch_id}. To replace it with this content,"
                               " run the same command with --supersede (the stored item is withdrawn, and kept in"
                               " the history); to keep both, give this row another evidence_id, or none (one is"
                               " then derived from its path or text)")
    assert rep.added["evidence"] == 0 and rep.skipped_existing == 0


def test_a_row_raced_by_another_asset_says_evidence_does_not_move(ws: Workspace, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    mine, theirs = _manifest(tmp_path / "mine", "p", 10), _manifest(tmp_path / "theirs", "q", 10)
    _race(monkeypatch, ws, theirs)  # the same content, for another asset: was counted as already stored
    rep = Ingestor(ws, kind="manifest", source=str(mine)).run(manifest_items(mine))
    [err] = rep.errors
    assert err.reason.startswith("evidence id 'E1' is stored for asset 'q', this row is for asset 'p'; evidence does"
                                 " not move between assets")
    assert rep.skipped_existing == 0 and rep.added["assets"] == 0
    with ws.session(readonly=True) as s:
        assert s.execute(select(Evidence.id, Evidence.asset_id)).tuples().all() == [("E1", "q")]

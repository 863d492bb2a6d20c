"""The asset page reads only the evidence rows it draws (LIMIT per kind, a count for the "N more" notice), on
SQLite and, when a server answers, PostgreSQL: the rows its findings name first, then the newest."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import event, func, select
from tests.pg import pg_url, pg_workspace

from assetgrade.rest.demo import seed_demo
from assetgrade.store.repository import ProvenanceInfo, add_evidence
from assetgrade.store.results import latest_prediction
from assetgrade.store.schema import Evidence
from assetgrade.web.page import SHOWN, load_asset_page
from assetgrade.workspace import Workspace


@pytest.fixture(params=["sqlite", "postgresql"])
def demo_ws(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Workspace]:
    """Two demo assets on SQLite and (when ASSETGRADE_TEST_PG_URL answers) on PostgreSQL."""
    if request.param == "postgresql":
        url = pg_url(default=None)
        if url is None:
            pytest.skip("no PostgreSQL server answers: set ASSETGRADE_TEST_PG_URL")
        spaces = pg_workspace(tmp_path, url)
        ws = next(spaces)
    else:
        spaces, ws = None, Workspace.init(tmp_path / "ws")
    seed_demo(ws, n_assets=2, seed=3)
    yield ws
    if spaces is None:
        ws.close()
    else:
        next(spaces, None)


def _png(k: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (k, 2 * k % 256, 3 * k % 256)).save(buf, "PNG")
    return buf.getvalue()


def test_the_page_reads_only_what_it_draws_named_first_then_newest(demo_ws: Workspace) -> None:
    ws = demo_ws
    target = "demo-001"
    extra_images, extra_logs = SHOWN["image"] + 5, SHOWN["log"] + 3
    with ws.session() as s:
        named = {f["evidence_id"] for e in latest_prediction(s, target).payload["evidence"]  # type: ignore[union-attr]
                 for f in e["findings"] if f.get("modality") == "vision" and f.get("evidence_id")}
        for k in range(extra_images):  # newer than the demo's own image, the newest last
            sha = ws.blobs.put_bytes(_png(k))
            ev = add_evidence(s, asset_id=target, kind="image", sha256=sha, blob_sha=sha, media_type="image/png",
                              evidence_id=f"{target}/extra/{k:03d}", provenance=ProvenanceInfo(source="camera"))
            ev.created_at = datetime.now(UTC) + timedelta(minutes=k)
        for k in range(extra_logs):
            add_evidence(s, asset_id=target, kind="log", sha256=f"{k:064x}", text=f"checked, no remarks ({k})",
                         evidence_id=f"{target}/log-extra/{k:03d}", provenance=ProvenanceInfo(source="cmms"))
    with ws.session(readonly=True) as s:
        total = s.scalar(select(func.count()).select_from(Evidence).where(Evidence.asset_id == target))
        in_id_order = list(s.scalars(select(Evidence.id).where(Evidence.asset_id == target).order_by(Evidence.id)))
    assert named and not any("/extra/" in n for n in named)
    loaded: list[str] = []

    def on_load(target_row: Evidence, _context: Any) -> None:
        loaded.append(target_row.id)

    event.listen(Evidence, "load", on_load)
    try:
        page = load_asset_page(ws, target)
        read_limited = list(loaded)
        loaded.clear()
        every = load_asset_page(ws, target, show_all=True)
    finally:
        event.remove(Evidence, "load", on_load)
    shown = [im["ev"].id for im in page.images]
    assert len(shown) == SHOWN["image"] and len(page.logs) == SHOWN["log"]
    assert named <= set(shown)  # the image the grade's findings name, although older than every extra one
    newest = [f"{target}/extra/{k:03d}" for k in range(extra_images - 1, -1, -1)]
    assert set(shown) - named == set(newest[:SHOWN["image"] - len(named)])
    assert shown == [i for i in in_id_order if i in set(shown)]  # drawn in id order, as before
    assert page.hidden == {"image": 1 + extra_images - SHOWN["image"], "log": 2 + extra_logs - SHOWN["log"]}
    drawn = len(page.images) + len(page.logs) + len(page.series) + len(page.other_evidence)
    assert sorted(read_limited) == sorted(set(read_limited)) and len(read_limited) == drawn < total
    assert len(loaded) == total and every.hidden == {} and len(every.images) == 1 + extra_images


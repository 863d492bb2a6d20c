"""Real data: a NEU-DET slice with its VOC boxes and the excavator work orders ingest cleanly and idempotently."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assetgrade.ingest import Ingestor, WorkOrderColumns, voc_items, work_order_items
from assetgrade.store import load_records, stats, verify_chain
from assetgrade.workspace import Workspace

pytestmark = pytest.mark.realdata


def _neu_slice(src: Path, dst: Path, per_class: int) -> Path:
    """Copy ``per_class`` images (and their XML) of each NEU class."""
    for cls_dir in sorted((src / "images").iterdir()):
        (dst / "images" / cls_dir.name).mkdir(parents=True)
        for img in sorted(cls_dir.glob("*.jpg"))[:per_class]:
            shutil.copy(img, dst / "images" / cls_dir.name / img.name)
            (dst / "annotations").mkdir(exist_ok=True)
            shutil.copy(src / "annotations" / f"{img.stem}.xml", dst / "annotations" / f"{img.stem}.xml")
    return dst


def test_neu_det_voc_slice(shared_data: Path, tmp_path: Path) -> None:
    root = _neu_slice(shared_data / "neu-det", tmp_path / "neu", per_class=10)
    ws = Workspace.init(tmp_path / "ws")
    rep = Ingestor(ws, kind="voc", source=str(root)).run(voc_items(root, asset_type="steel_surface"))
    assert rep.ok, rep.errors[:3]
    assert rep.added["evidence"] == 60 and rep.added["labels"] >= 60  # at least one box per image
    again = Ingestor(ws, kind="voc", source=str(root)).run(voc_items(root, asset_type="steel_surface"))
    assert again.added == {"assets": 0, "evidence": 0, "labels": 0} and again.skipped_existing == 60
    with ws.session(readonly=True) as s:
        st = stats(s)
        assert verify_chain(s).ok
    assert len(st["defect"]) == 6  # the six NEU classes map to six ontology defects
    recs = load_records(ws)
    assert all(r.images and r.images[0].boxes for r in recs)
    assert recs[0].images[0].load_bytes()[:2] == b"\xff\xd8"  # JPEG bytes come back from the blob store


def test_excavator_work_orders(shared_data: Path, tmp_path: Path) -> None:
    src = shared_data / "excavator-work-orders" / "excavators.csv"
    lines = src.read_text(encoding="utf-8").splitlines()[:801]
    head = tmp_path / "wo.csv"
    head.write_text("\n".join(lines) + "\n", encoding="utf-8")
    ws = Workspace.init(tmp_path / "ws")
    rep = Ingestor(ws, kind="work-orders", source=str(head)).run(
        work_order_items(head, WorkOrderColumns(), asset_prefix="excavator-", asset_type="excavator"))
    assert rep.added["evidence"] + len(rep.errors) == 800
    assert len(rep.errors) <= 5  # a few real rows have unquoted commas; each is named
    recs = load_records(ws)
    logs = [e for r in recs for e in r.logs]
    assert sum(e.cost is not None for e in logs) > 700 and all(e.date is not None for e in logs)

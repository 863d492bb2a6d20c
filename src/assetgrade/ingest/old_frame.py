"""Labels an earlier version of an importer stored in another frame (VOC boxes before bfa2ff9), replaced on re-ingest.

A label's id includes its box (:func:`~assetgrade.store.repository.label_id_for`), so when an importer
changes the frame it stores boxes in, the same annotation read again gets another id and would be added
beside the old one. An importer that knows the box it used to store gives it as ``LabelSpec.was_box``;
a stored label is the same annotation in the old frame when it has the id that box gives (same asset,
image, annotator, class) and was written by an ingest of the same kind (its id is in an ``ingest.rows``
audit event of such a batch). The ingest then deletes that row and adds the label in the new frame, in
one transaction whose audit event lists every replaced label with its old box (``labels_replaced``).
A label in the old frame that is also a label this input gives (another object's box in the new frame)
is never replaced.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select

from assetgrade.ingest.items import LabelSpec
from assetgrade.ingest.report import IngestNotice
from assetgrade.store.repository import label_id_for
from assetgrade.store.schema import AuditEvent, IngestBatch, Label

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from assetgrade.ingest.preparation import _Prepared

__all__: list[str] = []  # used by assetgrade.ingest.commit

_Row = tuple["_Prepared", LabelSpec, str]


def old_frame_ids(label_rows: Sequence[_Row]) -> dict[str, _Row]:
    """Old-frame label id → (item, label, new id) for the labels that give a ``was_box`` other than their box.

    An old-frame id that is also the new id of a label of this input (another object whose box in the
    new frame equals this one's old box) is left out: that stored label is the other object's.
    """
    new_ids = {lid for _, _, lid in label_rows}
    out: dict[str, _Row] = {}
    for p, lb, lid in label_rows:
        if lb.was_box is None:
            continue
        ev = p.evidence_id if lb.kind == "defect" else None
        old = label_id_for(p.spec.asset_id, ev, lb.annotator, lb.kind, lb.value, [float(v) for v in lb.was_box],
                           None if lb.text_span is None else list(lb.text_span),
                           None if lb.time_window is None else [str(v) for v in lb.time_window])
        if old != lid and old not in new_ids:
            out.setdefault(old, (p, lb, lid))
    return out


def _written_by(s: Session, ids: set[str], kind: str) -> dict[str, str]:
    """Label id → the batch of kind ``kind`` whose ``ingest.rows`` event added it, for those of ``ids`` one did."""
    batches = select(IngestBatch.id).where(IngestBatch.kind == kind)
    events = select(AuditEvent.entity_id, AuditEvent.payload).where(
        AuditEvent.action == "ingest.rows", AuditEvent.entity_id.in_(batches)).order_by(AuditEvent.seq)
    out: dict[str, str] = {}
    for batch_id, payload in s.execute(events).tuples():
        for lid in ids.intersection((payload or {}).get("labels") or ()):
            out.setdefault(lid, str(batch_id))
    return out


def replace_old_frame(s: Session, candidates: dict[str, _Row], *, kind: str,
                      skip: set[str]) -> tuple[list[dict[str, Any]], list[IngestNotice]]:
    """Delete the stored labels of ``candidates`` that an ingest of ``kind`` wrote (items in ``skip`` left alone).

    Returns what the audit event records for each (its id, class, old box and batch, the new id and box,
    the image and the input file now read) and one notice per item.
    """
    wanted = [old for old, (p, _, _) in candidates.items() if p.evidence_id not in skip]
    if not wanted:
        return [], []
    stored = {lb.id: lb for lb in s.execute(select(Label).where(Label.id.in_(wanted), Label.source == "import"))
              .scalars()}
    batches = _written_by(s, set(stored), kind) if stored else {}
    if not batches:
        return [], []
    replaced: list[dict[str, Any]] = []
    per_item: dict[str, int] = {}
    for old in wanted:
        if old not in batches:
            continue
        p, lb, lid = candidates[old]
        row = stored[old]
        replaced.append({"id": old, "value": row.value, "box": row.box, "severity": row.severity,
                         "created_at": row.created_at.isoformat(), "ingest_batch_id": batches[old], "by": lid,
                         "box_now": None if lb.box is None else [float(v) for v in lb.box],
                         "evidence_id": p.evidence_id, "file": p.spec.file or p.spec.where})
        per_item[p.evidence_id] = per_item.get(p.evidence_id, 0) + 1
    s.execute(delete(Label).where(Label.id.in_([r["id"] for r in replaced])))
    files = {r["evidence_id"]: r["file"] for r in replaced}
    notices = [IngestNotice(files[ev], None, f"{ev}: replaced {n} box label(s) that an earlier {kind} ingest stored"
                                             " in the old frame (VOC's raw 1-based numbers, one pixel right and"
                                             " down) by the same annotations in the 0-based frame")
               for ev, n in per_item.items()]
    return replaced, notices

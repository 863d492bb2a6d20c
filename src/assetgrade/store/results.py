"""Predictions and human reviews; a review checks the asset's version (optimistic concurrency)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from assetgrade.errors import ConflictError, ValidationError
from assetgrade.store.audit import append_event, lock_chain
from assetgrade.store.precedence import produced_version, review_label_id
from assetgrade.store.repository import check_storable, get_asset, label_event_payload, label_values
from assetgrade.store.requests import close_label_request
from assetgrade.store.schema import (
    Asset,
    AuditEvent,
    Evidence,
    Label,
    Prediction,
    PredictionHead,
    Review,
    new_id,
    utcnow,
)

__all__ = ["add_prediction", "add_review", "advance_head", "advance_heads", "get_prediction", "latest_graded_inputs",
           "latest_prediction", "latest_prediction_id", "list_predictions", "list_reviews"]


def _naive_utc(ts: datetime) -> datetime:
    return ts.astimezone(UTC).replace(tzinfo=None) if ts.tzinfo is not None else ts


def advance_head(session: Session, pred: Prediction) -> bool:
    """Make ``pred`` its asset's head prediction if it is the newest (by time, then id); True when it is.

    Call it in the transaction that adds the prediction. The head records whether the
    prediction waits in the review queue: its decision is ``review`` and no review of the asset
    that gives a grade was stored after it or is based on it; a note or defects alone do not count.
    "After" is the store's write order, not the clocks of the servers that wrote them: this
    transaction holds the audit chain's lock, which a review takes before it commits, so every
    review it sees was stored before the prediction (a later one takes the asset off the queue itself).
    """
    return pred.id in advance_heads(session, [pred])


def advance_heads(session: Session, preds: Sequence[Prediction]) -> set[str]:
    """:func:`advance_head` for many predictions with two queries in all; returns the ids that became heads."""
    if not preds:
        return set()
    session.flush()  # the predictions get their times; pending heads of this transaction become visible
    newest: dict[str, Prediction] = {}
    for p in preds:
        q = newest.get(p.asset_id)
        if q is None or (_naive_utc(p.created_at), p.id) > (_naive_utc(q.created_at), q.id):
            newest[p.asset_id] = p
    ids = list(newest)
    heads = {h.asset_id: h for h in session.scalars(select(PredictionHead).where(PredictionHead.asset_id.in_(ids)))}
    to_check = [a for a, p in newest.items() if p.decision == "review"]
    based_on: set[str] = set()
    if to_check:
        based_on = {str(x) for x in session.scalars(select(Review.based_on_prediction_id).where(
            Review.based_on_prediction_id.in_([newest[a].id for a in to_check]), Review.grade.is_not(None)))}
    advanced: set[str] = set()
    for asset_id, pred in newest.items():
        head = heads.get(asset_id)
        if head is not None and head.prediction_id != pred.id and (
                (_naive_utc(head.predicted_at), head.prediction_id) > (_naive_utc(pred.created_at), pred.id)):
            continue
        reviewed = pred.id in based_on  # a review seen here was stored before the prediction (docstring)
        values = {
            "prediction_id": pred.id, "predicted_at": pred.created_at,
            "queued": pred.decision == "review" and not reviewed,
            "cost_key": -1.0 if pred.expected_cost is None else float(pred.expected_cost),
            "set_size": len(pred.conformal_set or []),
            "n_contradictions": len((pred.payload or {}).get("contradictions") or []),
        }
        if head is None:
            session.add(PredictionHead(asset_id=asset_id, **values))
        else:
            for k, v in values.items():
                setattr(head, k, v)
        advanced.add(pred.id)
    return advanced


def add_prediction(
    session: Session, asset_id: str, *, model_version: str, grade: str, distribution: dict[str, float],
    conformal_set: Sequence[str], decision: str, expected_cost: float | None = None,
    payload: dict[str, Any] | None = None, actor: str = "system",
) -> Prediction:
    """Store one grading result."""
    get_asset(session, asset_id)
    if grade not in distribution:
        raise ValidationError(f"grade {grade!r} is not in the distribution {sorted(distribution)}",
                              where="prediction.grade")
    pred = Prediction(id=new_id("pred"), asset_id=asset_id, model_version=model_version, grade=grade,
                      distribution={k: float(v) for k, v in distribution.items()},
                      conformal_set=list(conformal_set), decision=decision,
                      expected_cost=None if expected_cost is None else float(expected_cost),
                      payload=payload or {})
    session.add(pred)
    append_event(session, actor=actor, action="prediction.add", entity="prediction", entity_id=pred.id,
                 payload={"asset_id": asset_id, "model_version": model_version, "grade": grade,
                          "decision": decision})
    advance_head(session, pred)
    return pred


def get_prediction(session: Session, prediction_id: str) -> Prediction | None:
    """The prediction ``prediction_id`` or None."""
    return session.get(Prediction, prediction_id)


def list_predictions(session: Session, asset_id: str) -> list[Prediction]:
    """An asset's predictions, newest first."""
    q = select(Prediction).where(Prediction.asset_id == asset_id).order_by(Prediction.created_at.desc(),
                                                                              Prediction.id.desc())
    return list(session.execute(q).scalars())


def latest_prediction_id(session: Session, asset_id: str) -> str | None:
    """The id of an asset's newest prediction, or None (one primary-key lookup, no prediction row loaded)."""
    return session.execute(select(PredictionHead.prediction_id)
                           .where(PredictionHead.asset_id == asset_id)).scalar_one_or_none()


def latest_prediction(session: Session, asset_id: str) -> Prediction | None:
    """An asset's newest prediction, or None (one indexed lookup through its head)."""
    return session.execute(
        select(Prediction).join(PredictionHead, PredictionHead.prediction_id == Prediction.id)
        .where(PredictionHead.asset_id == asset_id)
    ).scalar_one_or_none()


def latest_graded_inputs(session: Session, asset_ids: Sequence[str]) -> dict[str, tuple[str, str | None]]:
    """Asset → (model version, inputs hash) of its newest prediction, for the assets that have one.

    The inputs hash is the ``versions.inputs`` a :class:`~assetgrade.result.GradeResult` recorded
    (None for a prediction stored without one); read in SQL, no payload is loaded.
    """
    inputs = Prediction.payload["versions"]["inputs"].as_string()
    out: dict[str, tuple[str, str | None]] = {}
    ids = list(dict.fromkeys(asset_ids))
    for i in range(0, len(ids), 500):
        q = (select(PredictionHead.asset_id, Prediction.model_version, inputs)
             .join(Prediction, PredictionHead.prediction_id == Prediction.id)
             .where(PredictionHead.asset_id.in_(ids[i:i + 500])))
        out.update({a: (m, h) for a, m, h in session.execute(q)})
    return out


def _check_review_box(session: Session, asset_id: str, i: int, defect: dict[str, Any]) -> None:
    """A review's defect box must lie on an image of this asset: ``0 <= x0 <= x1 <= width`` (and y), 1 px of slack."""
    box, where = defect.get("box"), f"defects[{i}].box"
    if box is None:
        return
    ev_id = defect.get("evidence_id")
    if ev_id is None:
        raise ValidationError(f"box {box} needs the evidence_id of the image of asset {asset_id!r} it is drawn on",
                              where=where)
    ev = session.get(Evidence, str(ev_id))
    if ev is None or ev.asset_id != asset_id or ev.kind != "image":
        raise ValidationError(f"box {box} is drawn on {ev_id!r}, which is not an image of asset {asset_id!r}",
                              where=where)
    try:
        x0, y0, x1, y1 = (float(v) for v in box)
    except (TypeError, ValueError):
        raise ValidationError(f"box must be four numbers [x0, y0, x1, y1], got {box}", where=where) from None
    if not all(math.isfinite(v) for v in (x0, y0, x1, y1)):
        raise ValidationError(f"box must be finite numbers, got {box}", where=where)
    attrs = ev.attributes or {}
    w, h = attrs.get("width"), attrs.get("height")
    wmax = float(w) + 1 if isinstance(w, int | float) else math.inf  # 1 px: rounding, as ingest allows
    hmax = float(h) + 1 if isinstance(h, int | float) else math.inf
    if not (0 <= x0 <= x1 <= wmax and 0 <= y0 <= y1 <= hmax):
        size = f"{w}x{h} px" if math.isfinite(wmax) and math.isfinite(hmax) else "of unrecorded size"
        raise ValidationError(f"box {box} must lie within image {ev_id!r} ({size}): 0 <= x0 <= x1 <= width and "
                              "0 <= y0 <= y1 <= height", where=where)


def add_review(
    session: Session, asset_id: str, *, reviewer: str, expected_version: int, grade: str | None = None,
    defects: Sequence[dict[str, Any]] = (), note: str | None = None,
    based_on_prediction_id: str | None = None, status: str = "submitted",
) -> Review:
    """Store a review if the asset is still at ``expected_version`` (else ConflictError).

    The asset's version goes up by one; the review's grade becomes a grade label and each defect
    (``{"id": ontology defect id, "severity": ..., "box": [...]}``) a defect label, both with
    source ``"review"`` (they win over imported labels). A review with a grade takes the asset off
    the review queue and closes its label request; one without (a note, defects only) leaves both
    as they are: the asset still has no human grade. ``based_on_prediction_id`` must name a
    prediction of this asset (else ValidationError). A defect box needs the ``evidence_id`` of an
    image of this asset and must lie within it (its stored ``width``/``height``, 1 px of rounding;
    no negative coordinates): else a ValidationError naming ``defects[i].box``. A text holding a NUL
    character (the note, the reviewer, a defect's severity...) is a ValidationError naming it, on both stores.
    """
    for name, part in (("reviewer", reviewer), ("grade", grade), ("defects", list(defects)), ("note", note),
                       ("based_on_prediction_id", based_on_prediction_id), ("status", status)):
        check_storable(part, name)  # a NUL: PostgreSQL refused the review, SQLite stored it
    if session.new or session.dirty or session.deleted:
        session.flush()  # below, rows are written with Core statements: pending ORM changes go first
    asset = get_asset(session, asset_id)
    if based_on_prediction_id is not None:
        owner = session.execute(select(Prediction.asset_id).where(Prediction.id == based_on_prediction_id)).scalar()
        if owner != asset_id:
            why = "no such prediction" if owner is None else f"it is a prediction of asset {owner!r}"
            raise ValidationError(f"prediction {based_on_prediction_id!r} cannot be the basis of a review of "
                                  f"{asset_id!r}: {why}", where="based_on_prediction_id")
    rid = new_id("rev")
    labels: list[dict[str, Any]] = []  # named after the review: each review adds its own labels
    if grade is not None:
        labels.append(label_values(session, asset_id=asset_id, kind="grade", value=grade, annotator=reviewer,
                                   source="review", label_id=review_label_id(rid)))
    for i, d in enumerate(defects):
        if "id" not in d:
            raise ValidationError("each defect needs an 'id' (ontology defect id)", where=f"defects[{i}]")
        _check_review_box(session, asset_id, i, d)
        labels.append(label_values(session, asset_id=asset_id, kind="defect", value=str(d["id"]),
                                   annotator=reviewer, severity=d.get("severity"), box=d.get("box"),
                                   evidence_id=d.get("evidence_id"), source="review", label_id=f"lb_{rid}_{i}"))
    conn = session.connection()
    result = conn.execute(update(Asset).where(Asset.id == asset_id, Asset.version == expected_version)
                          .values(version=Asset.version + 1))
    if result.rowcount != 1:
        session.refresh(asset)
        raise ConflictError(
            f"asset {asset_id!r} changed: it is at version {asset.version}, the review expected"
            f" {expected_version}; reload and review again"
        )
    set_committed_value(asset, "version", expected_version + 1)  # what the UPDATE just wrote, without a re-read
    # PostgreSQL lock order (store.md): the asset row, then the chain lock, then the rows below. A grade or batch
    # shard takes the chain lock before it moves the queue head; moving it first here deadlocked with them.
    lock_chain(session)
    now = utcnow()
    values = {"id": rid, "asset_id": asset_id, "reviewer": reviewer, "grade": grade,
              "defects": [dict(d) for d in defects], "note": note, "based_on_prediction_id": based_on_prediction_id,
              "status": status, "created_at": now}
    conn.execute(insert(Review), values)
    if grade is not None:  # a note or defects only: the asset stays routed until a review gives it a grade
        conn.execute(update(PredictionHead).where(PredictionHead.asset_id == asset_id, PredictionHead.queued)
                     .values(queued=False))
    if grade is not None and close_label_request(conn, asset_id, review_id=rid, at=now):  # a note gives no label
        append_event(session, actor=reviewer, action="label_request.close", entity="label_request",
                     entity_id=asset_id, payload={"review_id": rid})
    append_event(session, actor=reviewer, action="review.add", entity="review", entity_id=rid,
                 payload={"asset_id": asset_id, "grade": grade, "defects": values["defects"],
                          "based_on_prediction_id": based_on_prediction_id,
                          "asset_version": expected_version + 1})
    if labels:
        conn.execute(insert(Label), [{**row, "created_at": values["created_at"]} for row in labels])
        for row in labels:
            append_event(session, actor=reviewer, action="label.add", entity="label", entity_id=row["id"],
                         payload=label_event_payload(row))
    return Review(**values)  # transient: the row is already written


def list_reviews(session: Session, asset_id: str, *, limit: int | None = None) -> list[Review]:
    """An asset's reviews, newest first (the newest ``limit`` when given).

    Newest is the highest asset version a review produced (its ``review.add`` event;
    :mod:`~assetgrade.store.precedence`), not the ``created_at`` of the server that wrote it: a
    correction written by a host whose clock is behind still comes first. A review without a
    recorded version sorts after those with one, by time.
    """
    version, event = produced_version()
    q = (select(Review).outerjoin(AuditEvent, event).where(Review.asset_id == asset_id)
         .order_by(func.coalesce(version, -1).desc(), Review.created_at.desc(), Review.id.desc()))
    if limit is not None:
        q = q.limit(limit)
    return list(session.execute(q).scalars())

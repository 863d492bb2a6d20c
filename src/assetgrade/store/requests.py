"""Label requests: the assets active learning asked experts to grade, open until a review closes them.

``assetgrade review suggest --enqueue`` stores one round of suggestions here; the review UI and
``GET /api/v1/review/requests`` list the open ones (newest round first, then the strategy's
rank); storing a review of a requested asset closes its request in the same transaction
(:func:`assetgrade.store.results.add_review`), and so does a grade label that arrives by import
(:func:`close_label_requests_labelled`, in the ingest's transaction). A machine label (``pseudo``,
``model``...: :mod:`assetgrade.store.precedence`) is no human's grade: it neither closes a request
nor keeps an asset out of a round. An asset has at most one request row, its latest; every change
is an audit event.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select, update
from sqlalchemy.orm import Session

from assetgrade.errors import ValidationError
from assetgrade.store.audit import append_event, lock_chain
from assetgrade.store.precedence import is_machine_label
from assetgrade.store.schema import Asset, Label, LabelRequest, new_id, utcnow

__all__ = ["LABEL_REQUEST_STATUSES", "EnqueueReport", "RequestedLabel", "add_label_requests",
           "close_label_request", "close_label_requests_labelled", "get_label_request", "list_label_requests",
           "withdraw_label_requests"]

LABEL_REQUEST_STATUSES = ("open", "done", "withdrawn")


@dataclass(frozen=True)
class RequestedLabel:
    """One asset to ask a grade for, as a strategy ranked it."""

    asset_id: str
    rank: int
    chosen_by: str
    predicted_grade: str | None = None
    confidence: float | None = None


@dataclass
class EnqueueReport:
    """What :func:`add_label_requests` did with one round."""

    batch_id: str
    added: list[str] = field(default_factory=list)
    """Assets that had no open request and now have one."""
    refreshed: list[str] = field(default_factory=list)
    """Assets whose open request was moved into this round (new rank, strategy and model)."""
    withdrawn: list[str] = field(default_factory=list)
    """Open requests of earlier rounds withdrawn because ``replace`` was set."""
    skipped: dict[str, str] = field(default_factory=dict)
    """Asset id → why no request was made (unknown asset, already has a grade label from a human)."""


def add_label_requests(
    session: Session, items: Sequence[RequestedLabel], *, strategy: str, model_version: str,
    requested_by: str = "system", replace: bool = False, settings: Mapping[str, Any] | None = None,
) -> EnqueueReport:
    """Open a request for each asset in ``items`` (one round, one transaction); skip the ones named in the report.

    An asset that is unknown or already has a human's grade label is skipped with the reason (one
    with machine labels only is asked for: :mod:`assetgrade.store.precedence`); an
    asset listed twice in ``items`` is a ValidationError naming it (nothing is written). With
    ``replace``, open requests of earlier rounds that this round does not repeat are withdrawn.
    ``settings`` (the round's ``k``, ``per_class``, ``seed``) are kept in the audit event.
    """
    lock_chain(session)  # PostgreSQL: before the reads, so an import closing a request meanwhile is seen, not undone
    seen: set[str] = set()
    for i, it in enumerate(items):
        if it.asset_id in seen:
            raise ValidationError(f"asset {it.asset_id!r} is listed twice", where=f"items[{i}].asset_id")
        seen.add(it.asset_id)
    report = EnqueueReport(batch_id=new_id("lrq"))
    ids = list(seen)
    known = set(session.scalars(select(Asset.id).where(Asset.id.in_(ids)))) if ids else set()
    labelled = set(_human_grade_labels(session, ids))
    existing = {r.asset_id: r for r in session.scalars(select(LabelRequest).where(LabelRequest.asset_id.in_(ids)))}
    now = utcnow()
    for it in items:
        if it.asset_id not in known:
            report.skipped[it.asset_id] = "unknown asset"
            continue
        if it.asset_id in labelled:
            report.skipped[it.asset_id] = "already has a grade label"
            continue
        values = {"batch_id": report.batch_id, "rank": int(it.rank), "strategy": strategy, "chosen_by": it.chosen_by,
                  "model_version": model_version, "predicted_grade": it.predicted_grade,
                  "confidence": None if it.confidence is None else float(it.confidence),
                  "requested_by": requested_by, "requested_at": now, "status": "open", "closed_at": None,
                  "review_id": None}
        row = existing.get(it.asset_id)
        if row is None:
            session.add(LabelRequest(asset_id=it.asset_id, **values))
            report.added.append(it.asset_id)
        else:
            (report.refreshed if row.status == "open" else report.added).append(it.asset_id)
            for k, v in values.items():
                setattr(row, k, v)
    if replace:
        stale = session.scalars(select(LabelRequest).where(LabelRequest.status == "open",
                                                           LabelRequest.batch_id != report.batch_id))
        for row in stale:  # this round's rows carry its batch id already (the query flushed them)
            row.status, row.closed_at = "withdrawn", now
            report.withdrawn.append(row.asset_id)
    session.flush()
    if report.added or report.refreshed or report.withdrawn:
        append_event(session, actor=requested_by, action="label_request.add", entity="label_request",
                     entity_id=report.batch_id,
                     payload={"strategy": strategy, "model_version": model_version, "added": report.added,
                              "refreshed": report.refreshed, "withdrawn": report.withdrawn,
                              **({"settings": dict(settings)} if settings is not None else {})})
    return report


def _human_grade_labels(session: Session, asset_ids: Sequence[str]) -> dict[str, list[str]]:
    """Asset → ids of its grade labels that a human gave (sorted), for the assets that have one."""
    out: dict[str, list[str]] = {}
    for i in range(0, len(asset_ids), 500):
        rows = session.execute(select(Label.asset_id, Label.id, Label.source, Label.annotator).where(
            Label.asset_id.in_(list(asset_ids[i:i + 500])), Label.kind == "grade")).tuples()
        for aid, lid, source, annotator in rows:
            if not is_machine_label(source, annotator):
                out.setdefault(aid, []).append(lid)
    return {a: sorted(v) for a, v in out.items()}


def withdraw_label_requests(session: Session, asset_ids: Iterable[str] | None = None, *,
                            actor: str = "system") -> list[str]:
    """Withdraw open requests (of ``asset_ids``, or all when None); returns the assets withdrawn, sorted."""
    lock_chain(session)  # PostgreSQL: a review or import closing one of them meanwhile is seen, not overwritten
    q = select(LabelRequest.asset_id).where(LabelRequest.status == "open")
    if asset_ids is not None:
        q = q.where(LabelRequest.asset_id.in_(list(asset_ids)))
    ids = sorted(session.scalars(q))
    if ids:
        session.execute(update(LabelRequest).where(LabelRequest.asset_id.in_(ids), LabelRequest.status == "open")
                        .values(status="withdrawn", closed_at=utcnow()))
        append_event(session, actor=actor, action="label_request.withdraw", entity="label_request", entity_id=None,
                     payload={"asset_ids": ids})
    return ids


def close_label_request(conn: Connection, asset_id: str, *, review_id: str, at: datetime) -> bool:
    """Mark ``asset_id``'s open request done by ``review_id`` (Core, on the caller's connection); True if one was."""
    result = conn.execute(update(LabelRequest).where(LabelRequest.asset_id == asset_id,
                                                     LabelRequest.status == "open")
                          .values(status="done", closed_at=at, review_id=review_id))
    return bool(result.rowcount)


def close_label_requests_labelled(session: Session, labels: Mapping[str, str], *, actor: str,
                                  ingest_batch_id: str) -> list[str]:
    """Close the open requests of assets that an import just gave a grade label (asset id → label id).

    Status ``done`` without a review; one ``label_request.close`` audit event per asset names the
    label and the ingest batch. Returns the assets whose request was closed. A machine label does
    not close it: an asset whose named label is one keeps its request unless it holds a human's
    grade label (another label of the same import), which the event names then.
    """
    if not labels:
        return []
    candidates = sorted(session.scalars(select(LabelRequest.asset_id).where(
        LabelRequest.asset_id.in_(list(labels)), LabelRequest.status == "open")))
    named = [labels[a] for a in candidates]
    machine = {lid for lid, source, annotator in session.execute(
        select(Label.id, Label.source, Label.annotator).where(Label.id.in_(named))).tuples()
        if is_machine_label(source, annotator)} if named else set()
    human = _human_grade_labels(session, [a for a in candidates if labels[a] in machine]) if machine else {}
    now = utcnow()
    closed: list[str] = []
    for asset_id in candidates:
        label_id = labels[asset_id]
        if label_id in machine:  # no human's grade, unless another label of the import is one
            if asset_id not in human:
                continue
            label_id = human[asset_id][-1]
        # conditional, as a review's close is: a review that closed it meanwhile keeps its close and event
        stmt = (update(LabelRequest).where(LabelRequest.asset_id == asset_id, LabelRequest.status == "open")
                .values(status="done", closed_at=now, review_id=None))
        done = session.connection().execute(stmt)
        if done.rowcount:
            closed.append(asset_id)
            append_event(session, actor=actor, action="label_request.close", entity="label_request",
                         entity_id=asset_id, payload={"label_id": label_id, "ingest_batch_id": ingest_batch_id})
    return closed


def get_label_request(session: Session, asset_id: str) -> LabelRequest | None:
    """The asset's latest request (any status), or None."""
    return session.get(LabelRequest, asset_id)


def list_label_requests(session: Session, *, status: str = "open", limit: int = 50,
                        offset: int = 0) -> tuple[list[LabelRequest], int]:
    """One page of requests with ``status`` in working order (newest round first, then rank), and their count."""
    if status not in LABEL_REQUEST_STATUSES:
        raise ValidationError(f"status must be one of {', '.join(LABEL_REQUEST_STATUSES)}, not {status!r}",
                              where="status")
    total = int(session.execute(select(func.count()).select_from(LabelRequest)
                                .where(LabelRequest.status == status)).scalar_one())
    rows = list(session.scalars(
        select(LabelRequest).where(LabelRequest.status == status)
        .order_by(LabelRequest.requested_at.desc(), LabelRequest.rank, LabelRequest.asset_id)
        .limit(limit).offset(offset)))
    return rows, total

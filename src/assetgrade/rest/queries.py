"""Read queries shared by the REST API and the web UI: latest predictions, the review queue, dashboards.

Each query is a fixed number of SQL statements whatever the page size (no N+1). The review
queue holds assets whose latest prediction's decision is ``review`` and that have no review
made since that prediction (kept in ``prediction_heads`` by the store's writes), ordered by the
review policy: expected cost (highest first), then
conformal set size (largest first), then the number of contradictions (most first), then age.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, and_, cast, func, or_, select, true
from sqlalchemy.orm import Session, aliased

from assetgrade.store.precedence import produced_version
from assetgrade.store.schema import Asset, AuditEvent, Evidence, Prediction, PredictionHead, Provenance, Review

__all__ = [
    "AssetRow",
    "PredictionSummary",
    "QueueRow",
    "asset_rows",
    "dashboard_series",
    "evidence_changed_last",
    "last_change",
    "latest_predictions",
    "latest_summaries",
    "queue_neighbours",
    "review_queue",
]


@dataclass(frozen=True)
class QueueRow:
    """One review-queue entry: the asset (and its version) and what its latest prediction says.

    Only the columns the queue shows are read (the reasons out of the payload by the database's
    JSON functions), not whole prediction rows, whose payload holds the full evidence report.
    """

    asset_id: str
    asset_type: str
    asset_version: int
    prediction_id: str
    model_version: str
    grade: str
    conformal_set: list[str]
    expected_cost: float | None
    n_contradictions: int
    reasons: list[str]
    created_at: datetime
    position: int


@dataclass(frozen=True)
class AssetRow:
    """One asset with a summary of its latest prediction (None when never graded)."""

    asset: Asset
    prediction: PredictionSummary | None


@dataclass(frozen=True)
class PredictionSummary:
    """What an asset listing shows of the latest prediction (not its payload, the full evidence report)."""

    id: str
    grade: str
    decision: str


def latest_summaries(session: Session, asset_ids: list[str]) -> dict[str, PredictionSummary]:
    """Id, grade and decision of the newest prediction of each of ``asset_ids``, one indexed query."""
    if not asset_ids:
        return {}
    rows = session.execute(
        select(PredictionHead.asset_id, Prediction.id, Prediction.grade, Prediction.decision)
        .join(Prediction, Prediction.id == PredictionHead.prediction_id)
        .where(PredictionHead.asset_id.in_(asset_ids))
    ).all()
    return {a: PredictionSummary(pid, grade, decision) for a, pid, grade, decision in rows}


def latest_predictions(session: Session, asset_ids: list[str]) -> dict[str, Prediction]:
    """The newest prediction of each of ``asset_ids`` (assets never graded are absent), one indexed query."""
    if not asset_ids:
        return {}
    rows = session.execute(
        select(Prediction).join(PredictionHead, PredictionHead.prediction_id == Prediction.id)
        .where(PredictionHead.asset_id.in_(asset_ids))
    ).scalars()
    return {r.asset_id: r for r in rows}


_QUEUE_KEYS = (("cost_key", "desc"), ("set_size", "desc"), ("n_contradictions", "desc"),
               ("predicted_at", "asc"), ("asset_id", "asc"))
"""Queue policy order over PredictionHead columns (the queue index has the same order)."""


def _queue_order(h: Any, *, reverse: bool = False) -> list[Any]:
    """ORDER BY terms of the queue policy for ``h`` (PredictionHead or an alias), or its reverse."""
    out = []
    for name, direction in _QUEUE_KEYS:
        col = getattr(h, name)
        out.append(col.desc() if (direction == "desc") != reverse else col.asc())
    return out


_QUEUE_ORDER = tuple(_queue_order(PredictionHead))


def review_queue(session: Session, *, limit: int = 50, offset: int = 0) -> tuple[list[QueueRow], int]:
    """One page of the review queue in policy order, and the queue's total length (two indexed queries)."""
    total = session.execute(select(func.count()).select_from(PredictionHead)
                            .where(PredictionHead.queued == true())).scalar_one()
    page = (select(PredictionHead.asset_id).where(PredictionHead.queued == true()).order_by(*_QUEUE_ORDER)
            .limit(limit).offset(offset).subquery())
    rows = session.execute(
        select(Prediction.id, Prediction.model_version, Prediction.grade, Prediction.conformal_set,
               Prediction.expected_cost, Prediction.payload["reasons"], PredictionHead.n_contradictions,
               Prediction.created_at, Asset.id, Asset.asset_type, Asset.version)
        .join(PredictionHead, PredictionHead.prediction_id == Prediction.id)
        .join(page, page.c.asset_id == PredictionHead.asset_id)
        .join(Asset, Asset.id == PredictionHead.asset_id)
        .order_by(*_QUEUE_ORDER)
    ).all()
    out = [QueueRow(asset_id=aid, asset_type=atype, asset_version=int(version), prediction_id=pid,
                    model_version=mv, grade=grade, conformal_set=list(cset or []), expected_cost=cost,
                    n_contradictions=int(n_con), reasons=[str(r) for r in (reasons or [])], created_at=created,
                    position=offset + i)
           for i, (pid, mv, grade, cset, cost, reasons, n_con, created, aid, atype, version) in enumerate(rows)]
    return out, int(total)


def _before(a: Any, b: Any) -> Any:
    """SQL condition "row ``a`` comes before row ``b`` in queue policy order" (two PredictionHead aliases).

    The lexicographic comparison over ``_QUEUE_KEYS`` written out, so each step is a range on the
    queue index.
    """
    terms = []
    for i, (name, direction) in enumerate(_QUEUE_KEYS):
        ties = [getattr(a, k) == getattr(b, k) for k, _ in _QUEUE_KEYS[:i]]
        x, y = getattr(a, name), getattr(b, name)
        terms.append(and_(*ties, x > y if direction == "desc" else x < y))
    return or_(*terms)


def queue_neighbours(session: Session, asset_id: str) -> tuple[str | None, str | None, int | None, int]:
    """(previous asset id, next asset id, 0-based position or None when not queued, queue length).

    For an asset not in the queue (already reviewed), "next" is the head of the queue. Keyset
    queries against the asset's own row (one neighbour each way, a count of the rows before it),
    so a page does not read the whole queue.
    """
    total = int(session.execute(select(func.count()).select_from(PredictionHead)
                                .where(PredictionHead.queued == true())).scalar_one())
    me = aliased(PredictionHead)
    other = aliased(PredictionHead)
    mine = session.execute(select(me.queued).where(me.asset_id == asset_id)).scalar_one_or_none()
    if not mine:
        head = session.execute(select(PredictionHead.asset_id).where(PredictionHead.queued == true())
                               .order_by(*_QUEUE_ORDER).limit(1)).scalar_one_or_none()
        return None, head, None, total
    base = (select(other.asset_id).join(me, me.asset_id == asset_id)
            .where(other.queued == true(), other.asset_id != asset_id))
    prev_id = session.execute(base.where(_before(other, me)).order_by(*_queue_order(other, reverse=True))
                              .limit(1)).scalar_one_or_none()
    next_id = session.execute(base.where(_before(me, other)).order_by(*_queue_order(other))
                              .limit(1)).scalar_one_or_none()
    position = int(session.execute(select(func.count()).select_from(
        base.where(_before(other, me)).subquery())).scalar_one())
    return prev_id, next_id, position, total


def asset_rows(
    session: Session, *, asset_type: str | None = None, decision: str | None = None, grade: str | None = None,
    id_prefix: str | None = None, limit: int = 50, offset: int = 0,
) -> tuple[list[AssetRow], int]:
    """Assets by id with their latest prediction, filtered and paged (three queries)."""
    q = select(Asset)
    if asset_type is not None:
        q = q.where(Asset.asset_type == asset_type)
    if id_prefix:
        q = q.where(Asset.id.startswith(id_prefix, autoescape=True))
    if decision is not None or grade is not None:
        heads = select(PredictionHead.asset_id).join(Prediction, Prediction.id == PredictionHead.prediction_id)
        if decision is not None:
            heads = heads.where(Prediction.decision == decision)
        if grade is not None:
            heads = heads.where(Prediction.grade == grade)
        q = q.where(Asset.id.in_(heads))
    total = session.execute(select(func.count()).select_from(q.subquery())).scalar_one()
    assets = list(session.execute(q.order_by(Asset.id).limit(limit).offset(offset)).scalars())
    latest = latest_summaries(session, [a.id for a in assets])
    return [AssetRow(a, latest.get(a.id)) for a in assets], int(total)


def last_change(session: Session, asset_id: str) -> tuple[str, datetime] | None:
    """Who last changed ``asset_id`` and when (the writes that raise its version: a review, new evidence), or None.

    Who is the reviewer, or ``"new evidence"``; when is the time the writing server stamped (shown, never compared
    across servers): see :func:`evidence_changed_last` for which change came last.
    """
    change = _last_change(session, asset_id)
    return None if change is None else (change[0], change[1])


def evidence_changed_last(session: Session, asset_id: str) -> bool:
    """Whether the asset's last change (the last write that raised its version) added evidence, not a review."""
    change = _last_change(session, asset_id)
    return change is not None and change[2]


def _last_change(session: Session, asset_id: str) -> tuple[str, datetime, bool] | None:
    """(reviewer or "new evidence", its time, whether it was evidence) of the asset's last change, or None.

    Only reviews and new evidence raise an asset's version (store.md), and the versions of one asset are totally
    ordered whichever server wrote them. Each evidence addition records the version it produced (``evidence.add``'s
    ``asset_version``, ``ingest.rows``' ``asset_versions``): the one that produced the asset's current version is
    its last change, whatever the clocks of the servers say. Otherwise (evidence added before versions were
    recorded), when the asset is past the version its newest review produced (that review's ``review.add`` event,
    :mod:`~assetgrade.store.precedence`), evidence was added after that review, shown with the newest evidence's
    time. Only a review whose event holds no version is compared with the newest evidence by time.
    """
    version, event = produced_version()
    newest = session.execute(
        select(Review.reviewer, Review.created_at, version).outerjoin(AuditEvent, event)
        .where(Review.asset_id == asset_id)
        .order_by(func.coalesce(version, -1).desc(), Review.created_at.desc(), Review.id.desc()).limit(1)
    ).first()
    added = session.execute(select(func.max(Evidence.created_at)).where(Evidence.asset_id == asset_id)).scalar()
    if added is None:
        return None if newest is None else (newest[0], newest[1], False)
    current = session.execute(select(Asset.version).where(Asset.id == asset_id)).scalar()
    recorded = None if current is None else _evidence_at_version(session, asset_id, int(current))
    if recorded is not None:
        return "new evidence", recorded, True
    if newest is None:
        return "new evidence", added, True
    reviewer, reviewed, produced = newest
    if produced is not None:
        evidence_last = current is not None and int(current) > int(produced)
    else:
        evidence_last = _utc(added) > _utc(reviewed)
    return ("new evidence", added, True) if evidence_last else (reviewer, reviewed, False)


def _evidence_at_version(session: Session, asset_id: str, version: int) -> datetime | None:
    """The time of the evidence addition whose audit event records that it raised ``asset_id`` to ``version``.

    None when no evidence addition recorded that version (a review produced it, or evidence added before
    versions were recorded). For an ingest group, the newest time of the asset's evidence in its batch.
    """
    added = cast(AuditEvent.payload["asset_version"].as_string(), BigInteger)
    single = session.execute(
        select(func.max(Evidence.created_at))
        .join(AuditEvent, and_(AuditEvent.entity_id == Evidence.id, AuditEvent.action == "evidence.add"))
        .where(Evidence.asset_id == asset_id, added == version)
    ).scalar()
    if single is not None:
        return single
    in_batches = (select(Provenance.ingest_batch_id).join(Evidence, Evidence.id == Provenance.evidence_id)
                  .where(Evidence.asset_id == asset_id, Provenance.ingest_batch_id.is_not(None)))
    batch = session.execute(
        select(AuditEvent.entity_id)
        .where(AuditEvent.action == "ingest.rows", AuditEvent.entity_id.in_(in_batches),
               _ingest_version(session, asset_id) == version).limit(1)
    ).scalar()
    if batch is None:
        return None
    return session.execute(
        select(func.max(Evidence.created_at)).join(Provenance, Provenance.evidence_id == Evidence.id)
        .where(Evidence.asset_id == asset_id, Provenance.ingest_batch_id == batch)
    ).scalar()


def _ingest_version(session: Session, asset_id: str) -> ColumnElement[int]:
    """SQL for the version an ``ingest.rows`` event records for ``asset_id`` (NULL when it records none).

    The asset id is a bound value, never part of a JSON path (an id may hold quotes and dots): PostgreSQL's
    ``->>`` takes the key as text; SQLite's ``json_each`` lists the mapping's keys.
    """
    if session.get_bind().dialect.name == "postgresql":
        return cast(AuditEvent.payload["asset_versions"][asset_id].as_string(), BigInteger)
    keys = func.json_each(AuditEvent.payload, "$.asset_versions").table_valued("key", "value")
    return select(cast(keys.c.value, BigInteger)).where(keys.c.key == asset_id).scalar_subquery()


def _utc(ts: datetime) -> datetime:
    return ts.astimezone(UTC) if ts.tzinfo is not None else ts.replace(tzinfo=UTC)


def dashboard_series(session: Session) -> dict[str, Any]:
    """Per day: grade mix, auto-accept rate and mean expected cost of predictions, reviewer override rate.

    The override rate is the share of reviews whose grade differs from the grade of the
    prediction they were based on.
    """
    day_p = func.substr(func.cast(Prediction.created_at, _text_type()), 1, 10).label("day")
    preds = session.execute(
        select(day_p, Prediction.grade, Prediction.decision, func.count(), func.avg(Prediction.expected_cost))
        .group_by(day_p, Prediction.grade, Prediction.decision).order_by(day_p)
    ).all()
    day_r = func.substr(func.cast(Review.created_at, _text_type()), 1, 10).label("day")
    revs = session.execute(
        select(day_r, func.count(), func.sum(func.cast(Review.grade != Prediction.grade, _int_type())))
        .join(Prediction, Prediction.id == Review.based_on_prediction_id)
        .where(Review.grade.is_not(None)).group_by(day_r).order_by(day_r)
    ).all()
    days: dict[str, dict[str, Any]] = {}
    for day, grade, decision, n, mean_cost in preds:
        d = days.setdefault(day, {"grades": {}, "n": 0, "accepted": 0, "cost_sum": 0.0, "cost_n": 0})
        d["grades"][grade] = d["grades"].get(grade, 0) + int(n)
        d["n"] += int(n)
        if decision == "accept":
            d["accepted"] += int(n)
        if mean_cost is not None:
            d["cost_sum"] += float(mean_cost) * int(n)
            d["cost_n"] += int(n)
    overrides = {day: (int(n), int(k or 0)) for day, n, k in revs}
    all_days = sorted(set(days) | set(overrides))
    out: dict[str, Any] = {"days": all_days, "grade_mix": [], "auto_accept_rate": [], "expected_cost": [],
                           "override_rate": [], "n_predictions": [], "n_reviews": []}
    for day in all_days:
        dd: dict[str, Any] | None = days.get(day)
        out["grade_mix"].append(dd["grades"] if dd else {})
        out["n_predictions"].append(dd["n"] if dd else 0)
        out["auto_accept_rate"].append(dd["accepted"] / dd["n"] if dd and dd["n"] else None)
        out["expected_cost"].append(dd["cost_sum"] / dd["cost_n"] if dd and dd["cost_n"] else None)
        n, k = overrides.get(day, (0, 0))
        out["n_reviews"].append(n)
        out["override_rate"].append(k / n if n else None)
    return out


def _text_type() -> Any:
    from sqlalchemy import String

    return String()


def _int_type() -> Any:
    from sqlalchemy import Integer

    return Integer()

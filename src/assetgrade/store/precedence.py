"""Which of an asset's grade labels is its grade (``AssetRecord.grade``, the training label): one rule for the store.

1. **A human's label beats a machine's**, whenever each was made. A machine label is one whose
   source or annotator (free text from manifests: case and surrounding spaces ignored) is one of
   :data:`NON_EXPERT_SOURCES`, the same definition golden sets refuse; every other label (a review,
   an import by a named expert or the default ``import``) is human.
2. **Among human labels a review beats an import**, and the latest correction wins: reviews in the
   order of the asset version each produced (reviews are version-checked, so the versions of one
   asset's reviews are totally ordered, whichever server wrote them and whatever its clock said);
   imports, which have no version, in the order the store received them (:func:`grade_order`).
3. **An asset with machine labels only has no grade**: it is not trained on, and a label round may
   ask for it (``store.requests``). Pseudo-labels are not used for training.

The version a review produced is in its ``review.add`` audit event (``asset_version``, written in
the review's transaction since the store's first release); its grade label is ``lb_<review id>``.

An import's arrival is the position in the audit chain (``seq``) of the event that recorded the write
storing it: ``ingest.rows`` for an ingest row group (its ``labels`` list) and ``label.add`` for
:func:`~assetgrade.store.repository.add_label`. Events are numbered under the chain's write lock, in
the order their transactions commit, so the number is the store's own arrival order and not the
importing server's clock (``created_at``), which two hosts need not agree on: an expert's grade
imported on a host whose clock is an hour ahead no longer outranks another expert's grade imported
after it. Two labels of one ingest row group share the event: the later row of the input wins.
Ties left after that (labels the audit log does not record: written around the store's write
functions) are ordered by ``created_at`` then label id, below every import it records.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, and_, cast, event, func, select, text
from sqlalchemy.orm import Session, SessionTransaction

from assetgrade.store.schema import AuditEvent, Label, Review

__all__ = ["NON_EXPERT_SOURCES", "arrival_key", "current_grade_label", "grade_order", "grade_rank", "import_arrivals",
           "is_machine_label", "label_event", "produced_version", "review_label_id", "review_versions"]

NON_EXPERT_SOURCES = frozenset({"pseudo", "model", "weak", "synthetic", "auto"})
"""Label sources and annotators that are not a person's judgement (case-folded): machine labels."""

_CHUNK = 500
_ROWS = 1 << 32
"""More label rows than one write stores: an arrival key is its event's ``seq`` times this, plus its row."""


def is_machine_label(source: Any, annotator: Any) -> bool:
    """Whether a label's source or annotator names a machine (any case, surrounding spaces ignored).

    Examples
    --------
    >>> is_machine_label("import", " Pseudo "), is_machine_label("weak", "ana"), is_machine_label("review", "ana")
    (True, True, False)
    """
    return not NON_EXPERT_SOURCES.isdisjoint({str(source).strip().casefold(), str(annotator).strip().casefold()})


def review_label_id(review_id: str) -> str:
    """The id of the grade label a review adds (its defect labels add ``_<i>``)."""
    return f"lb_{review_id}"


def produced_version() -> tuple[ColumnElement[int], ColumnElement[bool]]:
    """SQL for the asset version a review produced: (the version, the join condition of its ``review.add`` event).

    Join :class:`AuditEvent` on the condition (an outer join keeps reviews whose event is missing: version NULL).
    """
    return (cast(AuditEvent.payload["asset_version"].as_string(), BigInteger),
            and_(AuditEvent.entity_id == Review.id, AuditEvent.action == "review.add"))


def label_event() -> ColumnElement[bool]:
    """SQL joining :class:`Label` to the ``label.add`` event that recorded it (a review's labels, ``add_label``)."""
    return and_(AuditEvent.entity_id == Label.id, AuditEvent.action == "label.add")


def arrival_key(seq: int, row: int = 0) -> int:
    """An import's place in the store's arrival order as one number: its write's audit ``seq``, then its row there.

    Examples
    --------
    >>> arrival_key(7, 1) > arrival_key(7, 0) > arrival_key(6, 900)
    True
    """
    return seq * _ROWS + row


def _chunks(ids: Sequence[str] | None) -> list[Sequence[str] | None]:
    return [None] if ids is None else [ids[i:i + _CHUNK] for i in range(0, len(ids), _CHUNK)]


def _review_versions(session: Session, asset_ids: Sequence[str] | None) -> dict[str, int]:
    version, event = produced_version()
    q = select(Review.id, version).join(AuditEvent, event).where(Review.grade.is_not(None))
    out: dict[str, int] = {}
    for chunk in _chunks(asset_ids):
        rows = session.execute(q if chunk is None else q.where(Review.asset_id.in_(list(chunk)))).tuples()
        out.update((review_label_id(rid), int(v)) for rid, v in rows if v is not None)
    return out


# the import grade labels listed by ingest.rows events in (after, upto], each with its row in the event's list;
# a damaged payload (not JSON, labels not a list) lists none
_INGESTED = {
    "sqlite": "SELECT e.seq, j.key, j.value FROM audit_events AS e, json_each(CASE WHEN json_valid(e.payload) THEN"
              " (CASE WHEN json_type(e.payload, '$.labels') = 'array' THEN json_extract(e.payload, '$.labels') END)"
              " END) AS j JOIN labels AS l ON l.id = j.value WHERE e.action = 'ingest.rows' AND e.seq > :after"
              " AND e.seq <= :upto AND l.kind = 'grade' AND l.source <> 'review'",
    "postgresql": "SELECT e.seq, j.ord - 1, j.value FROM audit_events AS e CROSS JOIN LATERAL"
                  " json_array_elements_text(CASE WHEN json_typeof(e.payload -> 'labels') = 'array'"
                  " THEN e.payload -> 'labels' END) WITH ORDINALITY AS j(value, ord)"
                  " JOIN labels AS l ON l.id = j.value WHERE e.action = 'ingest.rows' AND e.seq > :after"
                  " AND e.seq <= :upto AND l.kind = 'grade' AND l.source <> 'review'",
}
_INGESTED_KEY = "assetgrade.precedence.ingested"
"""``session.info``: (the chain position read up to, import grade label id → arrival key) for one transaction."""


@event.listens_for(Session, "after_transaction_end")
def _forget_ingested(session: Session, transaction: SessionTransaction) -> None:
    """What one transaction read: a rollback may undo the events its own writes appended."""
    session.info.pop(_INGESTED_KEY, None)


def _ingested(session: Session, wanted: Sequence[str]) -> dict[str, int]:
    """Arrival keys of ``wanted`` from ``ingest.rows`` events, read once per transaction and then only the new events.

    Events up to the chain head read first were all committed then (the chain lock is held to commit), so
    what was read of them stays true; a later call reads only the events after that head.
    """
    sql = _INGESTED.get(session.get_bind().dialect.name)
    if sql is None:
        return {}
    after, index = session.info.get(_INGESTED_KEY, (0, {}))
    if any(i not in index for i in wanted):
        upto = int(session.execute(select(func.max(AuditEvent.seq))).scalar() or 0)
        if upto > after:
            for seq, row, lid in session.execute(text(sql), {"after": after, "upto": upto}).tuples():
                key = arrival_key(int(seq), int(row))
                index[str(lid)] = max(key, index.get(str(lid), key))  # stored again after a delete: the latest
            session.info[_INGESTED_KEY] = (upto, index)
    return {i: index[i] for i in wanted if i in index}


def import_arrivals(session: Session, label_ids: Sequence[str]) -> dict[str, int]:
    """Label id → :func:`arrival_key`, for each of ``label_ids`` the audit log records as written.

    First the latest ``label.add`` event naming it (row 0); for the rest, import grade labels, the
    ``ingest.rows`` event whose ``labels`` list holds it (its place in the list is its row). A label no
    event names is left out. The second step reads the label lists of all ingest events once per
    transaction (then only those appended since), and only for labels the first did not find.
    """
    out: dict[str, int] = {}
    ids = list(dict.fromkeys(label_ids))
    q = (select(AuditEvent.entity_id, func.max(AuditEvent.seq)).where(AuditEvent.action == "label.add")
         .group_by(AuditEvent.entity_id))
    for chunk in _chunks(ids):
        rows = session.execute(q.where(AuditEvent.entity_id.in_(list(chunk or ())))).tuples()
        out.update((str(lid), arrival_key(int(seq))) for lid, seq in rows)
    rest = [i for i in ids if i not in out]
    if rest:
        out.update(_ingested(session, rest))
    return out


def grade_order(session: Session, asset_ids: Sequence[str] | None = None) -> dict[str, int]:
    """Grade label id → its place among the asset's labels of its source (of ``asset_ids``, or all): :func:`grade_rank`.

    A review's grade label: the asset version the review produced (a review whose audit event holds
    no version is left out: ordered by time then). An import's: its :func:`arrival_key`, given only
    where it matters, to the human imports of an asset that has more than one (a single import has
    nothing to be ordered against), and only where the audit log records it (left out: ordered by
    time, below the recorded ones).
    """
    out = _review_versions(session, asset_ids)
    q = select(Label.asset_id, Label.id, Label.source, Label.annotator).where(Label.kind == "grade",
                                                                              Label.source != "review")
    imports: dict[str, list[str]] = {}
    for chunk in _chunks(asset_ids):
        for aid, lid, source, annotator in session.execute(
                q if chunk is None else q.where(Label.asset_id.in_(list(chunk)))).tuples():
            if not is_machine_label(source, annotator):
                imports.setdefault(aid, []).append(lid)
    contested = [lid for lids in imports.values() if len(lids) > 1 for lid in lids]
    if contested:
        out.update(import_arrivals(session, contested))
    return out


def review_versions(session: Session, asset_ids: Sequence[str] | None = None) -> dict[str, int]:
    """Review grade label id → the asset version its review produced: the order before imports were ordered
    by arrival (imports by ``created_at``). Golden-set items frozen under that rule (``grade_rule``
    ``precedence``) are verified by it; everything else reads :func:`grade_order`."""
    return _review_versions(session, asset_ids)


def _naive_utc(ts: datetime) -> datetime:
    return ts.astimezone(UTC).replace(tzinfo=None) if ts.tzinfo is not None else ts


def grade_rank(source: str, created_at: datetime, label_id: str,
               versions: Mapping[str, int]) -> tuple[bool, bool, int, datetime, str]:
    """The sort key of one human grade label: the greatest is the grade.

    Reviews before imports; within each, those ``versions`` (:func:`grade_order`) orders, by that
    order (a review's version, an import's arrival), before those it does not; then ``created_at``,
    then the label id.
    """
    version = versions.get(label_id)
    return (source == "review", version is not None, version if version is not None else 0,
            _naive_utc(created_at), label_id)


def current_grade_label(labels: Iterable[Label], versions: Mapping[str, int]) -> Label | None:
    """The label that is the asset's grade among ``labels`` (one asset's), or None when no human gave one.

    ``versions`` is :func:`grade_order` of the asset (or more assets).
    """
    human = [lb for lb in labels if lb.kind == "grade" and not is_machine_label(lb.source, lb.annotator)]
    return max(human, key=lambda lb: grade_rank(lb.source, lb.created_at, lb.id, versions), default=None)

"""The append-only audit log: hash-chained events (sha256 over canonical JSON + the previous hash).

Each event's ``hash`` is ``sha256(prev_hash + canonical_json(event))``; editing, deleting or
reordering any stored event breaks the chain at that event, which :func:`verify_chain`
reports. The repository offers no update or delete for events. Appends are serialised
(SQLite: the write transaction is ``BEGIN IMMEDIATE``; PostgreSQL: a transaction-scoped
advisory lock, one per schema), so two writers never fork the chain. A write may queue its
event (:func:`queue_event`) instead, so that its rows go in before that lock (store.md's lock order).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import String, event, insert, select, text, type_coerce
from sqlalchemy.orm import Session, SessionTransaction

from assetgrade.errors import StoreError
from assetgrade.jsonsafe import jsonable
from assetgrade.store.schema import AuditEvent, utcnow

__all__ = [
    "GENESIS_HASH",
    "ChainReport",
    "EventRow",
    "append_event",
    "canonical_json",
    "chain_head",
    "event_hash",
    "list_events",
    "lock_chain",
    "queue_event",
    "read_events",
    "verify_chain",
]

GENESIS_HASH = "0" * 64
_PG_LOCK_KEY = 0x61677264  # "agrd": the chain lock of a store in the ``public`` schema
# Any other schema holds a store of its own (store.md): its chain gets a lock of its own, so writers
# to stores in different schemas of one database do not wait for each other.
_PG_CHAIN_LOCK = text(
    "SELECT pg_advisory_xact_lock(CASE WHEN current_schema() = 'public' THEN CAST(:k AS bigint)"
    " ELSE hashtextextended('assetgrade.audit:' || current_schema(), 0) END)"
)


def lock_chain(session: Session) -> None:
    """Take the audit chain's write lock now, for the rest of the session's transaction.

    On PostgreSQL this is the advisory lock :func:`append_event` takes (taking it twice is fine);
    on SQLite the transaction's ``BEGIN IMMEDIATE`` holds the store's write lock already. Take it
    before reading what a write depends on (ids already stored), so two writers serialise.
    Events queued in the transaction (:func:`queue_event`) are appended first, after their rows.
    """
    if session.info.get(_QUEUE_KEY):
        _append_queued(session)
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(_PG_CHAIN_LOCK, {"k": _PG_LOCK_KEY})


def canonical_json(obj: Any) -> str:
    """Deterministic JSON: sorted keys, no spaces, UTF-8 kept."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _ts_text(ts: datetime) -> str:
    if ts.tzinfo is not None:
        ts = ts.astimezone(UTC).replace(tzinfo=None)
    return ts.isoformat(timespec="microseconds")


def event_hash(
    *, seq: int, ts: datetime, actor: str, action: str, entity: str, entity_id: str | None,
    payload: dict[str, Any], prev_hash: str,
) -> str:
    """The chained hash of one event."""
    body = canonical_json({
        "seq": seq, "ts": _ts_text(ts), "actor": actor, "action": action,
        "entity": entity, "entity_id": entity_id, "payload": payload,
    })
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


_HEAD_KEY = "assetgrade.audit_head"
_QUEUE_KEY = "assetgrade.audit_queue"
"""``session.info`` key: events queued in the transaction, each with the (nested) transaction it was queued in."""


@event.listens_for(Session, "after_transaction_end")
def _forget_head(session: Session, transaction: SessionTransaction) -> None:
    """A cached chain head lives for one transaction (savepoints included): a rollback may undo appends."""
    session.info.pop(_HEAD_KEY, None)
    if transaction.parent is None:  # the outermost one: a commit appended its queue, anything else drops it
        session.info.pop(_QUEUE_KEY, None)


@event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    """Events queued in a rolled-back savepoint record writes that are gone."""
    queued = session.info.get(_QUEUE_KEY)
    if not queued:
        return

    def inside(t: SessionTransaction | None) -> bool:
        while t is not None:
            if t is previous_transaction:
                return True
            t = t.parent
        return False

    session.info[_QUEUE_KEY] = [(t, values) for t, values in queued if not inside(t)]


@event.listens_for(Session, "before_commit")
def _append_at_commit(session: Session) -> None:
    if session.info.get(_QUEUE_KEY):
        _append_queued(session)


def queue_event(
    session: Session, *, actor: str, action: str, entity: str, entity_id: str | None,
    payload: dict[str, Any] | None = None,
) -> None:
    """Record an event that is appended when the transaction next takes the chain lock, else when it commits.

    For writes of asset rows and of rows another writer may insert under the same key (an asset,
    evidence and the version raise it brings, a label): their rows go in first and the chain lock
    comes after them, as store.md's PostgreSQL lock order wants, however many of them one
    transaction holds. Appending at once (:func:`append_event`) took the lock at the first write,
    so the next write's asset row came after it. Events keep the order of the calls: queued ones
    are appended before any later event of the transaction, and dropped with a rollback.
    """
    body = jsonable(json.loads(canonical_json(payload or {})))  # a copy, as it is now
    where = session.get_nested_transaction() or session.get_transaction()
    values = {"actor": actor, "action": action, "entity": entity, "entity_id": entity_id, "payload": body}
    session.info.setdefault(_QUEUE_KEY, []).append((where, values))


def _append_queued(session: Session) -> None:
    queued = session.info.pop(_QUEUE_KEY, None)
    if not queued:
        return
    session.flush()  # the rows these events record, before the chain lock
    _append_all(session, [values for _where, values in queued])


def append_event(
    session: Session, *, actor: str, action: str, entity: str, entity_id: str | None,
    payload: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event in the caller's transaction (it commits or rolls back with the write it records).

    The row is inserted at once with a Core statement on the session's connection (no ORM flush);
    the returned object is a transient copy. The chain head is read once per transaction and then
    carried in ``session.info``: the
    transaction holds the store's write lock (SQLite ``BEGIN IMMEDIATE``, PostgreSQL advisory
    lock), so no other writer can append until it ends, and the cache is dropped when it does.
    Events queued before it (:func:`queue_event`) are appended first.
    """
    if session.info.get(_QUEUE_KEY):
        _append_queued(session)
    (values,) = _append_all(session, [{"actor": actor, "action": action, "entity": entity, "entity_id": entity_id,
                                       "payload": payload}])
    return AuditEvent(**values)  # transient: the row is already written


def _append_all(session: Session, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Chain ``events`` (actor, action, entity, entity_id, payload each) after the head, in order, and insert them with
    one statement; the rows' values. A queue of thousands (``ingest --supersede``: an event per withdrawn item) is one
    insert, not one each."""
    conn = session.connection()  # the transaction's connection: no ORM flush, no unit of work
    head = session.info.get(_HEAD_KEY)
    if head is None:
        lock_chain(session)
        last = conn.execute(
            select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
        ).first()
        head = (0, GENESIS_HASH) if last is None else (int(last[0]), str(last[1]))
    seq, prev = head
    rows: list[dict[str, Any]] = []
    for ev in events:
        seq += 1
        ts = utcnow()
        body = jsonable(json.loads(canonical_json(ev["payload"] or {})))  # hashed as stored: NaN is stored as null
        h = event_hash(seq=seq, ts=ts, actor=ev["actor"], action=ev["action"], entity=ev["entity"],
                       entity_id=ev["entity_id"], payload=body, prev_hash=prev)
        rows.append({"seq": seq, "ts": ts, "actor": ev["actor"], "action": ev["action"], "entity": ev["entity"],
                     "entity_id": ev["entity_id"], "payload": body, "prev_hash": prev, "hash": h})
        prev = h
    conn.execute(insert(AuditEvent), rows)
    session.info[_HEAD_KEY] = (seq, prev)
    return rows


@dataclass(frozen=True)
class ChainReport:
    """The outcome of :func:`verify_chain`.

    Examples
    --------
    >>> ChainReport(ok=True, n_events=0).first_bad_seq is None
    True
    """

    ok: bool
    n_events: int
    """Stored events, all of them, also when the chain breaks before the last."""
    first_bad_seq: int | None = None
    reason: str | None = None


@dataclass(frozen=True)
class EventRow:
    """One stored audit event as read back, tolerating a damaged row: ``problem`` says what could not be read.

    A row whose payload is not JSON or whose time is not a timestamp (edited with plain SQL)
    has ``problem`` set and that field None; every other field is as stored.

    Examples
    --------
    >>> EventRow(7, None, "x", "asset.add", "asset", "a1", {}, "0" * 64, "1" * 64, "ts 'soon' is not a time").ok
    False
    """

    seq: int
    ts: datetime | None
    actor: str
    action: str
    entity: str
    entity_id: str | None
    payload: Any
    prev_hash: str
    hash: str
    problem: str | None = None

    @property
    def ok(self) -> bool:
        """Whether every field could be read."""
        return self.problem is None


_RAW_COLUMNS = (AuditEvent.seq, type_coerce(AuditEvent.ts, String), AuditEvent.actor, AuditEvent.action,
                AuditEvent.entity, AuditEvent.entity_id, type_coerce(AuditEvent.payload, String),
                AuditEvent.prev_hash, AuditEvent.hash)


def _short(raw: Any) -> str:
    text_ = repr(raw)
    return text_ if len(text_) <= 60 else text_[:57] + "..."


def read_events(
    session: Session, *, entity: str | None = None, entity_id: str | None = None, action: str | None = None,
    actor: str | None = None, after_seq: int = 0, limit: int | None = None,
) -> Iterator[EventRow]:
    """Events in chain order, filtered as :func:`list_events`, decoded per row so one damaged row cannot abort."""
    if session.info.get(_QUEUE_KEY):
        _append_queued(session)  # the transaction's own queued events are part of the chain it reads
    dialect = session.get_bind().dialect
    cols = AuditEvent.__table__.c
    decode = {name: cols[name].type.dialect_impl(dialect).result_processor(dialect, None) for name in ("ts", "payload")}
    q = select(*_RAW_COLUMNS).where(AuditEvent.seq > after_seq).order_by(AuditEvent.seq)
    if entity is not None:
        q = q.where(AuditEvent.entity == entity)
    if entity_id is not None:
        q = q.where(AuditEvent.entity_id == entity_id)
    if action is not None:
        q = q.where(AuditEvent.action == action)
    if actor is not None:
        q = q.where(AuditEvent.actor == actor)
    if limit is not None:
        q = q.limit(limit)
    for row in session.execute(q):
        raw_ts, raw_payload = row[1], row[6]
        problems: list[str] = []
        try:
            value = decode["ts"](raw_ts) if decode["ts"] is not None and isinstance(raw_ts, str) else raw_ts
        except (ValueError, TypeError):
            value = None
        ts = value if isinstance(value, datetime) else None
        if ts is None:
            problems.append(f"ts {_short(raw_ts)} is not a timestamp")
        try:
            payload = (decode["payload"](raw_payload) if decode["payload"] is not None and isinstance(raw_payload, str)
                       else raw_payload)
        except (ValueError, TypeError):
            payload = None
            problems.append(f"payload {_short(raw_payload)} is not JSON")
        yield EventRow(int(row[0]), ts, row[2], row[3], row[4], row[5], payload, row[7], row[8],
                       "; ".join(problems) or None)


def verify_chain(session: Session) -> ChainReport:
    """Recompute the chain; report the first event that was edited, deleted, reordered or is unreadable.

    ``n_events`` counts every stored event, also past a break (the rest are counted, not checked).
    """
    prev = GENESIS_HASH
    expected_seq = 1
    n = 0
    broken: tuple[int, str] | None = None
    for ev in read_events(session):
        n += 1
        if broken is not None:
            continue
        if ev.seq != expected_seq:
            broken = (expected_seq, f"event {expected_seq} is missing (next is {ev.seq})")
        elif ev.ts is None or ev.problem is not None:
            broken = (ev.seq, f"unreadable row: {ev.problem}")
        elif ev.prev_hash != prev:
            broken = (ev.seq, "prev_hash does not match the previous event's hash")
        elif event_hash(seq=ev.seq, ts=ev.ts, actor=ev.actor, action=ev.action, entity=ev.entity,
                        entity_id=ev.entity_id, payload=ev.payload, prev_hash=ev.prev_hash) != ev.hash:
            broken = (ev.seq, "content does not match its hash (edited)")
        else:
            prev = ev.hash
            expected_seq += 1
    if broken is not None:
        return ChainReport(False, n, broken[0], broken[1])
    return ChainReport(True, n)


def chain_head(session: Session) -> tuple[int, str] | None:
    """(seq, hash) of the newest event: record it elsewhere to detect a truncated tail later."""
    if session.info.get(_QUEUE_KEY):
        _append_queued(session)
    row = session.execute(select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)).first()
    return None if row is None else (int(row[0]), str(row[1]))


def list_events(
    session: Session, *, entity: str | None = None, entity_id: str | None = None, action: str | None = None,
    actor: str | None = None, after_seq: int = 0, limit: int = 100,
) -> list[AuditEvent]:
    """Events in chain order, filtered, from ``after_seq`` on (for paging); transient copies of the rows.

    Raises :class:`~assetgrade.errors.StoreError` naming the event when a row cannot be read
    (payload not JSON, time not a timestamp); :func:`read_events` reads past such rows.
    """
    out: list[AuditEvent] = []
    for ev in read_events(session, entity=entity, entity_id=entity_id, action=action, actor=actor,
                          after_seq=after_seq, limit=limit):
        if ev.problem is not None:
            raise StoreError(f"audit event {ev.seq} is unreadable: {ev.problem} (see assetgrade audit verify)")
        out.append(AuditEvent(seq=ev.seq, ts=ev.ts, actor=ev.actor, action=ev.action, entity=ev.entity,
                              entity_id=ev.entity_id, payload=ev.payload, prev_hash=ev.prev_hash, hash=ev.hash))
    return out

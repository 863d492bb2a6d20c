"""Queued audit events are appended with one insert (``ingest --supersede`` queues one per withdrawn item), chained in
the order they were queued, before an event appended at once; the chain verifies, on SQLite and PostgreSQL."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from sqlalchemy import event, select

from assetgrade.store import verify_chain
from assetgrade.store.audit import append_event, event_hash, queue_event
from assetgrade.store.schema import AuditEvent
from assetgrade.workspace import Workspace


def test_a_queue_is_one_insert_chained_in_order(store_ws: Workspace) -> None:
    inserts: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO AUDIT_EVENTS"):
            inserts.append(statement)

    engine = store_ws.engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        with store_ws.session() as s:
            for k in range(40):
                queue_event(s, actor="ana", action="evidence.withdraw", entity="evidence", entity_id=f"ev-{k}",
                            payload={"n": k, "nan": float("nan")})
            append_event(s, actor="bo", action="ingest.rows", entity="ingest_batch", entity_id="b1", payload={})
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert len(inserts) == 2  # the queue, then the event appended at once
    with store_ws.session(readonly=True) as s:
        rows = list(s.execute(select(AuditEvent).order_by(AuditEvent.seq)).scalars())
        assert verify_chain(s).ok
    assert [r.entity_id for r in rows] == [f"ev-{k}" for k in range(40)] + ["b1"]
    assert [r.seq for r in rows] == list(range(1, 42))
    assert rows[0].payload == {"n": 0, "nan": None}
    for before, row in pairwise(rows):
        assert row.prev_hash == before.hash
        assert row.hash == event_hash(seq=row.seq, ts=row.ts, actor=row.actor, action=row.action, entity=row.entity,
                                      entity_id=row.entity_id, payload=row.payload, prev_hash=row.prev_hash)

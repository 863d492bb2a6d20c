"""``withdraw_in_turn`` (the bulk withdrawal ``ingest --supersede`` makes for a row group) stores what one
``withdraw_evidence`` call per item, in turn, stores: the same withdrawal rows and reasons, the same asset versions
(one raise per item), the same audit events in the same order with the same payloads. Both run on one store, each in
a transaction that is read and then rolled back, on SQLite and on PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from assetgrade.errors import NotFoundError, ValidationError
from assetgrade.store import add_asset, add_evidence, verify_chain
from assetgrade.store.audit import lock_chain
from assetgrade.store.schema import Asset, AuditEvent, EvidenceWithdrawal
from assetgrade.store.withdrawals import (
    WithdrawalReport,
    reinstate_evidence,
    withdraw_evidence,
    withdraw_in_turn,
)
from assetgrade.workspace import Workspace

# a2 twice (the second finds it withdrawn by the first), b2 withdrawn before, c1 withdrawn and reinstated before
# (withdrawn again: its n is 2), three items of pump-a (its version goes up by three), one of pump-c
ITEMS = [("a2", "superseded by a2-v2"), ("b1", "superseded by b1-v2"), ("a1", "superseded by a1-v2"),
         ("b2", "superseded by b2-v2"), ("a2", "superseded by a2-v3"), ("c1", "superseded by c1-v2"),
         ("a3", "superseded by a3-v2")]


def _logs(s: Session, asset: str, ids: list[str]) -> None:
    add_asset(s, asset, asset_type="pump")
    for i in ids:
        add_evidence(s, asset_id=asset, kind="log", sha256=i.ljust(64, "0"), text=f"entry {i}", evidence_id=i)


@pytest.fixture
def ws(store_ws: Workspace) -> Workspace:
    with store_ws.session() as s:
        _logs(s, "pump-a", ["a1", "a2", "a3"])
        _logs(s, "pump-b", ["b1", "b2"])
        _logs(s, "pump-c", ["c1"])
        _logs(s, "pump-d", ["d1"])
    withdraw_evidence(store_ws, ["b2"], reason="another pump's", by="ana")
    withdraw_evidence(store_ws, ["c1"], reason="looked wrong", by="ana")
    reinstate_evidence(store_ws, ["c1"], reason="it was right", by="bo")
    return store_ws


def _per_item(s: Session, items: list[tuple[str, str]], *, by: str, actor: str) -> WithdrawalReport:
    """What ingest --supersede did before the bulk form: one withdraw_evidence call per item, in turn."""
    out = WithdrawalReport()
    for i, reason in items:
        rep = withdraw_evidence(s, [i], reason=reason, by=by, actor=actor)
        out.withdrawn += rep.withdrawn
        out.already += rep.already
        out.asset_versions.update(rep.asset_versions)
    return out


def _written(ws: Workspace, write: Any, *, setup: Any = None) -> tuple[Any, ...]:
    """Run ``write(session)`` in a transaction, read what the store then holds, and roll it back."""
    with ws.session() as s:
        start = s.execute(select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).limit(1)).scalar_one()
        if setup is not None:
            setup(s)
        rep = write(s)
        lock_chain(s)  # the queued events are appended
        rows = sorted(s.execute(select(EvidenceWithdrawal.evidence_id, EvidenceWithdrawal.n, EvidenceWithdrawal.reason,
                                       EvidenceWithdrawal.withdrawn_by)).tuples())
        versions = dict(s.execute(select(Asset.id, Asset.version)).tuples().all())
        events = [(e.seq, e.actor, e.action, e.entity, e.entity_id, e.payload) for e in s.execute(
            select(AuditEvent).where(AuditEvent.seq > start).order_by(AuditEvent.seq)).scalars()]
        assert verify_chain(s).ok
        s.rollback()
    said = ([(w.evidence_id, w.reason, w.by) for w in rep.withdrawn], [(w.evidence_id, w.reason) for w in rep.already],
            rep.asset_versions)
    return said, rows, versions, events


def test_the_bulk_form_stores_what_a_call_per_item_stores(ws: Workspace) -> None:
    bulk = _written(ws, lambda s: withdraw_in_turn(s, ITEMS, by="ingest", actor="ingest-bot"))
    each = _written(ws, lambda s: _per_item(s, ITEMS, by="ingest", actor="ingest-bot"))
    assert bulk == each
    said, rows, versions, events = bulk
    assert said[0] == [("a2", "superseded by a2-v2", "ingest"), ("b1", "superseded by b1-v2", "ingest"),
                       ("a1", "superseded by a1-v2", "ingest"), ("c1", "superseded by c1-v2", "ingest"),
                       ("a3", "superseded by a3-v2", "ingest")]
    assert said[1] == [("b2", "another pump's"), ("a2", "superseded by a2-v2")]
    assert ("c1", 2, "superseded by c1-v2", "ingest") in rows
    assert said[2] == {"pump-a": 4, "pump-b": 3, "pump-c": 4}  # a: 1 + 3; b: 1 + 1 (b2) + 1; c: 1 + 2 + 1
    assert {a: versions[a] for a in said[2]} == said[2] and versions["pump-d"] == 1
    assert [(e[4], e[5]["asset_version"], e[1]) for e in events] == [
        ("a2", 2, "ingest-bot"), ("b1", 3, "ingest-bot"), ("a1", 3, "ingest-bot"), ("c1", 4, "ingest-bot"),
        ("a3", 4, "ingest-bot")]
    with ws.session() as s:  # both were rolled back
        assert s.execute(select(Asset.version).where(Asset.id == "pump-a")).scalar_one() == 1


def test_assets_added_in_the_transaction_keep_version_one_as_with_a_call_per_item(ws: Workspace) -> None:
    items = [("e1", "wrong pump"), ("a1", "wrong pump"), ("e2", "wrong pump")]
    bulk = _written(ws, lambda s: withdraw_in_turn(s, items, by="ana"),
                    setup=lambda s: _logs(s, "pump-e", ["e1", "e2"]))
    each = _written(ws, lambda s: _per_item(s, items, by="ana", actor="ana"),
                    setup=lambda s: _logs(s, "pump-e", ["e1", "e2"]))
    assert bulk == each
    assert bulk[0][2] == {"pump-e": 1, "pump-a": 2}
    assert [e[5]["asset_version"] for e in bulk[3] if e[2] == "evidence.withdraw"] == [1, 2, 1]


def test_nothing_is_written_when_an_id_is_unknown_or_a_reason_refused(ws: Workspace) -> None:
    with ws.session() as s, pytest.raises(NotFoundError) as err:
        withdraw_in_turn(s, [("a1", "r"), ("nope-1", "r"), ("b1", "r"), ("nope-2", "r")], by="ana")
    assert str(err.value) == "evidence not found: 'nope-1', 'nope-2'; nothing was withdrawn"
    with ws.session() as s, pytest.raises(ValidationError, match="reason"):
        withdraw_in_turn(s, [("a1", "fine"), ("b1", "two\nlines")], by="ana")
    with ws.session() as s:
        assert s.execute(select(EvidenceWithdrawal.evidence_id)).scalars().all() == ["b2", "c1"]
        assert withdraw_in_turn(s, [], by="ana") == WithdrawalReport()

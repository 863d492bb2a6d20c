"""The audit chain: every write appends an event; edits, deletions and reordering are found at the right seq."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import delete, select, update

from assetgrade.store import add_asset, add_label, verify_chain
from assetgrade.store.audit import append_event, chain_head, list_events
from assetgrade.store.schema import AuditEvent
from assetgrade.workspace import Workspace

from .conftest import _PG, PG_ENV


def _fill(ws: Workspace) -> None:
    with ws.session() as s:
        for i in range(4):
            add_asset(s, f"a{i}", asset_type="pump")
        add_label(s, asset_id="a0", kind="grade", value="B")


def test_chain_verifies_and_records_each_write(ws: Workspace) -> None:
    _fill(ws)
    with ws.session(readonly=True) as s:
        rep = verify_chain(s)
        assert rep.ok and rep.n_events == 5
        actions = [e.action for e in s.execute(select(AuditEvent).order_by(AuditEvent.seq)).scalars()]
    assert actions == ["asset.add"] * 4 + ["label.add"]


def test_edited_event_is_found(ws: Workspace) -> None:
    _fill(ws)
    with ws.session() as s:
        s.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(payload={"asset_type": "forged"}))
    with ws.session(readonly=True) as s:
        rep = verify_chain(s)
    assert not rep.ok and rep.first_bad_seq == 3 and "edited" in (rep.reason or "")
    assert rep.n_events == 5  # every stored event, not the 3 read up to the break


def test_deleted_event_is_found(ws: Workspace) -> None:
    _fill(ws)
    with ws.session() as s:
        s.execute(delete(AuditEvent).where(AuditEvent.seq == 2))
    with ws.session(readonly=True) as s:
        rep = verify_chain(s)
    assert not rep.ok and rep.first_bad_seq == 2 and rep.n_events == 4


def test_reordered_events_are_found(ws: Workspace) -> None:
    _fill(ws)
    with ws.session() as s:
        e2, e3 = (s.get(AuditEvent, 2), s.get(AuditEvent, 3))
        assert e2 is not None and e3 is not None
        a, b = dict(e2.payload), dict(e3.payload)
        ids = (e2.entity_id, e3.entity_id)
        e2.payload, e3.payload = b, a
        e2.entity_id, e3.entity_id = ids[1], ids[0]
    with ws.session(readonly=True) as s:
        rep = verify_chain(s)
    assert not rep.ok and rep.first_bad_seq == 2


def test_append_continues_the_chain(ws: Workspace) -> None:
    with ws.session() as s:
        e1 = append_event(s, actor="t", action="x", entity="y", entity_id=None, payload={"k": [1, 2.5, "ü"]})
        e2 = append_event(s, actor="t", action="x", entity="y", entity_id="z")
        assert e2.prev_hash == e1.hash and e2.seq == e1.seq + 1
    with ws.session(readonly=True) as s:
        assert verify_chain(s).ok


def test_head_and_listing(ws: Workspace) -> None:
    with ws.session(readonly=True) as s:
        assert chain_head(s) is None
    _fill(ws)
    with ws.session(readonly=True) as s:
        head = chain_head(s)
        assert head is not None and head[0] == 5
        assert [e.entity_id for e in list_events(s, entity="asset", after_seq=1, limit=2)] == ["a1", "a2"]
        assert [e.seq for e in list_events(s, action="label.add")] == [5]


@pytest.fixture
def two_schema_stores(tmp_path: Path) -> Iterator[tuple[Workspace, Workspace]]:
    """Two stores in two schemas of the PostgreSQL test database (skipped without a server)."""
    if _PG is None:
        pytest.skip(f"no PostgreSQL server answers: set {PG_ENV}")
    engine = sa.create_engine(_PG)
    with engine.begin() as conn:
        base = conn.execute(sa.text("select current_schema()")).scalar_one()
        names = [f"{base}_a", f"{base}_b"]
        for n in names:
            conn.execute(sa.text(f'create schema "{n}"'))
    url = sa.engine.make_url(_PG)
    stores = [Workspace.init(tmp_path / n, store_url=url.update_query_dict({"options": f"-csearch_path={n}"})
                             .render_as_string(hide_password=False)) for n in names]
    yield stores[0], stores[1]
    for w in stores:
        w.close()
    with engine.begin() as conn:
        for n in names:
            conn.execute(sa.text(f'drop schema "{n}" cascade'))
    engine.dispose()


def test_stores_in_two_schemas_do_not_wait_for_each_others_chain(
        two_schema_stores: tuple[Workspace, Workspace]) -> None:
    a, b = two_schema_stores
    with a.session() as holding:  # an open write to store a holds a's chain lock until it commits
        append_event(holding, actor="t", action="x", entity="e", entity_id="1")
        with b.session() as s:  # store b appends at once
            s.execute(sa.text("SET LOCAL lock_timeout = '5s'"))
            append_event(s, actor="t", action="x", entity="e", entity_id="2")
        with pytest.raises(sa.exc.OperationalError, match="lock timeout"), a.session() as s:
            s.execute(sa.text("SET LOCAL lock_timeout = '300ms'"))  # a second writer to a waits for the first
            append_event(s, actor="t", action="x", entity="e", entity_id="3")
    for w, n in ((a, 1), (b, 1)):
        with w.session() as s:
            assert verify_chain(s).ok and chain_head(s)[0] == n

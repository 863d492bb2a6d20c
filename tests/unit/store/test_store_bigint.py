"""The store's counters are 64-bit: audit event numbers, telemetry record ids and asset versions pass 2^31.

They were PostgreSQL ``integer`` columns (migrations 0001/0002), so a store stopped at 2,147,483,647 audit events
or telemetry records ("integer out of range"); migration 0007 widens them to ``bigint`` (a no-op on SQLite, whose
INTEGER is 64-bit). These tests bring a populated store at 0006 up to head on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.orm import Session
from tests.pg import PG_ENV, pg_url, reset_pg

from assetgrade.store import add_asset, add_review, append_event, read_events, verify_chain
from assetgrade.store.auth_schema import TelemetryRecord
from assetgrade.store.engine import head_revision, make_engine, upgrade
from assetgrade.store.schema import Asset, AuditEvent, Base, utcnow

_PG = pg_url()
BEFORE = "0006"
"""The last revision with 32-bit counters."""
BIG = 2**31 + 5
"""Beyond PostgreSQL's ``integer`` (2,147,483,647)."""


def _engine(kind: str, path: Path) -> sa.Engine:
    if kind == "postgresql":
        if _PG is None:
            pytest.skip(f"no PostgreSQL server answers: set {PG_ENV}")
        reset_pg(_PG)
        return make_engine(_PG)
    return make_engine(f"sqlite:///{path}")


@pytest.fixture(params=["sqlite", "postgresql"])
def old(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    """An empty store at revision 0006 (32-bit counters on PostgreSQL)."""
    engine = _engine(request.param, tmp_path / "old.db")
    assert upgrade(engine, BEFORE) == BEFORE
    yield engine
    engine.dispose()
    if request.param == "postgresql" and _PG is not None:
        reset_pg(_PG)


def _rows(engine: sa.Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the three tables whose counters widen, in key order."""
    with engine.connect() as conn:
        return {
            "assets": [tuple(r) for r in conn.execute(sa.select(Asset.id, Asset.version).order_by(Asset.id))],
            "audit": [tuple(r) for r in conn.execute(sa.select(
                AuditEvent.seq, AuditEvent.action, AuditEvent.prev_hash, AuditEvent.hash).order_by(AuditEvent.seq))],
            "telemetry": [tuple(r) for r in conn.execute(sa.select(
                TelemetryRecord.id, TelemetryRecord.station, TelemetryRecord.payload).order_by(TelemetryRecord.id))],
        }


def _fill(engine: sa.Engine) -> None:
    """Assets (one reviewed, version 2), their audit events and three telemetry records, written at 0006."""
    with Session(engine) as s:
        add_asset(s, "pump-1", asset_type="pump")
        add_asset(s, "pump-2", asset_type="pump")
        s.add_all([TelemetryRecord(station="edge-1", kind="prediction", payload={"grade": g}) for g in "ABC"])
        s.commit()
    with Session(engine) as s:
        add_review(s, "pump-1", reviewer="ana", expected_version=1, grade="B")
        s.commit()


def _raw_event(seq: int) -> dict[str, Any]:
    return {"seq": seq, "ts": utcnow(), "actor": "test", "action": "test.far", "entity": "test",
            "entity_id": None, "payload": {}, "prev_hash": "0" * 64, "hash": f"{seq:064x}"}


def test_a_populated_store_keeps_its_rows_and_its_counters_pass_2_to_the_31(old: sa.Engine) -> None:
    _fill(old)
    before = _rows(old)
    assert before["assets"] == [("pump-1", 2), ("pump-2", 1)] and len(before["audit"]) >= 4
    assert [r[0] for r in before["telemetry"]] == [1, 2, 3]
    if old.dialect.name == "postgresql":  # what 0007 fixes: PostgreSQL's integer stops at 2^31 - 1
        with pytest.raises(sa.exc.DataError, match="out of range"), old.begin() as conn:
            conn.execute(sa.insert(AuditEvent), _raw_event(BIG))

    assert upgrade(old) == head_revision()

    assert _rows(old) == before  # every row as it was
    with Session(old) as s:
        assert verify_chain(s).ok
    with old.connect() as conn:  # and the migrated schema is the ORM's, types included
        assert compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata) == []

    # an asset version beyond 2^31: a review against it raises it by one
    with old.begin() as conn:
        conn.execute(sa.update(Asset).where(Asset.id == "pump-2").values(version=BIG))
    with Session(old) as s:
        add_review(s, "pump-2", reviewer="ana", expected_version=BIG, grade="A")
        s.commit()
    # an audit event numbered beyond 2^31 (a far chain head): the next append follows it, and paging finds both
    with old.begin() as conn:
        conn.execute(sa.insert(AuditEvent), _raw_event(BIG))
    with Session(old) as s:
        append_event(s, actor="test", action="test.next", entity="test", entity_id=None)
        s.commit()
    # a telemetry id beyond 2^31: the id generator (PostgreSQL's sequence, SQLite's rowid) carries on after it
    with old.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT setval(pg_get_serial_sequence('telemetry', 'id'), :v)"), {"v": BIG - 1})
        else:
            conn.execute(sa.insert(TelemetryRecord), {"id": BIG - 1, "station": "edge-1", "kind": "features",
                                                      "payload": {}, "received_at": utcnow()})
    with Session(old) as s:
        s.add_all([TelemetryRecord(station="edge-2", kind="features", payload={"n": i}) for i in range(2)])
        s.commit()

    with Session(old) as s:
        assert s.execute(sa.select(Asset.version).where(Asset.id == "pump-2")).scalar_one() == BIG + 1
        far = list(read_events(s, after_seq=2**31))
        assert [(e.seq, e.action) for e in far] == [(BIG, "test.far"), (BIG + 1, "test.next")]
        assert far[1].prev_hash == f"{BIG:064x}"
        ids = s.execute(sa.select(TelemetryRecord.id).where(TelemetryRecord.station == "edge-2")
                        .order_by(TelemetryRecord.id)).scalars().all()
        assert ids == [BIG, BIG + 1]
        assert s.get(TelemetryRecord, BIG) is not None and s.get(AuditEvent, BIG + 1) is not None


def test_an_upgrade_from_an_empty_0006_store_reaches_head_and_stays_there(old: sa.Engine) -> None:
    assert upgrade(old) == head_revision()
    assert upgrade(old) == head_revision()  # again: nothing to do
    assert _rows(old) == {"assets": [], "audit": [], "telemetry": []}


def _shape(engine: sa.Engine) -> dict[str, Any]:
    """Each table's columns (type, nullable) and, on PostgreSQL, each sequence's type and maximum."""
    insp = sa.inspect(engine)
    shape: dict[str, Any] = {
        f"{t}.{c['name']}": (str(c["type"]), c["nullable"])
        for t in sorted(Base.metadata.tables) if insp.has_table(t)  # tables of later migrations are not there yet
        for c in insp.get_columns(t)
    }
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            for name, data_type, maximum in conn.execute(sa.text(
                    "SELECT sequencename, data_type::text, max_value FROM pg_sequences"
                    " WHERE schemaname = current_schema() ORDER BY sequencename")):
                shape[f"sequence {name}"] = (data_type, maximum)
    return shape


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_the_schema_reached_by_migrating_is_the_one_created_fresh(kind: str, tmp_path: Path) -> None:
    migrated = _engine(kind, tmp_path / "migrated.db")
    try:
        upgrade(migrated)
        by_migrations = _shape(migrated)
    finally:
        migrated.dispose()
    fresh = _engine(kind, tmp_path / "fresh.db")
    try:
        Base.metadata.create_all(fresh)
        created = _shape(fresh)
    finally:
        fresh.dispose()
        if kind == "postgresql" and _PG is not None:
            reset_pg(_PG)
    assert by_migrations == created
    big = "BIGINT" if kind == "postgresql" else "INTEGER"
    for column in ("audit_events.seq", "telemetry.id", "assets.version"):
        assert by_migrations[column][0] == big, column
    if kind == "postgresql":
        assert by_migrations["sequence telemetry_id_seq"] == ("bigint", 2**63 - 1)


def test_a_downgrade_to_0006_keeps_the_rows_and_refuses_once_a_counter_is_beyond_2_to_the_31(old: sa.Engine) -> None:
    from alembic import command

    from assetgrade.store.engine import _alembic_config, current_revision

    _fill(old)
    before = _rows(old)
    assert upgrade(old) == head_revision()
    command.downgrade(_alembic_config(old), BEFORE)
    assert current_revision(old) == BEFORE and _rows(old) == before
    if old.dialect.name == "postgresql":
        shape = _shape(old)
        assert [shape[c][0] for c in ("audit_events.seq", "telemetry.id", "assets.version")] == ["INTEGER"] * 3
        assert shape["sequence telemetry_id_seq"] == ("integer", 2**31 - 1)
    assert upgrade(old) == head_revision()
    with old.begin() as conn:
        conn.execute(sa.update(Asset).where(Asset.id == "pump-2").values(version=BIG))
    if old.dialect.name == "postgresql":  # integer cannot hold it: the downgrade fails whole
        with pytest.raises(sa.exc.DataError, match="out of range"):
            command.downgrade(_alembic_config(old), BEFORE)
        assert current_revision(old) == head_revision()
        with old.connect() as conn:
            assert conn.execute(sa.select(Asset.version).where(Asset.id == "pump-2")).scalar_one() == BIG

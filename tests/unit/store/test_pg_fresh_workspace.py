"""tests/pg.fresh_pg_workspace: a PostgreSQL store emptied instead of migrated again is the store a fresh migration
gives (no rows, identities from 1), and a schema a test changed is dropped and migrated again."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from tests import pg

from assetgrade.store.audit import append_event
from assetgrade.store.repository import add_asset

_PG = pg.pg_url()
pytestmark = pytest.mark.skipif(_PG is None, reason=f"no PostgreSQL server answers: set {pg.PG_ENV}")


def _tables(url: str) -> dict[str, int]:
    """Row counts by table of the current schema."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            names = [str(r[0]) for r in conn.execute(sa.text(
                "select tablename from pg_tables where schemaname = current_schema()"))]
            return {n: int(conn.execute(sa.text(f'select count(*) from "{n}"')).scalar_one()) for n in names}
    finally:
        engine.dispose()


def _digest(url: str) -> str:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return pg._schema_state(conn)[0]
    finally:
        engine.dispose()


def test_an_emptied_store_is_the_store_a_fresh_migration_gives(tmp_path: Path) -> None:
    assert _PG is not None
    pg.reset_pg(_PG)
    pg._migrated.pop(_PG, None)
    ws = pg.fresh_pg_workspace(tmp_path / "a", _PG)  # migrated from nothing
    migrated, digest = _tables(_PG), _digest(_PG)
    with ws.session() as s:
        add_asset(s, "pump-1", asset_type="pump")
        append_event(s, actor="test", action="probe", entity="asset", entity_id="pump-1")
    ws.close()
    assert _tables(_PG) != migrated
    ws = pg.fresh_pg_workspace(tmp_path / "b", _PG)  # emptied, not migrated again
    try:
        assert _tables(_PG) == migrated and _digest(_PG) == digest and pg._migrated[_PG] == digest
        with ws.session() as s:  # identities start again where a fresh store starts them
            append_event(s, actor="test", action="probe", entity="asset", entity_id="pump-1")
        with ws.engine.connect() as conn:
            seqs = conn.execute(sa.text(
                "select sequencename, last_value from pg_sequences where schemaname = current_schema()")).all()
        assert seqs and all(last in (None, 1) for _, last in seqs), seqs
    finally:
        ws.close()
        pg.empty_pg(_PG)


@pytest.mark.parametrize("ddl", ["alter table assets add column extra int",
                                 "create index ix_probe on assets (asset_type)",
                                 "alter table assets alter column version set default 7",
                                 "update alembic_version set version_num = '0001'"])
def test_a_schema_a_test_changed_is_dropped_and_migrated_again(tmp_path: Path, ddl: str) -> None:
    assert _PG is not None
    ws = pg.fresh_pg_workspace(tmp_path / "a", _PG)
    digest = pg._migrated[_PG]
    with ws.engine.begin() as conn:
        conn.execute(sa.text(ddl))
    ws.close()
    pg.empty_pg(_PG)
    assert _tables(_PG) == {} and _PG not in pg._migrated  # dropped, nothing remembered
    ws = pg.fresh_pg_workspace(tmp_path / "b", _PG)
    ws.close()
    assert _digest(_PG) == digest == pg._migrated[_PG]  # migrated again: the schema a fresh store has

"""Alembic migrations create exactly the ORM schema; an old database is refused until upgraded."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from assetgrade.errors import StoreError
from assetgrade.store.engine import head_revision, make_engine, upgrade
from assetgrade.store.schema import Base
from assetgrade.workspace import Workspace


def test_migrations_match_orm_metadata(ws: Workspace) -> None:
    with ws.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []
    names = set(sa.inspect(ws.engine).get_table_names())
    assert set(Base.metadata.tables) <= names


def test_sqlite_pragmas(tmp_path: Path) -> None:
    w = Workspace.init(tmp_path / "w")
    with w.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000


def test_open_refuses_unmigrated_store_until_upgrade(tmp_path: Path) -> None:
    w = Workspace.init(tmp_path / "w")
    w.close()
    engine = make_engine(f"sqlite:///{tmp_path / 'w' / 'assetgrade.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = 'old'")
    engine.dispose()
    with pytest.raises(StoreError, match="db upgrade"):
        Workspace.open(tmp_path / "w")
    # a fresh empty database is brought to head by upgrade
    e2 = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    assert upgrade(e2) == head_revision()

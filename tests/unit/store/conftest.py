"""Store fixtures: a workspace on SQLite and, when a server answers, on PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from assetgrade.workspace import Workspace

PG_ENV = "ASSETGRADE_TEST_PG_URL"
PG_DEFAULT = "postgresql+psycopg://assetgrade:assetgrade@127.0.0.1:5432/assetgrade_test"


def pg_url() -> str | None:
    """The test PostgreSQL URL when a server answers, else None."""
    url = os.environ.get(PG_ENV, PG_DEFAULT)
    try:
        engine = sa.create_engine(url, connect_args={"connect_timeout": 2})
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
        engine.dispose()
    except Exception:
        return None
    return url


_PG = pg_url()


def reset_pg(url: str) -> None:
    """Drop every table so each test starts from an empty database."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        names = [r[0] for r in conn.execute(sa.text(
            "select tablename from pg_tables where schemaname = current_schema()"))]
        for n in names:
            conn.execute(sa.text(f'drop table if exists "{n}" cascade'))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def ws(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Workspace]:
    """A fresh workspace on SQLite and (when reachable) on PostgreSQL."""
    if request.param == "postgresql":
        if _PG is None:
            pytest.skip(f"no PostgreSQL server answers: set {PG_ENV} or start one at {PG_DEFAULT}")
        reset_pg(_PG)
        w = Workspace.init(tmp_path / "ws", store_url=_PG)
    else:
        w = Workspace.init(tmp_path / "ws")
    yield w
    w.close()

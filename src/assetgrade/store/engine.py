"""Database engines and migrations: SQLite (WAL, foreign keys, busy timeout, BEGIN IMMEDIATE) or PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.pool import NullPool, QueuePool

from assetgrade.errors import StoreError
from assetgrade.jsonsafe import jsonable

__all__ = ["current_revision", "head_revision", "json_dumps", "make_engine", "upgrade"]


def json_dumps(obj: Any) -> str:
    """How JSON columns are written: standard JSON, a NaN or infinite number stored as null.

    JSON has no NaN: Python would write the token ``NaN``, which PostgreSQL refuses and which
    makes SQLite's JSON functions fail on the whole column, so one bad value would break every
    query over it. Inputs that users send are refused before this (the REST API answers 422).

    >>> json_dumps({"a": float("nan"), "b": [1.5, float("inf")]})
    '{"a": null, "b": [1.5, null]}'
    """
    try:
        return json.dumps(obj, allow_nan=False)
    except ValueError:
        return json.dumps(jsonable(obj), allow_nan=False)


MIGRATIONS_DIR = Path(__file__).with_name("migrations")
BUSY_TIMEOUT_MS = 60_000


def make_engine(url: str, *, pool_size: int | None = None) -> Engine:
    """An engine for ``url``; SQLite gets WAL, foreign keys, a busy timeout and immediate write transactions.

    SQLite transactions start with ``BEGIN IMMEDIATE`` so that two processes writing at once
    queue on the busy timeout instead of failing on a lock upgrade; pass the execution option
    ``sqlite_begin="DEFERRED"`` for read-only work. SQLite connections are not pooled unless
    ``pool_size`` is given (a long-running service: reusing connections saves ~5 ms a session).
    """
    try:
        if url.startswith("sqlite") and pool_size:
            engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
                                   json_serializer=json_dumps, poolclass=QueuePool, pool_size=pool_size,
                                   max_overflow=2 * pool_size,
                                   pool_timeout=BUSY_TIMEOUT_MS / 1000)
            _sqlite_setup(engine)
            return engine
        if url.startswith("sqlite"):
            engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000}, poolclass=NullPool,
                                   json_serializer=json_dumps)
            _sqlite_setup(engine)
            return engine
        return create_engine(url, pool_pre_ping=True, json_serializer=json_dumps)
    except (ArgumentError, ImportError) as exc:
        raise StoreError(f"cannot use store URL {_safe(url)}: {exc}") from exc


def _safe(url: str) -> str:
    """The URL with any password masked."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        cred, host = rest.rsplit("@", 1)
        user = cred.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}"
    return url


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves below
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        conn.exec_driver_sql(f"BEGIN {mode}")


def _alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def head_revision() -> str:
    """The newest migration revision shipped with this package."""
    head = ScriptDirectory.from_config(_alembic_config(create_engine("sqlite://"))).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None: not initialised)."""
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    except OperationalError as exc:
        raise StoreError(f"cannot reach the store {_safe(str(engine.url))}: {exc.orig}") from exc


def upgrade(engine: Engine, revision: str = "head") -> str:
    """Run the Alembic migrations up to ``revision``; returns the revision reached."""
    try:
        command.upgrade(_alembic_config(engine), revision)
    except OperationalError as exc:
        raise StoreError(f"migration failed on {_safe(str(engine.url))}: {exc.orig}") from exc
    rev = current_revision(engine)
    assert rev is not None
    return rev

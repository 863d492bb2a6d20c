"""Database engines and migrations: SQLite (WAL, foreign keys, busy timeout, BEGIN IMMEDIATE) or PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError
from sqlalchemy.pool import NullPool, QueuePool

from assetgrade.errors import StoreError
from assetgrade.jsonsafe import jsonable

__all__ = ["current_revision", "head_revision", "is_known_revision", "json_dumps", "make_engine", "schema_mismatch",
           "upgrade"]


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


def is_known_revision(revision: str) -> bool:
    """Whether ``revision`` is one of the migrations shipped with this package (False: a newer release wrote it)."""
    script = ScriptDirectory.from_config(_alembic_config(create_engine("sqlite://")))
    try:
        return script.get_revision(revision) is not None
    except CommandError:  # alembic's ResolutionError is a CommandError
        return False


def schema_mismatch(revision: str, url: str, workspace: str) -> str:
    """What to do about a store at ``revision`` (not this package's head): upgrade the store, or assetgrade.

    >>> schema_mismatch("0001", "sqlite:///ws/assetgrade.db", "ws").endswith("run: assetgrade db upgrade -w ws")
    True
    >>> "newer assetgrade" in schema_mismatch("0999_future", "sqlite:///ws/assetgrade.db", "ws")
    True
    """
    if is_known_revision(revision):
        return (f"the store schema is at revision {revision}, this version needs {head_revision()}:"
                f" run: assetgrade db upgrade -w {workspace}")
    return (f"the store {_safe(url)} is at schema revision {revision!r}, which this assetgrade does not know (it"
            f" knows up to {head_revision()}): a newer assetgrade created or migrated it. Install that newer"
            " release to use this store; `assetgrade db upgrade` cannot help and an older release must not write it")


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None: not initialised)."""
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    except OperationalError as exc:
        raise StoreError(f"cannot reach the store {_safe(str(engine.url))}: {exc.orig}") from exc


def _revision_now(engine: Engine) -> str:
    """The revision a store is at, for an error message (``unknown`` when even that cannot be read)."""
    try:
        return str(current_revision(engine) or "none (empty)")
    except StoreError:
        return "unknown"


def upgrade(engine: Engine, revision: str = "head") -> str:
    """Run the Alembic migrations up to ``revision``; returns the revision reached.

    A store at a revision this package does not ship (written by a newer release) is refused with a
    StoreError saying so, before anything runs. A migration that fails is rolled back (PostgreSQL:
    the whole run; SQLite: that migration, the earlier ones of the run stay applied) and raises a
    StoreError naming the revision the store is left at.
    """
    url = str(engine.url)
    at = current_revision(engine)
    if at is not None and not is_known_revision(at):
        raise StoreError(schema_mismatch(at, url, "WORKSPACE"))
    try:
        command.upgrade(_alembic_config(engine), revision)
    except OperationalError as exc:
        raise StoreError(f"migration failed on {_safe(url)}, which stays at revision {_revision_now(engine)}:"
                         f" {exc.orig}") from exc
    except CommandError as exc:  # an unknown target revision, a store moved on meanwhile
        raise StoreError(f"migration failed on {_safe(url)}: {exc}") from exc
    except SQLAlchemyError as exc:  # a constraint or permission error in a migration: that migration is rolled back
        raise StoreError(f"migration failed on {_safe(url)}, which stays at revision {_revision_now(engine)}:"
                         f" {exc}") from exc
    rev = current_revision(engine)
    assert rev is not None
    return rev

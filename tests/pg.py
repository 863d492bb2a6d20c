"""The test PostgreSQL server: its URL when one answers, and an empty database per test."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import sqlalchemy as sa

PG_ENV = "ASSETGRADE_TEST_PG_URL"
PG_DEFAULT = "postgresql+psycopg://assetgrade:assetgrade@127.0.0.1:5432/assetgrade_test"


def pg_url(env: str = PG_ENV, default: str | None = PG_DEFAULT) -> str | None:
    """The URL in ``$env`` (else ``default``) when a server answers there within 2 s, else None."""
    url = os.environ.get(env, default)
    if not url:
        return None
    try:
        engine = sa.create_engine(url, connect_args={"connect_timeout": 2})
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
        engine.dispose()
    except Exception:
        return None
    return url


def reset_pg(url: str) -> None:
    """Drop every table of the current schema, so a test starts from an empty database."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        names = [r[0] for r in conn.execute(sa.text(
            "select tablename from pg_tables where schemaname = current_schema()"))]
        for n in names:
            conn.execute(sa.text(f'drop table if exists "{n}" cascade'))
    engine.dispose()


def someone_waits_for(url: str, backend: int) -> bool:
    """Whether another connection waits for a lock the backend ``backend`` holds."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return bool(conn.execute(sa.text(
                "select count(*) from pg_stat_activity where :b = any(pg_blocking_pids(pid))"),
                {"b": backend}).scalar_one())
    finally:
        engine.dispose()


def start_behind(url: str, session: Any, target: Callable[[], None],
                 timeout_s: float = 60.0) -> tuple[threading.Thread, bool]:
    """Start ``target`` in a thread while ``session`` holds an open transaction; return the thread and
    whether it came to wait for a lock that transaction holds (False: it ended first, or ``timeout_s`` passed)."""
    me = int(session.execute(sa.text("select pg_backend_pid()")).scalar_one())
    worker = threading.Thread(target=target)
    worker.start()
    deadline = time.monotonic() + timeout_s
    while worker.is_alive() and time.monotonic() < deadline:
        if someone_waits_for(url, me):
            return worker, True
        time.sleep(0.05)
    return worker, False


def run_behind(url: str, session: Any, target: Callable[[], Any],
               timeout_s: float = 30.0) -> tuple[threading.Thread, dict[str, Any], bool]:
    """:func:`start_behind` for a ``target`` whose result or exception the test reads afterwards.

    Returns the thread, a dict that gets ``"value"`` (what ``target`` returned) or ``"error"`` (what
    it raised) once the thread ends, and whether it came to wait for a lock ``session`` holds.
    """
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["value"] = target()
        except Exception as exc:  # handed to the test, which asserts on it
            out["error"] = exc

    worker, waits = start_behind(url, session, run, timeout_s=timeout_s)
    return worker, out, waits


def pg_workspace(tmp_path: Any, url: str) -> Iterator[Any]:
    """A workspace on an emptied PostgreSQL database at ``url``, emptied again afterwards (a fixture yields from it)."""
    from assetgrade.workspace import Workspace

    reset_pg(url)
    ws = Workspace.init(tmp_path / "ws", store_url=url)
    try:
        yield ws
    finally:
        ws.close()
        reset_pg(url)

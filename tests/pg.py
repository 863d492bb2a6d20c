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


_SCHEMA_FINGERPRINT = sa.text("""
with objects as (
  select c.oid, c.relname, c.relkind from pg_class c where c.relnamespace = current_schema()::regnamespace
)
select md5(coalesce(string_agg(item, E'\\n' order by item), '')) from (
  select concat_ws(' ', 'relation', relkind, relname, obj_description(oid, 'pg_class')) from objects
  union all
  select concat_ws(' ', 'column', o.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                   a.attidentity, a.attgenerated, pg_get_expr(d.adbin, d.adrelid), a.attcollation,
                   col_description(o.oid, a.attnum))
    from objects o join pg_attribute a on a.attrelid = o.oid
    left join pg_attrdef d on d.adrelid = o.oid and d.adnum = a.attnum
   where a.attnum > 0 and not a.attisdropped
  union all
  select concat_ws(' ', 'index', pg_get_indexdef(i.indexrelid)) from pg_index i join objects o on o.oid = i.indrelid
  union all
  select concat_ws(' ', 'constraint', o.relname, k.conname, pg_get_constraintdef(k.oid))
    from pg_constraint k join objects o on o.oid = k.conrelid
  union all
  select concat_ws(' ', 'trigger', pg_get_triggerdef(t.oid), t.tgenabled)
    from pg_trigger t join objects o on o.oid = t.tgrelid where not t.tgisinternal
  union all
  select concat_ws(' ', 'rule', r.rulename, pg_get_ruledef(r.oid))
    from pg_rewrite r join objects o on o.oid = r.ev_class
  union all
  select concat_ws(' ', 'policy', o.relname, p.polname) from pg_policy p join objects o on o.oid = p.polrelid
  union all
  select concat_ws(' ', 'sequence', s.sequencename, s.start_value, s.increment_by, s.min_value, s.max_value, s.cycle)
    from pg_sequences s where s.schemaname = current_schema()
  union all
  select concat_ws(' ', 'function', p.oid::regprocedure, md5(p.prosrc))
    from pg_proc p where p.pronamespace = current_schema()::regnamespace
  union all
  select concat_ws(' ', 'type', t.typname, t.typtype) from pg_type t
   where t.typnamespace = current_schema()::regnamespace and t.typtype not in ('b', 'c')
) items(item)
""")

"""One digest of the current schema's definitions: tables, views and sequences with their comments, columns (type,
null, default, identity, collation), indexes, constraints, triggers, rules, policies, functions and domain/enum
types. A test that changes any of them changes the digest."""

_migrated: dict[str, str] = {}  # URL -> the digest of its schema as Workspace.init left it empty at head


def _schema_state(conn: sa.Connection) -> tuple[str, list[str]]:
    """The schema's digest and its Alembic revisions (none when it has no alembic_version table)."""
    digest = str(conn.execute(_SCHEMA_FINGERPRINT).scalar_one())
    has_version = conn.execute(sa.text(
        "select to_regclass(quote_ident(current_schema()) || '.alembic_version') is not null")).scalar_one()
    revisions = [str(r[0]) for r in conn.execute(sa.text("select version_num from alembic_version"))] \
        if has_version else []
    return digest, revisions


def empty_pg(url: str) -> None:
    """Make the current schema what ``Workspace.init`` needs to give a freshly migrated, empty store.

    When the schema is exactly the one a fresh ``Workspace.init`` left (same digest of every definition, same Alembic
    revision), its tables are emptied instead (TRUNCATE ... RESTART IDENTITY, every sequence restarted), and init finds
    the store at head, which saves the DDL of every migration (docs/testing.md). Otherwise every table is dropped
    (:func:`reset_pg`). Call :func:`remember_migrated` after a ``Workspace.init`` that migrated."""
    from assetgrade.store.engine import head_revision

    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            if url in _migrated and _schema_state(conn) == (_migrated[url], [head_revision()]):
                names = [str(r[0]) for r in conn.execute(sa.text(
                    "select tablename from pg_tables where schemaname = current_schema()"
                    " and tablename <> 'alembic_version'"))]
                if names:
                    conn.execute(sa.text("truncate " + ", ".join(f'"{n}"' for n in names)
                                         + " restart identity cascade"))
                for (seq,) in conn.execute(sa.text(
                        "select sequencename from pg_sequences where schemaname = current_schema()")).all():
                    conn.execute(sa.text(f'alter sequence "{seq}" restart'))
                return
    finally:
        engine.dispose()
    _migrated.pop(url, None)
    reset_pg(url)


def remember_migrated(url: str) -> None:
    """Record the schema at ``url`` (just migrated by ``Workspace.init``, still empty) for :func:`empty_pg`."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            _migrated[url] = _schema_state(conn)[0]
    finally:
        engine.dispose()


def fresh_pg_workspace(path: Any, url: str) -> Any:
    """``Workspace.init(path, store_url=url)`` on a schema emptied by :func:`empty_pg`: a freshly migrated, empty
    store, as on an empty database."""
    from assetgrade.workspace import Workspace

    empty_pg(url)
    migrate = url not in _migrated
    ws = Workspace.init(path, store_url=url)
    if migrate:
        remember_migrated(url)
    return ws


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
    ws = fresh_pg_workspace(tmp_path / "ws", url)
    try:
        yield ws
    finally:
        ws.close()
        empty_pg(url)

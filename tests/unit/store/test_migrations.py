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


def test_a_store_written_by_a_newer_release_is_refused_with_the_reason_not_a_traceback(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from assetgrade.cli.app import build_app

    w = Workspace.init(tmp_path / "wö rk")  # a path with a space and a non-ASCII letter
    w.close()
    engine = make_engine(f"sqlite:///{tmp_path / 'wö rk' / 'assetgrade.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0999_from_the_future'")
    with pytest.raises(StoreError, match="newer assetgrade") as info:
        Workspace.open(tmp_path / "wö rk")
    assert "0999_from_the_future" in str(info.value)
    # `db upgrade` used to end in alembic's CommandError traceback ("Can't locate revision")
    with pytest.raises(StoreError, match="newer assetgrade"):
        upgrade(engine)
    res = CliRunner().invoke(build_app(), ["db", "upgrade", "-w", str(tmp_path / "wö rk")])
    assert isinstance(res.exception, StoreError), res.output
    with engine.connect() as conn:  # nothing was changed
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == "0999_from_the_future"
    engine.dispose()


def test_an_older_store_is_told_to_upgrade_and_its_rows_survive_the_migrations(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    assert upgrade(engine, "0003") == "0003"
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO assets (id, asset_type, attributes, created_at, version)"
                             " VALUES ('pump-1', 'pump', '{}', '2026-01-01 00:00:00', 3)")
        for pid, ts, decision in (("pred_a", "2026-01-02 00:00:00", "accept"),
                                  ("pred_b", "2026-01-03 00:00:00", "review")):
            conn.exec_driver_sql(
                "INSERT INTO predictions (id, asset_id, model_version, grade, distribution, conformal_set, decision,"
                f" payload, created_at) VALUES ('{pid}', 'pump-1', 'm1', 'B', '{{\"B\": 1.0}}', '[\"B\", \"C\"]',"
                f" '{decision}', '{{}}', '{ts}')")
    from assetgrade.store.engine import schema_mismatch

    assert "run: assetgrade db upgrade -w WS" in schema_mismatch("0003", str(engine.url), "WS")
    assert upgrade(engine) == head_revision()
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT version FROM assets WHERE id = 'pump-1'").scalar() == 3
        head = conn.exec_driver_sql("SELECT prediction_id, queued, set_size FROM prediction_heads").all()
    assert [tuple(r) for r in head] == [("pred_b", 1, 2)]  # the newest prediction, waiting for review
    engine.dispose()


def test_the_heads_migration_streams_the_predictions_instead_of_loading_them_all(tmp_path: Path) -> None:
    # 0004 fills prediction_heads from the newest prediction of each asset; it used to load all of them, payload
    # and all, at once (a store with a million graded assets needed their every payload in memory to upgrade)
    import json
    import tracemalloc

    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    assert upgrade(engine, "0003") == "0003"
    n, payload = 3000, json.dumps({"contradictions": [{"a": 1}], "notes": "x" * 20_000})
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO assets (id, asset_type, attributes, created_at, version)"
                             " VALUES (:id, 'pump', '{}', '2026-01-01 00:00:00', 1)"),
                     [{"id": f"a{i}"} for i in range(n)])
        conn.execute(sa.text(
            "INSERT INTO predictions (id, asset_id, model_version, grade, distribution, conformal_set, decision,"
            " payload, created_at) VALUES (:id, :a, 'm1', 'B', '{\"B\": 1.0}', '[\"B\"]', 'review', :p,"
            " '2026-01-02 00:00:00')"), [{"id": f"p{i}", "a": f"a{i}", "p": payload} for i in range(n)])
    tracemalloc.start()
    try:
        assert upgrade(engine) == head_revision()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*), sum(queued), sum(n_contradictions) FROM prediction_heads")
                            ).one() == (n, n, n)
    engine.dispose()
    assert peak < 25e6, f"upgrading {n} predictions of 20 kB peaked at {peak / 1e6:.0f} MB (all at once: ~125 MB)"


def test_two_upgrades_at_once_on_postgresql_take_turns(tmp_path: Path) -> None:
    # the second `db upgrade` used to run the same DDL beside the first and fail on a duplicate table with a raw
    # SQLAlchemy error; it now waits on a per-schema advisory lock and then finds the store migrated
    import threading
    import time

    from tests.pg import PG_ENV, pg_url, reset_pg

    url = pg_url()
    if url is None:
        pytest.skip(f"no PostgreSQL server answers: set {PG_ENV}")
    reset_pg(url)
    engine = make_engine(url)
    holder = sa.create_engine(url)
    outcome: dict[str, object] = {}

    def second() -> None:
        try:
            outcome["rev"] = upgrade(engine)
        except Exception as exc:  # what this test is about
            outcome["rev"] = exc

    try:
        with holder.connect() as conn:  # "the first upgrade": holds the migration lock in its transaction
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('assetgrade:migrate:' || current_schema()))"))
            me = int(conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one())
            other = threading.Thread(target=second)
            other.start()
            deadline = time.monotonic() + 30
            waits = sa.text("SELECT count(*) FROM pg_stat_activity WHERE :p = any(pg_blocking_pids(pid))")
            while True:  # asked on another connection: pg_stat_activity is a snapshot within a transaction
                with holder.connect() as look:
                    if look.execute(waits, {"p": me}).scalar():
                        break
                assert time.monotonic() < deadline, "the second upgrade did not wait for the first"
                assert other.is_alive(), outcome
                time.sleep(0.05)
            conn.rollback()
        other.join(60)
        assert outcome["rev"] == head_revision()
    finally:
        holder.dispose()
        engine.dispose()


def test_a_failing_migration_is_rolled_back_and_the_error_names_the_revision_left(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    assert upgrade(engine, "0003") == "0003"
    with engine.begin() as conn:  # 0005 creates label_requests, then this index: its second step fails
        conn.exec_driver_sql("CREATE INDEX ix_label_requests_order ON assets (id)")
    with pytest.raises(StoreError, match="stays at revision 0004") as info:
        upgrade(engine)
    assert "ix_label_requests_order" in str(info.value)
    assert not sa.inspect(engine).has_table("label_requests")  # 0005's first step was rolled back with it
    assert sa.inspect(engine).has_table("prediction_heads")  # 0004, complete, stays
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP INDEX ix_label_requests_order")
    assert upgrade(engine) == head_revision()  # fixed: the same command finishes the job
    engine.dispose()


def test_a_sqlite_upgrade_holds_the_workspace_writer_lock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import assetgrade.workspace as workspace_module

    w = Workspace.init(tmp_path / "w")
    held: list[bool] = []

    def recording_upgrade(engine: sa.Engine) -> str:
        assert w._write_lock is not None
        held.append(w._write_lock.held)  # Alembic commits each migration alone: a second run must wait
        return upgrade(engine)

    monkeypatch.setattr(workspace_module, "upgrade", recording_upgrade)
    assert w.upgrade() == head_revision() and held == [True]
    assert w._write_lock is not None and not w._write_lock.held  # released afterwards
    w.close()

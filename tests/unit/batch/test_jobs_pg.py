"""Batch grading on PostgreSQL: two overlapping drivers writing the same shard skip each other's ids."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from tests.pg import PG_ENV, pg_url, reset_pg, start_behind

from assetgrade.batch.commit import commit_shard, write_grades
from assetgrade.batch.jobs import ShardTask, plan_shards, run_shard
from assetgrade.store.audit import verify_chain
from assetgrade.store.schema import Prediction
from assetgrade.workspace import Workspace

from .conftest import seed

_PG = pg_url(default=None)  # only when ASSETGRADE_TEST_PG_URL is set


@pytest.mark.skipif(_PG is None, reason=f"no PostgreSQL server answers: set {PG_ENV}")
def test_two_overlapping_drivers_skip_the_ids_the_other_stored(trained: tuple[Path, Path], tmp_path: Path) -> None:
    assert _PG is not None
    reset_pg(_PG)
    ws = Workspace.init(tmp_path / "ws", store_url=_PG)
    try:
        seed(ws, 6)
        _, model = trained
        from assetgrade.grading.bundle import read_bundle_info

        mv = str(read_bundle_info(model)["model_version"])
        ((key, ids),) = plan_shards(ws, "grade", model_version=mv, shard_size=6)
        res = run_shard(ShardTask(kind="grade", index=0, key=key, asset_ids=ids, workspace=str(ws.path),
                                  store_url=ws.store_url, model_path=str(model)))
        assert len(res.results) == 6 and res.errors == []
        outcome: dict[str, object] = {}

        def second_driver() -> None:
            try:
                outcome["b"] = commit_shard(ws, res, "grade", mv)
            except Exception as exc:  # the failure this test is about
                outcome["b"] = exc

        with ws.session() as s:  # the first driver's transaction: written, not yet committed
            assert write_grades(s, res, mv) == (6, 0)
            other, blocked = start_behind(_PG, s, second_driver, timeout_s=20)
            assert blocked, "the second driver never waited on the first"  # blocked behind this transaction
        other.join(30)
        assert not other.is_alive()
        assert outcome["b"] == (0, 6, None), outcome["b"]  # every id skipped as already stored
        with ws.session(readonly=True) as s:
            assert s.scalar(sa.select(sa.func.count()).select_from(Prediction)) == 6
            assert verify_chain(s).ok
    finally:
        ws.close()


@pytest.mark.skipif(_PG is None, reason=f"no PostgreSQL server answers: set {PG_ENV}")
def test_a_connection_lost_while_a_shard_commits_is_written_again_not_the_end_of_the_batch(
        trained: tuple[Path, Path], tmp_path: Path) -> None:
    # the driver's connection is terminated by the server just before a shard's COMMIT (as a restart or a network
    # drop would): the run used to stop there with StoreError; the shard's transaction is gone whole, so it is
    # written again on a fresh connection and the batch finishes
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    from assetgrade.batch.jobs import run_batch
    from assetgrade.batch.local_executor import LocalExecutor

    assert _PG is not None
    reset_pg(_PG)
    ws = Workspace.init(tmp_path / "ws", store_url=_PG)
    killer = sa.create_engine(_PG)
    killed: list[int] = []

    def drop_connection(session: Session) -> None:
        if killed or not session.scalar(sa.select(sa.func.count()).select_from(Prediction)):
            return  # once, in the first transaction that writes predictions
        pid = int(session.execute(sa.text("select pg_backend_pid()")).scalar_one())
        with killer.connect() as conn:
            assert conn.execute(sa.text("select pg_terminate_backend(:p)"), {"p": pid}).scalar_one()
            deadline = time.monotonic() + 20  # until the server has really closed it
            while conn.execute(sa.text("select count(*) from pg_stat_activity where pid = :p"), {"p": pid}).scalar():
                assert time.monotonic() < deadline
                time.sleep(0.02)
        killed.append(pid)

    try:
        seed(ws, 8)
        event.listen(Session, "before_commit", drop_connection)
        try:
            with LocalExecutor(workers=1, start_method="fork") as ex:
                rep = run_batch(ws, "grade", ex, model_path=trained[1], shard_size=4)
        finally:
            event.remove(Session, "before_commit", drop_connection)
        assert len(killed) == 1
        assert (rep.shards_done, rep.written, rep.errors) == (2, 8, [])
        with ws.session(readonly=True) as s:
            assert s.scalar(sa.select(sa.func.count()).select_from(Prediction)) == 8
            assert verify_chain(s).ok
    finally:
        killer.dispose()
        ws.close()

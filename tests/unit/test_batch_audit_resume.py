"""Batch resume: a shard's done marker is written once and only stands for output that is there."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from tests.pg import PG_ENV, pg_url, reset_pg, start_behind
from tests.unit.batch.conftest import N_ASSETS, batch_ws, seed, trained  # noqa: F401  (fixtures)

from assetgrade.batch.commit import commit_shard
from assetgrade.batch.jobs import (
    SHARD_EVENT,
    ShardResult,
    ShardTask,
    features_dir,
    plan_shards,
    read_features,
    run_batch,
    run_shard,
)
from assetgrade.batch.local_executor import LocalExecutor
from assetgrade.grading.bundle import read_bundle_info
from assetgrade.store.audit import verify_chain
from assetgrade.store.schema import AuditEvent, Prediction
from assetgrade.workspace import Workspace

_PG = pg_url(default=None)


def _marks(ws: Workspace, key: str | None = None) -> int:
    q = sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.action == SHARD_EVENT)
    if key is not None:
        q = q.where(AuditEvent.entity_id == key)
    with ws.session(readonly=True) as s:
        return int(s.execute(q).scalar_one())


def test_extract_runs_again_the_shards_whose_feature_file_is_gone(batch_ws: Workspace) -> None:  # noqa: F811
    # the cache folder was cleared (or one file lost): the rerun skipped every shard because its done marker was
    # stored, so read_features returned nothing and nothing would ever write the files again
    with LocalExecutor(workers=1, start_method="fork") as ex:
        first = run_batch(batch_ws, "extract", ex, shard_size=10)
        mv = first.model_version or ""
        Path(first.outputs[1]).unlink()
        one = run_batch(batch_ws, "extract", ex, shard_size=10)
        shutil.rmtree(features_dir(batch_ws, mv))
        every = run_batch(batch_ws, "extract", ex, shard_size=10)
    assert (one.shards_skipped, one.shards_done, one.outputs) == (3, 1, [first.outputs[1]])
    assert (every.shards_skipped, every.shards_done) == (0, 4)
    ids, _, _ = read_features(batch_ws, mv)["text"]
    assert sorted(ids) == [f"asset-{i:03d}" for i in range(N_ASSETS)]


def _one_shard(ws: Workspace, model: Path, n: int) -> tuple[str, ShardResult]:
    mv = str(read_bundle_info(model)["model_version"])
    ((key, ids),) = plan_shards(ws, "grade", model_version=mv, shard_size=n)
    res = run_shard(ShardTask(kind="grade", index=0, key=key, asset_ids=ids, workspace=str(ws.path),
                              store_url=ws.store_url, model_path=str(model), model_version=mv))
    assert len(res.results) == n and res.errors == []
    return mv, res


def test_a_shard_committed_by_two_overlapping_runs_is_marked_done_once(batch_ws: Workspace) -> None:  # noqa: F811
    # two runs that both planned the shard before either wrote it both compute it; the second write skips every
    # prediction, but it appended a second batch.shard_done for the same shard key
    mv, res = _one_shard(batch_ws, batch_ws.models_dir / "grader", N_ASSETS)
    assert commit_shard(batch_ws, res, "grade", mv) == (N_ASSETS, 0, None)
    assert commit_shard(batch_ws, res, "grade", mv) == (0, N_ASSETS, None)
    assert _marks(batch_ws, res.task.key) == 1


@pytest.mark.skipif(_PG is None, reason=f"no PostgreSQL server answers: set {PG_ENV}")
def test_two_interleaved_drivers_on_postgresql_write_a_shard_and_its_mark_once(
        trained: tuple[Path, Path], tmp_path: Path) -> None:  # noqa: F811
    assert _PG is not None
    reset_pg(_PG)
    ws = Workspace.init(tmp_path / "ws", store_url=_PG)
    try:
        seed(ws, 6)
        mv, res = _one_shard(ws, trained[1], 6)
        outcome: dict[str, object] = {}

        def second() -> None:
            try:
                outcome["b"] = commit_shard(ws, res, "grade", mv)
            except Exception as exc:
                outcome["b"] = exc

        first: list[tuple[threading.Thread, bool]] = []
        gate = threading.Event()
        from sqlalchemy import event
        from sqlalchemy.orm import Session

        def hold(session: Session) -> None:  # the first driver's shard transaction, written, not yet committed
            if first:
                return
            other, blocked = start_behind(_PG, session, second, timeout_s=20)
            first.append((other, blocked))
            gate.set()

        event.listen(Session, "before_commit", hold)
        try:
            outcome["a"] = commit_shard(ws, res, "grade", mv)
        finally:
            event.remove(Session, "before_commit", hold)
        assert gate.is_set()
        other, blocked = first[0]
        assert blocked, "the second driver never waited on the first"
        other.join(30)
        assert outcome == {"a": (6, 0, None), "b": (0, 6, None)}, outcome
        assert _marks(ws, res.task.key) == 1
        with ws.session(readonly=True) as s:
            assert s.scalar(sa.select(sa.func.count()).select_from(Prediction)) == 6
            assert verify_chain(s).ok
    finally:
        ws.close()
        reset_pg(_PG)

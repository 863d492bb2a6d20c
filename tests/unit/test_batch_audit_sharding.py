"""Batch sharding: every asset in exactly one shard, whatever the shard size, the id list or the store's changes."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from tests.unit.batch.conftest import N_ASSETS, batch_ws, seed, trained  # noqa: F401  (fixtures)

from assetgrade.batch.jobs import plan_shards, run_batch
from assetgrade.batch.local_executor import LocalExecutor
from assetgrade.store.schema import Prediction
from assetgrade.workspace import Workspace

IDS = [f"asset-{i:03d}" for i in range(N_ASSETS)]


@pytest.mark.parametrize("size", [1, 3, 5, N_ASSETS - 1, N_ASSETS, N_ASSETS + 1, 1000])
def test_shards_hold_every_asset_once_at_most_the_size_each_in_id_order(
        batch_ws: Workspace, size: int) -> None:  # noqa: F811
    plan = plan_shards(batch_ws, "grade", model_version="m", shard_size=size)
    assert sorted(a for _, ids in plan for a in ids) == IDS  # each once
    assert all(1 <= len(ids) <= size and list(ids) == sorted(ids) for _, ids in plan)
    assert len({k for k, _ in plan}) == len(plan) >= -(-N_ASSETS // size)
    assert (len(plan) == 1) == (size >= N_ASSETS)


def test_a_workspace_without_assets_runs_no_shard_and_reports_progress_0_of_0(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "ws")
    seen: list[tuple[int, int]] = []
    try:
        with LocalExecutor(workers=1, start_method="fork") as ex:
            rep = run_batch(ws, "audit", ex, progress=lambda d, t: seen.append((d, t)))
    finally:
        ws.close()
    assert (rep.n_assets, rep.n_shards, rep.shards_done, rep.written, rep.errors) == (0, 0, 0, 0, [])
    assert seen == [(0, 0)]


def test_an_id_given_twice_is_graded_once(batch_ws: Workspace) -> None:  # noqa: F811
    # run_batch(asset_ids=[...]) with a repeated id put the asset twice in its shard: graded twice, counted as
    # two assets, and the second copy reported as "already stored"
    with LocalExecutor(workers=1, start_method="fork") as ex:
        rep = run_batch(batch_ws, "grade", ex, shard_size=8,
                        asset_ids=["asset-003", "asset-001", "asset-003", "asset-001", "asset-002"])
    assert (rep.n_assets, rep.written, rep.skipped_existing, rep.errors) == (3, 3, 0, [])
    assert plan_shards(batch_ws, "grade", model_version="m", shard_size=2,
                       asset_ids=["b", "a", "b"]) == plan_shards(batch_ws, "grade", model_version="m", shard_size=2,
                                                                 asset_ids=["a", "b"])


def test_an_audit_of_an_id_the_store_does_not_hold_is_a_bad_asset_not_a_clean_one(
        batch_ws: Workspace) -> None:  # noqa: F811
    # an audit of a mistyped id found no evidence, so no problem: it was reported clean and its shard marked
    with LocalExecutor(workers=1, start_method="fork") as ex:
        rep = run_batch(batch_ws, "audit", ex, asset_ids=["asset-001", "asset-99"])
        grade = run_batch(batch_ws, "grade", ex, asset_ids=["asset-001", "asset-99"])
    assert [a for a, _ in rep.errors] == ["asset-99"] and "not found" in rep.errors[0][1], rep.errors
    assert [a for a, _ in grade.errors] == ["asset-99"] and "not found" in grade.errors[0][1]  # as grade says


class _AddsAssetsMidRun:
    """A real executor that, once the first shard's result is in, has ``add`` put new assets into the store."""

    def __init__(self, inner: LocalExecutor, add: Callable[[], None]) -> None:
        self.inner, self.add, self.workers = inner, add, inner.workers

    def map_shards(self, fn: Callable[[Any], Any], shards: Sequence[Any]) -> Iterator[Any]:
        for i, res in enumerate(self.inner.map_shards(fn, shards)):
            if i == 0:
                self.add()
            yield res

    def close(self) -> None:
        self.inner.close()


def test_assets_added_while_a_job_runs_wait_for_the_next_run_and_nothing_is_graded_twice(
        batch_ws: Workspace) -> None:  # noqa: F811
    # "asset-00" sorts before every planned id, "asset-0105" among them, "zz" after: with shards cut from the sorted
    # ids each moved the boundaries after it and the next run graded every asset again (24 already stored); by id
    # hash each changes the one shard it falls in
    def add() -> None:
        for prefix in ("asset-00", "asset-0105", "zz"):
            seed(batch_ws, 1, prefix=prefix)

    with LocalExecutor(workers=1, start_method="fork") as inner:
        first = run_batch(batch_ws, "grade", _AddsAssetsMidRun(inner, add), shard_size=5)
        again = run_batch(batch_ws, "grade", inner, shard_size=5)
        third = run_batch(batch_ws, "grade", inner, shard_size=5)
    assert (first.n_assets, first.written, first.errors) == (N_ASSETS, N_ASSETS, [])
    assert (again.n_assets, again.written, again.errors) == (N_ASSETS + 3, 3, [])
    assert again.skipped_existing < 3 * 5 and again.shards_done <= 3 * 2  # the rest of the three shards they joined
    assert (third.shards_done, third.shards_skipped, third.written) == (0, again.n_shards, 0)
    with batch_ws.session(readonly=True) as s:
        rows = s.execute(select(Prediction.asset_id, func.count()).group_by(Prediction.asset_id)).all()
    assert len(rows) == N_ASSETS + 3 and {n for _, n in rows} == {1}

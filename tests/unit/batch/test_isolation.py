"""The halving both executors share (:func:`isolate`), run on ShardTasks without any worker process."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from assetgrade.batch.isolation import WorkerDeaths, WorkerDiedError, isolate
from assetgrade.batch.shards import ShardResult, ShardTask
from assetgrade.errors import AssetgradeError


def _task(*ids: str) -> ShardTask:
    return ShardTask(kind="extract", index=3, key="k3", asset_ids=ids, workspace="ws", store_url="sqlite://",
                     model_path=None, inputs=tuple(f"h-{a}" for a in ids))


def _runner(poisoned: set[str], ran: list[tuple[str, ...]]) -> Callable[[ShardTask], ShardResult]:
    """A ``run_alone`` whose worker dies (exit code 139) on any part holding a ``poisoned`` asset; logs each part."""
    def run_alone(part: ShardTask) -> ShardResult:
        ran.append(part.asset_ids)
        if poisoned & set(part.asset_ids):
            raise WorkerDiedError("exit code 139")
        return ShardResult(task=part, results=list(part.asset_ids), compute_s=1.0)
    return run_alone


def test_a_poisoned_shard_is_halved_down_to_the_asset_and_merged_back_whole() -> None:
    shard = _task(*(f"a{i}" for i in range(8)))
    ran: list[tuple[str, ...]] = []
    deaths = WorkerDeaths(1)
    deaths.pool_broke(left=1)  # the break that sent it to run alone: the cause traced below is free
    [res] = isolate(_runner({"a5"}, ran), shard, deaths, lambda: 1, [])
    assert ran == [tuple(f"a{i}" for i in range(8)), ("a0", "a1", "a2", "a3"), ("a4", "a5", "a6", "a7"),
                   ("a4", "a5"), ("a4",), ("a5",), ("a6", "a7")]  # depth first, first half first
    assert res.task == shard and res.results == ["a0", "a1", "a2", "a3", "a4", "a6", "a7"]
    assert res.errors == [("a5", "worker process died while extracting asset a5: exit code 139")]
    assert res.compute_s == 3.0  # the three parts that completed: a0-a3, a4, a6-a7
    assert (deaths.died, deaths.charged, deaths.poisoned) == (5, 1, ["shard 3 (a5)"])


def test_a_shard_that_completes_alone_is_not_split() -> None:
    ran: list[tuple[str, ...]] = []
    deaths = WorkerDeaths(0)
    [res] = isolate(_runner(set(), ran), _task("a0", "a1"), deaths, lambda: 1, [])
    assert ran == [("a0", "a1")] and res.results == ["a0", "a1"] and (deaths.died, deaths.charged) == (0, 0)


def test_every_cause_after_the_first_is_charged_until_the_budget_stops_the_call() -> None:
    deaths = WorkerDeaths(1, broke="Ray tasks in flight lost their worker")
    deaths.pool_broke(left=2, died=2)
    stop = (r"^Ray tasks in flight lost their worker 1 time and worker processes died 6 times in all .* more than "
            r"max_restarts=1 allows; killed their worker when run alone: shard 3 \(a0\), shard 3 \(a1\); "
            r"2 shards left undone$")
    with pytest.raises(AssetgradeError, match=stop):
        list(isolate(_runner({"a0", "a1", "a2"}, []), _task("a0", "a1", "a2"), deaths, lambda: 2, []))


def test_one_shard_left_undone_is_named_in_the_singular() -> None:
    deaths = WorkerDeaths(1, broke="Ray tasks in flight lost their worker")
    deaths.pool_broke(left=1, died=2)
    with pytest.raises(AssetgradeError, match=r"; 1 shard left undone$"):
        list(isolate(_runner({"a0", "a1", "a2"}, []), _task("a0", "a1", "a2"), deaths, lambda: 1, []))


def test_a_shard_that_cannot_be_split_goes_to_lost() -> None:
    def run_alone(x: int) -> int:
        raise WorkerDiedError("killed by signal 9 (SIGKILL)")

    lost: list[tuple[int, str]] = []
    deaths = WorkerDeaths(3)
    deaths.pool_broke(left=1)
    assert list(isolate(run_alone, 7, deaths, lambda: 1, lost)) == []
    assert lost == [(7, "killed by signal 9 (SIGKILL)")] and deaths.charged == 1

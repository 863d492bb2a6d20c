"""Poison isolation on Ray: a shard whose task kills its Ray worker is split until the asset is found.

One local Ray instance serves the whole module (starting one takes seconds); each test's worker deaths are
few (a shard of three or four assets). Its other tests run on the same instance: the driver's environment in the
workers, the thread limits each task sets, cancelling tasks in flight.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from assetgrade.batch.ray_executor import RayExecutor, ray_available
from assetgrade.batch.shards import ShardTask
from assetgrade.batch.threads import ThreadLimits
from assetgrade.errors import AssetgradeError

sys.path.insert(0, str(Path(__file__).parent))
import agbatch_helpers
import agcancel_helpers
from agbatch_helpers import POISON, exit_on_poison, exit_on_seven, thread_counts, worker_environment
from agcancel_helpers import first_quick_then_slow, first_quick_then_stubborn, wait_for

pytestmark = pytest.mark.skipif(not ray_available(), reason="the ray extra is not installed (pip install "
                                                            "'assetgrade[ray]')")
RAY_DIED = "crashed or killed (Ray WorkerCrashedError)"
THREADS = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "GOMP_SPINCOUNT": "10000"}
"""Thread settings in the driver's environment when the module's Ray starts (the Makefile and conftest set such)."""


@pytest.fixture(scope="module")
def ray_ex() -> Iterator[RayExecutor]:
    """A one-CPU local Ray instance, ``max_restarts=1``, that ships the helper functions to its workers by value."""
    import ray.cloudpickle

    for helpers in (agbatch_helpers, agcancel_helpers):  # the workers cannot import the tests folder
        ray.cloudpickle.register_pickle_by_value(helpers)
    temp = Path("/tmp") / f"agr-{os.getpid()}-i"  # short: Ray's socket paths must stay < 108 bytes
    try:
        with pytest.MonkeyPatch.context() as mp, RayExecutor(num_workers=1, temp_dir=temp, max_restarts=1) as ex:
            for name, value in THREADS.items():
                mp.setenv(name, value)
            yield ex
    finally:
        for helpers in (agbatch_helpers, agcancel_helpers):
            ray.cloudpickle.unregister_pickle_by_value(helpers)
        shutil.rmtree(temp, ignore_errors=True)


def _task(index: int, *ids: str) -> ShardTask:
    return ShardTask(kind="grade", index=index, key=f"k{index}", asset_ids=ids, workspace="ws",
                     store_url="sqlite://", model_path=None)


def test_a_local_rays_workers_inherit_the_drivers_environment_without_a_runtime_env(ray_ex: RayExecutor) -> None:
    # ray.init got runtime_env={"env_vars": ...} for a local start, which made every worker start take about twice
    # as long; the workers inherit the driver's environment anyway (thread counts and the executor's Ray settings)
    names = (*THREADS, "RAY_TMPDIR", "RAY_AUTH_TOKEN_PATH", "RAY_USAGE_STATS_ENABLED")
    [(env, runtime_env)] = list(ray_ex.map_shards(worker_environment, [names]))
    assert env == {**THREADS, "RAY_TMPDIR": str(ray_ex.temp_dir),
                   "RAY_AUTH_TOKEN_PATH": str(ray_ex.temp_dir / "auth_token"), "RAY_USAGE_STATS_ENABLED": "0"}
    assert json.loads(runtime_env) == {}


def test_each_ray_task_sets_the_thread_limits_the_driver_chose(ray_ex: RayExecutor,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    # a task ran with its worker's own thread settings: a local Ray's workers keep the environment the driver had
    # when Ray started (here one thread each), a cluster's workers their node's, so the driver's choice made later,
    # or on another machine, never reached them (the task saw 1 BLAS thread, 1 OpenMP thread and torch 1, not 2)
    assert list(ray_ex.map_shards(exit_on_seven, [1])) == [-1]  # Ray is up, its workers started with THREADS
    for n in (2, 1):  # 1 after 2: each task sets the limits, whatever the task before it left in the worker
        for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            monkeypatch.setenv(name, str(n))
        ex = RayExecutor(num_workers=1, temp_dir=ray_ex.temp_dir)  # the driver's choice, on the running Ray
        try:
            assert ex.threads == ThreadLimits(blas=n, openmp=n)
            [seen] = list(ex.map_shards(thread_counts, [None]))
        finally:
            ex.close()
        assert seen == {"blas": {n}, "openmp": {n}, "torch": n}


def test_an_asset_that_kills_its_ray_worker_is_reported_by_id_and_the_batch_goes_on(ray_ex: RayExecutor) -> None:
    # ray.get raised WorkerCrashedError for the poisoned shard and the whole run ended with it
    poisoned = _task(0, "asset-0", "asset-1", POISON, "asset-3")
    clean = _task(1, "asset-4", "asset-5")
    before = ray_ex.restarts
    out = {r.task.index: r for r in ray_ex.map_shards(exit_on_poison, [poisoned, clean])}
    assert sorted(out) == [0, 1]  # one result per shard: the parts of the split one merged back
    assert out[0].task == poisoned and out[0].results == ["asset-0", "asset-1", "asset-3"]
    assert out[0].errors == [(POISON, f"worker process died while grading asset {POISON}: {RAY_DIED}")]
    assert (out[1].results, out[1].errors) == (["asset-4", "asset-5"], [])
    # the shard died among the tasks in flight, then alone, then its half (poison, asset-3), then the poison alone
    assert ray_ex.restarts - before == 4


@pytest.mark.slow  # each Ray worker death costs seconds here; isolate()'s budget is covered in test_isolation.py
def test_a_batch_where_every_asset_kills_its_ray_worker_stops_within_max_restarts(ray_ex: RayExecutor) -> None:
    shard = _task(0, *(f"{POISON}-{i}" for i in range(3)))
    stop = (r"^Ray tasks in flight lost their worker 1 time and worker processes died 5 times in all .*"
            rf"max_restarts=1 allows; killed their worker when run alone: shard 0 \({POISON}-0\), "
            rf"shard 0 \({POISON}-1\); 1 shard left undone$")
    with pytest.raises(AssetgradeError, match=stop):
        list(ray_ex.map_shards(exit_on_poison, [shard]))


@pytest.mark.slow  # each Ray worker death costs seconds here; isolate()'s budget is covered in test_isolation.py
def test_a_plain_shard_that_kills_its_ray_worker_is_named_after_the_others_are_done(ray_ex: RayExecutor) -> None:
    got: list[int] = []
    stop = rf"^7 killed its worker process when run alone \({re.escape(RAY_DIED)}\); every other shard completed$"
    with pytest.raises(AssetgradeError, match=stop):
        got.extend(ray_ex.map_shards(exit_on_seven, [5, 7, 9]))
    assert sorted(got) == [-9, -5]


def test_a_caller_that_stops_early_cancels_the_ray_tasks_in_flight(ray_ex: RayExecutor, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # the task in flight ran on after the caller broke out of its loop: the next task waited for the instance's
    # one CPU until it was done, and it wrote its finished file
    assert list(ray_ex.map_shards(exit_on_seven, [1])) == [-1]  # Ray is up with one CPU (num_workers=1)...
    monkeypatch.setattr(ray_ex, "workers", 2)  # ...and two tasks are in flight on it: one runs, one waits
    for first in ray_ex.map_shards(first_quick_then_slow, [(str(tmp_path), 0), (str(tmp_path), 1)]):
        slow = 1 - first
        wait_for(tmp_path / f"started-{slow}")  # the slow task holds the CPU
        break
    assert list(ray_ex.map_shards(exit_on_seven, [3])) == [-3]  # runs once the CPU is free again
    assert not (tmp_path / f"finished-{slow}").exists()


@pytest.mark.slow  # the forced cancel ends the Ray worker, and starting its successor costs seconds here
def test_a_ray_task_that_ignores_the_polite_cancel_is_ended(ray_ex: RayExecutor, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    import assetgrade.batch.ray_executor as executor

    assert list(ray_ex.map_shards(exit_on_seven, [1])) == [-1]  # Ray is up with one CPU
    monkeypatch.setattr(ray_ex, "workers", 2)
    monkeypatch.setattr(executor, "CANCEL_GRACE_S", 0.5)  # how long it is given; the outcome is what is checked
    before = ray_ex.restarts
    for first in ray_ex.map_shards(first_quick_then_stubborn, [(str(tmp_path), 0, False), (str(tmp_path), 1, False)]):
        slow = 1 - first
        wait_for(tmp_path / f"started-{slow}")
        break
    assert list(ray_ex.map_shards(exit_on_seven, [3])) == [-3]
    assert (tmp_path / f"interrupted-{slow}").exists()  # the polite cancel reached it first
    assert not (tmp_path / f"finished-{slow}").exists()
    assert ray_ex.restarts == before  # a cancelled task is no worker death


def test_closing_the_executor_cancels_the_ray_tasks_of_a_generator_left_open(ray_ex: RayExecutor,
                                                                           tmp_path: Path) -> None:
    # on a Ray the executor did not start (which close() leaves running), the tasks of a generator kept open (in a
    # variable, neither exhausted nor closed) ran on after close(): the next task waited for the CPU behind them
    assert list(ray_ex.map_shards(exit_on_seven, [1])) == [-1]  # Ray is up with one CPU...
    other = RayExecutor(num_workers=2, temp_dir=ray_ex.temp_dir)  # ...which this one uses as it is: two tasks on it
    results = other.map_shards(first_quick_then_slow, [(str(tmp_path), 0), (str(tmp_path), 1)])
    slow = 1 - next(results)
    wait_for(tmp_path / f"started-{slow}")  # the slow task holds the CPU
    other.close()
    assert list(results) == []  # closed with its executor
    assert list(ray_ex.map_shards(exit_on_seven, [3])) == [-3]  # runs once the CPU is free again
    assert not (tmp_path / f"finished-{slow}").exists()

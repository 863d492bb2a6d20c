"""The local executor's restart budget is per batch: an executor reused for a second batch starts it afresh."""

from __future__ import annotations

from pathlib import Path

from tests.unit.batch.agbatch_helpers import die_once

from assetgrade.batch.local_executor import LocalExecutor


def test_a_reused_executor_gives_each_batch_its_own_max_restarts(tmp_path: Path) -> None:
    # the count of broken pools was never reset, so with max_restarts=1 a second batch on the same executor
    # gave up at its first killed worker ("the process pool broke 2 times") although that batch lost only one
    with LocalExecutor(workers=1, max_restarts=1, start_method="fork") as ex:
        first = sorted(ex.map_shards(die_once, [(str(tmp_path / "m1"), i) for i in range(5)]))
        second = sorted(ex.map_shards(die_once, [(str(tmp_path / "m2"), i) for i in range(5)]))
    assert first == second == [(i, i * i) for i in range(5)]
    assert ex.restarts == 2  # every rebuild is still counted

"""A caller that stops taking ``LocalExecutor.map_shards`` results early stops the shards still in flight.

The shards in flight used to run on after the caller broke out of its loop (or its loop body raised): the next
call waited behind them in the pool and they wrote what they write.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from assetgrade.batch.local_executor import LocalExecutor

sys.path.insert(0, str(Path(__file__).parent))  # spawned workers import the shard functions by module name
from agbatch_helpers import square
from agcancel_helpers import first_quick_then_slow, first_quick_then_stubborn, wait_for


def test_breaking_out_of_the_loop_stops_the_shard_running(tmp_path: Path) -> None:
    with LocalExecutor(workers=1) as ex:  # two shards in flight (in_flight = 2 x workers): one quick, one slow
        for first in ex.map_shards(first_quick_then_slow, [(str(tmp_path), 0), (str(tmp_path), 1)]):
            slow = 1 - first
            wait_for(tmp_path / f"started-{slow}")  # the slow shard is running in the pool's worker
            break
        # the next call's shard runs in the same single worker only once the slow shard is gone: had it run on,
        # its finished file would be there by now
        assert list(ex.map_shards(square, [3])) == [(3, 9)]
        assert not (tmp_path / f"finished-{slow}").exists()
        assert ex.restarts == 0  # a stopped shard is no worker death


def test_an_error_in_the_loop_body_stops_the_shards_in_flight(tmp_path: Path) -> None:
    shards = [(str(tmp_path), i) for i in range(4)]
    with LocalExecutor(workers=1, start_method="fork") as ex:  # fork: a pool starts in well under a second
        with pytest.raises(RuntimeError, match="the caller failed"):
            for first in ex.map_shards(first_quick_then_slow, shards):
                wait_for(tmp_path / f"started-{1 if first == 0 else 0}")
                raise RuntimeError("the caller failed")
        assert list(ex.map_shards(square, [3])) == [(3, 9)]
        assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("finished")) == []
        assert len([p for p in tmp_path.iterdir() if p.name.startswith("started")]) == 1  # the rest never started


def test_closing_the_generator_by_hand_stops_the_shards_in_flight(tmp_path: Path) -> None:
    with LocalExecutor(workers=1, start_method="fork") as ex:
        results = ex.map_shards(first_quick_then_slow, [(str(tmp_path), i) for i in range(3)])
        first = next(results)
        wait_for(tmp_path / f"started-{1 if first == 0 else 0}")
        results.close()
        assert sorted(ex.map_shards(square, [2, 3])) == [(2, 4), (3, 9)]  # the executor still runs shards
        assert not [p for p in tmp_path.iterdir() if p.name.startswith("finished")]


def test_a_shard_that_ignores_sigterm_is_killed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import assetgrade.batch.local_executor as executor

    monkeypatch.setattr(executor, "CANCEL_GRACE_S", 0.5)  # how long it is given; the outcome is what is checked
    with LocalExecutor(workers=1, start_method="fork") as ex:
        for first in ex.map_shards(first_quick_then_stubborn, [(str(tmp_path), 0, True), (str(tmp_path), 1, True)]):
            slow = 1 - first
            wait_for(tmp_path / f"started-{slow}")
            break
        assert list(ex.map_shards(square, [3])) == [(3, 9)]
        assert not (tmp_path / f"finished-{slow}").exists()

"""Poison isolation: an asset that kills its worker process is found, reported by id, and the batch goes on."""

from __future__ import annotations

import os
import signal
from collections.abc import Sequence
from typing import Any

import pytest
from sqlalchemy import func, select
from tests.unit.batch.conftest import N_ASSETS, batch_ws, trained  # noqa: F401  (fixtures)

from assetgrade.batch.jobs import SHARD_EVENT, read_features, run_batch
from assetgrade.batch.local_executor import LocalExecutor
from assetgrade.errors import AssetgradeError
from assetgrade.store.schema import AuditEvent, Prediction
from assetgrade.workspace import Workspace

FORK = "fork"  # the workers inherit the patched Grader below


def _kill_on(monkeypatch: pytest.MonkeyPatch, poisoned: Any) -> None:
    """Make a worker SIGKILL itself when it computes the evidence of an asset for which ``poisoned(id)`` is true,
    as a C decoder crashing on one image would."""
    from assetgrade.grader import Grader

    real = Grader.evidence

    def evidence(self: Grader, records: Sequence[Any]) -> Any:
        if any(poisoned(r.asset_id) for r in records):
            os.kill(os.getpid(), signal.SIGKILL)
        return real(self, records)

    monkeypatch.setattr(Grader, "evidence", evidence)


def _preds_per_asset(ws: Workspace) -> dict[str, int]:
    with ws.session(readonly=True) as s:
        return {str(a): int(n) for a, n in s.execute(select(Prediction.asset_id, func.count())
                                                       .group_by(Prediction.asset_id))}


def _marks(ws: Workspace) -> int:
    with ws.session(readonly=True) as s:
        return int(s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == SHARD_EVENT))
                   or 0)


def test_an_asset_that_kills_its_worker_is_reported_by_id_and_every_other_asset_is_graded_once(
        batch_ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    # asset-013 killed its worker on every try: the pool broke, was rebuilt and broke again until max_restarts
    # ended the batch ('the process pool broke 4 times'), and each break threw away the other shards in flight
    _kill_on(monkeypatch, lambda a: a == "asset-013")
    with LocalExecutor(workers=2, max_restarts=1, start_method=FORK) as ex:
        rep = run_batch(batch_ws, "grade", ex, shard_size=8)
    assert rep.errors == [("asset-013", "worker process died while grading asset asset-013: "
                                        "killed by signal 9 (SIGKILL)")]
    preds = _preds_per_asset(batch_ws)
    assert preds == {f"asset-{i:03d}": 1 for i in range(N_ASSETS) if i != 13}  # every other asset, once
    assert (rep.shards_done, rep.written, rep.skipped_existing) == (4, N_ASSETS - 1, 0)
    # the shared pool broke once; shard 0 (asset-006, 013, 018, 021, 022 by id hash) died alone, then its half
    # 006 and 013, then 013
    assert ex.restarts == 4
    assert _marks(batch_ws) == 3  # the poisoned shard stays unmarked: the next run tries asset-013 again


def test_a_poisoned_assets_shard_still_writes_its_other_features(
        batch_ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    # the parts of a split shard come back as one result, so its feature file holds every asset but the poisoned one
    _kill_on(monkeypatch, lambda a: a == "asset-002")
    with LocalExecutor(workers=1, max_restarts=1, start_method=FORK) as ex:
        rep = run_batch(batch_ws, "extract", ex, shard_size=8)
    assert [a for a, _ in rep.errors] == ["asset-002"] and "extracting asset asset-002" in rep.errors[0][1]
    assert (rep.shards_done, rep.written, len(rep.outputs)) == (4, N_ASSETS - 1, 4)
    ids = read_features(batch_ws, str(rep.model_version))["text"][0]
    assert sorted(ids) == [f"asset-{i:03d}" for i in range(N_ASSETS) if i != 2]


def test_a_batch_where_every_asset_kills_its_worker_stops_within_max_restarts(
        batch_ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    _kill_on(monkeypatch, lambda a: True)
    stop = r"broke 1 time and worker processes died 5 times.*max_restarts=1.*asset-013.*asset-021.*8 shards left undone"
    with LocalExecutor(workers=1, max_restarts=1, start_method=FORK) as ex, pytest.raises(AssetgradeError, match=stop):
        run_batch(batch_ws, "grade", ex, shard_size=4)
    # the shared pool broke once (charged 1); shard 0 (asset-013, 021, 022 by id hash) alone, then 013 died: asset-013
    # is the cause of that break; 021..022 and 021 died: asset-021 is a second cause (charged 2 > 1), so the run
    # stops there
    assert ex.restarts == 5
    assert _preds_per_asset(batch_ws) == {} and _marks(batch_ws) == 0


def _exit_on_7(x: int) -> int:
    if x == 7:
        os._exit(137)
    return -x


def test_a_plain_shard_that_kills_its_worker_alone_is_named_after_the_others_are_done() -> None:
    # shards that are not Divisible (plain numbers) cannot be narrowed down: the others still complete
    got: list[int] = []
    with LocalExecutor(workers=2, max_restarts=2, start_method=FORK) as ex, \
            pytest.raises(AssetgradeError, match=r"^7 killed its worker process when run alone \(exit code 137\)"):
        got.extend(ex.map_shards(_exit_on_7, list(range(12))))
    assert sorted(got) == sorted(-x for x in range(12) if x != 7)  # each once
    assert ex.restarts == 2  # the shared pool, then 7 alone

"""Batch error isolation: one bad asset is named once, and the rest of its shard is still graded."""

from __future__ import annotations

import dataclasses
import hashlib

import pytest
from sqlalchemy import func, select
from tests.unit.batch.conftest import N_ASSETS, batch_ws, trained  # noqa: F401  (fixtures)

from assetgrade.batch.jobs import run_batch
from assetgrade.batch.local_executor import LocalExecutor
from assetgrade.store.repository import ProvenanceInfo, add_evidence
from assetgrade.store.schema import Prediction
from assetgrade.workspace import Workspace


def _preds(ws: Workspace, asset_id: str | None = None) -> int:
    q = select(func.count()).select_from(Prediction)
    if asset_id is not None:
        q = q.where(Prediction.asset_id == asset_id)
    with ws.session(readonly=True) as s:
        return int(s.execute(q).scalar_one())


def test_a_log_with_an_unreadable_cost_is_one_bad_asset_not_the_end_of_the_batch(batch_ws: Workspace) -> None:  # noqa: F811
    # evidence imported with a cost that is not a number ("n/a"): loading that asset raises ValueError, which
    # escaped the worker and ended the whole batch with a traceback instead of naming the asset
    text = "Inspection, cost to be confirmed."
    with batch_ws.session() as s:
        add_evidence(s, asset_id="asset-005", kind="log", sha256=hashlib.sha256(text.encode()).hexdigest(),
                     text=text, attributes={"cost": "n/a"}, evidence_id="asset-005/log-2",
                     provenance=ProvenanceInfo(source="cmms"))
    with LocalExecutor(workers=1, start_method="fork") as ex:
        rep = run_batch(batch_ws, "grade", ex, shard_size=8)
    assert [a for a, _ in rep.errors] == ["asset-005"], rep.errors
    assert "ValueError" in rep.errors[0][1] and "n/a" in rep.errors[0][1] and "not graded" in rep.errors[0][1]
    assert (rep.shards_done, rep.written) == (4, N_ASSETS - 1)
    assert _preds(batch_ws, "asset-005") == 0 and _preds(batch_ws) == N_ASSETS - 1


def test_an_unreadable_asset_is_reported_once_when_another_asset_of_its_shard_fails(
        batch_ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    # asset-002's evidence could not be read and asset-005 makes grading raise: the shard is computed again
    # asset by asset, and asset-002's error, recorded by the first whole-shard try, was recorded a second time
    from assetgrade.grader import Grader

    real_evidence, real_grade = Grader.evidence, Grader.grade_many

    def evidence(self: Grader, records: list) -> list:  # type: ignore[type-arg]
        blocks = real_evidence(self, records)
        if any(r.asset_id == "asset-002" for r in records):
            blocks = [dataclasses.replace(b, unreadable=frozenset({"asset-002"})) for b in blocks]
        return list(blocks)

    def grade_many(self: Grader, records: list) -> list:  # type: ignore[type-arg]
        if any(r.asset_id == "asset-005" for r in records):
            raise IndexError("index 3 is out of bounds for axis 0 with size 3")
        return list(real_grade(self, records))

    monkeypatch.setattr(Grader, "evidence", evidence)
    monkeypatch.setattr(Grader, "grade_many", grade_many)
    with LocalExecutor(workers=1, start_method="fork") as ex:
        rep = run_batch(batch_ws, "grade", ex, shard_size=8)
    assert sorted(a for a, _ in rep.errors) == ["asset-002", "asset-005"], rep.errors
    assert rep.written == N_ASSETS - 2

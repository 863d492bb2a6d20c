"""Which grade label trains, and what a review without a grade does to the review queue.

docs/review.md, "From reviews to training labels": a review without a grade (a note, defects only; the API takes
it, the UI refuses it) leaves the asset in the review queue until a review with a grade arrives. SQLite and
PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from tests.pg import PG_DEFAULT, PG_ENV, pg_url, reset_pg

from assetgrade.rest.queries import review_queue
from assetgrade.store import add_asset, add_prediction, add_review, load_records
from assetgrade.workspace import Workspace

_PG = pg_url()
DIST = {"A": 0.1, "B": 0.5, "C": 0.4, "D": 0.0}


@pytest.fixture(params=["sqlite", "postgresql"])
def ws(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Workspace]:
    if request.param == "postgresql":
        if _PG is None:
            pytest.skip(f"no PostgreSQL server answers: set {PG_ENV} or start one at {PG_DEFAULT}")
        reset_pg(_PG)
        w = Workspace.init(tmp_path / "ws", store_url=_PG)
    else:
        w = Workspace.init(tmp_path / "ws")
    yield w
    w.close()


def _grades(ws: Workspace, ids: Sequence[str]) -> dict[str, str | None]:
    return {r.asset_id: r.grade for r in load_records(ws, list(ids))}


def _queued(ws: Workspace) -> list[str]:
    with ws.session(readonly=True) as s:
        return [r.asset_id for r in review_queue(s, limit=100)[0]]


def _predict(ws: Workspace, asset_id: str, model: str, decision: str = "review") -> None:
    with ws.session() as s:
        add_prediction(s, asset_id, model_version=model, grade="B", distribution=DIST, conformal_set=["B", "C"],
                       decision=decision, expected_cost=100.0)


def test_a_review_without_a_grade_keeps_the_asset_in_the_queue(ws: Workspace) -> None:
    with ws.session() as s:
        add_asset(s, "n1", asset_type="pump")
    _predict(ws, "n1", "m1")
    with ws.session() as s:
        add_review(s, "n1", reviewer="ana", expected_version=1, note="photo is blurred, retake")
    assert _queued(ws) == ["n1"]
    with ws.session() as s:
        add_review(s, "n1", reviewer="ana", expected_version=2, defects=[{"id": "corrosion"}])
    assert _queued(ws) == ["n1"]
    with ws.session() as s:
        add_review(s, "n1", reviewer="ben", expected_version=3, grade="C")
    assert _queued(ws) == []
    assert _grades(ws, ["n1"]) == {"n1": "C"}

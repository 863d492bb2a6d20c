"""Review-flow audit, from review to training: the newest review is the asset's truth, once, whatever comes after.

store.md and grading.md: a review's grade becomes a label with source ``review`` that wins over
imported labels, and the newest review counts; retrain.py trains on each labelled asset's current
grade. So a corrected review replaces the first one in the training data (one record per asset,
the corrected grade), and neither a later import, a review that gives no grade, nor a re-grade by a
newer model moves the label.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from tests.models import FixedModel

from assetgrade.lifecycle.bundles import register_bundle_loader
from assetgrade.lifecycle.retrain import retrain
from assetgrade.rest.queries import review_queue
from assetgrade.store import add_asset, add_label, add_prediction, add_review
from assetgrade.store.loading import load_records
from assetgrade.store.records import AssetRecord
from assetgrade.store.repository import get_asset
from assetgrade.workspace import Workspace

DIST = {"A": 0.1, "B": 0.5, "C": 0.4, "D": 0.0}


register_bundle_loader("review-flow-audit", lambda _p: FixedModel())


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    w = Workspace.init(tmp_path / "ws")
    yield w
    w.close()


def _version(ws: Workspace, asset_id: str) -> int:
    with ws.session(readonly=True) as s:
        return int(get_asset(s, asset_id).version)


def test_a_corrected_review_replaces_the_first_in_training_and_nothing_later_moves_it(ws: Workspace) -> None:
    with ws.session() as s:
        for aid in ("a1", "a2"):
            add_asset(s, aid, asset_type="pump")
            add_label(s, asset_id=aid, kind="grade", value="A", annotator="inspector-1")
        add_prediction(s, "a1", model_version="m1", grade="B", distribution=DIST, conformal_set=["B", "C"],
                       decision="review", expected_cost=900.0)
    with ws.session() as s:
        add_review(s, "a1", reviewer="ana", expected_version=_version(ws, "a1"), grade="B")
    with ws.session() as s:  # ana's grade corrected by a second reviewer
        add_review(s, "a1", reviewer="ben", expected_version=_version(ws, "a1"), grade="C")
    with ws.session() as s:  # then a note without a grade, a newer import and a re-grade by a newer model
        add_review(s, "a1", reviewer="cat", expected_version=_version(ws, "a1"), note="photo retaken")
        add_label(s, asset_id="a1", kind="grade", value="D", annotator="inspector-2")
        add_prediction(s, "a1", model_version="m2", grade="A", distribution={"A": 0.99, "B": 0.01, "C": 0, "D": 0},
                       conformal_set=["A"], decision="accept", expected_cost=20.0)
    [rec] = load_records(ws, ["a1"])
    assert rec.grade == "C"
    with ws.session(readonly=True) as s:
        assert review_queue(s) == ([], 0)  # the newer model accepted it: no stale entry left behind
    seen: list[list[tuple[str, str | None]]] = []

    def fit(records: Sequence[AssetRecord]) -> FixedModel:
        seen.append([(r.asset_id, r.grade) for r in records])
        return FixedModel()

    res = retrain(ws, golden=None, fit=fit, loader="review-flow-audit", version="v1")
    assert seen == [[("a1", "C"), ("a2", "A")]]  # one record per asset, the corrected grade
    assert res.n_train == 2 and res.n_reviewed == 1

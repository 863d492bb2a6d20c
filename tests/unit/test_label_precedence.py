"""Which grade label trains: a human's over a machine's, reviews by the asset version they produced, not by clocks.

docs/review.md, "From reviews to training labels": a human label (a review, an expert's import) always wins
over a machine label (annotator or source ``pseudo``, ``model``, ``weak``, ``synthetic``, ``auto``, any case);
among human labels the latest correction wins, reviews ordered by the version each produced (a server's
clock does not decide); an asset with only machine labels is unlabelled (not trained on, asked for in a label
round). A review without a grade leaves the asset in the review queue. SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import pytest
from sqlalchemy import update
from tests.models import FixedModel

import assetgrade.store.results as results_module
from assetgrade.lifecycle.bundles import register_bundle_loader
from assetgrade.lifecycle.retrain import retrain
from assetgrade.rest.queries import review_queue
from assetgrade.store import add_asset, add_label, add_prediction, add_review, load_records, stats
from assetgrade.store.records import AssetRecord
from assetgrade.store.repository import get_asset
from assetgrade.store.requests import (
    RequestedLabel,
    add_label_requests,
    close_label_requests_labelled,
    get_label_request,
)
from assetgrade.store.schema import Label, utcnow
from assetgrade.workspace import Workspace

DIST = {"A": 0.1, "B": 0.5, "C": 0.4, "D": 0.0}


register_bundle_loader("label-precedence", lambda _p: FixedModel())


@pytest.fixture
def ws(store_ws: Workspace) -> Workspace:
    return store_ws


def _version(ws: Workspace, asset_id: str) -> int:
    with ws.session(readonly=True) as s:
        return int(get_asset(s, asset_id).version)


def _grades(ws: Workspace, ids: Sequence[str]) -> dict[str, str | None]:
    return {r.asset_id: r.grade for r in load_records(ws, list(ids))}


def _review_on_clock(ws: Workspace, monkeypatch: pytest.MonkeyPatch, skew: timedelta, asset_id: str,
                     reviewer: str, grade: str | None) -> None:
    """A review written by a server whose clock is ``skew`` off."""
    with monkeypatch.context() as m:
        m.setattr(results_module, "utcnow", lambda: utcnow() + skew)
        with ws.session() as s:
            add_review(s, asset_id, reviewer=reviewer, expected_version=_version(ws, asset_id), grade=grade)


def _queued(ws: Workspace) -> list[str]:
    with ws.session(readonly=True) as s:
        return [r.asset_id for r in review_queue(s, limit=100)[0]]


def _predict(ws: Workspace, asset_id: str, model: str, decision: str = "review") -> None:
    with ws.session() as s:
        add_prediction(s, asset_id, model_version=model, grade="B", distribution=DIST, conformal_set=["B", "C"],
                       decision=decision, expected_cost=100.0)


def test_a_newer_machine_label_never_replaces_a_human_one(ws: Workspace) -> None:
    t0 = datetime(2026, 1, 1, 12, 0, 0)
    machines = {"m1": ("model", "import"), "m2": (" Pseudo ", "import"), "m3": ("AUTO", "import"),
                "m4": ("inspector-9", "weak")}
    with ws.session() as s:
        for aid, (annotator, source) in machines.items():
            add_asset(s, aid, asset_type="pump")
            expert = add_label(s, asset_id=aid, kind="grade", value="A", annotator="inspector-1")
            machine = add_label(s, asset_id=aid, kind="grade", value="D", annotator=annotator, source=source)
            s.flush()
            s.execute(update(Label).where(Label.id == expert.id).values(created_at=t0))
            s.execute(update(Label).where(Label.id == machine.id).values(created_at=t0 + timedelta(days=30)))
        # a machine label older than the expert's, and one newer than a review
        add_asset(s, "h1")
        add_asset(s, "h2")
        old = add_label(s, asset_id="h1", kind="grade", value="D", annotator="model")
        newer = add_label(s, asset_id="h1", kind="grade", value="B", annotator="inspector-2")
        s.flush()
        s.execute(update(Label).where(Label.id == old.id).values(created_at=t0))
        s.execute(update(Label).where(Label.id == newer.id).values(created_at=t0 + timedelta(days=1)))
    with ws.session() as s:
        add_review(s, "h2", reviewer="ana", expected_version=1, grade="C")
    with ws.session() as s:
        add_label(s, asset_id="h2", kind="grade", value="A", annotator="synthetic")
    assert _grades(ws, [*machines, "h1", "h2"]) == {"m1": "A", "m2": "A", "m3": "A", "m4": "A", "h1": "B",
                                                    "h2": "C"}
    with ws.session(readonly=True) as s:
        assert stats(s)["grade"] == {"A": 4, "B": 1, "C": 1}


def test_an_asset_with_only_machine_labels_is_unlabelled(ws: Workspace) -> None:
    with ws.session() as s:
        add_asset(s, "e1", asset_type="pump")
        add_label(s, asset_id="e1", kind="grade", value="B", annotator="inspector-1")
        add_asset(s, "p1", asset_type="pump")
        add_label(s, asset_id="p1", kind="grade", value="A", annotator="pseudo")
        add_label(s, asset_id="p1", kind="grade", value="C", annotator="Model")
    assert _grades(ws, ["e1", "p1"]) == {"e1": "B", "p1": None}
    with ws.session(readonly=True) as s:
        assert stats(s)["grade"] == {"B": 1}
    with ws.session() as s:  # a label round asks for p1: its machine labels are no human's grade
        rep = add_label_requests(s, [RequestedLabel("p1", 0, "uncertainty"), RequestedLabel("e1", 1, "uncertainty")],
                                 strategy="budget_switch", model_version="m1")
    assert rep.added == ["p1"] and rep.skipped == {"e1": "already has a grade label"}
    with ws.session() as s:  # a machine label arriving by import does not answer the request, an expert's does
        pseudo = add_label(s, asset_id="p1", kind="grade", value="D", annotator="auto")
        assert close_label_requests_labelled(s, {"p1": pseudo.id}, actor="ingest", ingest_batch_id="b1") == []
        row = get_label_request(s, "p1")
        assert row is not None and row.status == "open"
    with ws.session() as s:
        expert = add_label(s, asset_id="p1", kind="grade", value="C", annotator="inspector-2")
        assert close_label_requests_labelled(s, {"p1": expert.id}, actor="ingest", ingest_batch_id="b2") == ["p1"]
    seen: list[list[tuple[str, str | None]]] = []

    def fit(records: Sequence[AssetRecord]) -> FixedModel:
        seen.append([(r.asset_id, r.grade) for r in records])
        return FixedModel()

    with ws.session() as s:
        add_asset(s, "p2", asset_type="pump")
        add_label(s, asset_id="p2", kind="grade", value="A", annotator="pseudo")
    retrain(ws, golden=None, fit=fit, loader="label-precedence", version="v1")
    assert seen == [[("e1", "B"), ("p1", "C")]]  # p2 (pseudo only) is not trained on


def test_the_review_that_produced_the_higher_version_wins_whatever_the_clocks(
        ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    with ws.session() as s:
        add_asset(s, "a1", asset_type="pump")
        add_label(s, asset_id="a1", kind="grade", value="A", annotator="inspector-1")
    _review_on_clock(ws, monkeypatch, timedelta(0), "a1", "ana", "B")  # version 2
    _review_on_clock(ws, monkeypatch, timedelta(seconds=-2), "a1", "ben", "C")  # version 3, clock 2 s behind
    assert _version(ws, "a1") == 3
    assert _grades(ws, ["a1"]) == {"a1": "C"}
    with ws.session(readonly=True) as s:
        assert stats(s)["grade"] == {"C": 1}
    _review_on_clock(ws, monkeypatch, timedelta(seconds=-5), "a1", "cat", None)  # a note: no grade, no move
    _review_on_clock(ws, monkeypatch, timedelta(seconds=-9), "a1", "dan", "D")  # version 5, clock further behind
    assert _grades(ws, ["a1"]) == {"a1": "D"}


def test_a_review_before_a_prediction_does_not_hide_it_whatever_the_clocks(
        ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    with ws.session() as s:
        add_asset(s, "q1", asset_type="pump")
    _predict(ws, "q1", "m1")
    assert _queued(ws) == ["q1"]
    _review_on_clock(ws, monkeypatch, timedelta(seconds=2), "q1", "ana", "B")  # a server 2 s ahead
    assert _queued(ws) == []
    _predict(ws, "q1", "m2")  # stored after the review, on a server with the right time: it waits for a review
    assert _queued(ws) == ["q1"]


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

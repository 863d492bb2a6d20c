"""Two writers interleaved on PostgreSQL: reviews, grades, label rounds and imports neither lose an update nor
deadlock on the audit chain's lock (SQLite's single writer hides all of this)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from tests.pg import PG_ENV, pg_url, pg_workspace, run_behind

from assetgrade.errors import ConflictError
from assetgrade.store import add_asset, add_prediction, add_review, verify_chain
from assetgrade.store.audit import append_event
from assetgrade.store.requests import (
    RequestedLabel,
    add_label_requests,
    close_label_requests_labelled,
    get_label_request,
    withdraw_label_requests,
)
from assetgrade.store.schema import Asset, Label, PredictionHead, Review
from assetgrade.workspace import Workspace

_PG = pg_url()


@pytest.fixture
def pg(tmp_path: Path) -> Iterator[Workspace]:
    if _PG is None:
        pytest.skip(f"no PostgreSQL server answers: set {PG_ENV}")
    yield from pg_workspace(tmp_path, _PG)


def _behind(session: Any, target: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    """Run ``target`` in a thread until it waits for a lock ``session``'s open transaction holds."""
    assert _PG is not None
    worker, out, waits = run_behind(_PG, session, target)
    assert waits, f"the second writer never waited for the first: {out}"
    return worker, out


def _queued_asset(ws: Workspace, asset_id: str = "p-1") -> None:
    with ws.session() as s:
        add_asset(s, asset_id, asset_type="pump")
        add_prediction(s, asset_id, model_version="m1", grade="B", distribution={"A": 0.4, "B": 0.6},
                       conformal_set=["A", "B"], decision="review", expected_cost=3.0)


def test_two_reviews_of_one_version_interleaved_one_wins_the_other_is_stale(pg: Workspace) -> None:
    _queued_asset(pg)
    with pg.session() as first:
        add_review(first, "p-1", reviewer="ana", expected_version=1, grade="A")
        worker, out = _behind(first, lambda: _review(pg, "bob", "C"))
    worker.join(60)
    assert isinstance(out.get("error"), ConflictError), out  # not a lost update: bob saw version 1 too
    with pg.session(readonly=True) as s:
        assert s.scalar(select(Asset.version).where(Asset.id == "p-1")) == 2
        assert [r.reviewer for r in s.scalars(select(Review))] == ["ana"]
        assert verify_chain(s).ok


def _review(ws: Workspace, who: str, grade: str) -> None:
    with ws.session() as s:
        add_review(s, "p-1", reviewer=who, expected_version=1, grade=grade)


def test_a_review_and_a_new_grade_of_the_same_queued_asset_do_not_deadlock(pg: Workspace) -> None:
    # a grade (or a batch shard) takes the chain lock and then moves the asset's queue head; a review moved the
    # head before taking the chain lock, so each waited for the other and PostgreSQL killed one (503)
    _queued_asset(pg)
    with pg.session() as grading:
        append_event(grading, actor="batch", action="batch.shard_done", entity="batch_shard", entity_id="k")
        worker, out = _behind(grading, lambda: _review(pg, "ana", "A"))
        add_prediction(grading, "p-1", model_version="m2", grade="B", distribution={"A": 0.3, "B": 0.7},
                       conformal_set=["A", "B"], decision="review", expected_cost=2.0)
    worker.join(60)
    assert "error" not in out, out
    with pg.session(readonly=True) as s:
        assert s.scalar(select(Asset.version).where(Asset.id == "p-1")) == 2
        head = s.get(PredictionHead, "p-1")
        assert head is not None and not head.queued  # the review came after the new grade
        assert verify_chain(s).ok


def test_a_label_round_and_an_import_closing_the_request_do_not_deadlock(pg: Workspace) -> None:
    # an import appends its ingest.rows event (chain lock) and then closes the asset's request; a round wrote
    # the request row before taking the chain lock: a deadlock, and a round that read the request before the
    # import committed would reopen a request the import had just answered
    _queued_asset(pg)
    with pg.session() as s:
        add_label_requests(s, [RequestedLabel("p-1", 1, "random")], strategy="random", model_version="m1")
    with pg.session() as ingest:
        append_event(ingest, actor="ingest", action="ingest.rows", entity="ingest_batch", entity_id="b1")
        worker, out = _behind(ingest, lambda: _new_round(pg))
        ingest.add(Label(id="lb-imp", asset_id="p-1", annotator="import", kind="grade", value="A", source="import"))
        ingest.flush()
        assert close_label_requests_labelled(ingest, {"p-1": "lb-imp"}, actor="ingest", ingest_batch_id="b1")
    worker.join(60)
    assert "error" not in out, out
    assert out["value"].skipped == {"p-1": "already has a grade label"}
    with pg.session(readonly=True) as s:
        req = get_label_request(s, "p-1")
        assert req is not None and req.status == "done"
        assert verify_chain(s).ok


def _new_round(ws: Workspace) -> Any:
    with ws.session() as s:
        return add_label_requests(s, [RequestedLabel("p-1", 1, "random")], strategy="random", model_version="m2")


def test_a_withdrawal_does_not_overwrite_a_request_an_import_closed_meanwhile(pg: Workspace) -> None:
    _queued_asset(pg)
    with pg.session() as s:
        add_label_requests(s, [RequestedLabel("p-1", 1, "random")], strategy="random", model_version="m1")
    with pg.session() as ingest:
        append_event(ingest, actor="ingest", action="ingest.rows", entity="ingest_batch", entity_id="b1")
        assert close_label_requests_labelled(ingest, {"p-1": "lb-imp"}, actor="ingest", ingest_batch_id="b1")
        worker, out = _behind(ingest, lambda: _withdraw(pg))
    worker.join(60)
    assert out == {"value": []}, out  # nothing was open any more
    with pg.session(readonly=True) as s:
        req = get_label_request(s, "p-1")
        assert req is not None and req.status == "done"


def _withdraw(ws: Workspace) -> list[str]:
    with ws.session() as s:
        return withdraw_label_requests(s, ["p-1"], actor="admin")

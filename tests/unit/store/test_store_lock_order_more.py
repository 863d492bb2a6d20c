"""The repository's writes keep the PostgreSQL lock order (asset rows, then the chain lock, then other rows; store.md)
against an import and a review: an asset, a label or evidence of several assets added in one transaction used to
take the chain lock before the rows they record, and deadlocked with a writer that holds such a row and waits for
the chain lock (DeadlockDetected, a 503 from the API)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.pg import PG_ENV, pg_url, pg_workspace, run_behind

from assetgrade.rest import writes
from assetgrade.rest.auth import Principal
from assetgrade.rest.schemas import AssetIn
from assetgrade.store import add_asset, add_evidence, add_label, add_prediction, add_review, verify_chain
from assetgrade.store.audit import append_event
from assetgrade.store.repository import add_transaction, label_id_for
from assetgrade.store.schema import Asset, AuditEvent, Evidence, Label
from assetgrade.workspace import Workspace

_PG = pg_url()


@pytest.fixture
def pg(tmp_path: Path) -> Iterator[Workspace]:
    if _PG is None:
        pytest.skip(f"no PostgreSQL server answers: set {PG_ENV}")
    yield from pg_workspace(tmp_path, _PG)


def _alongside(session: Any, target: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any], bool]:
    """Run ``target`` in a thread until it ends or waits for a lock ``session``'s open transaction holds."""
    assert _PG is not None
    return run_behind(_PG, session, target)


def _no_deadlock(*errors: BaseException | None) -> None:
    for err in errors:
        assert err is None or "deadlock" not in str(err).lower(), f"deadlock: {err!r}"


def _ingest_rows(s: Session, rows: list[Any]) -> None:
    """What an import's row group does (ingest/commit.py): its rows flushed, then its ingest.rows event."""
    s.add_all(rows)
    s.flush()
    append_event(s, actor="ingest", action="ingest.rows", entity="ingest_batch", entity_id="b1",
                 payload={"n": len(rows)})


def test_an_api_asset_and_an_import_creating_the_same_asset_do_not_deadlock(pg: Workspace) -> None:
    # add_asset appended its event (chain lock) before its row was inserted at commit; the import had inserted
    # the same new id and waited for the chain lock: each waited for the other
    who = Principal(name="admin", role="admin")
    main_error: BaseException | None = None
    try:
        with pg.session() as ingest:
            ingest.add(Asset(id="n-1", asset_type="pump", attributes={}, version=1))
            ingest.flush()
            worker, out, waits = _alongside(
                ingest, lambda: writes.create_asset(pg, who, AssetIn(id="n-1", asset_type="pump")))
            assert waits, out  # the API's insert waits for the import's uncommitted row
            append_event(ingest, actor="ingest", action="ingest.rows", entity="ingest_batch", entity_id="b1",
                         payload={"assets": ["n-1"]})
    except Exception as exc:
        main_error = exc
    worker.join(60)
    _no_deadlock(main_error, out.get("error"))
    assert main_error is None and "error" not in out, (main_error, out)
    assert out["value"].id == "n-1"  # lost the key race, ran once more: the same asset is the documented no-op
    with pg.session(readonly=True) as s:
        assert s.scalar(select(Asset.asset_type).where(Asset.id == "n-1")) == "pump"
        assert [e.action for e in s.scalars(select(AuditEvent).order_by(AuditEvent.seq))] == ["ingest.rows"]
        assert verify_chain(s).ok


def test_a_label_and_an_import_adding_the_same_label_do_not_deadlock(pg: Workspace) -> None:
    with pg.session() as s:
        add_asset(s, "l-1", asset_type="pump")
    lid = label_id_for("l-1", None, "import", "grade", "B")
    main_error: BaseException | None = None

    def label() -> Label:
        with pg.session() as s:
            return add_label(s, asset_id="l-1", kind="grade", value="B")

    try:
        with pg.session() as ingest:
            ingest.add(Label(id=lid, asset_id="l-1", annotator="import", kind="grade", value="B", source="import"))
            ingest.flush()
            worker, out, waits = _alongside(ingest, label)
            assert waits, out
            append_event(ingest, actor="ingest", action="ingest.rows", entity="ingest_batch", entity_id="b1")
    except Exception as exc:
        main_error = exc
    worker.join(60)
    _no_deadlock(main_error, out.get("error"))
    assert main_error is None, main_error
    assert "IntegrityError" in type(out.get("error")).__name__, out  # the key race, which a retry answers
    with pg.session(readonly=True) as s:
        assert s.scalars(select(Label.id)).all() == [lid]
        assert verify_chain(s).ok


def _queued(ws: Workspace, *asset_ids: str) -> None:
    with ws.session() as s:
        for a in asset_ids:
            add_asset(s, a, asset_type="pump")
    with ws.session() as s:  # a transaction of its own: the grades come after the assets' rows
        for a in asset_ids:
            add_prediction(s, a, model_version="m1", grade="B", distribution={"A": 0.4, "B": 0.6},
                           conformal_set=["A", "B"], decision="review", expected_cost=3.0)


_FIRST_WRITES: dict[str, Callable[[Session], Any]] = {
    "evidence": lambda s: add_evidence(s, asset_id="e-1", kind="log", sha256="1" * 64, text="leak",
                                       evidence_id="ev-1"),
    "asset": lambda s: add_asset(s, "e-3", asset_type="valve"),
    "label": lambda s: add_label(s, asset_id="e-1", kind="grade", value="A"),
    "transaction": lambda s: add_transaction(s, "e-1", kind="sale", amount=10.0),
}


@pytest.mark.parametrize("first", sorted(_FIRST_WRITES))
def test_evidence_of_a_second_asset_in_one_transaction_does_not_deadlock_with_its_review(
        pg: Workspace, first: str) -> None:
    # the first write appended its event (chain lock); the second asset's evidence then raised that asset's
    # version, after the chain lock, while a review held that asset's row and waited for the chain lock
    _queued(pg, "e-1", "e-2")
    main_error: BaseException | None = None

    def review() -> None:
        with pg.session() as s:
            add_review(s, "e-2", reviewer="ana", expected_version=1, grade="A")

    try:
        with pg.session() as s:
            _FIRST_WRITES[first](s)
            worker, out, _ = _alongside(s, review)
            add_evidence(s, asset_id="e-2", kind="log", sha256="2" * 64, text="crack", evidence_id="ev-2")
    except Exception as exc:
        main_error = exc
    worker.join(60)
    _no_deadlock(main_error, out.get("error"))
    assert main_error is None and "error" not in out, (main_error, out)
    with pg.session(readonly=True) as s:
        # the review came first (version 2), the new evidence after it (3): nothing lost
        assert s.scalar(select(Asset.version).where(Asset.id == "e-2")) == 3
        assert s.scalar(select(Evidence.asset_id).where(Evidence.id == "ev-2")) == "e-2"
        actions = [e.action for e in s.scalars(select(AuditEvent).order_by(AuditEvent.seq))]
        assert actions[-1] == "evidence.add" and "review.add" in actions
        assert verify_chain(s).ok


def test_queued_events_keep_the_call_order_and_leave_with_a_rolled_back_savepoint(ws: Workspace) -> None:
    # uses the store conftest's ws: SQLite and PostgreSQL
    with ws.session() as s:
        add_asset(s, "q-1", asset_type="pump")
        with s.begin_nested():
            add_asset(s, "q-2", asset_type="pump")
        savepoint = s.begin_nested()
        add_asset(s, "q-gone", asset_type="pump")
        savepoint.rollback()
        add_prediction(s, "q-1", model_version="m1", grade="B", distribution={"A": 0.4, "B": 0.6},
                       conformal_set=["A", "B"], decision="review", expected_cost=3.0)
        add_evidence(s, asset_id="q-2", kind="log", sha256="3" * 64, text="ok", evidence_id="ev-q")
    with ws.session(readonly=True) as s:
        events = [(e.action, e.entity_id) for e in s.scalars(select(AuditEvent).order_by(AuditEvent.seq))]
        assert events[:3] == [("asset.add", "q-1"), ("asset.add", "q-2"), ("prediction.add", events[2][1])]
        assert events[3:] == [("evidence.add", "ev-q")]
        assert s.get(Asset, "q-gone") is None
        assert verify_chain(s).ok

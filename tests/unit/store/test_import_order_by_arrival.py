"""Experts' imports of one asset's grade are ordered by when the store received them, not by servers' clocks.

docs/review.md, "From reviews to training labels", rule 2: imports are ordered by their arrival in the
store (the audit chain position of the write that stored them: its ``label.add`` or ``ingest.rows``
event), then by their row in that import; a label the audit log does not record ranks below every
recorded one, by time then id. The ``created_at`` of an import is the importing server's clock, so
each test sets the times explicitly against the arrival order. SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from assetgrade.ingest import Ingestor, ItemSpec, LabelSpec
from assetgrade.lifecycle.golden import freeze_golden_set
from assetgrade.store import add_asset, add_label, add_review, load_records, precedence, stats
from assetgrade.store.repository import label_id_for
from assetgrade.store.schema import Label
from assetgrade.workspace import Workspace

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def ws(store_ws: Workspace) -> Workspace:
    return store_ws


def _gid(asset_id: str, annotator: str, value: str) -> str:
    return label_id_for(asset_id, None, annotator, "grade", value)


def _stamp(ws: Workspace, times: dict[str, datetime]) -> None:
    """Give labels the ``created_at`` their importing servers' clocks said."""
    with ws.session() as s:
        for lid, when in times.items():
            assert s.execute(update(Label).where(Label.id == lid).values(created_at=when)).rowcount == 1


def _ingest(ws: Workspace, key: str, rows: list[tuple[str, str, str]]) -> None:
    """One import (one manifest, one row group): rows of (asset id, annotator, grade), a log entry each."""
    items = [ItemSpec(where=f"{key}:row {i + 2}", asset_id=aid, kind="log", text=f"inspection note {key} {i}",
                      source_key=f"{key}#{i}", row=i + 2, file=key,
                      labels=[LabelSpec("grade", grade, annotator=annotator)])
             for i, (aid, annotator, grade) in enumerate(rows)]
    rep = Ingestor(ws, kind="manifest", source=key).run(items)
    assert not rep.errors and rep.added["labels"] == len(rows)


def _grades(ws: Workspace, ids: list[str]) -> dict[str, str | None]:
    return {r.asset_id: r.grade for r in load_records(ws, ids)}


def test_the_later_of_two_imports_wins_whatever_the_importing_servers_clocks(ws: Workspace) -> None:
    _ingest(ws, "site-a.csv", [("x1", "expert-1", "A")])  # imported first, on a host whose clock is 1 h ahead
    _ingest(ws, "site-b.csv", [("x1", "expert-2", "C")])  # imported next, on a host with the right time
    _stamp(ws, {_gid("x1", "expert-1", "A"): T0 + timedelta(hours=1), _gid("x1", "expert-2", "C"): T0})
    assert _grades(ws, ["x1"]) == {"x1": "C"}
    with ws.session(readonly=True) as s:
        assert stats(s)["grade"] == {"C": 1}  # stats reads every asset's grade in one pass
        assert freeze_golden_set(s, ["x1"]).labels == {"x1": "C"}  # a golden set reads one asset's
        order = precedence.grade_order(s, ["x1"])
    assert order[_gid("x1", "expert-2", "C")] > order[_gid("x1", "expert-1", "A")]


def test_within_one_import_the_later_row_wins(ws: Workspace) -> None:
    _ingest(ws, "panel.csv", [("x2", "expert-1", "B"), ("x2", "expert-2", "D"), ("x3", "expert-2", "A"),
                              ("x3", "expert-1", "C")])
    _stamp(ws, {_gid("x2", "expert-1", "B"): T0 + timedelta(seconds=5), _gid("x2", "expert-2", "D"): T0,
                _gid("x3", "expert-2", "A"): T0, _gid("x3", "expert-1", "C"): T0})  # x3: equal times
    assert _grades(ws, ["x2", "x3"]) == {"x2": "D", "x3": "C"}
    with ws.session(readonly=True) as s:
        assert stats(s)["grade"] == {"C": 1, "D": 1}


def test_single_label_writes_are_ordered_by_their_audit_events_too(ws: Workspace) -> None:
    with ws.session() as s:
        add_asset(s, "x4", asset_type="pump")
        add_label(s, asset_id="x4", kind="grade", value="A", annotator="inspector-1")
    with ws.session() as s:
        add_label(s, asset_id="x4", kind="grade", value="B", annotator="inspector-2")
    _ingest(ws, "late.csv", [("x4", "inspector-3", "D")])  # an import after both
    _stamp(ws, {_gid("x4", "inspector-1", "A"): T0 + timedelta(days=2), _gid("x4", "inspector-2", "B"): T0,
                _gid("x4", "inspector-3", "D"): T0 - timedelta(days=1)})
    assert _grades(ws, ["x4"]) == {"x4": "D"}
    with ws.session() as s:  # a review still beats every import, whenever each arrived
        add_review(s, "x4", reviewer="ana", expected_version=2, grade="C")
    assert _grades(ws, ["x4"]) == {"x4": "C"}


def test_a_label_the_audit_log_does_not_record_ranks_below_recorded_ones(ws: Workspace) -> None:
    _ingest(ws, "m.csv", [("x5", "expert-1", "B")])
    with ws.session() as s:  # written around the store's write functions: no audit event names them
        add_asset(s, "x6", asset_type="pump")
        s.add_all([Label(id="lb_raw_1", asset_id="x5", kind="grade", value="D", annotator="expert-9",
                         source="import", created_at=T0 + timedelta(days=30)),
                   Label(id="lb_raw_2", asset_id="x6", kind="grade", value="D", annotator="expert-9",
                         source="import", created_at=T0 + timedelta(days=1)),
                   Label(id="lb_raw_3", asset_id="x6", kind="grade", value="A", annotator="expert-8",
                         source="import", created_at=T0)])
    _stamp(ws, {_gid("x5", "expert-1", "B"): T0})
    assert _grades(ws, ["x5", "x6"]) == {"x5": "B", "x6": "D"}  # x6: unrecorded only, so time decides
    with ws.session(readonly=True) as s:
        order = precedence.grade_order(s, ["x5", "x6"])
    assert _gid("x5", "expert-1", "B") in order and not {"lb_raw_1", "lb_raw_2", "lb_raw_3"} & set(order)


def test_an_import_stored_after_a_transaction_read_the_order_is_read_too(ws: Workspace) -> None:
    """The ingest events read are kept for the transaction; events appended later are read when asked for."""
    _ingest(ws, "one.csv", [("x7", "expert-1", "A")])
    _ingest(ws, "two.csv", [("x7", "expert-2", "B")])
    with ws.session(readonly=True) as s:
        first = precedence.grade_order(s, ["x7"])
        assert first[_gid("x7", "expert-2", "B")] > first[_gid("x7", "expert-1", "A")]
        _ingest(ws, "three.csv", [("x7", "expert-3", "C")])  # another session, committed
        visible = {lb.id for lb in s.execute(select(Label).where(Label.asset_id == "x7")).scalars()}
        later = precedence.grade_order(s, ["x7"])
    new = _gid("x7", "expert-3", "C")
    assert new in visible or ws.engine.dialect.name == "sqlite"  # SQLite may keep its read snapshot
    if new in visible:
        assert later[new] > later[_gid("x7", "expert-2", "B")] > later[_gid("x7", "expert-1", "A")]
    assert _grades(ws, ["x7"]) == {"x7": "C"}


def test_golden_sets_keep_the_import_order_they_were_frozen_with(ws: Workspace) -> None:
    from assetgrade.lifecycle.golden import content_hash, get_golden_set, verify_golden_set
    from assetgrade.store.audit import append_event
    from assetgrade.store.lifecycle_schema import GoldenSetRow

    _ingest(ws, "site-a.csv", [("x9", "expert-1", "A")])  # arrived first, stamped an hour later by its host
    _ingest(ws, "site-b.csv", [("x9", "expert-2", "C")])
    _stamp(ws, {_gid("x9", "expert-1", "A"): T0 + timedelta(hours=1), _gid("x9", "expert-2", "C"): T0})
    with ws.session() as s:
        new = freeze_golden_set(s, ["x9"], name="now")
    assert new.items[0]["grade_rule"] == "precedence/2" and new.labels == {"x9": "C"}
    # a set frozen before imports were ordered by arrival: rule "precedence", imports by clock, so A
    old_item = {**new.items[0], "grade_rule": "precedence", "label": "A", "label_id": _gid("x9", "expert-1", "A"),
                "annotator": "expert-1"}
    with ws.session() as s:
        h = content_hash([old_item], new.ontology_version)
        s.add(GoldenSetRow(name="before", created_by="lead", n_items=1, content_hash=h,
                           ontology_version=new.ontology_version, items=[old_item], notes=None))
        s.flush()
        append_event(s, actor="lead", action="golden.freeze", entity="golden_set", entity_id="before",
                     payload={"content_hash": h, "n_items": 1, "ontology_version": new.ontology_version})
    with ws.session(readonly=True) as s:
        assert verify_golden_set(s, get_golden_set(s, "now")).ok
        old_check = verify_golden_set(s, get_golden_set(s, "before"))
    assert old_check.ok, old_check.problems  # verified by its own rule, not reported as changed

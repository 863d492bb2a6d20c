"""The nothing-lost check against a real store: what the client sent, not only what the server said, must be there."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from assetgrade.loadtest.load import Accepted, seed_load
from assetgrade.loadtest.verify import verify_accepted
from assetgrade.store.auth_schema import TelemetryRecord
from assetgrade.store.results import add_review
from assetgrade.workspace import Workspace


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    w = Workspace.init(tmp_path / "ws")
    seed_load(w, run_id="v", n_assets=2, reviewers=1, stations=1)
    yield w
    w.close()


def _review(ws: Workspace, grade: str) -> str:
    with ws.session() as s:
        return add_review(s, "ld-v-00000", reviewer="rev-v-0", expected_version=1, grade=grade).id


def _batch(ws: Workspace, batch_id: str, n: int) -> None:
    with ws.session() as s:
        s.add_all([TelemetryRecord(station="st-v-0", kind="prediction", asset_id="ld-v-00001", batch_id=batch_id,
                                   payload={"grade": "A"}) for _ in range(n)])


def test_whole_writes_are_found(ws: Workspace) -> None:
    rid = _review(ws, "B")
    _batch(ws, "b1", 5)
    acc = Accepted(reviews=[{"id": rid, "asset_id": "ld-v-00000", "grade": "B", "reviewer": "rev-v-0"}],
                   telemetry=[{"station": "st-v-0", "batch_id": "b1", "accepted": 5, "sent": 5}])
    check = verify_accepted(ws, acc)
    assert check["lost_total"] == 0 and check["reviews"]["accepted"] == 1 and check["telemetry"]["items"] == 5


def test_a_review_stored_with_another_grade_is_not_whole(ws: Workspace) -> None:
    rid = _review(ws, "C")  # the service answered 2xx for grade B but stored C
    acc = Accepted(reviews=[{"id": rid, "asset_id": "ld-v-00000", "grade": "B", "reviewer": "rev-v-0"}])
    check = verify_accepted(ws, acc)
    assert check["reviews"]["wrong"] == 1 and check["reviews"]["examples"] == [rid] and check["lost_total"] == 1


def test_a_batch_the_server_accepted_only_in_part_counts_as_lost_items(ws: Workspace) -> None:
    """5 items sent, the service said 3 accepted and stored 3: the 2 others are lost, whatever it said."""
    _batch(ws, "b2", 3)
    acc = Accepted(telemetry=[{"station": "st-v-0", "batch_id": "b2", "accepted": 3, "sent": 5}])
    check = verify_accepted(ws, acc)
    assert check["telemetry"]["half_written"] == 1 and check["lost_total"] == 1


def test_records_without_what_was_sent_are_checked_as_before(ws: Workspace) -> None:
    """The fault tests remember review ids only: no grade to compare, no sent count."""
    rid = _review(ws, "A")
    _batch(ws, "b3", 2)
    acc = Accepted(reviews=[{"id": rid, "asset_id": "ld-v-00000"}],
                   telemetry=[{"station": "st-v-0", "batch_id": "b3", "accepted": 2}])
    assert verify_accepted(ws, acc)["lost_total"] == 0

"""Evidence additions record the asset version they produced, so the last change of an asset is known exactly.

``evidence.add`` holds ``asset_version``, ``ingest.rows`` holds ``asset_versions`` (asset id → version after the
group's rows) (docs/audit-trail.md). The 409 text and the UI's conflict panel (``rest.queries.last_change``) name
the evidence addition that produced the asset's last version, not the evidence with the latest clock; events
written before (no version) are still read by inference from the asset's version, and the chain verifies with
both. SQLite and PostgreSQL (tests/unit/store/conftest.py).
"""

from __future__ import annotations

import csv
import hashlib
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from assetgrade.ingest import Ingestor, manifest_items
from assetgrade.rest.queries import evidence_changed_last, last_change
from assetgrade.store.audit import append_event, list_events, verify_chain
from assetgrade.store.repository import add_asset, add_evidence, bump_versions
from assetgrade.store.results import add_review
from assetgrade.store.schema import Asset, Evidence, Provenance
from assetgrade.workspace import Workspace

_AHEAD = datetime(2100, 1, 1)
"""The clock of a server far ahead."""


def _version(ws: Workspace, asset_id: str) -> int:
    with ws.session(readonly=True) as s:
        return int(s.execute(sa.select(Asset.version).where(Asset.id == asset_id)).scalar_one())


def _log(ws: Workspace, asset_id: str, name: str, at: datetime | None = None) -> datetime:
    """A log added to a stored asset (its version goes up), stamped ``at`` when given; its created_at."""
    eid = f"{asset_id}/log/{name}"
    with ws.session() as s:
        add_evidence(s, asset_id=asset_id, kind="log", sha256=hashlib.sha256(name.encode()).hexdigest(),
                     text=f"inspection {name}", evidence_id=eid, actor="station-1")
        s.flush()
        if at is not None:
            s.execute(sa.update(Evidence).where(Evidence.id == eid).values(created_at=at))
    with ws.session(readonly=True) as s:
        created = s.scalar(sa.select(Evidence.created_at).where(Evidence.id == eid))
    assert created is not None
    return created


def _ingest(ws: Workspace, tmp_path: Path, name: str, rows: list[tuple[str, str]]) -> str:
    """Ingest log rows (asset id, text) from a manifest; the batch id."""
    path = tmp_path / f"{name}.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["asset_id", "kind", "text", "evidence_id"])
        for aid, text in rows:
            w.writerow([aid, "log", text, f"{aid}/log/{text}"])
    rep = Ingestor(ws, kind="manifest", source=str(path)).run(manifest_items(path))
    assert not rep.errors, rep.errors
    return rep.batch_id


def _events(ws: Workspace, action: str) -> list[dict[str, Any]]:
    with ws.session(readonly=True) as s:
        return [dict(e.payload) for e in list_events(s, action=action, limit=1000)]


def _utc_naive(ts: datetime) -> datetime:
    return ts.replace(tzinfo=None) if ts.tzinfo is not None else ts


def test_evidence_add_records_the_version_it_produced(ws: Workspace) -> None:
    with ws.session() as s:  # a new asset and its first log together: the asset stays at version 1
        add_asset(s, "pump-1")
        add_evidence(s, asset_id="pump-1", kind="log", sha256="0" * 64, text="a", evidence_id="pump-1/a")
    with ws.session() as s:  # two logs in one transaction: versions 2 and 3
        add_evidence(s, asset_id="pump-1", kind="log", sha256="1" * 64, text="b", evidence_id="pump-1/b")
        add_evidence(s, asset_id="pump-1", kind="log", sha256="2" * 64, text="c", evidence_id="pump-1/c")
    assert [p["asset_version"] for p in _events(ws, "evidence.add")] == [1, 2, 3]
    assert _version(ws, "pump-1") == 3
    with ws.session() as s:
        assert verify_chain(s).ok


def test_ingest_rows_records_each_assets_version_after_the_rows(ws: Workspace, tmp_path: Path) -> None:
    odd = 'site "3".pump/7'  # a quote and a dot: no JSON path may be built from an asset id
    _ingest(ws, tmp_path, "first", [("valve-1", "a"), (odd, "a")])  # new assets: version 1
    with ws.session() as s:
        add_review(s, "valve-1", reviewer="ana", expected_version=1, grade="B")  # valve-1: version 2
    _ingest(ws, tmp_path, "second", [("valve-1", "b"), ("valve-1", "c"), (odd, "b"), ("valve-2", "a")])
    first, second = _events(ws, "ingest.rows")
    assert first["asset_versions"] == {"valve-1": 1, odd: 1}
    assert second["asset_versions"] == {"valve-1": 3, odd: 2, "valve-2": 1}  # two logs raise valve-1 once
    assert (_version(ws, "valve-1"), _version(ws, odd)) == (3, 2)
    with ws.session(readonly=True) as s:
        assert evidence_changed_last(s, "valve-1") and evidence_changed_last(s, odd)
        assert verify_chain(s).ok


def test_the_conflict_names_the_evidence_that_came_last_not_the_one_with_the_latest_clock(ws: Workspace) -> None:
    with ws.session() as s:
        add_asset(s, "pump-2")
    _log(ws, "pump-2", "early", at=_AHEAD)                     # version 2, by a server whose clock is far ahead
    with ws.session() as s:
        add_review(s, "pump-2", reviewer="alice", expected_version=2, grade="B")  # version 3
    late = _log(ws, "pump-2", "late")                           # version 4: the last change
    with ws.session(readonly=True) as s:
        change = last_change(s, "pump-2")
        assert evidence_changed_last(s, "pump-2")
    assert change is not None and change[0] == "new evidence"
    assert _utc_naive(change[1]) == _utc_naive(late)  # not 2100-01-01, the earlier log's clock


def test_an_ingest_after_the_review_is_the_last_change(ws: Workspace, tmp_path: Path) -> None:
    aid = 'site "3".pump/7'  # the lookup of its version in ingest.rows must not build a JSON path of it
    with ws.session() as s:
        add_asset(s, aid)
    _log(ws, aid, "early", at=_AHEAD)                     # version 2
    with ws.session() as s:
        add_review(s, aid, reviewer="alice", expected_version=2, grade="B")  # version 3
    _ingest(ws, tmp_path, "later", [(aid, "weld crack")])  # version 4
    with ws.session(readonly=True) as s:
        change = last_change(s, aid)
        at = s.scalar(sa.select(Evidence.created_at).where(Evidence.id == f"{aid}/log/weld crack"))
    assert change is not None and change[0] == "new evidence" and at is not None
    assert _utc_naive(change[1]) == _utc_naive(at)


def test_a_review_after_both_evidence_additions_is_the_last_change(ws: Workspace, tmp_path: Path) -> None:
    with ws.session() as s:
        add_asset(s, "pump-4")
    _log(ws, "pump-4", "one", at=_AHEAD)                       # version 2
    _ingest(ws, tmp_path, "two", [("pump-4", "two")])          # version 3
    with ws.session() as s:
        add_review(s, "pump-4", reviewer="alice", expected_version=3, grade="C")  # version 4
    with ws.session(readonly=True) as s:
        change = last_change(s, "pump-4")
        assert not evidence_changed_last(s, "pump-4")
    assert change is not None and change[0] == "alice"


def _old_evidence_add(ws: Workspace, asset_id: str, name: str) -> None:
    """Evidence added as the code before asset_version did: its event records no version."""
    eid = f"{asset_id}/log/{name}"
    sha = hashlib.sha256(name.encode()).hexdigest()
    with ws.session() as s:
        s.add(Evidence(id=eid, asset_id=asset_id, kind="log", sha256=sha, text=name, attributes={}))
        s.flush()
        s.add(Provenance(evidence_id=eid, origin="real", sha256=sha))
        bump_versions(s, [asset_id])
        append_event(s, actor="station-0", action="evidence.add", entity="evidence", entity_id=eid,
                     payload={"asset_id": asset_id, "kind": "log", "sha256": sha, "origin": "real"})


def test_events_without_a_version_are_read_by_inference_and_the_chain_verifies(ws: Workspace) -> None:
    with ws.session() as s:
        add_asset(s, "pump-5")
    _log(ws, "pump-5", "recorded")                               # version 2, recorded
    with ws.session() as s:
        add_review(s, "pump-5", reviewer="alice", expected_version=2, grade="B")  # version 3
    _old_evidence_add(ws, "pump-5", "old")                       # version 4, not recorded
    with ws.session(readonly=True) as s:
        assert [("asset_version" in p) for p in _events(ws, "evidence.add")] == [True, False]
        change = last_change(s, "pump-5")
        assert evidence_changed_last(s, "pump-5")  # the asset is past the review's version 3
        assert change is not None and change[0] == "new evidence"
        report = verify_chain(s)
        assert report.ok and report.n_events >= 4, report


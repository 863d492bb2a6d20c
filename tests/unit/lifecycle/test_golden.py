"""Golden sets: only real expert-labelled assets, frozen, hash-verified on use."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from assetgrade.errors import ConflictError, StoreError, ValidationError
from assetgrade.lifecycle.golden import freeze_golden_set, get_golden_set, golden_records, verify_golden_set
from assetgrade.store.repository import add_label
from assetgrade.workspace import Workspace

from .conftest import seed_assets


def test_freeze_and_load(ws: Workspace) -> None:
    ids = seed_assets(ws, 6)
    with ws.session() as s:
        gs = freeze_golden_set(s, ids, name="g1", actor="lead")
    assert gs.labels == {a: ("A" if i % 2 == 0 else "C") for i, a in enumerate(ids)}
    got, records = golden_records(ws, "g1")
    assert got.content_hash == gs.content_hash and [r.asset_id for r in records] == ids
    assert [r.grade for r in records] == [gs.labels[a] for a in ids]
    with ws.session() as s, pytest.raises(ConflictError, match="frozen"):
        freeze_golden_set(s, ids, name="g1")


def test_refuses_synthetic_evidence(ws: Workspace) -> None:
    ids = seed_assets(ws, 6, synthetic=[3])
    with ws.session() as s, pytest.raises(ValidationError, match=r"asset-03.*synthetic"):
        freeze_golden_set(s, ids, name="g")
    with ws.session(readonly=True) as s, pytest.raises(Exception, match="not found"):
        get_golden_set(s, "g")  # nothing was stored


def test_refuses_non_expert_labels(ws: Workspace) -> None:
    seed_assets(ws, 2)
    with ws.session() as s:
        add_label(s, asset_id="asset-00", kind="grade", value="B", annotator="model", source="pseudo")
    with ws.session() as s, pytest.raises(ValidationError, match="not an expert"):
        freeze_golden_set(s, ["asset-00"])


def test_detects_changed_label_and_evidence(ws: Workspace) -> None:
    ids = seed_assets(ws, 6)
    with ws.session() as s:
        freeze_golden_set(s, ids)
    with ws.session() as s:  # a reviewer regrades one asset: the frozen snapshot no longer matches
        add_label(s, asset_id="asset-01", kind="grade", value="D", annotator="expert-2", source="review")
    with ws.session(readonly=True) as s:
        check = verify_golden_set(s, get_golden_set(s))
    assert not check.ok and check.problems[0][0] == "asset-01" and "grade label" in check.problems[0][1]
    with pytest.raises(ConflictError, match="asset-01"):
        golden_records(ws)


def test_detects_tampered_blob_and_row(ws: Workspace) -> None:
    ids = seed_assets(ws, 4)
    with ws.session() as s:
        freeze_golden_set(s, ids)
        ev_sha = s.execute(text("select blob_sha from evidence where id = 'ev-02'")).scalar_one()
    path = ws.blobs.path_for(ev_sha)
    with open(path, "r+b") as fh:  # noqa: PTH123  (flip one byte of the stored image)
        b = fh.read(1)
        fh.seek(0)
        fh.write(bytes([b[0] ^ 0xFF]))
    with ws.session(readonly=True) as s:
        check = verify_golden_set(s, get_golden_set(s), blobs=ws.blobs)
    assert [a for a, _ in check.problems] == ["asset-02"]
    with ws.engine.begin() as conn:  # edit the stored snapshot directly
        conn.execute(text("update golden_sets set n_items = 3, items = json_remove(items, '$[0]')"))
    with ws.session(readonly=True) as s, pytest.raises(StoreError, match="edited"):
        get_golden_set(s)


def test_rehashed_row_is_caught_by_the_audit_event(ws: Workspace) -> None:
    from assetgrade.lifecycle.golden import content_hash
    from assetgrade.store.lifecycle_schema import GoldenSetRow

    ids = seed_assets(ws, 4)
    with ws.session() as s:
        freeze_golden_set(s, ids)
    with ws.session() as s:  # someone drops an item and rewrites the stored hash to match
        row = s.get(GoldenSetRow, "default")
        assert row is not None
        items = list(row.items)[1:]
        row.items, row.n_items, row.content_hash = items, len(items), content_hash(items, row.ontology_version)
    with ws.session(readonly=True) as s, pytest.raises(StoreError, match=r"golden\.freeze audit event"):
        get_golden_set(s)

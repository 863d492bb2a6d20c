"""Math audit of the lifecycle: golden-set pairing, retraining triggers, against hand-computed values."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from assetgrade.errors import ConflictError
from assetgrade.lifecycle.golden import freeze_golden_set, get_golden_set, golden_records, verify_golden_set
from assetgrade.lifecycle.registry import ModelRegistry
from assetgrade.store.schema import Asset
from assetgrade.workspace import Workspace

from .conftest import TableModel, seed_assets


def test_changed_asset_type_stops_the_golden_set(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    """An asset stored as ``unknown`` and typed by a later ingest is graded on other inputs and falls in
    another subgroup: a champion's cached evaluation (accuracy 0.5) would be compared with a challenger
    graded on the new type (the same model scores 0.75), so the golden set must report the change."""
    from assetgrade.lifecycle import bundles

    monkeypatch.setitem(bundles._LOADERS, "grader", TableModel.load)
    ids = seed_assets(ws, 8)
    with ws.session() as s:
        s.execute(update(Asset).where(Asset.id.in_(ids[:4])).values(asset_type="unknown"))
    with ws.session() as s:
        freeze_golden_set(s, ids)
    reg = ModelRegistry(ws)
    reg.register(TableModel({"pump": "A", "valve": "C"}), version="v1")
    assert reg.promote("v1").challenger.overall["accuracy"] == 0.5  # unknown -> B: the 2 pumps, 2 valves wrong
    with ws.session() as s:  # what ingest does when a later row gives the asset's type
        s.execute(update(Asset).where(Asset.id == ids[0], Asset.asset_type == "unknown").values(asset_type="pump"))
    with ws.session(readonly=True) as s:
        check = verify_golden_set(s, get_golden_set(s))
    assert not check.ok and check.problems == ((ids[0], "asset type changed: 'unknown' -> 'pump'"),)
    with pytest.raises(ConflictError, match=ids[0]):
        golden_records(ws)
    with pytest.raises(ConflictError, match="asset type changed"):
        reg.evaluate("v1")  # not the cached 0.5 beside a challenger graded on the new type

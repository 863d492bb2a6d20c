"""Registry: lineage, bundle hashing, champion/challenger on the golden set, promotion and rollback as audit events."""

from __future__ import annotations

from pathlib import Path

import pytest

from assetgrade.errors import ConflictError, StoreError, ValidationError
from assetgrade.lifecycle.evaluate import PromotionPolicy
from assetgrade.lifecycle.golden import freeze_golden_set
from assetgrade.lifecycle.registry import ModelRegistry
from assetgrade.store.audit import list_events, verify_chain
from assetgrade.workspace import Workspace

from .conftest import TableModel, seed_assets

GOOD = {"pump": "A", "valve": "C"}


@pytest.fixture
def reg(ws: Workspace) -> ModelRegistry:
    ids = seed_assets(ws, 24)
    with ws.session() as s:
        freeze_golden_set(s, ids)
    return ModelRegistry(ws)


def test_register_records_lineage(reg: ModelRegistry, ws: Workspace) -> None:
    info = reg.register(TableModel(GOOD), version="v1", loader="table", parent_version=None)
    assert info.bundle_dir == ws.models_dir / "v1" and (info.bundle_dir / "table.json").exists()
    assert info.manifest_hash == "f" * 64 and info.ontology_version == "test-ontology"
    assert info.code_version and info.metrics == {"cv_accuracy": 0.5} and info.status == "candidate"
    with pytest.raises(ConflictError):
        reg.register(TableModel(GOOD), version="v1", loader="table")
    with pytest.raises(Exception, match="not found"):
        reg.register(TableModel(GOOD), version="v2", loader="table", parent_version="nope")
    assert not (ws.models_dir / "v2").exists()
    with ws.session(readonly=True) as s:
        ev = list_events(s, action="model.register")
    assert [e.entity_id for e in ev] == ["v1"] and ev[0].payload["bundle_sha256"] == info.bundle_sha256


def test_changed_bundle_is_refused(reg: ModelRegistry) -> None:
    info = reg.register(TableModel(GOOD), version="v1", loader="table")
    (info.bundle_dir / "table.json").write_text('{"by_type": {}, "overrides": {}, "conf": 0.9}')
    with pytest.raises(StoreError, match="changed since it was registered"):
        reg.load("v1")


def test_promotion_refuses_worse_challenger_and_rollback(reg: ModelRegistry, ws: Workspace) -> None:
    reg.register(TableModel(GOOD), version="v1", loader="table")
    first = reg.promote("v1", actor="lead")
    assert first.previous is None and first.challenger.overall["accuracy"] == 1.0
    assert set(first.challenger.subgroups) == {"asset_type", "source"}
    # v2 gets four valves wrong: 20/24 overall, valves 8/12
    wrong = {f"asset-{i:02d}": "B" for i in (1, 3, 5, 7)}
    reg.register(TableModel(GOOD, wrong), version="v2", loader="table", parent_version="v1")
    with pytest.raises(ConflictError, match=r"accuracy 0\.8333 vs champion 1\.0000"):
        reg.promote("v2", actor="lead")
    assert reg.champion().version == "v1"  # type: ignore[union-attr]
    # a tolerance wide enough lets it through; a forced promotion needs a reason
    with pytest.raises(ValidationError, match="reason"):
        reg.promote("v2", force=True)
    res = reg.promote("v2", force=True, reason="hot fix for site-2", actor="lead")
    assert res.forced and res.previous == "v1" and reg.champion().version == "v2"  # type: ignore[union-attr]
    assert reg.get("v1").status == "retired"
    restored = reg.rollback(reason="v2 misgrades valves", actor="lead")
    assert restored.version == "v1" and restored.status == "champion" and reg.get("v2").status == "retired"
    with ws.session(readonly=True) as s:
        actions = [(e.action, e.entity_id) for e in list_events(s, entity="model")]
        assert verify_chain(s).ok
    assert actions == [("model.register", "v1"), ("model.promote", "v1"), ("model.register", "v2"),
                       ("model.promotion_refused", "v2"), ("model.promote", "v2"), ("model.rollback", "v1")]
    with pytest.raises(ConflictError, match="nothing to roll back"):
        reg.rollback()  # v1 was the first champion: plain rollbacks walk back, never forward to v2
    with pytest.raises(ConflictError, match="already the champion"):
        reg.rollback(to="v1")


def test_rollback_restores_only_an_earlier_champion(reg: ModelRegistry, ws: Workspace) -> None:
    reg.register(TableModel(GOOD), version="v1", loader="table")
    reg.promote("v1", actor="lead")
    wrong = {f"asset-{i:02d}": "B" for i in (1, 3, 5, 7)}
    reg.register(TableModel(GOOD, wrong), version="weak", loader="table")
    with pytest.raises(ConflictError):
        reg.promote("weak", actor="lead")  # refused: worse on the golden set
    with pytest.raises(ValidationError, match=r"'weak' was never the champion.*champions: none") as err:
        reg.rollback(to="weak", actor="mallory")
    assert err.value.where == "to"
    assert reg.champion().version == "v1" and reg.get("weak").status == "candidate"  # type: ignore[union-attr]
    reg.register(TableModel(GOOD, conf=0.95), version="v2", loader="table")
    reg.promote("v2", policy=PromotionPolicy(min_subgroup_n=1))
    reg.register(TableModel(GOOD, conf=0.96), version="v3", loader="table")
    reg.promote("v3", policy=PromotionPolicy(min_subgroup_n=1))
    with pytest.raises(ValidationError, match="earlier champions: v1, v2; the champion is 'v3'"):
        reg.rollback(to="weak")
    assert reg.rollback(actor="lead").version == "v2"  # plain rollbacks walk back: v3 -> v2 -> v1
    assert reg.rollback(actor="lead").version == "v1" and reg.get("v3").status == "retired"
    back = reg.rollback(to="v3", actor="lead")  # undoing goes through --to, to an earlier champion
    assert back.version == "v3" and reg.champion().version == "v3"  # type: ignore[union-attr]
    assert reg.rollback(actor="lead").version == "v2"  # v3 still replaced v2


def test_better_or_equal_challenger_is_promoted(reg: ModelRegistry) -> None:
    reg.register(TableModel(GOOD, {"asset-01": "B"}), version="v1", loader="table")
    reg.promote("v1")
    reg.register(TableModel(GOOD, conf=0.95), version="v2", loader="table")  # more accurate and calibrated
    res = reg.promote("v2", policy=PromotionPolicy(min_subgroup_n=1))
    assert res.comparison is not None and res.comparison.ok and res.comparison.deltas["accuracy"] > 0
    assert reg.get("v2").golden["default"]["overall"]["accuracy"] == 1.0  # type: ignore[index]


def test_register_bundle_folder(reg: ModelRegistry, tmp_path: Path) -> None:
    src = tmp_path / "bundle"
    TableModel(GOOD).save(src)
    info = reg.register(src, version="ext-1", loader="table", manifest_hash="a" * 64)
    assert reg.evaluate(info.version).overall["accuracy"] == 1.0

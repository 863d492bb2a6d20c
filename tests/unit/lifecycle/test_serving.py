"""Promotion and rollback install the champion's Grader bundle as ``models/grader``, the model that grades."""

from __future__ import annotations

import pytest

from assetgrade.errors import StoreError, ValidationError
from assetgrade.lifecycle.bundles import bundle_digest
from assetgrade.lifecycle.registry import ModelRegistry
from assetgrade.store.audit import list_events, verify_chain
from assetgrade.workspace import Workspace

from .conftest import OwnIdModel, TableModel, golden_registry

GOOD = {"pump": "A", "valve": "C"}


@pytest.fixture
def reg(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> ModelRegistry:
    return golden_registry(ws, monkeypatch)


def _events(ws: Workspace, action: str) -> list[dict[str, object]]:
    with ws.session(readonly=True) as s:
        return [e.payload for e in list_events(s, action=action)]


def test_promote_and_rollback_install_the_champion_as_models_grader(reg: ModelRegistry, ws: Workspace) -> None:
    OwnIdModel("hand-trained", GOOD).save(ws.grader_dir)  # what `assetgrade train` left, registered nowhere
    trained = bundle_digest(ws.grader_dir)
    v1 = reg.register(OwnIdModel("table-0001", GOOD), version="v1")
    res = reg.promote("v1", actor="lead")
    assert bundle_digest(ws.grader_dir) == v1.bundle_sha256 and v1.model_version == "table-0001"
    (kept,) = ws.models_dir.glob("grader-replaced-*")
    assert bundle_digest(kept) == trained  # an unregistered grader is kept, not lost
    assert res.grading_model is not None and res.grading_model["installed"]
    assert res.grading_model["replaced_kept_at"] == f"models/{kept.name}"
    v2 = reg.register(OwnIdModel("table-0002", GOOD, {"asset-01": "B"}), version="v2")
    reg.promote("v2", force=True, reason="site-2 fix")
    assert bundle_digest(ws.grader_dir) == v2.bundle_sha256
    assert sorted(p.name for p in ws.models_dir.iterdir()) == sorted(["grader", kept.name, "v1", "v2"])
    reg.rollback(reason="v2 misgrades a valve", actor="lead")
    assert bundle_digest(ws.grader_dir) == v1.bundle_sha256
    promote, rollback = _events(ws, "model.promote"), _events(ws, "model.rollback")
    assert [p["grading_model"]["model_version"] for p in promote] == ["table-0001", "table-0002"]  # type: ignore[index]
    assert promote[1]["grading_model"]["replaced_sha256"] == v1.bundle_sha256  # type: ignore[index]
    assert rollback[0]["grading_model"] == {  # type: ignore[index]
        "dir": "models/grader", "installed": True, "version": "v1", "model_version": "table-0001",
        "bundle_sha256": v1.bundle_sha256, "replaced_sha256": v2.bundle_sha256, "replaced_kept_at": None}
    with ws.session(readonly=True) as s:
        assert verify_chain(s).ok


def test_a_failed_promotion_leaves_models_grader_and_the_champion_as_they_were(
        reg: ModelRegistry, ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    reg.register(OwnIdModel("table-0001", GOOD), version="v1")
    reg.promote("v1")
    before = bundle_digest(ws.grader_dir)
    reg.register(OwnIdModel("table-0002", GOOD), version="v2")

    def broken(*_a: object, **_k: object) -> None:
        raise StoreError("audit trail unavailable")

    monkeypatch.setattr("assetgrade.lifecycle.promotion.append_event", broken)
    with pytest.raises(StoreError, match="audit trail unavailable"):
        reg.promote("v2")
    assert bundle_digest(ws.grader_dir) == before and reg.champion().version == "v1"  # type: ignore[union-attr]
    assert not [p.name for p in ws.models_dir.iterdir() if p.name.startswith(".")]


def test_other_loaders_change_the_registry_not_what_grades(reg: ModelRegistry, ws: Workspace) -> None:
    reg.register(TableModel(GOOD), version="v1", loader="table")
    res = reg.promote("v1")
    assert not ws.grader_dir.exists() and res.grading_model is not None and not res.grading_model["installed"]
    assert "loader 'table'" in res.grading_model["why"]
    with pytest.raises(ValidationError, match="reserved"):
        reg.register(TableModel(GOOD), version="grader", loader="table")

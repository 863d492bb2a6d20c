"""Hostile inputs to the lifecycle pieces the audit commands use: exports, golden freeze, station drift."""

from __future__ import annotations

from typing import Any

import pytest

from assetgrade.errors import ValidationError
from assetgrade.lifecycle.exports import model_documentation
from assetgrade.lifecycle.golden import freeze_golden_set
from assetgrade.lifecycle.registry import ModelRegistry
from assetgrade.store.results import add_prediction, add_review
from assetgrade.store.schema import Asset
from assetgrade.workspace import Workspace

from .conftest import TableModel, seed_assets


def test_export_counts_predictions_under_the_models_own_id(ws: Workspace) -> None:
    ids = seed_assets(ws, 24)
    with ws.session() as s:
        freeze_golden_set(s, ids[:12])
    model = TableModel({"pump": "A", "valve": "C"})
    model.version_ = "table-7f3a"  # type: ignore[attr-defined]
    reg = ModelRegistry(ws)
    reg.register(model, version="v7", loader="table")
    reg.promote("v7")
    with ws.session() as s:
        for i, aid in enumerate(ids[12:20]):
            p = add_prediction(s, aid, model_version="table-7f3a", grade="A", distribution={"A": 0.8, "C": 0.2},
                               conformal_set=["A"], decision="review" if i < 3 else "accept")
            if i < 2:
                add_review(s, aid, reviewer="expert-2", expected_version=1, grade="C", based_on_prediction_id=p.id)
        add_prediction(s, ids[20], model_version="v7", grade="A", distribution={"A": 0.8, "C": 0.2},
                       conformal_set=["A"], decision="accept")
        add_prediction(s, ids[21], model_version="someone-else", grade="A", distribution={"A": 0.8, "C": 0.2},
                       conformal_set=["A"], decision="review")
    h = model_documentation(ws, "v7")["human_oversight"]
    assert h["prediction_versions"] == ["table-7f3a", "v7"]
    assert (h["predictions"], h["sent_to_review"], h["reviews_of_predictions"], h["overrides"]) == (9, 3, 2, 2)


@pytest.mark.parametrize("mark", ["false", 0, "no", "maybe", False])
def test_golden_freeze_refuses_an_unclear_expert_mark(ws: Workspace, mark: Any) -> None:
    ids = seed_assets(ws, 2)
    with ws.session() as s:
        s.get(Asset, ids[0]).attributes = {"expert_labelled": mark}  # type: ignore[union-attr]
    with ws.session() as s, pytest.raises(ValidationError, match="expert_labelled") as exc:
        freeze_golden_set(s, ids)
    assert repr(mark) in str(exc.value) and ids[0] in str(exc.value)


@pytest.mark.parametrize("mark", ["true", 1, "YES", True, None])
def test_golden_freeze_admits_a_clear_yes(ws: Workspace, mark: Any) -> None:
    ids = seed_assets(ws, 2)
    with ws.session() as s:
        s.get(Asset, ids[0]).attributes = {"expert_labelled": mark}  # type: ignore[union-attr]
    with ws.session() as s:
        assert len(freeze_golden_set(s, ids).items) == 2

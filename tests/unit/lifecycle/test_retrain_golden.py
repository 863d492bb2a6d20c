"""Retraining with a golden set named: a misspelt name is an error, never a silent train on the golden assets."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from assetgrade.errors import NotFoundError
from assetgrade.lifecycle.golden import freeze_golden_set
from assetgrade.lifecycle.registry import ModelRegistry
from assetgrade.lifecycle.retrain import retrain
from assetgrade.store.records import AssetRecord
from assetgrade.workspace import Workspace

from .conftest import TableModel, seed_assets

GOOD = {"pump": "A", "valve": "C"}


class Fit:
    """Record what it was asked to train on."""

    def __init__(self) -> None:
        self.ids: list[str] = []

    def __call__(self, records: Sequence[AssetRecord]) -> TableModel:
        self.ids = [r.asset_id for r in records]
        return TableModel(GOOD)


def test_a_golden_set_that_does_not_exist_is_named_before_any_training(ws: Workspace) -> None:
    ids = seed_assets(ws, 24)
    with ws.session() as s:
        freeze_golden_set(s, ids[:8])
    fit = Fit()
    with pytest.raises(NotFoundError, match=r"golden set 'defualt' not found \(known: \['default'\]"):
        retrain(ws, golden="defualt", fit=fit, loader="table", version="typo")
    assert fit.ids == [] and ModelRegistry(ws).list() == []
    res = retrain(ws, fit=fit, loader="table", version="ok")  # the real one holds its assets out
    assert res.golden == "default" and res.n_golden_excluded == 8 and sorted(fit.ids) == ids[8:]


def test_without_any_golden_set_only_the_default_name_falls_back_and_says_so(ws: Workspace) -> None:
    ids = seed_assets(ws, 12)
    fit = Fit()
    with pytest.raises(NotFoundError, match="known: none"):
        retrain(ws, golden="site2", fit=fit, loader="table", version="v0")
    said: list[str] = []
    res = retrain(ws, fit=fit, loader="table", version="v1", progress=said.append)
    assert res.golden is None and res.after is None and sorted(fit.ids) == ids
    assert any("no golden set in this workspace" in m for m in said)

"""The promotion gate cannot be opened by accident: NaN/negative tolerances, misspelt metrics, NaN figures."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import pytest
from pydantic import ValidationError as PydanticValidationError

from assetgrade.config import WorkspaceConfig
from assetgrade.errors import ConflictError, ValidationError
from assetgrade.lifecycle.evaluate import GoldenEvaluation, PromotionPolicy, compare
from assetgrade.lifecycle.golden import freeze_golden_set, list_golden_sets
from assetgrade.lifecycle.registry import ModelRegistry, register_bundle_loader
from assetgrade.lifecycle.sections import check_sections
from assetgrade.result import GradeResult
from assetgrade.store.records import AssetRecord
from assetgrade.workspace import Workspace

from .conftest import TableModel, seed_assets


@pytest.mark.parametrize("tolerance, why", [({"accuracy": math.nan}, "not NaN"), ({"qwk": -0.1}, ">= 0"),
                                            ({"acuracy": 0.0}, "unknown metric")])
def test_bad_tolerances_are_refused(tolerance: dict[str, float], why: str) -> None:
    with pytest.raises(PydanticValidationError, match=why):
        PromotionPolicy(tolerance=tolerance)
    (problem,) = check_sections(WorkspaceConfig.model_validate({"lifecycle": {"promotion": {"tolerance": tolerance}}}))
    assert problem.startswith("assetgrade.yaml:lifecycle.promotion.tolerance") and why in problem


def test_an_infinite_tolerance_still_means_that_metric_is_not_gated() -> None:
    champ = GoldenEvaluation("g", "h", "v1", {"accuracy": 0.9, "qwk": 0.8})
    worse = GoldenEvaluation("g", "h", "v2", {"accuracy": 0.5, "qwk": 0.8})
    assert compare(champ, worse, PromotionPolicy(tolerance={"accuracy": math.inf, "qwk": 0.02})).ok
    assert not compare(champ, worse, PromotionPolicy(tolerance={"accuracy": 0.01, "qwk": 0.02})).ok


class NaNCostModel(TableModel):
    """Grades as well as the table model but reports NaN as its expected cost (a broken cost head)."""

    def grade_many(self, records: Sequence[AssetRecord]) -> list[GradeResult]:
        return [dataclasses.replace(r, expected_cost=math.nan) for r in super().grade_many(records)]


register_bundle_loader("nan-cost", NaNCostModel.load)


def test_a_challenger_without_finite_figures_is_refused(ws: Workspace) -> None:
    ids = seed_assets(ws, 24)
    with ws.session() as s:
        freeze_golden_set(s, ids)
    reg = ModelRegistry(ws)
    reg.register(TableModel({"pump": "A", "valve": "C"}), version="v1", loader="table")
    reg.promote("v1")
    reg.register(NaNCostModel({"pump": "A", "valve": "C"}), version="v2", loader="nan-cost")
    with pytest.raises(ConflictError, match=r"expected_cost nan vs champion 30.0000: the challenger has no finite"):
        reg.promote("v2")  # its NaN figure was skipped: the gate let it through
    assert reg.champion().version == "v1"  # type: ignore[union-attr]
    champ = GoldenEvaluation("g", "h", "v1", {"accuracy": 0.9}, {"asset_type": {"pump": {"n": 30, "accuracy": 0.9}}})
    chall = GoldenEvaluation("g", "h", "v2", {"accuracy": 0.9}, {"asset_type": {"pump": {"n": 30,
                                                                                          "accuracy": math.nan}}})
    assert compare(champ, chall, PromotionPolicy()).regressions == [
        "accuracy on asset_type=pump nan vs champion 0.9000: no finite figure"]


def test_a_cached_evaluation_is_not_reused_under_other_costs(ws: Workspace) -> None:
    ids = seed_assets(ws, 24)
    with ws.session() as s:
        freeze_golden_set(s, ids)
    reg = ModelRegistry(ws)
    reg.register(TableModel({"pump": "A", "valve": "B"}), version="v1", loader="table")  # misgrades every valve
    before = reg.evaluate("v1").overall["realised_cost"]
    assert reg.evaluate("v1").overall["realised_cost"] == before  # same settings: the cached figures
    assert ws.config.model_extra is not None
    ws.config.model_extra["costs"] = {"dispute_cost": 5000}  # the workspace's cost matrix changed since
    after = reg.evaluate("v1").overall["realised_cost"]
    assert after != before  # recomputed, so a champion's cached figure compares like with like
    assert after == reg.evaluate("v1", reuse=False).overall["realised_cost"]


@pytest.mark.parametrize("name", ["", " x", "a/b", "..\\up", ".hidden", "x" * 101])
def test_a_golden_set_name_is_a_word_never_a_path(ws: Workspace, name: str) -> None:
    ids = seed_assets(ws, 4)
    with ws.session() as s, pytest.raises(ValidationError, match="bad golden set name") as err:
        freeze_golden_set(s, ids, name=name)  # the Python API, not only the CLI's --name, refuses it
    assert err.value.where == "name"
    with ws.session(readonly=True) as s:
        assert list_golden_sets(s) == []

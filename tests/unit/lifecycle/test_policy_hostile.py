"""A promotion policy that would open the gate by accident (NaN or negative tolerance, misspelt metric) is refused."""

from __future__ import annotations

import math

import pytest
from pydantic import ValidationError as PydanticValidationError

from assetgrade.config import WorkspaceConfig
from assetgrade.lifecycle.evaluate import GoldenEvaluation, PromotionPolicy, compare
from assetgrade.lifecycle.sections import check_sections


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

"""grade_metrics and QWK: known values on hand-built cases."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from assetgrade.decision.costs import cost_matrix
from assetgrade.decision.metrics import grade_metrics, quadratic_weighted_kappa
from assetgrade.fusion.conformal import SplitConformal


def test_qwk_matches_sklearn(rng: np.random.Generator) -> None:
    from sklearn.metrics import cohen_kappa_score

    a = rng.integers(0, 4, 300)
    b = np.clip(a + rng.integers(-1, 2, 300), 0, 3)
    assert quadratic_weighted_kappa(a, b, 4) == pytest.approx(cohen_kappa_score(a, b, weights="quadratic"))
    assert quadratic_weighted_kappa([0, 1, 2, 3], [3, 2, 1, 0], 4) == pytest.approx(-1.0)


def test_grade_metrics_keys_and_values(rng: np.random.Generator) -> None:
    p = rng.dirichlet([1, 1, 1, 1], 400)
    y = (p.cumsum(1) > rng.random((400, 1))).argmax(1)
    res = SplitConformal(alpha=0.1).fit(p[:200], y[:200]).predict(p[200:])
    m = grade_metrics(p[200:], y[200:], cost=cost_matrix(), conformal=res)
    assert m["n"] == 200
    assert m["accuracy"] == pytest.approx((p[200:].argmax(1) == y[200:]).mean())
    assert m["expected_cost"] > 0 and m["realised_cost"] > 0
    assert 0.8 < m["coverage"] <= 1.0 and 1 <= m["mean_set_size"] <= 4
    assert 0 <= m["accept_rate_at_0.02_error"] <= 1
    perfect = grade_metrics(np.eye(4)[[0, 1, 2, 3]], [0, 1, 2, 3], cost=cost_matrix())
    assert perfect["accuracy"] == 1.0 and perfect["realised_cost"] == 0.0 and perfect["qwk"] == 1.0


def test_metrics_refuse_labels_that_do_not_match_the_rows() -> None:
    # a label list of another length broadcast one label over every row or scored a prefix of them
    from assetgrade.decision.risk import risk_coverage
    from assetgrade.errors import ValidationError

    p = np.full((4, 4), 0.25)
    with pytest.raises(ValidationError, match="1 labels for 4 rows"):
        grade_metrics(p, [2])
    with pytest.raises(ValidationError, match="3 labels for 4 rows"):
        risk_coverage(p, [0, 1, 2])
    with pytest.raises(ValidationError, match="4 true grades against 3 predicted"):
        quadratic_weighted_kappa([0, 1, 2, 3], [0, 1, 2], 4)


def test_qwk_degenerate_cases_have_their_documented_values() -> None:
    from sklearn.metrics import cohen_kappa_score

    # one grade in the truth: kappa is 0 whatever was predicted (scikit-learn's 0), or 0 / 0 when all agree;
    # either says nothing about the predictions, so NaN (never a division warning)
    assert cohen_kappa_score([1, 1, 1], [0, 1, 2], weights="quadratic", labels=[0, 1, 2, 3]) == 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for pred in ([0, 1, 2], [1, 1, 2], [1, 1, 1]):
            assert np.isnan(quadratic_weighted_kappa([1, 1, 1], pred, 4)), pred
    assert quadratic_weighted_kappa([0, 1, 2], [1, 1, 1], 4) == 0.0  # one grade predicted: chance level
    assert np.isnan(quadratic_weighted_kappa([], [], 4))

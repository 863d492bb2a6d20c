"""Risk-coverage: monotone coverage, error rising with coverage for informative scores, the 2% read-off."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assetgrade.decision.costs import cost_matrix
from assetgrade.decision.risk import accept_rate_at, plot_risk_coverage, risk_coverage
from assetgrade.errors import ValidationError


def _preds(rng: np.random.Generator, n: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    c = rng.uniform(-0.5, 3.5, n)
    w = rng.uniform(0.2, 1.0, n)
    p = np.exp(-0.5 * ((np.arange(4)[None, :] - c[:, None]) / w[:, None]) ** 2)
    p /= p.sum(1, keepdims=True)
    y = (p.cumsum(1) > rng.random((n, 1))).argmax(1)
    return p, y


def test_curve_shape(rng: np.random.Generator) -> None:
    p, y = _preds(rng)
    rc = risk_coverage(p, y)
    assert np.all(np.diff(rc.coverage) > 0) and rc.coverage[-1] == 1.0
    assert rc.error[-1] == (p.argmax(1) != y).mean()
    assert np.all(np.diff(rc.threshold) >= 0)
    # confident assets first: the first tenth has far lower error than the whole set
    assert rc.error[len(y) // 10] < 0.5 * rc.error[-1]
    a2 = accept_rate_at(rc, 0.02)
    assert 0.0 < a2 < 1.0
    assert rc.error[int(a2 * len(y)) - 1] <= 0.02


def test_cost_curve_and_plot(rng: np.random.Generator, tmp_path: Path) -> None:
    p, y = _preds(rng, 500)
    rc = risk_coverage(p, y, cost=cost_matrix())
    assert np.all(np.isfinite(rc.mean_cost)) and rc.mean_cost[0] <= rc.mean_cost[-1] + 1e-9
    out = plot_risk_coverage({"fused": rc, "random": risk_coverage(p, y, score=rng.random(500))}, tmp_path / "rc.png")
    assert out.read_bytes()[:4] == b"\x89PNG"


def test_accept_rate_counts_only_reachable_points() -> None:
    # every asset has the same score: a threshold accepts all of them (10% wrong) or none, so no
    # accept rate keeps the error at 2%, whatever order the tied assets come in
    p = np.tile([[0.9, 0.1]], (100, 1))
    y = np.array([0] * 90 + [1] * 10)
    rc = risk_coverage(p, y)
    assert accept_rate_at(rc, 0.02) == 0.0
    assert accept_rate_at(rc, 0.1) == 1.0
    # two score levels: the confident half (all right) can be accepted on its own
    p2 = np.vstack([np.tile([[0.99, 0.01]], (50, 1)), np.tile([[0.6, 0.4]], (50, 1))])
    y2 = np.array([0] * 50 + [0] * 25 + [1] * 25)
    assert accept_rate_at(risk_coverage(p2, y2), 0.02) == 0.5


def test_non_finite_score_is_named() -> None:
    p = np.tile([[0.9, 0.1]], (3, 1))
    with pytest.raises(ValidationError, match="score of asset 1 is nan"):
        risk_coverage(p, np.array([0, 0, 1]), score=np.array([0.1, np.nan, 0.2]))

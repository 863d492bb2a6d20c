"""Split conformal: coverage near nominal on exchangeable data, ordinal sets are intervals, Mondrian fallback."""

from __future__ import annotations

import math

import numpy as np
import pytest

from assetgrade.errors import ValidationError
from assetgrade.fusion.conformal import SplitConformal, conformal_quantile, conformal_scores


def _data(rng: np.random.Generator, n: int, k: int = 4, unimodal: bool = False) -> tuple[np.ndarray, np.ndarray]:
    if unimodal:  # ordered grades: a discretised normal around a latent grade
        c = rng.uniform(-0.5, k - 0.5, n)
        w = rng.uniform(0.4, 1.2, n)
        p = np.exp(-0.5 * ((np.arange(k)[None, :] - c[:, None]) / w[:, None]) ** 2)
        p /= p.sum(1, keepdims=True)
    else:
        p = rng.dirichlet(np.full(k, 0.8), size=n)
    y = (p.cumsum(1) > rng.random((n, 1))).argmax(1)  # y ~ p: the model is calibrated
    return p, y


def test_finite_sample_quantile() -> None:
    s = np.arange(1, 11, dtype=float)  # n = 10
    assert conformal_quantile(s, 0.1) == 10.0  # ceil(11 * 0.9) = 10
    assert conformal_quantile(s, 0.2) == 9.0  # ceil(11 * 0.8) = 9
    assert math.isinf(conformal_quantile(s[:5], 0.1))  # ceil(6 * 0.9) = 6 > 5


@pytest.mark.parametrize("method", ["lac", "aps", "ordinal"])
def test_coverage_near_nominal(rng: np.random.Generator, method: str) -> None:
    p, y = _data(rng, 4000, unimodal=method == "ordinal")
    cp = SplitConformal(alpha=0.1, method=method).fit(p[:2000], y[:2000])  # type: ignore[arg-type]
    res = cp.predict(p[2000:])
    cov = res.coverage(y[2000:])
    assert 0.87 <= cov <= 0.93 + (0.04 if method == "aps" else 0.0)  # non-randomised APS is conservative
    assert 1.0 <= res.mean_size() < 4.0
    assert res.sizes().min() >= 1  # never empty by default


def test_ordinal_sets_are_intervals(rng: np.random.Generator) -> None:
    p, y = _data(rng, 600, k=5, unimodal=True)
    res = SplitConformal(alpha=0.1, method="ordinal").fit(p[:300], y[:300]).predict(p[300:])
    for idx in res.indices():
        assert list(idx) == list(range(idx[0], idx[-1] + 1))


def test_lac_score_is_one_minus_p_true() -> None:
    p = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]])
    assert conformal_scores(p, np.array([1, 2]), "lac") == pytest.approx([0.8, 0.4])
    assert conformal_scores(p, np.array([1, 2]), "aps") == pytest.approx([0.9, 0.6])


def test_mondrian_uses_group_quantile_and_falls_back(rng: np.random.Generator) -> None:
    p, y = _data(rng, 1200)
    groups = np.array(["pump"] * 1000 + ["valve"] * 200)
    # make 'valve' a harder group: labels random, so its quantile is higher
    y = y.copy()
    y[1000:] = rng.integers(0, 4, 200)
    g_small = groups.copy()
    g_small[1000:1010] = "rare"
    cp = SplitConformal(alpha=0.1, min_group_size=30).fit(p, y, groups=g_small.tolist())
    assert "rare" in cp.fallback_groups_
    assert cp.group_quantiles_["valve"] > cp.group_quantiles_["pump"]
    res = cp.predict(p[:3], groups=["pump", "rare", "never-seen"])
    assert res.used_fallback.tolist() == [False, True, True]
    assert res.quantile[1] == cp.quantile_
    assert any("rare" in n and "pooled" in n for n in res.notes)
    assert any("never-seen" in n for n in res.notes)


def test_bad_settings_are_named() -> None:
    with pytest.raises(ValidationError, match="alpha"):
        SplitConformal(alpha=1.5).fit(np.array([[0.5, 0.5]]), np.array([0]))
    with pytest.raises(ValidationError, match="method"):
        SplitConformal(method="bogus").fit(np.array([[0.5, 0.5]]), np.array([0]))  # type: ignore[arg-type]


def test_groups_at_predict_time_for_a_predictor_calibrated_without_them(rng: np.random.Generator) -> None:
    p = rng.dirichlet([2, 2, 2], 200)
    y = np.array([rng.choice(3, p=row) for row in p])
    cp = SplitConformal(alpha=0.1).fit(p, y)
    res = cp.predict(p[:5], groups=["pump"] * 5)
    # each item was flagged as a fallback with "group 'pump' has 0 calibration points (< 30)"
    assert not res.used_fallback.any()
    assert res.notes == ["calibrated without groups: every item uses the pooled quantile"]
    assert np.array_equal(res.membership, cp.predict(p[:5]).membership)
    with pytest.raises(ValidationError, match="groups: 4 groups for 5 rows"):
        cp.predict(p[:5], groups=["pump"] * 4)


def test_a_mondrian_predictor_refuses_to_predict_without_groups(rng: np.random.Generator) -> None:
    p, y = _data(rng, 400)
    types = ["pump" if i % 2 else "valve" for i in range(400)]
    cp = SplitConformal(alpha=0.1, min_group_size=30).fit(p, y, groups=types)
    # every item silently got the pooled quantile, though per-type coverage was asked for
    with pytest.raises(ValidationError, match=r"SplitConformal.predict groups: calibrated per group \(2 group\(s\): "
                                              r"'pump', 'valve'\) but given no groups"):
        cp.predict(p[:5])
    assert cp.predict(p[:5], groups=["pump"] * 5).quantile.tolist() == [cp.group_quantiles_["pump"]] * 5
    # every group too small for its own quantile: still fitted per group, still refused without groups
    few = SplitConformal(alpha=0.1, min_group_size=1000).fit(p, y, groups=types)
    assert few.fallback_groups_ == ["pump", "valve"]
    with pytest.raises(ValidationError, match="calibrated per group"):
        few.predict(p[:5])
    pooled = SplitConformal(alpha=0.1).fit(p, y)  # fitted without groups: pooled sets, nothing to refuse
    assert pooled.predict(p[:5]).quantile.tolist() == [pooled.quantile_] * 5

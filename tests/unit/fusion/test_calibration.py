"""Calibration: temperature scaling and isotonic lower ECE on miscalibrated probabilities; the diagram is a PNG."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assetgrade.errors import ValidationError
from assetgrade.fusion.calibration import (
    IsotonicCalibrator,
    TemperatureScaler,
    classwise_ece,
    debiased_ece,
    expected_calibration_error,
    negative_log_likelihood,
    reliability_diagram,
)


def _overconfident(rng: np.random.Generator, n: int = 3000, k: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """True logits z; labels drawn from softmax(z); reported probabilities from softmax(3 z) (over-confident)."""
    z = rng.normal(0, 1.0, (n, k))
    p_true = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    y = np.array([rng.choice(k, p=row) for row in p_true])
    zs = 3.0 * z
    p_bad = np.exp(zs) / np.exp(zs).sum(1, keepdims=True)
    return p_bad, y


def test_temperature_lowers_ece_and_learns_t_near_3(rng: np.random.Generator) -> None:
    p, y = _overconfident(rng)
    fit, test = slice(0, 1500), slice(1500, None)
    ts = TemperatureScaler().fit(p[fit], y[fit])
    assert 2.3 < ts.temperature_ < 3.8
    before = expected_calibration_error(p[test], y[test])
    after = expected_calibration_error(ts.transform(p[test]), y[test])
    assert after < 0.5 * before
    assert negative_log_likelihood(ts.transform(p[test]), y[test]) < negative_log_likelihood(p[test], y[test])
    assert ts.nll_after_ <= ts.nll_before_


def test_temperature_accepts_logits(rng: np.random.Generator) -> None:
    z = rng.normal(0, 2, (400, 3))
    y = rng.integers(0, 3, 400)  # labels independent of logits: the best temperature is large
    ts = TemperatureScaler(input="logits").fit(z, y)
    assert ts.temperature_ > 5
    out = ts.transform(z)
    assert np.allclose(out.sum(1), 1)


@pytest.mark.parametrize("mode", ["ovr", "top"])
def test_isotonic_lowers_ece(rng: np.random.Generator, mode: str) -> None:
    p, y = _overconfident(rng)
    iso = IsotonicCalibrator(mode=mode).fit(p[:1500], y[:1500])  # type: ignore[arg-type]
    q = iso.transform(p[1500:])
    assert np.allclose(q.sum(1), 1)
    assert expected_calibration_error(q, y[1500:]) < 0.6 * expected_calibration_error(p[1500:], y[1500:])


def test_ece_zero_for_perfect_and_classwise(rng: np.random.Generator) -> None:
    p = np.tile([1.0, 0.0, 0.0], (50, 1))
    y = np.zeros(50, dtype=int)
    assert expected_calibration_error(p, y) == pytest.approx(0.0)
    assert classwise_ece(p, y) == pytest.approx(0.0)
    # always 0.9 sure but right only half the time: ECE 0.4
    p2 = np.tile([0.9, 0.1], (100, 1))
    y2 = np.array([0, 1] * 50)
    assert expected_calibration_error(p2, y2, n_bins=10) == pytest.approx(0.4)


def test_bad_input_names_the_row() -> None:
    with pytest.raises(ValidationError, match="row 1"):
        expected_calibration_error(np.array([[0.5, 0.5], [0.9, 0.3]]), np.array([0, 1]))
    with pytest.raises(ValidationError, match="outside"):
        TemperatureScaler().fit(np.array([[0.5, 0.5]]), np.array([2]))
    with pytest.raises(ValidationError, match="not fitted"):
        TemperatureScaler().transform(np.array([[0.5, 0.5]]))


def test_reliability_diagram_png(tmp_path: Path, rng: np.random.Generator) -> None:
    p, y = _overconfident(rng, n=300)
    out = reliability_diagram(p, y, tmp_path / "rel.png", n_bins=10)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_reliability_diagram_takes_the_callers_interval(
    tmp_path: Path, rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    import matplotlib.axes

    import assetgrade.fusion.reliability as rel

    def no_bootstrap(*_a: object, **_k: object) -> dict[str, float]:
        raise AssertionError("the diagram bootstrapped again")

    titles: list[str] = []
    real = matplotlib.axes.Axes.set_title

    def keep_title(ax: matplotlib.axes.Axes, label: str, *a: object, **k: object) -> object:
        titles.append(label)
        return real(ax, label, *a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(matplotlib.axes.Axes, "set_title", keep_title)
    monkeypatch.setattr(rel, "debiased_ece", no_bootstrap)
    p, y = _overconfident(rng, n=300)
    reliability_diagram(p, y, tmp_path / "rel.png", debiased={"estimate": 0.0123, "high": 0.0456})
    assert "bias-corrected 0.012, 90% interval up to 0.046" in titles[0]


def test_ece_reference_of_a_perfectly_calibrated_model_separates_calibrated_from_not() -> None:
    from assetgrade.fusion.calibration import ece_if_calibrated, expected_calibration_error

    rng = np.random.default_rng(4)
    p = rng.dirichlet(np.ones(4) * 2, size=200)
    ref = ece_if_calibrated(p, n_sims=300, seed=1)
    assert ref["n"] == 200 and 0.01 < ref["mean"] < ref["p95"]
    # labels drawn from p (calibrated by construction) mostly fall inside the reference range
    inside = 0
    for k in range(20):
        g = np.random.default_rng(100 + k)
        y = np.array([g.choice(4, p=row / row.sum()) for row in p])
        inside += expected_calibration_error(p, y) <= ref["p95"]
    assert inside >= 15
    # an over-confident model (its top class is right only a quarter of the time) is far outside it
    y_bad = np.array([(int(np.argmax(row)) + 1 + int(rng.integers(3))) % 4 if rng.random() < 0.75
                      else int(np.argmax(row)) for row in p])
    assert expected_calibration_error(p, y_bad) > ref["p95"] + 0.05


def _binary(conf: np.ndarray, gap: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two-class predictions with confidence ``conf`` whose true accuracy is ``conf - gap``."""
    p = np.column_stack([conf, 1.0 - conf])
    y = (rng.random(len(conf)) > conf - gap).astype(int)
    return p, y


def test_debiased_ece_removes_much_of_the_small_sample_bias() -> None:
    est, plug = [], []
    for s in range(20):
        rng = np.random.default_rng(1000 + s)
        p, y = _binary(rng.uniform(0.5, 1.0, 300), 0.0, rng)  # perfectly calibrated: true ECE 0
        d = debiased_ece(p, y, n_boot=20)
        est.append(d["estimate"])
        plug.append(d["plugin"])
        assert d["plugin"] == pytest.approx(expected_calibration_error(p, y))
    assert np.mean(est) < 0.7 * np.mean(plug)


def test_debiased_ece_finds_a_known_gap_and_brackets_it() -> None:
    hits, est = 0, []
    for s in range(10):
        rng = np.random.default_rng(2000 + s)
        p, y = _binary(rng.uniform(0.55, 1.0, 1000), 0.15, rng)  # 15 points overconfident everywhere
        d = debiased_ece(p, y, n_boot=100)
        hits += d["low"] < 0.15 < d["high"]
        est.append(d["estimate"])
    assert abs(np.mean(est) - 0.15) < 0.01
    assert hits >= 7  # a 90 % interval
    assert debiased_ece(p, y, n_boot=100) == d  # seeded: the same figures every run


def test_debiased_ece_input_checks() -> None:
    empty = debiased_ece(np.zeros((0, 3)), np.zeros(0, dtype=int))  # no items: no figures, no crash
    assert np.isnan(empty["estimate"]) and empty["n"] == 0.0
    assert np.isnan(expected_calibration_error(np.zeros((0, 3)), np.zeros(0, dtype=int)))
    with pytest.raises(ValidationError, match="level"):
        debiased_ece([[0.6, 0.4]], [0], level=1.0)


def test_debiased_ece_cluster_bootstrap_widens_the_interval_when_items_are_copies() -> None:
    rng = np.random.default_rng(7)
    p, y = _binary(rng.uniform(0.55, 1.0, 100), 0.1, rng)
    # every item four times over: an item bootstrap takes 400 items as independent, a cluster
    # bootstrap over the copies knows there are 100
    p4, y4 = np.repeat(p, 4, axis=0), np.repeat(y, 4)
    copies = np.repeat(np.arange(100), 4)
    items = debiased_ece(p4, y4, n_boot=200)
    clusters = debiased_ece(p4, y4, n_boot=200, groups=copies)
    assert items["n_groups"] == 400.0 and clusters["n_groups"] == 100.0
    assert clusters["estimate"] == items["estimate"]  # the estimate itself does not depend on the groups
    assert clusters["high"] - clusters["low"] > 1.5 * (items["high"] - items["low"])
    # one group per item is the item bootstrap
    assert debiased_ece(p, y, n_boot=50, groups=np.arange(100)) == debiased_ece(p, y, n_boot=50)
    with pytest.raises(ValidationError, match="groups holds 3 labels for 100 items"):
        debiased_ece(p, y, groups=[0, 1, 2])


def test_calibrator_settings_and_empty_fits_are_named(rng: np.random.Generator) -> None:
    p = rng.dirichlet([1, 1, 1], 20)
    y = rng.integers(0, 3, 20)
    with pytest.raises(ValidationError, match=r"IsotonicCalibrator.fit: cannot fit on zero rows"):
        IsotonicCalibrator().fit(np.zeros((0, 3)), [])  # was scikit-learn's ValueError
    # a NaN floor made every calibrated row NaN; a floor of 1/k made every row uniform
    for floor in (float("nan"), 1 / 3, -0.1, "0.01"):
        with pytest.raises(ValidationError, match=r"IsotonicCalibrator.floor: floor=.* must be a number in \[0, 1/3\)"):
            IsotonicCalibrator(floor=floor).fit(p, y)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match=r"TemperatureScaler.bounds: bounds=\(0.1, inf\) must be finite"):
        TemperatureScaler(bounds=(0.1, float("inf"))).fit(p, y)


def test_ece_counts_must_be_whole_numbers() -> None:
    p = np.tile([[0.7, 0.3]], (20, 1))
    y = np.zeros(20, dtype=np.int64)
    # no simulated draws gave a NaN correction that max(0, NaN) reported as an ECE of exactly 0
    with pytest.raises(ValidationError, match=r"n_sims: n_sims=0 must be an integer >= 1"):
        debiased_ece(p, y, n_sims=0)
    with pytest.raises(ValidationError, match=r"n_boot: n_boot=-1 must be an integer >= 0"):
        debiased_ece(p, y, n_boot=-1)
    with pytest.raises(ValidationError, match=r"n_bins: n_bins=2.5 must be an integer >= 1"):
        expected_calibration_error(p, y, n_bins=2.5)  # type: ignore[arg-type]
    assert debiased_ece(p, y, n_boot=0)["estimate"] > 0.2  # the plug-in is 0.3
    from assetgrade.fusion.calibration import ece_if_calibrated

    with pytest.raises(ValidationError, match=r"n_sims: n_sims=0 must be an integer >= 1"):
        ece_if_calibrated(p, n_sims=0)  # was numpy's IndexError on an empty percentile


def test_labels_that_are_not_indices_are_named() -> None:
    from assetgrade.fusion.calibration import as_labels

    with pytest.raises(ValidationError, match=r"y: labels must be integer grade indices 0..3; row 0 holds 'B' \(map "):
        as_labels(["B", "A"], 4)  # grade names: numpy's TypeError before
    with pytest.raises(ValidationError, match=r"row 1 holds None"):
        as_labels([1, None], 4)
    with pytest.raises(ValidationError, match=r"row 1 holds 0.5"):
        as_labels([1.0, 0.5], 4)
    assert as_labels([1.0, 3.0], 4).tolist() == [1, 3]


def test_isotonic_with_no_floor_gives_a_uniform_row_where_every_map_says_zero() -> None:
    # grade 0 is never the label, so its map is 0 everywhere; grades 1 and 2 are the label only at
    # readings of 0.3, so their maps are 0 at 0.1. With floor=0 the row (0.8, 0.1, 0.1) was 0 / 0: NaN.
    iso = IsotonicCalibrator(floor=0.0).fit(np.array([[0.5, 0.3, 0.2], [0.5, 0.2, 0.3]]), [1, 2])
    out = iso.transform(np.array([[0.8, 0.1, 0.1], [0.4, 0.3, 0.3]]))
    assert out[0] == pytest.approx([1 / 3, 1 / 3, 1 / 3])
    assert out[1] == pytest.approx([0.0, 0.5, 0.5])  # rows with some mass are renormalised as before

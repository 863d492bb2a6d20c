"""ECE bins follow Guo et al. (2017): ((m-1)/M, m/M], so 1.0 is in the last bin and an edge in the bin below it.

Every binned calibration figure (ECE, its bias-corrected estimate, class-wise ECE, the
reliability diagram, the vision benchmark's ECE) uses the same bins.
"""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

import assetgrade.bench.vision as vision_bench
from assetgrade.fusion.calibration import (
    classwise_ece,
    confidence_bins,
    debiased_ece,
    ece_if_calibrated,
    expected_calibration_error,
    reliability_diagram,
)


def _on_the_edge() -> tuple[np.ndarray, np.ndarray]:
    """Two items at confidence 0.5 (both right), two at 1.0 (one right): with 2 bins, each bin is 0.5 off.

    With bins [lo, hi) the 0.5s joined the 1.0s in the upper bin, whose mean confidence (0.75)
    equals its accuracy (0.75): an ECE of 0 for a model 50 points off in both halves.
    """
    p = np.array([[0.5, 0.5], [0.5, 0.5], [1.0, 0.0], [1.0, 0.0]])
    return p, np.array([0, 0, 0, 1])


@pytest.mark.parametrize("n_bins", [1, 2, 3, 10, 15, 20, 100])
def test_a_confidence_on_an_edge_falls_in_the_bin_below_it(n_bins: int) -> None:
    edges = np.arange(n_bins + 1) / n_bins
    assert confidence_bins(edges[1:], n_bins).tolist() == list(range(n_bins))  # m/M closes bin m-1
    assert confidence_bins([1.0], n_bins).tolist() == [n_bins - 1]
    assert confidence_bins([0.0], n_bins).tolist() == [0]  # 0: the first bin, never outside every bin
    inside = (edges[:-1] + edges[1:]) / 2
    assert confidence_bins(inside, n_bins).tolist() == list(range(n_bins))
    assert confidence_bins(np.nextafter(edges[1:-1], 1.0), n_bins).tolist() == list(range(1, n_bins))


def test_ece_bins_the_paper_way() -> None:
    p, y = _on_the_edge()
    assert expected_calibration_error(p, y, n_bins=2) == pytest.approx(0.5)
    d = debiased_ece(p, y, n_bins=2, n_boot=0)
    assert d["plugin"] == pytest.approx(0.5)
    # 0.6 with 15 bins is the edge 9/15: in bin 8 with 0.55 (both right), not in bin 9 with 0.65 (wrong)
    q = np.array([[0.55, 0.45], [0.6, 0.4], [0.65, 0.35]])
    gaps = abs(1 - 0.575) * 2 / 3 + abs(0 - 0.65) / 3
    assert expected_calibration_error(q, [0, 0, 1], n_bins=15) == pytest.approx(gaps)


def _gap(conf: np.ndarray, hit: np.ndarray, n_bins: int) -> float:
    """Sum over the paper's bins ((m-1)/M, m/M] of share x |hit rate - mean confidence|; 0 joins the first bin."""
    total = 0.0
    for m in range(1, n_bins + 1):
        inside = (conf > (m - 1) / n_bins) & (conf <= m / n_bins) | ((m == 1) & (conf == 0))
        if inside.any():
            total += inside.mean() * abs(hit[inside].mean() - conf[inside].mean())
    return total


def test_classwise_ece_uses_the_same_bins() -> None:
    # three grades, many probabilities on the edges of 5 bins (0.2, 0.4, 0.6, 0.8, 1.0) and some at 0
    p = np.array([[0.6, 0.4, 0.0], [0.6, 0.2, 0.2], [0.4, 0.4, 0.2], [0.8, 0.2, 0.0], [1.0, 0.0, 0.0],
                  [0.2, 0.2, 0.6], [0.5, 0.3, 0.2], [0.7, 0.1, 0.2]])
    y = np.array([1, 0, 2, 0, 0, 2, 1, 0])
    expected = np.mean([_gap(p[:, k], (y == k).astype(float), 5) for k in range(3)])
    assert classwise_ece(p, y, n_bins=5) == pytest.approx(expected)


def test_the_calibrated_reference_bins_like_the_ece() -> None:
    # half the items at confidence 0.5 (an edge of 2 bins), half at 0.9: separate bins, not one
    p = np.array([[0.5, 0.5]] * 25 + [[0.9, 0.1]] * 25)
    ref = ece_if_calibrated(p, n_bins=2, n_sims=40, seed=3)
    rng = np.random.default_rng(3)  # the draws ece_if_calibrated makes: labels from p itself
    draws = []
    for _ in range(40):
        y = np.minimum((rng.random((50, 1)) > np.cumsum(p, axis=1)).sum(axis=1), 1)
        draws.append(_gap(p.max(axis=1), (p.argmax(axis=1) == y).astype(float), 2))
    assert ref["mean"] == pytest.approx(float(np.mean(draws)))


def test_the_reliability_diagram_draws_the_ece_bins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import matplotlib.axes

    heights: list[list[float]] = []
    real = matplotlib.axes.Axes.bar

    def keep_bars(ax: matplotlib.axes.Axes, x: object, height: object, *a: object, **k: object) -> object:
        heights.append(np.asarray(height, dtype=float).tolist())
        return real(ax, x, height, *a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(matplotlib.axes.Axes, "bar", keep_bars)
    p, y = _on_the_edge()
    reliability_diagram(p, y, tmp_path / "rel.png", n_bins=2, debiased={"estimate": 0.0, "high": 0.0})
    assert heights[0] == [1.0, 0.5]  # accuracy per bin: the 0.5s (right) below, the 1.0s (half right) above
    assert heights[1] == [2.0, 2.0]  # items per bin


def _guo_reference(proba: np.ndarray, y: np.ndarray, n_bins: int = 15) -> float:
    """The binning of Guo et al.'s published code: linspace edges, confidence > lower and <= upper."""
    conf, correct = proba.max(axis=1), proba.argmax(axis=1) == y
    ece = 0.0
    for lo, hi in pairwise(np.linspace(0, 1, n_bins + 1)):
        m = (conf > lo) & (conf <= hi)
        if m.any():
            ece += m.mean() * abs(correct[m].mean() - conf[m].mean())
    return float(ece)


def test_the_vision_benchmark_reports_the_same_ece() -> None:
    assert vision_bench.expected_calibration_error is expected_calibration_error
    rng = np.random.default_rng(11)
    for k in (2, 4, 6):
        p = rng.dirichlet(np.full(k, 0.5), size=500)
        # a tenth of the rows sit exactly on a bin edge (top confidence m/15)
        top = rng.integers(8, 16, 50) / 15
        p[:50] = np.column_stack([top, *[(1 - top) / (k - 1)] * (k - 1)])
        y = (p.cumsum(1) > rng.random((500, 1))).argmax(1)
        assert expected_calibration_error(p, y) == pytest.approx(_guo_reference(p, y), abs=1e-12)

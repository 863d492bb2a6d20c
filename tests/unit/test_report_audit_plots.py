"""Evaluation plots draw what their labels say: the data is read back from the matplotlib Figure and compared
with hand-computed values."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from assetgrade.decision.risk import accept_rate_at, plot_risk_coverage, risk_coverage
from assetgrade.fusion.ece import expected_calibration_error
from assetgrade.fusion.reliability import reliability_diagram


@pytest.fixture
def figures(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every figure the plotting functions close, kept for reading back."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kept: list[Any] = []
    real = plt.close

    def keep(fig: Any = None) -> None:
        kept.append(fig)
        real(fig)

    monkeypatch.setattr(plt, "close", keep)
    return kept


def _bars(ax: Any) -> list[tuple[float, float]]:
    """(centre, height) of each bar drawn on ``ax``."""
    return [(round(r.get_x() + r.get_width() / 2, 9), round(r.get_height(), 9)) for r in ax.patches]


def test_reliability_bars_are_the_ece_bins_and_empty_bins_are_not_drawn(tmp_path: Path, figures: list[Any]) -> None:
    # 4 bins of width 0.25; top-label confidences 0.6, 0.6, 0.9, 0.9, 1.0: bins 0 and 1 hold nothing
    p = np.array([[0.6, 0.4], [0.4, 0.6], [0.9, 0.1], [0.9, 0.1], [1.0, 0.0]])
    y = np.array([0, 0, 0, 1, 0])  # bin 2 (0.5, 0.75]: 1 of 2 right; bin 3 (0.75, 1]: 2 of 3 right
    reliability_diagram(p, y, tmp_path / "r.png", n_bins=4, debiased={"estimate": 0.0, "high": 0.0})
    (fig,) = figures
    ax, counts = fig.axes
    # an empty bin is no bar: a bar of height 0 read as "accuracy 0" there, like a bin whose items were all wrong
    assert _bars(ax) == [(0.625, 0.5), (0.875, round(2 / 3, 9))]
    assert _bars(counts) == [(0.125, 0), (0.375, 0), (0.625, 2), (0.875, 3)]
    ece = expected_calibration_error(p, y, n_bins=4)
    assert ece == pytest.approx(2 / 5 * abs(0.5 - 0.6) + 3 / 5 * abs(2 / 3 - 2.8 / 3))
    assert f"ECE {ece:.3f}" in ax.get_title()
    diagonal = [ln for ln in ax.lines if list(ln.get_xdata()) == [0, 1] and list(ln.get_ydata()) == [0, 1]]
    assert len(diagonal) == 1
    assert ax.get_ylim() == (0, 1) and counts.get_xlim() == (0, 1) and ax.get_xlim() == (0, 1)


def test_a_bin_whose_items_are_all_wrong_is_drawn_at_zero(tmp_path: Path, figures: list[Any]) -> None:
    p = np.array([[0.6, 0.4], [0.9, 0.1]])
    reliability_diagram(p, [1, 0], tmp_path / "r.png", n_bins=2, debiased={"estimate": 0.0, "high": 0.0})
    assert _bars(figures[0].axes[0]) == [(0.75, 0.5)]  # both in bin 1, one right
    reliability_diagram(p[:1], [1], tmp_path / "s.png", n_bins=2, debiased={"estimate": 0.0, "high": 0.0})
    assert _bars(figures[1].axes[0]) == [(0.75, 0.0)]  # one item, wrong: a real zero, drawn


def test_risk_coverage_plot_draws_only_points_a_threshold_can_reach(tmp_path: Path, figures: list[Any]) -> None:
    # 3 confident assets (right), then 4 tied at one score: 3 right and 1 wrong given last
    p = np.array([[0.95, 0.05]] * 3 + [[0.7, 0.3]] * 4)
    y = np.array([0, 0, 0, 0, 0, 0, 1])
    rc = risk_coverage(p, y)
    plot_risk_coverage({"fused": rc}, tmp_path / "rc.png", max_error=0.1)
    (fig,) = figures
    ax = fig.axes[0]
    line = next(ln for ln in ax.lines if str(ln.get_label()).startswith("fused"))
    x, e = np.asarray(line.get_xdata()), np.asarray(line.get_ydata())
    # accepting the tied four is all or none: (3/7, 0) and (7/7, 1/7), not (6/7, 0) as the order had it
    assert x.tolist() == pytest.approx([3 / 7, 1.0]) and e.tolist() == pytest.approx([0.0, 1 / 7])
    assert np.all(np.diff(x) > 0)
    assert accept_rate_at(rc, 0.1) == pytest.approx(3 / 7)
    assert "accept 43%" in str(line.get_label())
    threshold = [ln for ln in ax.lines if str(ln.get_label()).startswith("error")]
    assert len(threshold) == 1 and list(threshold[0].get_ydata()) == [0.1, 0.1]


def test_risk_coverage_with_costs_draws_the_same_points(tmp_path: Path, figures: list[Any]) -> None:
    p = np.array([[0.95, 0.05]] * 2 + [[0.7, 0.3]] * 2)
    y = np.array([0, 1, 0, 1])
    C = np.array([[0.0, 10.0], [100.0, 0.0]])
    rc = risk_coverage(p, y, cost=C)
    plot_risk_coverage({"fused": rc}, tmp_path / "rc.png")
    cost_ax = figures[0].axes[1]
    (line,) = cost_ax.lines
    assert np.asarray(line.get_xdata()).tolist() == pytest.approx([0.5, 1.0])
    # the Bayes grade: 0 for the first pair (one costs 100), 1 for the tied pair (one costs 10)
    assert np.asarray(line.get_ydata()).tolist() == pytest.approx([50.0, 27.5])


def test_the_confusion_matrix_has_true_rows_predicted_columns_counts_and_a_scale(
        tmp_path: Path, figures: list[Any]) -> None:
    from assetgrade.bench.vision import save_plots

    y = np.array([0, 0, 0, 1, 1, 2])
    pred = np.array([0, 1, 1, 1, 2, 2])
    proba = np.eye(3)[pred] * 0.7 + 0.1
    save_plots(y, proba, ("crazing", "inclusion", "patches"), tmp_path, "neu")
    fig = figures[0]
    ax = fig.axes[0]
    shown = np.asarray(ax.images[0].get_array())
    assert shown.tolist() == [[1, 2, 0], [0, 1, 1], [0, 0, 1]]  # row = true grade, column = predicted
    texts = {(round(t.get_position()[1]), round(t.get_position()[0])): t.get_text() for t in ax.texts}
    assert texts[(0, 1)] == "2" and texts[(1, 2)] == "1" and texts[(2, 0)] == "0"
    assert ax.get_ylabel() == "true" and ax.get_xlabel() == "predicted"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["crazing", "inclusion", "patches"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["crazing", "inclusion", "patches"]
    # colour encodes a count: a colour bar gives its scale (beyond 30 classes the cells carry no numbers)
    assert len(fig.axes) == 2 and fig.axes[1].get_ylabel() == "assets"


def test_the_drift_chart_marks_the_threshold_it_is_given(tmp_path: Path, figures: list[Any]) -> None:
    from assetgrade.bench.drift import plot_mmd

    plot_mmd([0.01, 0.02], [[0.05, 0.09]], 0.037, tmp_path / "mmd.png")
    ax = figures[0].axes[0]
    (line,) = [ln for ln in ax.lines if str(ln.get_label()).startswith("threshold")]
    assert list(line.get_ydata()) == [0.037, 0.037]


def _luminance(rgba: Any) -> np.ndarray:
    """WCAG relative luminance of sRGB colours (rows of RGB or RGBA in [0, 1])."""
    c = np.asarray(rgba, dtype=float)[..., :3]
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return np.asarray(lin @ np.array([0.2126, 0.7152, 0.0722]))


def test_the_fusion_table_shades_grades_readably_without_red_against_green(tmp_path: Path, figures: list[Any]) -> None:
    from matplotlib.colors import to_rgb

    from assetgrade.fusion.latent import LatentLevelTable, plot_latent_table

    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 400)
    qs = [np.eye(4)[np.clip(y + rng.integers(-1, 2, 400), 0, 3)] * 0.9 + 0.025 for _ in range(2)]
    t = LatentLevelTable().fit(qs, y, n_classes=4)
    plot_latent_table(t, ["vision", "text"], "ABCD", tmp_path / "t.png")
    fig = figures[0]
    ax, bar = fig.axes
    image = ax.images[0]
    # colour encodes the expected grade: a colour bar, and a map whose lightness alone orders the grades, so it
    # reads the same to a red-green colour-blind eye or in grey print (RdYlGn_r went dark-light-dark)
    assert bar.get_ylabel() == "expected grade" and [t.get_text() for t in bar.get_yticklabels()] == list("ABCD")
    lum = _luminance(image.get_cmap()(np.linspace(0, 1, 33)))
    assert np.all(np.diff(lum) < 0) or np.all(np.diff(lum) > 0)
    # each cell's grade letter stands out from its cell (WCAG contrast >= 4.5)
    cells = np.asarray(image.get_array())
    for text in ax.texts:
        x, yy = text.get_position()
        back = _luminance(image.cmap(image.norm(cells[round(yy), round(x)])))
        fore = _luminance(to_rgb(text.get_color()))
        hi, lo = max(back, fore), min(back, fore)
        assert (hi + 0.05) / (lo + 0.05) >= 4.5, (text.get_text(), text.get_color())

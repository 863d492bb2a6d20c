"""The risk-coverage plot's text, read from the matplotlib figure (not from pixels).

Seen in the demo's reports/risk_coverage.png: the title sat over the error panel alone, the legend said
"fused (accept 3%)" and "error 2%" (at what error? a 2 % error of what?), and the cost axis had no unit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from assetgrade.decision.risk import plot_risk_coverage, risk_coverage


@pytest.fixture
def figures(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every figure plot_risk_coverage closes, kept for reading back."""
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


def test_title_spans_both_panels_and_the_labels_say_what_they_mean(tmp_path: Path, figures: list[Any]) -> None:
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(4), size=200)
    y = rng.integers(0, 4, 200)
    C = np.abs(np.subtract.outer(np.arange(4), np.arange(4))) * 1000.0
    plot_risk_coverage({"fused": risk_coverage(p, y, cost=C)}, tmp_path / "rc.png", max_error=0.02,
                       title="Risk-coverage (out-of-fold)", cost_unit="EUR")
    (fig,) = figures
    error_ax, cost_ax = fig.axes
    assert fig.get_suptitle() == "Risk-coverage (out-of-fold)" and error_ax.get_title() == ""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)  # the closed figure's own canvas is gone
    canvas.draw()
    renderer = canvas.get_renderer()
    title = fig._suptitle.get_window_extent(renderer)
    left, right = (ax.get_window_extent(renderer) for ax in (error_ax, cost_ax))
    assert title.x0 > left.x0 and title.x1 < right.x1 and title.x0 < right.x0 < title.x1  # centred over both
    assert title.y0 >= max(left.y1, right.y1)
    labels = [t.get_text() for t in error_ax.get_legend().get_texts()]
    assert labels[0].startswith("fused (accept ") and labels[0].endswith("% at error ≤ 2%)")
    assert labels[1] == "error target 2%"
    assert cost_ax.get_ylabel() == "mean cost among accepted (EUR)"

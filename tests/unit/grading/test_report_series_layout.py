"""The grade report's sensor plot, read from matplotlib's renderer (not from pixels).

Seen in the demo's grade-lnk-00001.html: the plot's title floated about 50 px above its top panel, and the time
axis said "time" with no unit while every finding under it spoke of cycles.
"""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd

from assetgrade.grading.report import _series_figure
from assetgrade.modalities.base import Finding
from assetgrade.store.records import SeriesRef

matplotlib.use("Agg")


def _ref(index_name: str | None, units: dict[str, str] | None = None) -> SeriesRef:
    t = np.arange(1.0, 221.0)
    frame = pd.DataFrame({f"s{k}": np.sin(t / (k + 1)) for k in range(4)}, index=pd.Index(t, name=index_name))
    return SeriesRef("ev_c7f4c98905c7ce2a1b9c2fa7ac05604e", "0" * 64, load=lambda: frame, units=units or {})


FINDING = Finding(modality="sensors", summary="s2 high", window=(210.0, 220.0), channels=("s2",))


def test_the_title_sits_just_above_the_top_panel() -> None:
    import matplotlib.pyplot as plt

    fig, why = _series_figure(_ref("cycle"), [FINDING], time_unit="cycles")
    assert fig is not None, why
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    title = fig._suptitle.get_window_extent(renderer)
    top = max(ax.get_tightbbox(renderer).y1 for ax in fig.axes)
    assert 0 <= title.y0 - top < 20, (title, top)  # clear of the panel, and not 50 px above it
    plt.close(fig)


def test_the_axes_say_their_units() -> None:
    import matplotlib.pyplot as plt

    for name, unit, label in ((None, "cycles", "time (cycles)"), ("cycle", "cycles", "cycle"),
                              ("t", "hours", "t (hours)"), (None, None, "time")):
        fig, _ = _series_figure(_ref(name, {"s2": "°C"}), [FINDING], time_unit=unit)
        assert fig is not None
        assert fig.axes[-1].get_xlabel() == label
        assert "s2 (°C)" in [ax.get_ylabel() for ax in fig.axes]
        plt.close(fig)

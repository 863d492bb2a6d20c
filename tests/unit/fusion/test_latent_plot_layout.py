"""The fusion-table figure's layout, read from matplotlib's renderer (not from pixels).

Seen in the demo's reports/fusion_table.png: the figure's title was drawn over the first panels' titles
("vision level B"), the colour bar read 0.0-3.0 "expected grade (index)" rather than the grades, and hatching ran
through the letters of rare cells.
"""

from __future__ import annotations

import matplotlib
import numpy as np

from assetgrade.fusion.latent import LatentLevelTable
from assetgrade.fusion.latent_plot import latent_table_figure

from .test_latent import _data

matplotlib.use("Agg")


def _figure(rng: np.random.Generator, n_modalities: int = 3):  # type: ignore[no-untyped-def]
    qs, y, _ = _data(rng, 600)
    table = LatentLevelTable().fit(qs[:n_modalities], y, n_classes=4)
    return latent_table_figure(table, ["vision", "sensors", "text"][:n_modalities], "ABCD",
                               title="Learned fusion table, grader-47460cefd658")


def test_the_title_clears_the_panels_and_their_titles(rng: np.random.Generator) -> None:
    import matplotlib.pyplot as plt

    fig = _figure(rng)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    title = fig._suptitle.get_window_extent(renderer)
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert len(panels) == 4
    for ax in panels:
        for box in (ax.title.get_window_extent(renderer), ax.get_window_extent(renderer)):
            assert title.y0 >= box.y1, (ax.get_title(), title, box)  # above each, not over it
    plt.close(fig)


def test_the_colour_bar_is_marked_with_the_grades_and_letters_sit_on_their_cell_colour(
        rng: np.random.Generator) -> None:
    import matplotlib.pyplot as plt

    fig = _figure(rng, 2)
    bar = fig.axes[-1]
    assert [t.get_text() for t in bar.get_yticklabels()] == ["A", "B", "C", "D"]
    assert bar.get_ylabel() == "expected grade"
    letters = [t for t in fig.axes[0].texts if t.get_text() in "ABCD"]
    assert len(letters) == 16
    assert all(t.get_bbox_patch() is not None and t.get_zorder() > 2 for t in letters)  # above the hatching
    plt.close(fig)

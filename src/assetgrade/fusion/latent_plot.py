"""A fitted latent table drawn as a heat map: the learned rubric, one cell per combination of readings."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from assetgrade.errors import ValidationError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from assetgrade.fusion.latent import LatentLevelTable

__all__ = ["latent_table_figure", "plot_latent_table"]


_CMAP = "YlOrRd"
"""Light yellow (best grade) to dark red (worst): its lightness alone orders the grades, so the table reads the
same to a red-green colour-blind eye and in grey print (ColorBrewer's YlOrRd; Harrower & Brewer 2003)."""


def _ink(rgba: tuple[float, ...]) -> str:
    """Black or white, whichever contrasts more with the cell colour ``rgba`` (WCAG 2 relative luminance)."""
    c = np.asarray(rgba[:3], dtype=np.float64)
    lum = float(np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4) @ [0.2126, 0.7152, 0.0722])
    return "black" if (lum + 0.05) / 0.05 >= 1.05 / (lum + 0.05) else "white"


def plot_latent_table(
    table: LatentLevelTable,
    modalities: Sequence[str],
    grades: Sequence[str],
    path: str | Path,
    *,
    rare: float = 0.002,
    title: str = "Learned fusion table",
) -> Path:
    """Write :func:`latent_table_figure` as a PNG; returns the path."""
    import matplotlib.pyplot as plt

    fig = latent_table_figure(table, modalities, grades, rare=rare, title=title)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return out


def latent_table_figure(
    table: LatentLevelTable,
    modalities: Sequence[str],
    grades: Sequence[str],
    *,
    rare: float = 0.002,
    title: str = "Learned fusion table",
) -> Figure:
    """The learned rubric as a heat map (a matplotlib figure).

    Each cell is one combination of modality readings, shaded by the expected grade the table
    gives it (light yellow best to dark red worst, with a colour bar) and labelled with its most
    likely grade in black or white, whichever stands out; combinations seen in less than ``rare`` of
    the training mass are hatched in that same black or white (their cells are mostly the smoothing
    prior). With three or more modalities there is one panel per level of the first; modalities beyond the third are
    averaged out by the learned state weights.

    The colour bar is marked with the grades (its colours are the expected grade, A = best); each letter sits on a
    patch of its cell's colour so the hatching does not cross it; constrained layout keeps the title clear of the
    panels' titles (it was drawn over them).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    table._require_fitted()
    names = list(modalities)
    if len(names) != len(table.n_levels_) or len(grades) != table.n_classes_:
        raise ValidationError(f"{len(names)} modalities / {len(grades)} grades for a table of "
                              f"{table.n_levels_} levels and {table.n_classes_} grades", where="plot_latent_table")
    joint = table.joint_.reshape(*table.n_levels_, table.n_classes_)
    if len(names) > 3:  # average the extra modalities out, weighted by how often each reading occurs
        joint = joint.sum(axis=tuple(range(3, len(names))))
        names = names[:3]
    while joint.ndim < 4:  # pad to (panels, rows, columns, grades)
        joint = joint[None]
    labels = [f"{m} level" for m in names]
    while len(labels) < 3:
        labels.insert(0, "")
    weight = joint.sum(axis=-1)
    cond = joint / np.clip(weight[..., None], 1e-300, None)
    expected = cond @ np.arange(len(grades), dtype=np.float64)
    share = weight / weight.sum()
    n_panels = joint.shape[0]
    fig, axes = plt.subplots(1, n_panels, figsize=(2.6 * n_panels + 1.2, 3.4), squeeze=False, layout="constrained")
    image = None
    for k in range(n_panels):
        ax = axes[0][k]
        image = ax.imshow(expected[k], vmin=0, vmax=len(grades) - 1, cmap=_CMAP, aspect="auto")
        for i, j in np.ndindex(expected[k].shape):
            colour = image.cmap(image.norm(expected[k][i, j]))
            ink = _ink(colour)
            ax.text(j, i, grades[int(np.argmax(cond[k, i, j]))], ha="center", va="center", fontsize=9, color=ink,
                    zorder=3, bbox={"boxstyle": "square,pad=0.2", "facecolor": colour, "edgecolor": "none"})
            if share[k, i, j] < rare:  # hatch lines take the edge colour (lw=0: no edge drawn), like the letter
                ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, hatch="///", lw=0, edgecolor=ink))
        ax.set_xticks(range(expected.shape[2]), [grades[c] for c in range(expected.shape[2])])
        ax.set_yticks(range(expected.shape[1]), [grades[r] for r in range(expected.shape[1])])
        ax.set_xlabel(labels[2])
        if k == 0:
            ax.set_ylabel(labels[1])
        if labels[0]:
            ax.set_title(f"{labels[0]} {grades[k]}", fontsize=9)
    if image is not None:
        bar = fig.colorbar(image, ax=axes[0].tolist(), label="expected grade", shrink=0.8)
        bar.set_ticks(range(len(grades)), labels=list(grades))  # 0 .. n-1 meant nothing to a reader
    fig.suptitle(f"{title} (hatched: < {rare:.1%} of training assets)", fontsize=10)
    return fig

"""Reliability diagrams: accuracy against top-label confidence per ECE bin, written as a PNG."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import numpy.typing as npt

from assetgrade.fusion.ece import confidence_bins, debiased_ece, expected_calibration_error
from assetgrade.fusion.inputs import as_labels, as_proba

__all__ = ["reliability_diagram"]


def reliability_diagram(
    proba: npt.ArrayLike,
    y: npt.ArrayLike,
    path: str | Path,
    *,
    n_bins: int = 15,
    title: str = "Reliability diagram",
    debiased: Mapping[str, float] | None = None,
) -> Path:
    """Write a reliability diagram (accuracy vs top-label confidence per bin) as a PNG; returns the path.

    The bars are the bins of :func:`~assetgrade.fusion.ece.expected_calibration_error`
    (``(m/M, (m+1)/M]``, Guo et al. 2017), so the diagram shows the gaps the ECE adds up; a bin
    without items has no accuracy bar (its count below is 0), a bin whose items were all wrong a bar of 0.

    The title gives the plug-in ECE and the bias-corrected one with the upper end of its 90 %
    interval: ``debiased`` (``estimate``, ``high``) when the caller has them (from a cluster
    bootstrap, say), else :func:`debiased_ece` by asset here.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    p = as_proba(proba)
    yy = as_labels(y, p.shape[1], rows=len(p))
    conf = p.max(axis=1)
    correct = (p.argmax(axis=1) == yy).astype(np.float64)
    b = confidence_bins(conf, n_bins)
    centers = (np.arange(n_bins) + 0.5) / n_bins
    acc = np.array([correct[b == k].mean() if (b == k).any() else np.nan for k in range(n_bins)])
    cnt = np.array([(b == k).sum() for k in range(n_bins)])
    ece = expected_calibration_error(p, yy, n_bins=n_bins)
    fig, (ax, ax2) = plt.subplots(2, 1, figsize=(5, 6), gridspec_kw={"height_ratios": [3, 1]}, sharex=True)
    ax.plot([0, 1], [0, 1], "--", color="grey", label="perfect calibration")
    seen = cnt > 0  # an empty bin has no accuracy: no bar (a bar of 0 would read as "all wrong")
    ax.bar(centers[seen], acc[seen], width=1.0 / n_bins, edgecolor="black", alpha=0.7, label="accuracy")
    ax.set_ylabel("accuracy")
    fixed = debiased if debiased is not None else debiased_ece(p, yy, n_bins=n_bins, n_boot=100)
    ax.set_title(f"{title} (n={len(yy)})\nECE {ece:.3f}; bias-corrected {fixed['estimate']:.3f},"
                 f" 90% interval up to {fixed['high']:.3f}", fontsize=10)
    ax.legend(loc="upper left")
    ax.set_ylim(0, 1)
    ax2.bar(centers, cnt, width=1.0 / n_bins, edgecolor="black", color="tab:grey")
    ax2.set_xlabel("top-label confidence")
    ax2.set_ylabel("count")
    ax2.set_xlim(0, 1)
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out

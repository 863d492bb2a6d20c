"""Label-noise detection benchmark: flip a seeded fraction of real labels, find them with confident learning.

Protocol: ``noise`` × n items (seeded) get a different label drawn uniformly from the other
classes (for ordinal grades: a uniformly random other grade, so 2- and 3-step flips occur);
out-of-fold probabilities come from a logistic-regression head on cached backbone features
with stratified K-fold; :func:`assetgrade.review.label_noise.find_label_issues` flags items.
Precision and recall are measured against the planted flips. The data sets' own label errors
(real, unknown) count as false positives, so the figures are a lower bound.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from assetgrade.bench.report import BenchResult
from assetgrade.bench.review_data import ReviewData, load_review_data
from assetgrade.errors import ValidationError

__all__ = ["LabelNoiseConfig", "detection_metrics", "flip_labels", "run_label_noise_bench"]

METHODS = ("prune_by_noise_rate", "prune_by_class", "both", "confident_joint")


@dataclass
class LabelNoiseConfig:
    """Settings of one ``bench label-noise`` run."""

    dataset: str = "neu"
    data_dir: Path | None = None
    noise: float = 0.1
    seed: int = 0
    folds: int = 5
    method: str = "prune_by_noise_rate"
    C: float = 0.1
    pca_dim: int = 128
    per_class: int | None = None
    cache_dir: Path | None = None
    progress: bool = True


def flip_labels(
    y: npt.NDArray[np.int64], n_classes: int, noise: float, rng: np.random.Generator
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """Noisy labels and the flip mask: ``round(noise·n)`` items get a uniformly random *other* class."""
    if not 0.0 <= noise < 1.0:
        raise ValidationError(f"noise must be in [0, 1), got {noise}", where="--noise")
    n = len(y)
    flipped = np.zeros(n, dtype=bool)
    flipped[rng.choice(n, size=round(noise * n), replace=False)] = True
    noisy = y.copy()
    shift = rng.integers(1, n_classes, size=int(flipped.sum()))
    noisy[flipped] = (y[flipped] + shift) % n_classes
    return noisy.astype(np.int64), flipped


def detection_metrics(
    flags: npt.NDArray[np.bool_], truth: npt.NDArray[np.bool_], scores: npt.NDArray[np.float64]
) -> dict[str, Any]:
    """Precision, recall, F1 of the flags; AUROC and precision at |truth| of the ranking scores."""
    from sklearn.metrics import roc_auc_score

    tp = int((flags & truth).sum())
    precision = tp / int(flags.sum()) if flags.any() else float("nan")
    recall = tp / int(truth.sum()) if truth.any() else float("nan")
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    top = np.argsort(-scores, kind="stable")[: int(truth.sum())]
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "flagged": int(flags.sum()),
        "true_positives": tp,
        "auroc": float(roc_auc_score(truth, scores)) if 0 < truth.sum() < len(truth) else float("nan"),
        "precision_at_n_noisy": float(truth[top].mean()) if len(top) else float("nan"),
    }


def run_label_noise_bench(cfg: LabelNoiseConfig, data: ReviewData | None = None) -> BenchResult:
    """Flip, estimate out-of-fold probabilities, detect, and score the detection against the planted flips."""
    from sklearn.linear_model import LogisticRegression

    from assetgrade.review.label_noise import find_label_issues, out_of_fold_probs

    t_start = time.perf_counter()
    if cfg.method not in METHODS:
        raise ValidationError(f"method {cfg.method!r}; allowed: {list(METHODS)}", where="--method")
    if data is None:
        data = load_review_data(
            cfg.dataset, cfg.data_dir, per_class=cfg.per_class, seed=cfg.seed, pca_dim=cfg.pca_dim,
            cache_dir=cfg.cache_dir, progress=cfg.progress,
        )  # fmt: skip
    rng = np.random.default_rng(cfg.seed)
    noisy, flipped = flip_labels(data.y, data.n_classes, cfg.noise, rng)
    t0 = time.perf_counter()
    probs = out_of_fold_probs(
        data.X, noisy, estimator=LogisticRegression(C=cfg.C, max_iter=2000), n_splits=cfg.folds,
        groups=list(data.groups) if len(set(data.groups)) < len(data.groups) else None,
        seed=cfg.seed, n_classes=data.n_classes,
    )  # fmt: skip
    oof_s = time.perf_counter() - t0
    results = {m: find_label_issues(noisy, probs, method=m, ordinal=data.ordinal) for m in METHODS}  # type: ignore[arg-type]
    by_method = {m: detection_metrics(r.flags, flipped, r.scores) for m, r in results.items()}
    main = results[cfg.method]
    metrics = dict(by_method[cfg.method])
    metrics["estimated_noise_rate"] = main.noise_rate
    metrics["true_noise_rate"] = float(flipped.mean())
    metrics["suggested_label_accuracy"] = (
        float(np.mean(main.suggested[main.flags & flipped] == data.y[main.flags & flipped]))
        if (main.flags & flipped).any()
        else float("nan")
    )
    metrics["oof_accuracy_vs_clean"] = float(np.mean(probs.argmax(axis=1) == data.y))
    rankings = {
        r: detection_metrics(
            main.flags, flipped, find_label_issues(noisy, probs, rank_by=r, ordinal=data.ordinal).scores
        )
        for r in ("self_confidence", "normalized_margin", "expected_distance")
    }
    extra: dict[str, Any] = {
        "methods": by_method,
        "rankings": {r: {k: m[k] for k in ("auroc", "precision_at_n_noisy")} for r, m in rankings.items()},
        "n_items": len(data.y),
        "n_flipped": int(flipped.sum()),
    }
    if data.ordinal:
        dist = np.abs(noisy - data.y)
        caught = main.flags & flipped
        extra["ordinal"] = {
            "recall_by_flip_distance": {
                int(d): float(caught[dist == d].sum() / max(int((flipped & (dist == d)).sum()), 1))
                for d in sorted(set(dist[flipped].tolist()))
            },
            "mean_expected_distance_flipped": float(main.expected_distance[flipped].mean()),
            "mean_expected_distance_clean": float(main.expected_distance[~flipped].mean()),
        }
    extra["config"] = {
        "noise": cfg.noise, "folds": cfg.folds, "method": cfg.method, "C": cfg.C, "pca_dim": cfg.pca_dim,
        "features": data.feature_key, "dropped_images": data.dropped, "oof_seconds": round(oof_s, 2),
    }  # fmt: skip
    extra["target"] = "precision >= 0.8 and recall >= 0.8 at 10% noise on NEU"
    split = f"{cfg.folds}-fold stratified out-of-fold probabilities (seed {cfg.seed})"
    return BenchResult("label-noise", cfg.dataset, split, cfg.seed, metrics, time.perf_counter() - t_start, extra)

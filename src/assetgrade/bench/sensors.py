"""The sensor benchmark: RUL on a C-MAPSS sub-set (capped RMSE, NASA score, interval coverage) and a PNG.

Protocol (the data set's own split): train :class:`~assetgrade.modalities.sensors.health.RulModel`
on every cycle of every ``train_FDxxx`` history; predict at the last cycle of every ``test_FDxxx``
unit; score against ``RUL_FDxxx`` capped at 125 (as Li, Ding & Sun 2018, RESS 172, report) and
uncapped. NASA's asymmetric score (Saxena et al. 2008, PHM 2008) penalises late predictions more:
``sum(exp(-d/13) - 1 if d < 0 else exp(d/10) - 1)`` with ``d = predicted - true``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from assetgrade.bench.report import BenchResult
from assetgrade.errors import ValidationError

__all__ = ["PUBLISHED", "nasa_score", "plot_rul", "rmse", "run_sensors_benchmark"]

PUBLISHED: dict[str, dict[str, float]] = {
    "FD001": {"cnn_li_2018": 12.61, "lstm_zheng_2017": 16.14},
    "FD002": {"cnn_li_2018": 22.36},
}
CAP = 125.0


def rmse(pred: npt.ArrayLike, true: npt.ArrayLike) -> float:
    """Root mean squared error.

    Examples
    --------
    >>> rmse([1.0, 3.0], [1.0, 1.0])
    1.4142135623730951
    """
    d = np.asarray(pred, dtype=float) - np.asarray(true, dtype=float)
    return float(np.sqrt(np.mean(d * d)))


def nasa_score(pred: npt.ArrayLike, true: npt.ArrayLike) -> float:
    """NASA's asymmetric scoring function (Saxena et al. 2008): late predictions cost more.

    Examples
    --------
    >>> round(nasa_score([10.0, 0.0], [0.0, 13.0]), 3)  # late by 10 and early by 13: (e - 1) each
    3.437
    """
    d = np.asarray(pred, dtype=float) - np.asarray(true, dtype=float)
    return float(np.sum(np.where(d < 0, np.exp(-d / 13.0) - 1.0, np.exp(d / 10.0) - 1.0)))


def plot_rul(true: np.ndarray, pred: np.ndarray, lower: np.ndarray, upper: np.ndarray, path: Path, title: str) -> Path:
    """PNG of predicted vs true (capped) RUL per test unit, sorted by true RUL, with intervals."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    order = np.argsort(true, kind="stable")
    x = np.arange(len(true))
    fig, ax = plt.subplots(figsize=(10, 4.5), dpi=110)
    ax.fill_between(x, lower[order], upper[order], color="tab:blue", alpha=0.2, step="mid", label="interval")
    ax.plot(x, pred[order], ".", color="tab:blue", label="predicted RUL")
    ax.plot(x, true[order], "-", color="black", lw=1.2, label="true RUL (capped)")
    ax.set_xlabel("test unit (sorted by true RUL)")
    ax.set_ylabel("RUL (cycles)")
    ax.set_title(title)
    ax.legend(loc="upper left")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def run_sensors_benchmark(
    *,
    dataset: str = "cmapss",
    subset: str = "FD001",
    data_dir: Path | None = None,
    seed: int = 0,
    coverage: float = 0.9,
    n_estimators: int = 300,
    learning_rate: float = 0.06,
    n_jobs: int = 1,
    png: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> BenchResult:
    """Train on the sub-set's training units, score the test units; returns the one result object."""
    from assetgrade.datasets.cmapss import load_cmapss
    from assetgrade.modalities.sensors.health import RulModel

    if dataset.lower() != "cmapss":
        raise ValidationError(f"unknown data set {dataset!r}; known: cmapss", where="--dataset")
    if not 0.0 < coverage < 1.0:
        raise ValidationError(f"coverage must be in (0, 1), got {coverage}", where="--coverage")
    t0 = time.perf_counter()
    data = load_cmapss(subset, data_dir)
    model = RulModel(
        cap=CAP,
        coverage=coverage,
        n_estimators=n_estimators,
        learning_rate=learning_rate,
        seed=seed,
        n_jobs=n_jobs,
    )
    t1 = time.perf_counter()
    model.fit(data.train_histories(), progress=progress)
    train_s = time.perf_counter() - t1
    if progress:
        progress(f"predicting {data.n_test_units} test units")
    pred = model.predict(data.test_histories(), names=[f"test unit {u}" for u in data.test_rul.index])
    true = data.test_rul.to_numpy(float)
    capped = np.minimum(true, CAP)
    inside = (capped >= pred.lower) & (capped <= pred.upper)
    metrics: dict[str, Any] = {
        "rmse": round(rmse(pred.rul, capped), 3),
        "rmse_true_rul": round(rmse(pred.rul, true), 3),
        "nasa_score": round(nasa_score(pred.rul, capped), 2),
        "nasa_score_true_rul": round(nasa_score(pred.rul, true), 2),
        "mae": round(float(np.mean(np.abs(pred.rul - capped))), 3),
        "coverage_nominal": coverage,
        "interval_coverage": round(float(inside.mean()), 4),
        "interval_mean_width": round(float(np.mean(pred.upper - pred.lower)), 2),
        "n_units": int(data.n_test_units),
        "n_train_units": len(data.train_histories()),
        "train_s": round(train_s, 2),
    }
    extra: dict[str, Any] = {
        "subset": data.name,
        "rul_cap": CAP,
        "published_rmse": PUBLISHED.get(data.name, {}),
        "model": {
            "n_estimators": n_estimators,
            "learning_rate": learning_rate,
            "n_jobs": n_jobs,
            "n_regimes": model.normalizer_.n_regimes_,
            "channels": model.channels_,
            "n_features": len(model.feature_names_),
            "n_calibration_rows": model.n_calibration_rows_,
            "conformal_correction": round(model.correction_, 3),
        },
    }
    if png is not None:
        title = (
            f"C-MAPSS {data.name}: RMSE {metrics['rmse']:.2f} (capped), "
            f"{coverage:.0%} interval coverage {metrics['interval_coverage']:.0%}"
        )
        extra["png"] = str(plot_rul(capped, pred.rul, pred.lower, pred.upper, png, title))
    return BenchResult(
        benchmark="sensors",
        dataset=f"cmapss/{data.name}",
        split="official train/test; RUL_FDxxx at the last test cycle",
        seed=seed,
        metrics=metrics,
        wall_s=time.perf_counter() - t0,
        extra=extra,
    )

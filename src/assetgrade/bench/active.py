"""Active-learning simulation on real images: how many labels each strategy needs to approach full-data accuracy.

Protocol: a fixed stratified held-out test split (25 %, seeded) of whole assets (assets that share a
file count as one); the rest is the pool. Each run
starts from a seed set (``seed_per_class`` labelled items per class), then repeats: train a
logistic-regression head on the labelled items, record test accuracy, let the strategy pick
the next ``batch`` items, reveal their labels. A run stops when it reaches 99 % of the
full-data accuracy (the same head trained on the whole pool) or ``max_labels``. For each
strategy the benchmark reports the labels needed to reach 95 % and 99 % of full-data accuracy
(mean over ``repeats`` seeds) and ``label_savings`` = 1 − labels(best strategy) / labels(random)
at 95 %.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from assetgrade.bench.report import BenchResult
from assetgrade.bench.review_data import ReviewData, load_review_data
from assetgrade.errors import ValidationError

__all__ = [
    "DEFAULT_STRATEGIES",
    "ActiveConfig",
    "labels_to_reach",
    "plot_learning_curves",
    "run_active_bench",
    "simulate",
]

DEFAULT_STRATEGIES = ("random", "least_confidence", "margin", "entropy", "expected_cost", "uncertain_coreset", "badge",
                      "typiclust", "budget_switch")


@dataclass
class ActiveConfig:
    """Settings of one ``bench active`` run."""

    dataset: str = "neu"
    data_dir: Path | None = None
    seed: int = 0
    batch: int = 5
    strategies: tuple[str, ...] = DEFAULT_STRATEGIES
    seed_per_class: int = 1
    test_size: float = 0.25
    repeats: int = 5
    max_labels: int | None = None
    C: float = 0.5
    pca_dim: int = 128
    per_class: int | None = None
    switch_per_class: float = 10.0
    """``budget_switch``'s switch point: labels per class."""
    cache_dir: Path | None = None
    out_dir: Path | None = None
    progress: bool = True


def labels_to_reach(labels: list[int], acc: list[float], target: float) -> int | None:
    """The first label count at which accuracy reaches ``target`` (None when it never does)."""
    for n, a in zip(labels, acc, strict=True):
        if a >= target:
            return n
    return None


def _head(C: float, warm_start: bool = False) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, max_iter=2000, warm_start=warm_start)


@dataclass
class _Run:
    labels: list[int] = field(default_factory=list)
    acc: list[float] = field(default_factory=list)
    seconds: float = 0.0


def simulate(
    data: ReviewData,
    train: npt.NDArray[np.int64],
    test: npt.NDArray[np.int64],
    strategy: str,
    *,
    batch: int,
    seed: int,
    seed_per_class: int,
    stop_at: float,
    max_labels: int,
    C: float,
    params: dict[str, Any] | None = None,
) -> _Run:
    """One run of one strategy: learning curve (labels, test accuracy) until ``stop_at`` or ``max_labels``."""
    from assetgrade.review.selection import SelectionContext, get_strategy

    rng = np.random.default_rng(seed)
    Xp, yp, Xt, yt = data.X[train], data.y[train], data.X[test], data.y[test]
    k = data.n_classes
    labeled = np.zeros(len(yp), dtype=bool)
    for c in range(k):
        members = np.flatnonzero(yp == c)
        labeled[rng.choice(members, size=min(seed_per_class, len(members)), replace=False)] = True
    strat = get_strategy(strategy, **(params or {}))
    run = _Run()
    t0 = time.perf_counter()
    model = _head(C, warm_start=True)  # every class is in the seed set, so each round starts from the last fit
    while True:
        model.fit(Xp[labeled], yp[labeled])
        acc = float(np.mean(model.predict(Xt) == yt))
        run.labels.append(int(labeled.sum()))
        run.acc.append(acc)
        if acc >= stop_at or labeled.sum() >= max_labels or labeled.all():
            break
        probs = np.zeros((len(yp), k))
        probs[:, np.asarray(model.classes_, dtype=np.int64)] = model.predict_proba(Xp)
        ctx = SelectionContext(probs=probs, labeled=labeled, embeddings=Xp, ordinal=data.ordinal)
        picked = strat.select(ctx, min(batch, int(max_labels - labeled.sum())), rng)
        if len(picked) == 0 or labeled[picked].any() or len(set(picked.tolist())) != len(picked):
            raise ValidationError(f"strategy {strategy!r} broke the selection contract", where="bench active")
        labeled[picked] = True
    run.seconds = time.perf_counter() - t0
    return run


def plot_learning_curves(runs: dict[str, list[_Run]], full_acc: float, path: Path, title: str) -> Path:
    """Test accuracy vs labels per strategy (first repeat), with the 95 % / 99 % targets."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    for name, rs in runs.items():
        r = rs[0]
        ax.plot(r.labels, r.acc, label=name, lw=2.2 if name == "random" else 1.4, ls="--" if name == "random" else "-")
    for frac, ls in ((0.95, ":"), (0.99, "-.")):
        ax.axhline(
            frac * full_acc, color="grey", ls=ls, lw=1, label=f"{int(frac * 100)}% of full ({frac * full_acc:.3f})"
        )
    ax.set_xlabel("labelled items")
    ax.set_ylabel("held-out accuracy")
    ax.set_title(title)
    ax.set_ylim(max(0.0, min(min(r.acc) for rs in runs.values() for r in rs) - 0.02), min(1.0, full_acc + 0.03))
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _mean_or_none(values: list[int | None]) -> float | None:
    return float(np.mean([v for v in values if v is not None])) if all(v is not None for v in values) else None


def run_active_bench(cfg: ActiveConfig, data: ReviewData | None = None) -> BenchResult:
    """Run the simulation for every strategy in ``cfg``; the PNG goes to ``cfg.out_dir`` when set."""
    from assetgrade.bench.splits import holdout_by_unit, linked_assets
    from assetgrade.review.selection import available_strategies

    t_start = time.perf_counter()
    unknown = [s for s in cfg.strategies if s not in available_strategies()]
    if unknown:
        raise ValidationError(f"unknown strategies {unknown}; known: {available_strategies()}", where="--strategies")
    if "random" not in cfg.strategies:
        raise ValidationError("the strategies must include 'random' (the baseline)", where="--strategies")
    if cfg.batch < 1 or cfg.repeats < 1 or cfg.seed_per_class < 1:
        raise ValidationError("--batch, --repeats and --seed-per-class must be >= 1", where="bench active")
    if data is None:
        data = load_review_data(
            cfg.dataset, cfg.data_dir, per_class=cfg.per_class, seed=cfg.seed, pca_dim=cfg.pca_dim,
            cache_dir=cfg.cache_dir, progress=cfg.progress,
        )  # fmt: skip
    n = len(data.y)
    # whole assets (and assets sharing a file) on one side; where each image is its own asset this is the
    # plain stratified split by image
    units = linked_assets(list(data.groups) if data.groups else [f"#{i}" for i in range(n)],
                          list(data.shas) if data.shas else [f"#{i}" for i in range(n)])
    train, test = holdout_by_unit(data.y, units.tolist(), cfg.test_size, cfg.seed)
    data = data.projected(train)  # standardisation and PCA from the pool alone: the test rows shape nothing
    full_acc = float(np.mean(_head(cfg.C).fit(data.X[train], data.y[train]).predict(data.X[test]) == data.y[test]))
    max_labels = min(cfg.max_labels or len(train), len(train))
    runs: dict[str, list[_Run]] = {s: [] for s in cfg.strategies}
    bar = None
    if cfg.progress:
        from rich.console import Console
        from rich.progress import Progress

        bar = Progress(transient=True, console=Console(stderr=True))
        bar.start()
        task = bar.add_task("active-learning simulation", total=len(cfg.strategies) * cfg.repeats)
    try:
        for rep in range(cfg.repeats):
            for s in cfg.strategies:
                runs[s].append(
                    simulate(
                        data, train, test, s, batch=cfg.batch, seed=cfg.seed * 1000 + rep,
                        seed_per_class=cfg.seed_per_class, stop_at=0.99 * full_acc, max_labels=max_labels, C=cfg.C,
                        params={"per_class": cfg.switch_per_class} if s == "budget_switch" else None,
                    )
                )  # fmt: skip
                if bar is not None:
                    bar.update(task, advance=1)
    finally:
        if bar is not None:
            bar.stop()
    per_strategy: dict[str, dict[str, Any]] = {}
    for s, rs in runs.items():
        n95 = [labels_to_reach(r.labels, r.acc, 0.95 * full_acc) for r in rs]
        n99 = [labels_to_reach(r.labels, r.acc, 0.99 * full_acc) for r in rs]
        per_strategy[s] = {
            "labels_to_95": _mean_or_none(n95),
            "labels_to_99": _mean_or_none(n99),
            "labels_to_95_runs": n95,
            "labels_to_99_runs": n99,
            "seconds": round(float(np.mean([r.seconds for r in rs])), 2),
        }
    rand95 = per_strategy["random"]["labels_to_95"]
    rand99 = per_strategy["random"]["labels_to_99"]
    others = {s: v for s, v in per_strategy.items() if s != "random" and v["labels_to_95"] is not None}
    best = (
        min(others, key=lambda s: (others[s]["labels_to_95"], others[s]["labels_to_99"] or np.inf)) if others else None
    )
    savings95 = 1.0 - others[best]["labels_to_95"] / rand95 if best and rand95 else None
    best99 = per_strategy[best]["labels_to_99"] if best else None
    savings99 = 1.0 - best99 / rand99 if best99 and rand99 else None
    plots: list[str] = []
    if cfg.out_dir is not None:
        png = cfg.out_dir / f"active_{cfg.dataset}_seed{cfg.seed}.png"
        plot_learning_curves(runs, full_acc, png, f"Active learning on {data.name} (batch {cfg.batch})")
        plots.append(str(png))
    metrics: dict[str, Any] = {
        "full_data_accuracy": full_acc,
        "best_strategy": best,
        "label_savings": savings95,
        "label_savings_99": savings99,
        "labels_to_95": {s: v["labels_to_95"] for s, v in per_strategy.items()},
        "labels_to_99": {s: v["labels_to_99"] for s, v in per_strategy.items()},
    }
    extra = {
        "strategies": per_strategy,
        "curves": {s: {"labels": rs[0].labels, "accuracy": [round(a, 4) for a in rs[0].acc]} for s, rs in runs.items()},
        "config": {
            "batch": cfg.batch, "seed_per_class": cfg.seed_per_class, "repeats": cfg.repeats, "C": cfg.C,
            "switch_per_class": cfg.switch_per_class,
            "pca_dim": cfg.pca_dim, "max_labels": max_labels, "pool": len(train), "test": len(test),
            "features": data.feature_key, "dropped_images": data.dropped,
        },
        "target": "reach 95% of full-data accuracy with >= 50% fewer labels than random (label_savings >= 0.5)",
        "plots": plots,
    }  # fmt: skip
    split = (f"stratified holdout {cfg.test_size:g} by asset (assets sharing a file together; seed {cfg.seed}); "
             f"pool {len(train)}, test {len(test)}")
    return BenchResult("active", cfg.dataset, split, cfg.seed, metrics, time.perf_counter() - t_start, extra)

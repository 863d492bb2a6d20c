"""Several seeded ``bench fusion`` runs pooled: calibration, coverage and cost reduction on all their test assets."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from assetgrade.bench.fusion_figures import cost_reduction
from assetgrade.bench.report import BenchResult
from assetgrade.errors import ValidationError

__all__ = ["pool_fusion_runs"]


def _cluster_interval(values: np.ndarray, members: list[np.ndarray], *, n_boot: int, level: float,
                    seed: int, denominator: np.ndarray | None = None) -> tuple[float, float]:
    """A cluster-bootstrap interval for sum(values) / sum(denominator), by default the mean of ``values``
    (whole clusters resampled)."""
    rng = np.random.default_rng(seed)
    den = np.ones(len(values)) if denominator is None else np.asarray(denominator, dtype=np.float64)
    sums = np.array([values[m].sum() for m in members])
    sizes = np.array([den[m].sum() for m in members], dtype=np.float64)
    draws = rng.integers(0, len(members), size=(n_boot, len(members)))
    means = sums[draws].sum(axis=1) / sizes[draws].sum(axis=1)
    tail = 100.0 * (1.0 - level) / 2.0
    low, high = np.percentile(means, [tail, 100.0 - tail])
    return float(low), float(high)


def _pooled_cost_reduction(runs: Sequence[BenchResult], *, n_boot: int = 1000, level: float = 0.9
                           ) -> dict[str, Any] | None:
    """Cost per asset of the fused grader against the best single modality over all runs' test assets.

    ``expected``: the models' own forecasts, the best single modality per run by its forecast;
    ``realised``: the cost of their decisions on the true grades, the best single modality per run
    by that cost (the harder comparison). Both are one minus a ratio of sums over assets, so a run
    counts by its number of test assets. When every run kept its per-asset costs
    (``test_predictions["costs"]``), ``expected_interval`` and ``realised_interval`` are
    ``level`` cluster-bootstrap intervals, engine units within a run resampled whole (the best
    single modality stays the one each run picked). None when a run carries no per-modality costs.
    """
    from assetgrade.fusion.calibration import group_members

    rows: list[tuple[float, ...]] = []
    fused_c: dict[str, list[float]] = {"expected": [], "realised": []}
    best_c: dict[str, list[float]] = {"expected": [], "realised": []}
    units: list[str] = []
    per_asset = all("costs" in (r.extra.get("test_predictions") or {}) for r in runs)
    for r in runs:
        fused, singles, n = r.metrics.get("fused", {}), r.metrics.get("single"), r.extra.get("n_test")
        if not singles or not n or "realised_cost" not in fused:
            return None
        be = min(singles, key=lambda m: singles[m]["expected_cost"])
        br = min(singles, key=lambda m: singles[m]["realised_cost"])
        rows.append((float(n), fused["expected_cost"], singles[be]["expected_cost"], fused["realised_cost"],
                     singles[br]["realised_cost"]))
        if per_asset:
            tp = r.extra["test_predictions"]
            for kind, best in (("expected", be), ("realised", br)):
                fused_c[kind].extend(tp["costs"]["fused"][kind])
                best_c[kind].extend(tp["costs"][best][kind])
            units.extend(f"{r.seed}:{u}" for u in tp["cmapss_unit"])
    a = np.asarray(rows, dtype=np.float64)
    w = a[:, 0]
    out: dict[str, Any] = {"expected": cost_reduction(float(w @ a[:, 1]), float(w @ a[:, 2])),
                           "realised": cost_reduction(float(w @ a[:, 3]), float(w @ a[:, 4]))}
    if per_asset and units:
        members = group_members(np.asarray(units), len(units)) or []
        for kind in ("expected", "realised"):
            lo, hi = _cluster_interval(np.asarray(fused_c[kind]), members, n_boot=n_boot, level=level, seed=0,
                                       denominator=np.asarray(best_c[kind]))
            out[f"{kind}_interval"] = [1.0 - hi, 1.0 - lo]
        out["interval_level"] = level
        out["interval_clusters"] = "engine unit within a run"
    return out


def pool_fusion_runs(runs: Sequence[BenchResult], *, coverage_target: float = 0.9, n_boot: int = 200,
                     level: float = 0.9) -> dict[str, Any]:
    """Calibration and coverage of the fused grader pooled over several seeded runs (``keep_predictions``).

    Each run is a fresh draw of the linked benchmark, split and grader, so pooling their test
    predictions measures the *training recipe* on up to ``len(runs)`` times as many assets as one
    test split holds. The pooled ECE is the calibration of that recipe over its seeds: bins mix
    graders, so a gap of opposite sign in two runs partly cancels; ``per_run_debiased_mean`` (the
    mean of each run's own bias-corrected ECE, still biased upwards at a few hundred assets) is
    reported beside it as the other side of that bracket.

    Assets of one run share engine units and texts, and runs re-use photos, so the interval is
    a cluster bootstrap (:func:`~assetgrade.fusion.calibration.debiased_ece` with ``groups``),
    computed three ways -- by asset, by engine unit within a run, by photo across runs -- and
    ``ece_debiased_high`` is the widest upper end: the target check uses the least favourable
    dependence model of the three.
    """
    from assetgrade.fusion.calibration import (
        debiased_ece,
        ece_if_calibrated,
        expected_calibration_error,
        group_members,
    )

    if not runs:
        raise ValidationError("no runs to pool", where="runs")
    preds = []
    for r in runs:
        tp = r.extra.get("test_predictions")
        if tp is None:
            raise ValidationError(f"the run with seed {r.seed} kept no test predictions "
                                  "(run_fusion_benchmark(keep_predictions=True))", where="runs")
        preds.append(tp)
    proba = np.concatenate([np.asarray(tp["proba"], dtype=np.float64) for tp in preds])
    y = np.concatenate([np.asarray(tp["y"], dtype=np.int64) for tp in preds])
    covered = np.concatenate([np.asarray(tp["covered"], dtype=bool) for tp in preds])
    accepted = np.concatenate([np.asarray(tp["accepted"], dtype=bool) for tp in preds])
    clusters = {
        "asset": np.array([f"{r.seed}:{a}" for r, tp in zip(runs, preds, strict=True) for a in tp["asset_id"]]),
        "engine_unit": np.array([f"{r.seed}:{u}" for r, tp in zip(runs, preds, strict=True)
                                 for u in tp["cmapss_unit"]]),
        "photo": np.array([f.split(";")[0] for tp in preds for f in tp["elpv_file"]]),
    }
    by: dict[str, dict[str, float]] = {}
    for name, g in clusters.items():
        d = debiased_ece(proba, y, n_boot=n_boot, level=level, groups=g)
        by[name] = {"estimate": d["estimate"], "low": d["low"], "high": d["high"], "n_clusters": d["n_groups"]}
    widest = max(by, key=lambda k: by[k]["high"])
    correct = proba.argmax(axis=1) == y
    unit_members = group_members(clusters["engine_unit"], len(y)) or []
    cov_low, cov_high = _cluster_interval(covered.astype(np.float64), unit_members, n_boot=1000, level=level, seed=0)
    per_run = [float(r.metrics["fused"]["ece_debiased"]) for r in runs]
    costs = _pooled_cost_reduction(runs)
    n_acc = int(accepted.sum())
    pooled: dict[str, Any] = {
        "n": len(y),
        "n_runs": len(runs),
        "accuracy": float(correct.mean()),
        "ece": expected_calibration_error(proba, y),
        "ece_if_perfectly_calibrated": ece_if_calibrated(proba, n_sims=300),
        "ece_debiased": by["asset"]["estimate"],
        "ece_debiased_high": by[widest]["high"],
        "ece_debiased_high_from": widest,
        "ece_debiased_by_cluster": by,
        "per_run_debiased": per_run,
        "per_run_debiased_mean": float(np.mean(per_run)),
        "coverage": float(covered.mean()),
        "coverage_interval": [cov_low, cov_high],
        "coverage_target": coverage_target,
        "policy_accept_rate": float(accepted.mean()),
        "policy_error_among_accepted": float((~correct[accepted]).mean()) if n_acc else None,
        "policy_accepted": n_acc,
        "interval_level": level,
    }
    if costs is not None:
        pooled["cost_reduction_vs_best_single"] = costs
    pooled["targets"] = {
        "ece_debiased_high<=0.03": pooled["ece_debiased_high"] <= 0.03,
        "coverage_within_1.5pt_of_nominal": abs(pooled["coverage"] - coverage_target) <= 0.015,
        "coverage_interval_within_1.5pt": (cov_low >= coverage_target - 0.015 and cov_high <= coverage_target + 0.015),
    }
    return pooled

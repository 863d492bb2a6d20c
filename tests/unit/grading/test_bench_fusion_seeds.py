"""Pooling several seeded ``bench fusion`` runs: calibration and coverage on all their test assets."""

from __future__ import annotations

import numpy as np
import pytest

from assetgrade.bench.fusion import pool_fusion_runs, run_fusion_seeds
from assetgrade.bench.report import BenchResult
from assetgrade.cli.bench_fusion import _seed_list
from assetgrade.errors import ValidationError
from assetgrade.fusion.calibration import debiased_ece


def _run(seed: int, n: int, gap: float, *, units: int = 20) -> BenchResult:
    """A run whose fused grader is ``gap`` over-confident, with ``n`` test assets over ``units`` engine units."""
    rng = np.random.default_rng(seed)
    conf = rng.uniform(0.4, 0.95, n)
    top = rng.integers(0, 4, n)
    p = np.tile(((1.0 - conf) / 3.0)[:, None], (1, 4))
    p[np.arange(n), top] = conf
    right = rng.random(n) < conf - gap
    y = np.where(right, top, (top + 1 + rng.integers(0, 3, n)) % 4)
    preds = {
        "asset_id": [f"a{i}" for i in range(n)], "y": y.tolist(), "proba": p.tolist(),
        "covered": (rng.random(n) < 0.9).tolist(), "accepted": right.tolist(),
        "elpv_file": [f"images/cell{rng.integers(0, 3 * n):04d}.png" for _ in range(n)],
        "cmapss_unit": [f"FD001-{i % units}" for i in range(n)], "group": ["test-p0"] * n,
    }
    fused = {"ece_debiased": debiased_ece(p, y, n_boot=10)["estimate"]}
    return BenchResult("fusion", "linked-sample", "test", seed, {"fused": fused}, 1.0,
                       {"n_test": n, "test_predictions": preds})


def test_pooling_a_calibrated_recipe_tightens_the_interval() -> None:
    runs = [_run(s, 300, 0.0) for s in range(5)]
    one = pool_fusion_runs(runs[:1])
    five = pool_fusion_runs(runs)
    assert five["n"] == 1500 and five["n_runs"] == 5 and one["n"] == 300
    assert five["ece_debiased_high"] < one["ece_debiased_high"]
    assert five["ece_debiased_high_from"] in {"asset", "engine_unit", "photo"}
    by = five["ece_debiased_by_cluster"]
    assert by["engine_unit"]["n_clusters"] == 100.0 and by["asset"]["n_clusters"] == 1500.0
    assert five["ece_debiased_high"] == max(v["high"] for v in by.values())
    assert len(five["per_run_debiased"]) == 5
    lo, hi = five["coverage_interval"]
    assert lo <= five["coverage"] <= hi and abs(five["coverage"] - 0.9) < 0.03
    assert five["policy_error_among_accepted"] == 0.0  # the fixture accepts exactly the right ones


def test_pooling_finds_an_overconfident_recipe() -> None:
    pooled = pool_fusion_runs([_run(s, 300, 0.12) for s in range(4)])
    assert pooled["ece_debiased"] > 0.08
    assert pooled["targets"]["ece_debiased_high<=0.03"] is False


def test_pooling_needs_kept_predictions_and_distinct_seeds() -> None:
    bare = BenchResult("fusion", "linked-sample", "test", 3, {"fused": {}}, 1.0, {})
    with pytest.raises(ValidationError, match="seed 3 kept no test predictions"):
        pool_fusion_runs([bare])
    with pytest.raises(ValidationError, match="no runs"):
        pool_fusion_runs([])
    with pytest.raises(ValidationError, match="repeat a seed"):
        run_fusion_seeds([1, 1], n_assets=80, source="sample")


def test_seed_list_syntax() -> None:
    assert _seed_list("0-4") == [0, 1, 2, 3, 4]
    assert _seed_list("0,3, 7") == [0, 3, 7]
    assert _seed_list("0-2,9") == [0, 1, 2, 9]
    for bad in ("a", "4-2", "1,,2"):
        with pytest.raises(ValidationError, match="--seeds"):
            _seed_list(bad)


def test_run_fusion_seeds_pools_each_seeds_run_and_draws_the_diagram(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import assetgrade.bench.fusion as fusion

    calls: list[tuple[int, dict[str, object]]] = []

    def one_run(*, seed: int, keep_predictions: bool, progress: object, **kwargs: object) -> BenchResult:
        assert keep_predictions is True
        calls.append((seed, kwargs))
        r = _run(seed, 200, 0.0)
        r.metrics["expected_cost_reduction_vs_best_single"] = 0.5
        r.metrics["fused"].update(accuracy=0.7, coverage=0.9)
        return r

    monkeypatch.setattr(fusion, "run_fusion_benchmark", one_run)  # the orchestration, not three extractors
    res = fusion.run_fusion_seeds([3, 5], n_assets=2600, png=tmp_path / "rel.png")
    assert [c[0] for c in calls] == [3, 5] and all(c[1] == {"n_assets": 2600} for c in calls)
    doc = res.to_dict()
    assert doc["benchmark"] == "fusion-seeds" and doc["seeds"] == [3, 5]
    assert doc["metrics"]["pooled"]["n"] == 400 and [r["seed"] for r in doc["metrics"]["runs"]] == [3, 5]
    assert len(doc["runs_full"][1]["extra"]["test_predictions"]["y"]) == 200  # re-poolable from the JSON
    assert (tmp_path / "rel.png").stat().st_size > 1000


def test_pooling_weighs_each_runs_cost_reduction_by_its_test_assets() -> None:
    def costed(seed: int, n: int, fused: tuple[float, float], singles: dict[str, tuple[float, float]]) -> BenchResult:
        run = _run(seed, n, 0.0)
        run.metrics["fused"].update(expected_cost=fused[0], realised_cost=fused[1])
        run.metrics["single"] = {m: {"expected_cost": e, "realised_cost": r} for m, (e, r) in singles.items()}
        return run

    # run 0: sensors forecast cheapest, vision realised cheapest; run 1 has three times the assets
    a = costed(0, 100, (500.0, 600.0), {"vision": (1200.0, 1000.0), "sensors": (1000.0, 1100.0)})
    b = costed(1, 300, (800.0, 700.0), {"vision": (1600.0, 1400.0), "sensors": (2000.0, 1500.0)})
    got = pool_fusion_runs([a, b])["cost_reduction_vs_best_single"]
    assert got["expected"] == pytest.approx(1 - (100 * 500 + 300 * 800) / (100 * 1000 + 300 * 1600))
    assert got["realised"] == pytest.approx(1 - (100 * 600 + 300 * 700) / (100 * 1000 + 300 * 1400))
    assert "cost_reduction_vs_best_single" not in pool_fusion_runs([_run(2, 50, 0.0)])  # no per-modality costs


def test_pooled_cost_reduction_has_a_cluster_interval_when_runs_keep_per_asset_costs() -> None:
    def costed(seed: int, n: int, scale: float, noise: float) -> BenchResult:
        rng = np.random.default_rng(seed)
        run = _run(seed, n, 0.0)
        best = rng.uniform(500, 2500, n)  # the single modality's cost per asset
        fused = np.clip(scale * best + rng.normal(0, noise, n), 0, None)  # the fused grader's
        costs = {"fused": {"expected": fused.tolist(), "realised": fused.tolist()},
                 "sensors": {"expected": best.tolist(), "realised": best.tolist()},
                 "vision": {"expected": (best + 300).tolist(), "realised": (best + 300).tolist()}}
        run.extra["test_predictions"]["costs"] = costs
        run.metrics["fused"].update(expected_cost=float(fused.mean()), realised_cost=float(fused.mean()))
        run.metrics["single"] = {m: {"expected_cost": float(np.mean(c["expected"])),
                                     "realised_cost": float(np.mean(c["realised"]))} for m, c in costs.items()
                                 if m != "fused"}
        return run

    tight = pool_fusion_runs([costed(s, 400, 0.45, 50.0) for s in range(4)])["cost_reduction_vs_best_single"]
    loose = pool_fusion_runs([costed(s, 60, 0.45, 400.0) for s in range(2)])["cost_reduction_vs_best_single"]
    for got in (tight, loose):
        lo, hi = got["realised_interval"]
        assert lo <= got["realised"] <= hi and got["interval_clusters"] == "engine unit within a run"
        assert got["expected_interval"] == got["realised_interval"]  # same costs both ways here
    assert abs(tight["realised"] - 0.55) < 0.02 and tight["realised_interval"][0] > 0.5  # clearly above 0.5
    assert np.diff(loose["realised_interval"])[0] > 2 * np.diff(tight["realised_interval"])[0]

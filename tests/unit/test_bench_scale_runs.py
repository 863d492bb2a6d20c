"""``bench scale`` figures from runs that went wrong: no crash after the work, no 0/NaN passed off as a measurement."""

from __future__ import annotations

import json
import math

from assetgrade.bench.scale import _steady, compare_runs, project


def test_a_steady_rate_needs_assets_written_after_the_first_shard() -> None:
    assert _steady(40, 10, [0.0, 1.0, 2.0, 3.0]) == 10.0
    assert _steady(10, 10, [0.0, 2.0]) is None  # every later shard failed: not a rate of 0 assets/s
    assert _steady(5, 10, [0.0, 2.0]) is None  # not a negative rate
    assert _steady(40, 10, [1.0]) is None and _steady(40, 10, [1.0, 1.0]) is None


def test_runs_without_a_usable_throughput_compare_as_none() -> None:
    runs = [{"workers": 1, "assets_per_s": 0.0, "steady_assets_per_s": None, "errors": 12},
            {"workers": 2, "assets_per_s": 8.0, "steady_assets_per_s": 9.0, "errors": 0}]
    compare_runs(runs)  # the 1-worker base wrote nothing: a division by 0 crashed the benchmark after its runs
    assert [r["speedup_vs_local1"] for r in runs] == [None, None]
    assert [r["steady_scaling_efficiency"] for r in runs] == [None, None]
    runs = [{"workers": 1, "assets_per_s": 4.0, "steady_assets_per_s": 5.0},
            {"workers": 2, "assets_per_s": 6.0, "steady_assets_per_s": 9.0}]
    compare_runs(runs)
    assert runs[1]["speedup_vs_local1"] == 1.5 and runs[1]["scaling_efficiency"] == 0.75
    assert runs[1]["steady_scaling_efficiency"] == 0.9


def test_no_projection_without_a_compute_cost() -> None:
    for cost in (0.0, math.nan):
        p = project(cost, 0.001, 100)
        assert p["assets_per_s"] is None and p["bound_by"] is None
        json.dumps(p, allow_nan=False)  # valid JSON, no NaN or Infinity
    assert project(0.5, 0.001, 100)["assets_per_s"] == 200.0

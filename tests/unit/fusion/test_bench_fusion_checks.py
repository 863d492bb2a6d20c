"""``bench fusion`` on too few assets: a named option instead of a deep error, and no division by a zero cost."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from assetgrade.bench.fusion import _reduction, pool_fusion_runs, run_fusion_benchmark
from assetgrade.bench.report import BenchResult
from assetgrade.errors import ValidationError


def test_too_few_assets_for_the_folds_names_n_assets() -> None:
    # the Grader stopped with "groups: 1 groups cannot make 3 folds", naming no option
    with pytest.raises(ValidationError, match=r"--n-assets: n_assets=5 gives the calibration split 1 asset\(s\) in "
                                              r"1 piece group\(s\); it needs 3 piece groups"):
        run_fusion_benchmark(n_assets=5, source="sample", coreset_size=20, rul_fleet=None)


def test_cost_reduction_against_a_free_single_modality_is_none() -> None:
    # one test asset that every single modality graded right: the CLI died with ZeroDivisionError
    assert _reduction(250.0, 0.0) is None and _reduction(0.0, 0.0) is None
    assert _reduction(250.0, 1000.0) == pytest.approx(0.75)
    n = 4
    preds = {"asset_id": [f"a{i}" for i in range(n)], "y": [0] * n,
             "proba": np.tile([[0.7, 0.1, 0.1, 0.1]], (n, 1)).tolist(),
             "covered": [True] * n, "accepted": [False] * n, "elpv_file": [f"c{i}.png" for i in range(n)],
             "cmapss_unit": [f"FD001-{i}" for i in range(n)], "group": ["test-p0"] * n}
    metrics = {"fused": {"ece_debiased": 0.1, "expected_cost": 10.0, "realised_cost": 0.0},
               "single": {"text": {"expected_cost": 0.0, "realised_cost": 0.0}}}
    run = BenchResult("fusion", "linked-sample", "test", 0, metrics, 1.0, {"n_test": n, "test_predictions": preds})
    pooled = pool_fusion_runs([run])["cost_reduction_vs_best_single"]
    assert pooled["expected"] is None and pooled["realised"] is None


def test_an_uncertified_review_threshold_is_said_in_words() -> None:
    import json

    from assetgrade.bench.fusion import _threshold_summary
    from assetgrade.decision import CostConfig, DecisionPolicy

    none = _threshold_summary(DecisionPolicy(CostConfig(), max_expected_cost=float("-inf")))
    assert none["review_threshold_certified"] is False
    doc = json.loads(json.dumps(BenchResult("fusion", "x", "test", 0, {}, 1.0, none).to_dict()))
    assert doc["review_threshold"] is None and doc["review_threshold_certified"] is False  # null alone read as none
    assert _threshold_summary(DecisionPolicy(CostConfig(), max_expected_cost=120.0)) == {
        "review_threshold": 120.0, "review_threshold_certified": True}


def test_error_among_no_accepted_asset_is_none() -> None:
    from assetgrade.decision import CostConfig, Decision
    from assetgrade.grading.decide import stack_metrics

    proba = np.array([[0.7, 0.2, 0.1, 0.0], [0.1, 0.6, 0.3, 0.0], [0.0, 0.1, 0.2, 0.7]])
    y = np.array([0, 2, 3])
    member = proba > 0.15

    def run(actions: list[str]) -> dict[str, Any]:
        decisions = [Decision("ABCD"[int(np.argmax(p))], int(np.argmax(p)), 0.0, (0.0,) * 4, a, ())  # type: ignore[arg-type]
                     for p, a in zip(proba, actions, strict=True)]
        return stack_metrics(proba, y, member, grades=tuple("ABCD"), costs=CostConfig(), values=[None] * 3,
                             decisions=decisions)

    # the policy reviewed every asset: "accepted_error 0.0" read as "everything accepted was right"
    none = run(["review"] * 3)
    assert none["auto_accept_rate"] == 0.0 and none["accepted_error"] is None and none["accepted_cost"] is None
    some = run(["accept", "accept", "review"])
    assert some["auto_accept_rate"] == pytest.approx(2 / 3) and some["accepted_error"] == 0.5
    assert some["accepted_cost"] is not None and some["accepted_cost"] > 0

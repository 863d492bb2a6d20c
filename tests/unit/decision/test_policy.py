"""Decision policy: Bayes grade, review reasons, and Learn-then-Test threshold selection."""

from __future__ import annotations

import numpy as np

from assetgrade.decision.costs import CostConfig, cost_matrix
from assetgrade.decision.policy import DecisionPolicy, select_threshold


def test_bayes_grade_can_differ_from_argmax() -> None:
    # argmax is A, but over-grading a D as A is so costly that B or worse has lower expected cost
    p = np.array([0.45, 0.15, 0.0, 0.40])
    d = DecisionPolicy(CostConfig()).decide(p)
    assert d.grade != "A"
    assert d.expected_cost == min(d.expected_costs)


def test_review_reasons_are_written() -> None:
    pol = DecisionPolicy(CostConfig(review_cost=150), max_set_size=1)
    sure = pol.decide(np.array([0.99, 0.01, 0.0, 0.0]), conformal_set=["A"])
    assert sure.action == "accept" and "lowest expected cost" in sure.reasons[0]
    d = pol.decide(
        np.array([0.99, 0.01, 0.0, 0.0]),
        conformal_set=["A", "B"],
        contradictions=["vision says A (clean); text says C (leak)"],
    )
    assert d.action == "review"
    assert any("prediction set {A, B}" in r for r in d.reasons)
    assert any(r.startswith("contradiction: vision says A") for r in d.reasons)
    unsure = pol.decide(np.array([0.4, 0.4, 0.2, 0.0]))
    assert unsure.action == "review" and "above the threshold 150" in unsure.reasons[0]


def test_select_threshold_bounds_error(rng: np.random.Generator) -> None:
    n = 4000
    conf = 1.0 - 0.3 * rng.random(n) ** 2
    wrong = (rng.random(n) > conf).astype(float)  # calibrated: error rate 1 - conf
    score = 1.0 - conf
    ch = select_threshold(score[:2000], wrong[:2000], target=0.05, delta=0.1)
    assert 0.0 < ch.accept_rate < 1.0
    assert ch.risk <= 0.05
    held = score[2000:] <= ch.threshold
    assert wrong[2000:][held].mean() <= 0.06  # holds on new data (with sampling slack)
    # a tighter target accepts fewer; the fixed sequence works too
    tight = select_threshold(score[:2000], wrong[:2000], target=0.02)
    assert 0.0 < tight.accept_rate < ch.accept_rate
    fs = select_threshold(score[:2000], wrong[:2000], target=0.05, procedure="fixed_sequence")
    assert 0.0 < fs.accept_rate < 1.0 and fs.risk <= 0.05


def test_select_threshold_cost_kind_and_nothing_accepted(rng: np.random.Generator) -> None:
    C = cost_matrix()
    losses = rng.choice([0.0, C[1, 0]], size=500, p=[0.9, 0.1])
    ch = select_threshold(rng.random(500), losses, target=10.0, kind="cost")
    assert ch.accept_rate == 0.0 and ch.threshold == float("-inf")  # 10% x 2,500 is far above 10
    ch2 = select_threshold(rng.random(500), losses, target=600.0, kind="cost", loss_max=C[1, 0])
    assert ch2.accept_rate > 0.5

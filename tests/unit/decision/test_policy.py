"""Decision policy: Bayes grade, review reasons, and Learn-then-Test threshold selection."""

from __future__ import annotations

import numpy as np
import pytest

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


def test_policy_settings_and_inputs_are_checked() -> None:
    from assetgrade.errors import ValidationError

    # a NaN threshold compared false with every cost: every asset was accepted
    with pytest.raises(ValidationError, match=r"DecisionPolicy.max_expected_cost: max_expected_cost=nan"):
        DecisionPolicy(CostConfig(), max_expected_cost=float("nan"))
    with pytest.raises(ValidationError, match=r"DecisionPolicy.max_set_size: max_set_size=0 must be an integer >= 1"):
        DecisionPolicy(CostConfig(), max_set_size=0)
    with pytest.raises(ValidationError, match="review_on_contradiction='no' must be true or false"):
        DecisionPolicy(CostConfig(), review_on_contradiction="no")  # type: ignore[arg-type]
    assert DecisionPolicy(CostConfig(), max_expected_cost=float("-inf")).decide(
        np.array([1.0, 0, 0, 0])).action == "review"
    pol = DecisionPolicy(CostConfig())
    # rows that are no distribution were graded: a negative expected cost was accepted
    with pytest.raises(ValidationError, match=r"proba: .* holds a negative probability"):
        pol.decide(np.array([1.5, -0.5, 0.0, 0.0]))
    with pytest.raises(ValidationError, match=r"proba: .* sums to 2; a grade distribution sums to 1"):
        pol.decide(np.array([0.5, 0.5, 0.5, 0.5]))


@pytest.mark.parametrize(("kwargs", "where", "says"), [
    ({"target": float("nan")}, "target", "target=nan must be an error rate in"),
    ({"target": -0.1}, "target", "target=-0.1 must be an error rate"),
    ({"target": 2.0}, "target", "target=2.0 must be an error rate"),
    ({"kind": "errors"}, "kind", "kind='errors'; allowed: 'error', 'cost'"),
    ({"n_grid": 0}, "n_grid", "n_grid=0 must be an integer >= 1"),
    ({"scores": [0.1, float("nan"), 0.3]}, "scores", "item 1 is nan"),
    ({"losses": [0.0, -1.0, 0.0], "kind": "cost", "target": 1.0}, "losses", "item 1 has cost -1.0"),
    ({"losses": [0.0, 900.0, 0.0], "kind": "cost", "target": 1.0, "loss_max": 500.0}, "losses",
     r"item 1 has cost 900.0 > loss_max=500.0"),
])
def test_select_threshold_names_bad_arguments(kwargs: dict, where: str, says: str) -> None:  # type: ignore[type-arg]
    from assetgrade.errors import ValidationError

    args = {"scores": [0.1, 0.2, 0.3], "losses": [0.0, 1.0, 0.0], **kwargs}
    with pytest.raises(ValidationError, match=rf"{where}: {says}"):
        select_threshold(args.pop("scores"), args.pop("losses"), **args)


def test_decide_all_needs_one_entry_per_asset() -> None:
    from assetgrade.errors import ValidationError

    pol = DecisionPolicy(CostConfig())
    P = np.tile([0.97, 0.03, 0.0, 0.0], (3, 1))
    with pytest.raises(ValidationError, match="values: 2 entries for 3 assets"):  # was an IndexError
        pol.decide_all(P, values=[1000.0, 2000.0])
    with pytest.raises(ValidationError, match="conformal_sets: 4 entries for 3 assets"):  # extra ones were ignored
        pol.decide_all(P, conformal_sets=[("A",)] * 4)
    assert [d.action for d in pol.decide_all(P, values=[None, 5000.0, None])] == ["accept"] * 3


def test_bonferroni_tests_each_distinct_candidate_once() -> None:
    """600 of 1,000 scores tied: 12 of the 20 grid steps are one test, so the level is delta / 9, not / 20."""
    scores = np.r_[np.zeros(600), np.arange(1.0, 401.0)]
    losses = np.r_[np.zeros(596), np.ones(4), np.ones(400)]  # 4 errors in the tie: binom.cdf(4, 600, .02) = 0.0072
    ch = select_threshold(scores, losses, target=0.02, delta=0.1)
    assert (ch.threshold, ch.accept_rate) == (0.0, 0.6)  # 0.0072 <= 0.1 / 9; it was refused at 0.1 / 20 = 0.005
    six = np.r_[np.zeros(594), np.ones(6), np.ones(400)]  # binom.cdf(6, 600, .02) = 0.044
    again = select_threshold(scores, six, target=0.02, delta=0.1, grid=[0.0, 0.0, 0.0, 0.5])
    assert (again.threshold, again.accept_rate) == (0.0, 0.6)  # a repeated grid value is one test: 0.1 / 2, not / 4

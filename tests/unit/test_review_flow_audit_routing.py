"""Review-flow audit, routing: every case the docs send to a person is sent, and equal costs grade down.

decision.md, "Policy": review when the expected cost of the chosen grade is above the threshold
(the asset's own value scales it, so a costly asset goes to review where a cheap one with the same
distribution is accepted), when the conformal set holds more than ``max_set_size`` grades, when
modalities contradict, and in the Grader when an image-quality flag is raised that the vision
extractor did not learn; with no certified threshold (-inf) every asset is reviewed.
"""

from __future__ import annotations

import numpy as np
import pytest

from assetgrade.decision import CostConfig, DecisionPolicy, bayes_grades, cost_matrix, grade_metrics, risk_coverage
from assetgrade.grading.decide import choose_policy, decide_asset, image_quality_flags, per_asset_costs

SURE_B = np.array([0.0, 0.995, 0.005, 0.0])
"""Expected cost 15 at the default asset value 10,000: accepted under the default threshold 150."""


def _decide(policy: DecisionPolicy, **kw: object) -> str:
    args: dict[str, object] = {"conformal_set": ["B"], "contradictions": [], "value": None, "image_flags": []}
    args.update(kw)
    return decide_asset(policy, SURE_B, **args).action  # type: ignore[arg-type]


def test_each_documented_review_rule_routes_a_confident_asset_to_review() -> None:
    pol = DecisionPolicy(CostConfig())
    assert _decide(pol) == "accept"
    assert _decide(pol, conformal_set=["B", "C"]) == "review"
    assert _decide(pol, contradictions=["vision says B; text says D (leak)"]) == "review"
    assert _decide(pol, image_flags=image_quality_flags(["img-1:blurry"])) == "review"
    # a flag whose effect the extractor learned lowers the confidence instead: listed, not routed on its own
    assert image_quality_flags(["img-1:blurry"], accounted={"blurry"}) == []
    # a high-value asset: the same distribution costs 100 times more in money
    assert _decide(pol, value=1_000_000.0) == "review"
    # no certified threshold: everything is reviewed, the reason says why
    never = DecisionPolicy(CostConfig(), max_expected_cost=float("-inf"))
    d = decide_asset(never, SURE_B, conformal_set=["B"], contradictions=[], value=None, image_flags=[])
    assert d.action == "review" and "every asset is reviewed" in d.reasons[0]


def _symmetric() -> CostConfig:
    """|i - j| × 1,000 per grade step for an asset of 10,000: grading one step too high costs as much as too low."""
    return CostConfig(matrix=[[1000.0 * abs(i - j) for j in range(4)] for i in range(4)])


@pytest.mark.parametrize(("p", "grade"), [
    ([0.5, 0.5, 0.0, 0.0], "B"),        # A and B cost 500 each
    ([0.0, 0.0, 0.5, 0.5], "D"),        # C and D cost 500 each
    ([0.25, 0.25, 0.25, 0.25], "C"),    # B and C cost 1,000 each
    ([0.6, 0.4, 0.0, 0.0], "A"),        # no tie: A costs 400, B 600
])
def test_equal_expected_costs_grade_down_not_up(p: list[float], grade: str) -> None:
    # decide() took the first minimum, the better grade: an asset as likely A as B was sold as A, the
    # optimistic side, for no saving; a resale grade is settled conservatively (the worse grade)
    d = DecisionPolicy(_symmetric(), max_expected_cost=1e9).decide(np.array(p))
    assert d.grade == grade
    assert d.expected_cost == min(d.expected_costs)


def test_a_tie_within_rounding_counts_as_a_tie() -> None:
    # 11/21 B, 5/21 C, 5/21 D under the default costs: B and C both cost 30,000/21 = 1,428.57 exactly, but
    # the floating-point sums differ in the last bit (B 4.5e-13 cheaper), which used to decide for B
    p = np.array([0.0, 11 / 21, 5 / 21, 5 / 21])
    ec = p @ cost_matrix(CostConfig())
    assert ec[1] != ec[2] and abs(ec[1] - ec[2]) < 1e-9 * ec[1]
    assert DecisionPolicy(CostConfig()).decide(p).grade == "C"


def test_every_place_that_picks_the_bayes_grade_picks_the_same_one() -> None:
    cfg = _symmetric()
    C = cost_matrix(cfg)
    P = np.array([[0.5, 0.5, 0.0, 0.0], [0.0, 0.0, 0.5, 0.5], [0.25, 0.25, 0.25, 0.25], [0.9, 0.1, 0.0, 0.0]])
    y = np.array([0, 2, 1, 0])
    pol = DecisionPolicy(cfg, max_expected_cost=1e9)
    chosen = np.array([pol.decide(p).grade_index for p in P])
    assert chosen.tolist() == [1, 3, 2, 0]
    assert bayes_grades(P @ C).tolist() == chosen.tolist()
    # realised cost is C[true, chosen]: the figures the benchmarks report use the grade the policy gives
    _exp, real = per_asset_costs(P, y, costs=cfg, values=[None] * 4)
    assert real == [float(C[t, g]) for t, g in zip(y, chosen, strict=True)]
    assert grade_metrics(P, y, cost=C)["realised_cost"] == pytest.approx(np.mean(real))
    rc = risk_coverage(P, y, cost=C)
    assert rc.error[-1] == pytest.approx(np.mean(chosen != y))
    # the Learn-then-Test losses count a misgrade of that same grade: 200 assets all tied A/B, true grade B,
    # are never misgraded, so the threshold is certified (with the better grade all 200 were errors)
    Pt = np.tile([0.5, 0.5, 0.0, 0.0], (200, 1))
    policy, choice = choose_policy(Pt, np.ones(200, dtype=np.int64), [None] * 200, costs=cfg, max_error=0.02,
                                   delta=0.1, review_on_contradiction=True, certify_on="cost")
    assert choice.accept_rate == 1.0 and choice.risk == 0.0 and choice.threshold == 500.0
    assert policy.threshold() == 150.0  # capped by the review cost (Chow)

"""A grade outside the asset's conformal prediction set, or an empty set, goes to review, never to auto-accept."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from assetgrade.decision.costs import CostConfig, cost_matrix
from assetgrade.decision.policy import DecisionPolicy
from assetgrade.errors import ValidationError
from assetgrade.grading.decide import decide_asset

# A cheap asset, most likely B. Over-grading costs the fixed 500 dispute on top of the refund, so for an
# asset worth 200 the cost-optimal grade is C (expected cost 0.7 x 50 = 35), far under the review cost
# of 150, while the 90% set holds B alone: the policy said "the grade is B" and accepted C.
P_CHEAP = np.array([0.0, 0.7, 0.3, 0.0])
VALUE = 200.0


def test_the_example_chooses_a_grade_outside_the_set_at_a_low_expected_cost() -> None:
    ec = P_CHEAP @ cost_matrix(CostConfig(), VALUE)
    assert int(ec.argmin()) == 2 and ec.min() == pytest.approx(35.0) and ec.min() < CostConfig().review_cost


def test_a_grade_outside_the_set_is_sent_to_review_naming_grade_and_set() -> None:
    d = DecisionPolicy(CostConfig()).decide(P_CHEAP, conformal_set=("B",), value=VALUE)
    assert d.grade == "C"  # the grade stays the cost-optimal one; the reviewer sees both
    assert d.action == "review"
    assert d.reasons == ("the chosen grade C (lowest expected cost 35) is not in the prediction set {B}",)
    # the same with a set of two that C is not in, allowed by max_set_size=2: the set rule alone passed it
    two = DecisionPolicy(CostConfig(), max_set_size=2).decide(P_CHEAP, conformal_set=("A", "B"), value=VALUE)
    assert two.action == "review" and two.reasons == (
        "the chosen grade C (lowest expected cost 35) is not in the prediction set {A, B}",)


def test_a_grade_inside_the_set_is_still_accepted() -> None:
    d = DecisionPolicy(CostConfig(), max_set_size=2).decide(P_CHEAP, conformal_set=("B", "C"), value=VALUE)
    assert d.action == "accept" and d.grade == "C" and d.reasons[0].startswith("grade C has the lowest expected cost")
    # no set given (None): nothing is known about it, so the rule does not apply
    assert DecisionPolicy(CostConfig()).decide(P_CHEAP, value=VALUE).action == "accept"


def test_an_empty_set_is_sent_to_review_as_an_asset_unlike_the_calibration_assets() -> None:
    d = DecisionPolicy(CostConfig()).decide(np.array([0.97, 0.03, 0.0, 0.0]), conformal_set=())
    assert d.action == "review" and d.grade == "A"
    assert len(d.reasons) == 1 and d.reasons[0].startswith("the prediction set is empty: no grade is plausible")
    # an empty set is no cost trade-off: it goes to review with the grade-outside-set rule switched off too
    off = DecisionPolicy(CostConfig(), review_outside_set=False)
    assert off.decide(np.array([0.97, 0.03, 0.0, 0.0]), conformal_set=[]).action == "review"


def test_the_rule_can_be_switched_off_for_cost_only_decisions() -> None:
    off = DecisionPolicy(CostConfig(), review_outside_set=False)
    assert off.decide(P_CHEAP, conformal_set=("B",), value=VALUE).action == "accept"
    with pytest.raises(ValidationError, match=r"DecisionPolicy.review_outside_set: review_outside_set='no' must be "
                                              "true or false"):
        DecisionPolicy(CostConfig(), review_outside_set="no")  # type: ignore[arg-type]


def test_decide_all_applies_the_rule_to_every_row() -> None:
    P = np.stack([P_CHEAP, np.array([0.0, 0.97, 0.03, 0.0])])
    ds = DecisionPolicy(CostConfig()).decide_all(P, conformal_sets=[("B",), ("B",)], values=[VALUE, VALUE])
    assert [d.action for d in ds] == ["review", "accept"]


def test_the_graders_decision_step_applies_it_too() -> None:
    d = decide_asset(DecisionPolicy(CostConfig()), P_CHEAP, conformal_set=("B",), contradictions=(), value=VALUE,
                     image_flags=())
    assert d.action == "review" and "not in the prediction set {B}" in d.reasons[0]
    # with an image flag as well, both reasons are kept
    flagged = decide_asset(DecisionPolicy(CostConfig()), P_CHEAP, conformal_set=("B",), contradictions=(),
                           value=VALUE, image_flags=["img-1:blurry"])
    assert flagged.action == "review" and any("not in the prediction set" in r for r in flagged.reasons)


def test_a_policy_pickled_before_the_rule_existed_applies_it() -> None:
    pol = DecisionPolicy(CostConfig())
    del pol.__dict__["review_outside_set"]  # as an older saved grader's policy_ holds it
    old = pickle.loads(pickle.dumps(pol))
    assert old.decide(P_CHEAP, conformal_set=("B",), value=VALUE).action == "review"

"""The decision policy's reasons name the currency of the costs they quote (``costs: currency:``, 298b66c).

"expected cost 1,234 ... above the threshold 150" had no unit. With a currency each amount is followed by it;
without one the reasons read as before, word for word, since they are stored with predictions and shown in
the review queue. The Decision carries the currency, so the GradeResult built from it does too.
"""

from __future__ import annotations

import numpy as np

from assetgrade.decision.costs import CostConfig
from assetgrade.decision.policy import DecisionPolicy
from assetgrade.grading.decide import decide_asset

P_UNSURE = np.array([0.4, 0.4, 0.2, 0.0])
P_SURE = np.array([0.99, 0.01, 0.0, 0.0])
P_CHEAP = np.array([0.0, 0.7, 0.3, 0.0])  # worth 200: grade C costs 35, outside the set {B}


def _reasons(costs: CostConfig) -> list[tuple[str, ...]]:
    pol = DecisionPolicy(costs)
    return [pol.decide(P_UNSURE).reasons, pol.decide(P_SURE, conformal_set=["A"]).reasons,
            pol.decide(P_CHEAP, conformal_set=["B"], value=200.0).reasons]


def test_the_reasons_name_the_currency_after_every_amount() -> None:
    above, accepted, outside = _reasons(CostConfig(currency="EUR"))
    assert above == ("expected cost 1,400 EUR of grading B is above the threshold 150 EUR (P(B) = 0.40)",)
    assert accepted == ("grade A has the lowest expected cost 25 EUR <= threshold 150 EUR (P(A) = 0.99)",)
    assert outside == ("the chosen grade C (lowest expected cost 35 EUR) is not in the prediction set {B}",)
    assert DecisionPolicy(CostConfig(currency="EUR")).decide(P_SURE).currency == "EUR"


def test_without_a_currency_the_reasons_are_unchanged_word_for_word() -> None:
    above, accepted, outside = _reasons(CostConfig())
    assert above == ("expected cost 1,400 of grading B is above the threshold 150 (P(B) = 0.40)",)
    assert accepted == ("grade A has the lowest expected cost 25 <= threshold 150 (P(A) = 0.99)",)
    assert outside == ("the chosen grade C (lowest expected cost 35) is not in the prediction set {B}",)
    assert DecisionPolicy(CostConfig()).decide(P_SURE).currency is None


def test_an_uncertifiable_threshold_is_still_rewritten_with_a_currency() -> None:
    """decide_asset rewrites the "above the threshold -inf" reason (no threshold could be certified)."""
    pol = DecisionPolicy(CostConfig(currency="JPY"), max_expected_cost=float("-inf"))
    d = decide_asset(pol, P_SURE, conformal_set=["A"], contradictions=[], value=None, image_flags=[])
    assert d.action == "review" and d.reasons == (
        "expected cost 25 JPY of grading A: no expected-cost threshold could be certified for the error target on "
        "the training data, so every asset is reviewed",)


def test_a_policy_pickled_before_the_currency_existed_decides_without_one() -> None:
    """A CostConfig unpickled from before ``currency`` lacks the attribute; the policy reads it as unset."""
    costs = CostConfig()
    del costs.__dict__["currency"]
    d = DecisionPolicy(costs).decide(P_UNSURE)
    assert d.currency is None
    assert d.reasons[0].startswith("expected cost 1,400 of grading B is above the threshold 150 (")

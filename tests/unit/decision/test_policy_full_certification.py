"""The Learn-then-Test threshold is certified on what the full policy accepts, not on expected cost alone.

The calibration set below is built so that the policy's other review rules (here: a conformal set
of two grades) remove mostly *correctly* graded assets. 1,000 assets, sorted by expected cost:

* 0-199: graded right, set {A};
* 200-799: 592 graded right and 8 misgraded (the first at 210, then every 75th); the first 500
  right ones (200-706) have the set {A, B} and go to review whatever their cost;
* 800-999: all misgraded, set {A}.

On expected cost alone, the first 802 assets (10 errors, 1.2 %) are certified at 2 % with
delta 0.1. But the full policy accepts only 302 of them, with the same 10 errors: 3.3 %.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binom

from assetgrade.decision import CostConfig, DecisionPolicy, select_threshold
from assetgrade.errors import ValidationError
from assetgrade.grading.decide import choose_policy, decide_asset

N = 1000
ERRORS_MIDDLE = [210 + 75 * j for j in range(8)]  # 210, 285, ..., 735


def _calibration() -> tuple[np.ndarray, np.ndarray, list[list[str]], np.ndarray]:
    """(proba, true grade index, conformal sets, misgraded) of the constructed calibration set."""
    e = (np.arange(N) + 1) * 5e-5  # P(B); the Bayes grade is A everywhere, expected cost 2,500 e <= 125 < 150
    proba = np.c_[1.0 - e, e, np.zeros(N), np.zeros(N)]
    wrong = np.zeros(N, dtype=bool)
    wrong[ERRORS_MIDDLE] = True
    wrong[800:] = True
    y = wrong.astype(np.int64)  # misgraded assets are truly B
    right_middle = [i for i in range(200, 800) if not wrong[i]]
    two = set(right_middle[:500])
    sets = [["A", "B"] if i in two else ["A"] for i in range(N)]
    return proba, y, sets, wrong


def _accepted(policy: DecisionPolicy, proba: np.ndarray, sets: list[list[str]]) -> np.ndarray:
    return np.array([decide_asset(policy, proba[i], conformal_set=sets[i], contradictions=(), value=None,
                                  image_flags=()).action == "accept" for i in range(N)])


def test_the_cost_only_threshold_overshoots_under_the_full_policy() -> None:
    """The finding, pinned: certified on expected cost alone, the deployed policy accepts 3.3 % misgraded."""
    proba, _, sets, wrong = _calibration()
    score = 2500.0 * proba[:, 1]
    cost_only = select_threshold(score, wrong.astype(float), target=0.02, delta=0.1, procedure="fixed_sequence")
    assert cost_only.accept_rate == pytest.approx(0.802) and cost_only.risk <= 0.02
    acc = _accepted(DecisionPolicy(CostConfig(), max_expected_cost=cost_only.threshold), proba, sets)
    assert acc.sum() == 302 and wrong[acc].sum() == 10
    assert wrong[acc].mean() == pytest.approx(10 / 302) and wrong[acc].mean() > 0.02


def test_choose_policy_certifies_what_the_full_policy_accepts() -> None:
    proba, y, sets, wrong = _calibration()
    policy, choice = choose_policy(proba, y, [None] * N, costs=CostConfig(), max_error=0.02, delta=0.1,
                                   review_on_contradiction=True, conformal_sets=sets,
                                   contradictions=[[]] * N, image_flags=[[]] * N)
    acc = _accepted(policy, proba, sets)
    # the other rules leave the 200 clean assets, then the misgraded 210 and 285 next to each other: 201
    # accepted with 1 error passes (binom.cdf(1, 201, .02) = 0.085 <= 0.1), 202 with 2 does not (0.23)
    assert acc.sum() == 201 and wrong[acc].sum() == 1 and choice.n_other_review == 500
    assert choice.accept_rate == 0.201 and choice.risk == wrong[acc].mean() <= 0.02
    assert binom.cdf(1, 201, 0.02) <= 0.1 < binom.cdf(2, 202, 0.02)
    assert np.flatnonzero(acc).tolist() == [*range(200), 210]


@pytest.mark.parametrize("rule", ["contradiction", "image flag"])
def test_every_other_rule_counts(rule: str) -> None:
    """Contradictions and image-quality flags remove assets from the certified group as a large set does."""
    proba, y, sets, _ = _calibration()
    removed = [len(s) > 1 for s in sets]
    contra = [["vision says A; text says D"] if r and rule == "contradiction" else [] for r in removed]
    flags = [["img-1:blurry"] if r and rule == "image flag" else [] for r in removed]
    by_set = choose_policy(proba, y, [None] * N, costs=CostConfig(), max_error=0.02, delta=0.1,
                           review_on_contradiction=True, conformal_sets=sets, contradictions=[[]] * N,
                           image_flags=[[]] * N)[1]
    other = choose_policy(proba, y, [None] * N, costs=CostConfig(), max_error=0.02, delta=0.1,
                          review_on_contradiction=True, conformal_sets=[["A"]] * N, contradictions=contra,
                          image_flags=flags)[1]
    assert (other.threshold, other.accept_rate, other.n_other_review) == (
        by_set.threshold, by_set.accept_rate, by_set.n_other_review)


def test_switched_off_rules_do_not_remove_assets() -> None:
    """review_on_contradiction=False and review_on_quality=False: those assets stay in the certified group."""
    proba, y, _, _ = _calibration()
    contra = [["vision says A; text says D"]] * N
    off = choose_policy(proba, y, [None] * N, costs=CostConfig(), max_error=0.02, delta=0.1,
                        review_on_contradiction=False, conformal_sets=[["A"]] * N, contradictions=contra,
                        image_flags=[["img-1:blurry"]] * N, review_on_quality=False)[1]
    assert off.n_other_review == 0 and off.accept_rate > 0.79


def test_select_threshold_eligible() -> None:
    """Ineligible assets are never accepted, but the accept rate is over every calibration asset."""
    scores = np.arange(400.0)
    losses = np.zeros(400)
    losses[[300, 301]] = 1.0  # one error on an asset another rule reviews (300), one eligible (301)
    eligible = np.ones(400, dtype=bool)
    eligible[::2] = False  # every even one goes to review for another rule
    ch = select_threshold(scores, losses, target=0.05, delta=0.1, procedure="fixed_sequence", eligible=eligible)
    assert ch.n_other_review == 200 and ch.n_calibration == 400
    assert ch.accept_rate == 0.5 and ch.threshold == 399.0  # 200 eligible, one error: 0.5 %
    assert ch.risk == pytest.approx(1 / 200)
    with pytest.raises(ValidationError, match="eligible"):
        select_threshold(scores, losses, eligible=eligible[:10])
    with pytest.raises(ValidationError, match="eligible"):
        select_threshold(scores, losses, eligible=np.full(400, 0.5))


def test_leaving_the_other_rules_out_is_an_error_not_a_cost_only_bound() -> None:
    """Without sets, contradictions and image flags the bound used to be the cost rule's alone, silently."""
    proba, y, sets, _ = _calibration()
    with pytest.raises(ValidationError, match=r"conformal_sets, contradictions, image_flags.*certify_on='cost'"):
        choose_policy(proba, y, [None] * N, costs=CostConfig(), max_error=0.02, delta=0.1,
                      review_on_contradiction=True)
    with pytest.raises(ValidationError, match=r"image_flags") as exc:  # one left out is named alone
        choose_policy(proba, y, [None] * N, costs=CostConfig(), max_error=0.02, delta=0.1,
                      review_on_contradiction=True, conformal_sets=sets, contradictions=[[]] * N)
    assert "conformal_sets" not in str(exc.value)


def test_the_cost_only_bound_is_asked_for_by_name() -> None:
    """certify_on='cost' is the bound on the cost rule's accepted group; it takes none of the other rules' inputs."""
    proba, y, sets, _ = _calibration()
    _, cost = choose_policy(proba, y, [None] * N, costs=CostConfig(), max_error=0.02, delta=0.1,
                            review_on_contradiction=True, certify_on="cost")
    assert cost.accept_rate == pytest.approx(0.802) and cost.n_other_review == 0
    with pytest.raises(ValidationError, match="certify_on='cost' certifies on expected cost alone"):
        choose_policy(proba, y, [None] * N, costs=CostConfig(), max_error=0.02, delta=0.1,
                      review_on_contradiction=True, certify_on="cost", conformal_sets=sets)
    with pytest.raises(ValidationError, match=r"'policy', 'cost'"):
        choose_policy(proba, y, [None] * N, costs=CostConfig(), max_error=0.02, delta=0.1,
                      review_on_contradiction=True, certify_on="both")  # type: ignore[arg-type]

"""The Grader's decision step and its out-of-fold figures.

The decision is :class:`~assetgrade.decision.DecisionPolicy` (Bayes grade under the cost matrix,
review on expected cost, conformal set size, a grade outside the conformal set and contradictions;
Chow 1970) plus one rule of the
Grader's: an image-quality flag (blurry, under/over-exposed, glare, low resolution, unreadable)
sends the asset to review, since the vision evidence it rests on is weaker than the model assumes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping, Sequence
from typing import Any, Literal, NamedTuple

import numpy as np
import numpy.typing as npt

from assetgrade.decision import CostConfig, Decision, DecisionPolicy, ThresholdChoice, cost_matrix, select_threshold
from assetgrade.decision.costs import bayes_grades
from assetgrade.decision.metrics import grade_metrics
from assetgrade.errors import ValidationError
from assetgrade.fusion import ConformalResult
from assetgrade.modalities.base import EvidenceBlock

__all__ = [
    "CERTIFY_ON", "IMAGE_QUALITY_FLAGS", "ReviewInputs", "choose_policy", "decide_asset", "evaluate_oof",
    "image_quality_flags", "per_asset_costs", "review_inputs", "stack_metrics", "thin_set_note",
]

IMAGE_QUALITY_FLAGS: tuple[str, ...] = (
    "blurry", "underexposed", "overexposed", "glare", "low_resolution", "unreadable",
)

FloatArray = npt.NDArray[np.float64]


def image_quality_flags(flags: Sequence[str], accounted: Collection[str] = ()) -> list[str]:
    """The vision flags that say an image is of poor quality (e.g. ``img-3:blurry``, ``unreadable:img-4``).

    ``accounted``: flag names whose effect on the vision head's confidence was learned from data
    (the vision extractor's ``learned_flags_``); the fused distribution already reflects them, so
    they are left out and do not send the asset to review on their own.
    """
    return [f for f in flags if any(q in f for q in IMAGE_QUALITY_FLAGS) and f.rsplit(":", 1)[-1] not in accounted]


def thin_set_note(n: int, needed: int, coverage: float) -> str:
    """What a prediction set from too few calibration assets means (see ``SplitConformal.too_few``).

    >>> thin_set_note(5, 9, 0.9).split(": ")[1][:42]
    '5 calibration assets are too few for a 90%'
    """
    pct = f"{round(100 * coverage, 6):g}%"  # 97.5%, not a rounded 98%
    return (f"the {pct} prediction set holds every grade: {n} calibration asset{'s are' if n != 1 else ' is'} "
            f"too few for a {pct} set (it needs at least {needed}), so it says nothing about this asset; "
            "label more assets")


def decide_asset(
    policy: DecisionPolicy,
    proba: FloatArray,
    *,
    conformal_set: Sequence[str] | None,
    contradictions: Sequence[str],
    value: float | None,
    image_flags: Sequence[str],
    review_on_quality: bool = True,
) -> Decision:
    """The policy's decision, sent to review when an image-quality flag is raised."""
    d = policy.decide(
        proba, conformal_set=conformal_set, contradictions=contradictions, value=value, quality_flags=image_flags
    )
    if not np.isfinite(policy.threshold()):
        msg = "no expected-cost threshold could be certified for the error target on the training data"
        d = dataclasses.replace(d, reasons=tuple(
            f"{r.split(' is above the threshold')[0]}: {msg}, so every asset is reviewed"
            if " is above the threshold -inf" in r else r for r in d.reasons))
    if review_on_quality and image_flags and d.action == "accept":
        reasons = [r for r in d.reasons if not r.startswith(f"grade {d.grade} has the lowest")]
        reasons.insert(0, f"image quality flags lower the confidence of the vision evidence: {', '.join(image_flags)}")
        d = dataclasses.replace(d, action="review", reasons=tuple(reasons))
    return d


def per_asset_costs(
    proba: FloatArray, y: npt.NDArray[np.int64], *, costs: CostConfig, values: Sequence[float | None]
) -> tuple[list[float], list[float]]:
    """Per asset, under the minimum-expected-cost grade: its expected cost (the model's forecast) and
    the cost it incurs on the true grade ``y`` (realised), each with the asset's own value."""
    exp, real = [], []
    for i, v in enumerate(values):
        C = cost_matrix(costs, v)
        ec = proba[i] @ C
        g = int(bayes_grades(ec)[0])  # the policy's grade: equal expected costs go to the worse grade
        exp.append(float(ec.min()))
        real.append(float(C[y[i], g]))
    return exp, real


def stack_metrics(
    proba: FloatArray,
    y: npt.NDArray[np.int64],
    membership: npt.NDArray[np.bool_],
    *,
    grades: Sequence[str],
    costs: CostConfig,
    values: Sequence[float | None],
    decisions: Sequence[Decision] | None = None,
    max_error: float = 0.02,
) -> dict[str, Any]:
    """Accuracy, QWK, ECE, NLL, coverage, set size, expected and realised cost per asset, accept rates.

    With ``decisions``: the policy's accept rate, and the error and realised cost among the accepted
    assets (None when it accepted none).
    """
    conf = ConformalResult(membership, np.zeros(len(y)), np.zeros(len(y), dtype=bool), tuple(grades))
    out = grade_metrics(proba, y, cost=cost_matrix(costs, None), conformal=conf, max_error=max_error)
    exp, real = per_asset_costs(proba, y, costs=costs, values=values)
    out["expected_cost"] = float(np.mean(exp)) if exp else float("nan")
    out["realised_cost"] = float(np.mean(real)) if real else float("nan")
    out["accept_rate_at_error"] = out.pop(f"accept_rate_at_{max_error:g}_error")
    out["max_error"] = max_error
    if decisions is not None:
        acc = np.array([d.action == "accept" for d in decisions])
        pred = np.array([d.grade_index for d in decisions])
        out["auto_accept_rate"] = float(acc.mean()) if len(acc) else 0.0
        # None when nothing was accepted: 0.0 would read as "every accepted asset was graded right"
        out["accepted_error"] = float((pred[acc] != y[acc]).mean()) if acc.any() else None
        out["accepted_cost"] = float(np.mean([real[i] for i in np.flatnonzero(acc)])) if acc.any() else None
        reviewed = ~acc
        out["review_rate"] = float(reviewed.mean()) if len(acc) else 0.0
    return out


class ReviewInputs(NamedTuple):
    """Per asset, what the review rules other than expected cost read (see :func:`review_inputs`)."""

    conformal_sets: list[list[str]]
    contradictions: list[list[str]]
    image_flags: list[list[str]]
    """The image-quality flags that send an asset to review (:func:`image_quality_flags`)."""


def review_inputs(
    membership: npt.NDArray[np.bool_], blocks: Sequence[EvidenceBlock], contradictions: Mapping[str, Sequence[object]],
    *, grades: Sequence[str], accounted_flags: Collection[str] = (),
) -> ReviewInputs:
    """The conformal sets, contradiction messages and image-quality flags of the assets of ``blocks``."""
    ids = blocks[0].asset_ids if blocks else []
    sets, msgs, flags = [], [], []
    for i, aid in enumerate(ids):
        vflags = [f for b in blocks if b.modality == "vision" for f in b.quality_flags.get(aid, [])]
        sets.append([grades[j] for j in np.flatnonzero(membership[i]).tolist()])
        msgs.append([str(getattr(c, "message", c)) for c in contradictions.get(aid, [])])
        flags.append(image_quality_flags(vflags, accounted_flags))
    return ReviewInputs(sets, msgs, flags)


CERTIFY_ON: tuple[str, ...] = ("policy", "cost")
"""What :func:`choose_policy` certifies: what the whole policy accepts (default), or the cost rule alone."""


def choose_policy(
    proba: FloatArray, y: npt.NDArray[np.int64], values: Sequence[float | None], *, costs: CostConfig,
    max_error: float, delta: float, review_on_contradiction: bool, max_set_size: int = 1,
    review_outside_set: bool = True, conformal_sets: Sequence[Sequence[str]] | None = None,
    contradictions: Sequence[Sequence[str]] | None = None, image_flags: Sequence[Sequence[str]] | None = None,
    review_on_quality: bool = True, certify_on: Literal["policy", "cost"] = "policy",
) -> tuple[DecisionPolicy, ThresholdChoice]:
    """The policy whose expected-cost threshold is the Learn-then-Test choice on out-of-fold results.

    The threshold keeps the misgrade rate among the assets the *whole* policy accepts <= ``max_error``
    with probability >= 1 - ``delta`` (fixed-sequence testing; Angelopoulos et al. 2021): each
    candidate's accepted group is the assets at or below it in expected cost that also pass every
    other review rule (:func:`decide_asset` with the same sets, contradictions and image flags),
    so the bound is about what the deployed policy accepts, not what the cost rule alone would.
    ``conformal_sets``, ``contradictions`` and ``image_flags`` are therefore required (an asset with
    none: an empty list); one left out is a ValidationError. ``certify_on="cost"`` asks for the
    bound on the cost rule's accepted group alone (the assets at or below the threshold, whatever
    the other rules decide) and takes none of them: the deployed policy, which reviews some of
    those assets, can then misgrade more than ``max_error`` among the ones it accepts.
    It never exceeds the review cost (Chow's rule: a review is worth its price when the expected
    loss is higher).
    """
    n = len(proba)
    others_in = {"conformal_sets": conformal_sets, "contradictions": contradictions, "image_flags": image_flags}
    if certify_on not in CERTIFY_ON:
        raise ValidationError(f"{certify_on!r}; allowed: {', '.join(map(repr, CERTIFY_ON))}",
                              where="choose_policy.certify_on")
    if certify_on == "policy" and (missing := [k for k, v in others_in.items() if v is None]):
        raise ValidationError(f"{', '.join(missing)} not given: the threshold is certified on what the whole policy "
                              "accepts, so give every asset's (an empty list for none), or certify_on='cost' for the "
                              "bound on the cost rule alone", where="choose_policy")
    if certify_on == "cost" and (given := [k for k, v in others_in.items() if v is not None]):
        raise ValidationError(f"certify_on='cost' certifies on expected cost alone, but {', '.join(given)} were "
                              "given; leave them out, or certify_on='policy' to certify what the whole policy "
                              "accepts", where="choose_policy")
    for name, given_values in (("values", values), *others_in.items()):
        if given_values is not None and len(given_values) != n:
            raise ValidationError(f"{len(given_values)} entries for {n} assets", where=f"choose_policy.{name}")
    ec = np.array([proba[i] @ cost_matrix(costs, v) for i, v in enumerate(values)])
    pred = bayes_grades(ec)
    # the other rules alone: with no cost threshold an asset is accepted iff none of them reviews it
    others = DecisionPolicy(costs, max_set_size=max_set_size, review_on_contradiction=review_on_contradiction,
                            max_expected_cost=float("inf"), review_outside_set=review_outside_set)
    eligible = None
    if conformal_sets is not None and contradictions is not None and image_flags is not None:  # certify_on="policy"
        eligible = np.array([
            decide_asset(others, proba[i], conformal_set=conformal_sets[i], contradictions=contradictions[i],
                         value=values[i], image_flags=image_flags[i],
                         review_on_quality=review_on_quality).action == "accept" for i in range(n)], dtype=bool)
    choice = select_threshold(ec.min(axis=1), (pred != y).astype(float), target=max_error, delta=delta,
                              procedure="fixed_sequence", eligible=eligible)
    thr = min(float(choice.threshold), float(costs.review_cost))
    return dataclasses.replace(others, max_expected_cost=thr), choice


def evaluate_oof(
    proba: FloatArray, membership: npt.NDArray[np.bool_], blocks: Sequence[EvidenceBlock], y: npt.NDArray[np.int64],
    values: Sequence[float | None], contradictions: Mapping[str, Sequence[object]], policy: DecisionPolicy, *,
    grades: Sequence[str], costs: CostConfig, max_error: float, review_on_quality: bool,
    accounted_flags: Collection[str] = (),
) -> dict[str, object]:
    """:func:`stack_metrics` with the policy's decision for every asset (contradictions and image flags included)."""
    ids = blocks[0].asset_ids
    inputs = review_inputs(membership, blocks, contradictions, grades=grades, accounted_flags=accounted_flags)
    decisions = [decide_asset(policy, proba[i], conformal_set=inputs.conformal_sets[i],
                              contradictions=inputs.contradictions[i], value=values[i],
                              image_flags=inputs.image_flags[i], review_on_quality=review_on_quality)
                 for i in range(len(ids))]
    out: dict[str, object] = stack_metrics(proba, y, membership, grades=grades, costs=costs, values=values,
                                           decisions=decisions, max_error=max_error)
    out["contradiction_rate"] = float(np.mean([aid in contradictions for aid in ids]))
    return out

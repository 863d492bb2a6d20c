"""Champion vs challenger on one golden set: the promotion rule (:func:`compare`) and its verdict (:class:`Comparison`).

:func:`compare` applies a :class:`~assetgrade.lifecycle.evaluate.PromotionPolicy`: a challenger is
refused when it is worse than the champion by more than the tolerance on any metric overall, or on
accuracy in any subgroup with enough assets on both sides; with per-asset outcomes each delta also
gets a paired bootstrap interval (:mod:`assetgrade.lifecycle.paired`) and the policy's gate decides.
The figures it compares come from :mod:`assetgrade.lifecycle.evaluate`, which re-exports both names.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from assetgrade.errors import ValidationError
from assetgrade.lifecycle.paired import envelope_interval, mcnemar_exact, paired_draws

if TYPE_CHECKING:
    from assetgrade.lifecycle.evaluate import GoldenEvaluation, PromotionPolicy

__all__ = ["HIGHER_IS_BETTER", "Comparison", "compare"]

FloatArray = npt.NDArray[np.float64]

HIGHER_IS_BETTER = {"accuracy": True, "qwk": True, "ece": False, "expected_cost": False, "realised_cost": False}
"""The compared metrics and their direction."""
_UNDEFINED = {"qwk": "QWK needs two true grades or more"}
"""Why a metric can be undefined (NaN) on a set of assets or a resample of them."""


@dataclass
class Comparison:
    """Challenger vs champion: ok, the regressions found, every delta (challenger - champion) and its paired interval.

    ``intervals`` (same keys as ``deltas``) are the paired bootstrap percentile intervals of the
    deltas at ``confidence`` (empty when the evaluations hold no per-asset outcomes: ``notes``
    says why); ``p_values`` are McNemar's exact test for accuracy; ``disagreements`` name each
    metric the point rule refuses but the paired interval does not confirm, whatever the ``gate``;
    ``undefined`` counts, per key, the resamples on which the metric is undefined (a QWK resample
    that draws one true grade only), when there are any: its interval holds whatever figure they
    would take, or is NaN (undefined) when they could decide it, and ``notes`` says which.
    """

    ok: bool
    regressions: list[str]
    deltas: dict[str, float]
    gate: str = "point"
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)
    p_values: dict[str, float] = field(default_factory=dict)
    disagreements: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    confidence: float | None = None
    n_resamples: int = 0
    undefined: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"ok": self.ok, "regressions": self.regressions, "deltas": self.deltas, "gate": self.gate,
                "intervals": {k: list(v) for k, v in self.intervals.items()}, "p_values": self.p_values,
                "disagreements": self.disagreements, "notes": self.notes, "confidence": self.confidence,
                "n_resamples": self.n_resamples, "undefined": self.undefined}


def _pairable(champion: GoldenEvaluation, challenger: GoldenEvaluation) -> tuple[list[str], str | None]:
    """The asset ids to pair on (sorted), or why the two evaluations cannot be paired."""
    missing = [who for who, ev in (("champion", champion), ("challenger", challenger)) if ev.assets is None]
    if missing:
        return [], (f"the {' and '.join(missing)} evaluation holds no per-asset outcomes (stored before they were"
                    " kept; re-evaluate to get them)")
    assert champion.assets is not None and challenger.assets is not None
    if champion.grades != challenger.grades:
        return [], f"graded on different scales ({champion.grades} vs {challenger.grades})"
    if set(champion.assets) != set(challenger.assets) or not champion.assets:
        return [], "their per-asset outcomes cover different assets"
    ids = sorted(champion.assets)
    if any(champion.assets[i].label != challenger.assets[i].label for i in ids):
        return [], "their per-asset outcomes hold different labels"
    return ids, None


def _finite(x: float | None) -> bool:
    return x is not None and bool(np.isfinite(x))


def _true_grades(ev: GoldenEvaluation) -> set[str] | None:
    """The frozen grades among ``ev``'s per-asset outcomes (None when it holds none)."""
    return {o.label for o in ev.assets.values()} if ev.assets else None


def _champion_qwk(champion: GoldenEvaluation, challenger: GoldenEvaluation) -> tuple[float | None, str | None]:
    """The champion's QWK under the current rule, and a note when that is not its stored figure.

    QWK is undefined (NaN) on a golden set of one true grade since c6a6832; an evaluation stored
    before scored such a set 0.0 or 1.0, and a challenger evaluated now has no figure there, which
    the gate took for a broken model (a regression). The champion's own per-asset outcomes recompute
    it (:func:`~assetgrade.decision.metrics.quadratic_weighted_kappa`); without them the challenger's
    outcomes, or its undefined QWK, say the golden set (the same, by content hash) holds one true grade.
    """
    from assetgrade.decision.metrics import quadratic_weighted_kappa

    a = champion.overall.get("qwk")
    if not _finite(a):
        return a, None
    assert a is not None
    if champion.assets and champion.grades and all(o.label in champion.grades and o.grade in champion.grades
                                                   for o in champion.assets.values()):
        grades, outs = list(champion.grades), list(champion.assets.values())
        now = quadratic_weighted_kappa([grades.index(o.label) for o in outs], [grades.index(o.grade) for o in outs],
                                       len(grades))
        if math.isfinite(now):
            return a, None
        how = f"recomputed from its {len(outs)} per-asset outcomes"
    else:
        labels, b = _true_grades(challenger), challenger.overall.get("qwk")
        if labels is not None and len(labels) >= 2:
            return a, None
        if labels is None and ("qwk" not in challenger.overall or _finite(b)):
            return a, None  # nothing says the golden set holds one true grade
        how = (f"the challenger's per-asset outcomes on this golden set hold grade {min(labels)} only"
               if labels is not None else "the challenger's QWK on this golden set is undefined, which only one"
               " true grade makes")
    return math.nan, (f"qwk: the champion's stored figure {a:.4f} is undefined under the current rule"
                      f" ({_UNDEFINED['qwk']}; it was stored before that rule): {how}; not compared")


@dataclass
class _Judge:
    """Applies the policy's gate to one metric at a time and collects the verdicts."""

    policy: PromotionPolicy
    regressions: list[str] = field(default_factory=list)
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)
    disagreements: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    undefined: dict[str, int] = field(default_factory=dict)

    @staticmethod
    def _shown(tol: float, a: float, relative: bool) -> str:
        return f"{tol:g} of the champion's {a:.4g}" if relative else f"{tol:g}"

    def __call__(self, key: str, base: str, a: float, b: float, higher: bool, tol: float, relative: bool,
                 draws: tuple[FloatArray, FloatArray] | None) -> None:
        """Judge champion ``a`` vs challenger ``b`` (``draws``: both on the same resamples; ``base``: point text)."""
        worse = (a - b) if higher else (b - a)
        point = worse > (tol * abs(a) if relative else tol) + 1e-12
        lo = hi = m_lo = m_hi = math.nan
        if draws is not None:
            ca, cb = draws
            # a resample where the metric is undefined (NaN) is no figure, not a "perfect" or a zero one: the
            # interval holds whatever figure such resamples would take, or is undefined where they decide it
            self.intervals[key] = lo, hi = envelope_interval(cb - ca, self.policy.confidence)
            undefined = int(np.count_nonzero(np.isnan(ca) | np.isnan(cb)))
            if undefined:
                self.undefined[key] = undefined
                why = _UNDEFINED.get(key.rsplit(":", 1)[-1], "NaN")
                said = f"{key}: undefined on {undefined} of {len(ca)} resamples ({why}); "
                self.notes.append(said + ("the interval holds whatever figure they would take" if math.isfinite(lo)
                                          else "more than the interval's tails leave out, so no paired interval"
                                          + ("; the point rule decides" if math.isfinite(tol) else "")))
            if math.isfinite(tol):  # an infinite tolerance: not gated, only reported
                # worse beyond the tolerance on each resample: the tolerance of a cost is relative to that
                # resample's champion figure, so its noise is in the bound too (an absolute one: a shift)
                margin = ((ca - cb) if higher else (cb - ca)) - (tol * np.abs(ca) if relative else tol)
                m_lo, m_hi = envelope_interval(margin, self.policy.confidence)
                if not (math.isfinite(m_lo) and math.isfinite(m_hi)) and not undefined:
                    self.notes.append(f"{key}: no finite paired interval; the point rule decides")
        if not (math.isfinite(m_lo) and math.isfinite(m_hi)):  # no interval, or not gated
            if point:
                self.regressions.append(base)
            return
        conf = f"{self.policy.confidence * 100:g}%"
        where = f"{conf} paired interval of challenger - champion [{lo:+.4f}, {hi:+.4f}]"
        confirmed = point and m_lo > 1e-12  # worse beyond the tolerance with confidence
        if point and not confirmed:
            self.disagreements.append(f"{key}: the point rule refuses (tolerance {self._shown(tol, a, relative)}) but"
                                      f" the {where} does not show it worse beyond the tolerance")
        gate = self.policy.gate
        if gate == "point" and point:
            self.regressions.append(base)
        elif gate == "paired" and confirmed:
            self.regressions.append(f"{base}: the {where} confirms it worse beyond the tolerance")
        elif gate == "non_inferiority" and (point or m_hi > 1e-12):
            self.regressions.append(f"{base}: the {where} does not show it within the tolerance")


def compare(champion: GoldenEvaluation, challenger: GoldenEvaluation, policy: PromotionPolicy) -> Comparison:
    """Apply ``policy``: the challenger must not be worse than the champion beyond the tolerances.

    The worse-by of a metric is champion - challenger where higher is better, challenger -
    champion where lower is; the tolerance is absolute, or for costs a share of the champion's
    figure. When both evaluations hold per-asset outcomes, each delta also gets a paired bootstrap
    percentile interval (:func:`~assetgrade.lifecycle.paired.paired_draws`; ``policy.n_resamples``
    resamples of the asset ids, ``policy.seed``, two-sided ``policy.confidence``), and the gate:

    * ``point``: refuse when the worse-by exceeds the tolerance (the intervals are only reported);
    * ``paired``: refuse only when, in addition, the lower ``(1 - confidence) / 2`` quantile of the
      resampled worse-by minus tolerance is above 0: the challenger is worse beyond the tolerance
      with confidence (one-sided level ``(1 + confidence) / 2``). It refuses a subset of what
      ``point`` refuses;
    * ``non_inferiority``: refuse also when the upper quantile is above 0: the challenger is not
      shown to be within the tolerance. It refuses a superset of what ``point`` refuses.

    Without per-asset outcomes (an evaluation stored before they were kept) every gate is the point
    rule, and ``notes`` says so. A challenger without a finite figure where the champion has one
    is a regression under every gate.

    Examples
    --------
    >>> from assetgrade.lifecycle.evaluate import GoldenEvaluation, PromotionPolicy
    >>> a = GoldenEvaluation("g", "h", "v1", {"accuracy": 0.9})
    >>> b = GoldenEvaluation("g", "h", "v2", {"accuracy": 0.8})
    >>> compare(a, b, PromotionPolicy()).regressions
    ['accuracy 0.8000 vs champion 0.9000 (tolerance 0.01)']
    """
    if champion.content_hash != challenger.content_hash:
        raise ValidationError("champion and challenger were evaluated on different golden sets", where="compare")
    ids, why = _pairable(champion, challenger)
    judge = _Judge(policy)
    if why:
        judge.notes.append(f"no paired interval: {why}" + ("; the point rule decides" if policy.gate != "point"
                                                          else ""))
    deltas: dict[str, float] = {}
    p_values: dict[str, float] = {}
    old, new = champion.assets or {}, challenger.assets or {}  # ids is empty unless both hold outcomes

    def paired(key: str, members: Sequence[str], metrics: Sequence[str]) -> dict[str, tuple[FloatArray, FloatArray]]:
        p_values[key] = mcnemar_exact([old[i].correct for i in members], [new[i].correct for i in members])[2]
        return paired_draws([old[i] for i in members], [new[i] for i in members], champion.grades or (), metrics,
                            n_resamples=policy.n_resamples, seed=policy.seed)

    draws = paired("accuracy", ids, [m for m in HIGHER_IS_BETTER if _finite(champion.overall.get(m))
                         and _finite(challenger.overall.get(m))]) if ids else {}
    for metric, higher in HIGHER_IS_BETTER.items():
        a, b = champion.overall.get(metric), challenger.overall.get(metric)
        if metric == "qwk":  # a figure stored before QWK was undefined on one true grade is undefined now
            a, recomputed = _champion_qwk(champion, challenger)
            if recomputed:
                judge.notes.append(recomputed)
                continue
        if a is None or not np.isfinite(a):  # the champion has no figure: nothing to compare with
            if metric in champion.overall:  # undefined (NaN, stored as null), not merely not computed
                why = f" ({_UNDEFINED[metric]})" if metric in _UNDEFINED else ""
                judge.notes.append(f"{metric}: undefined on this golden set for the champion{why}; not compared")
            continue
        if b is None or not np.isfinite(b):  # NaN (stored as null) from a broken model must not skip the gate
            judge.regressions.append(f"{metric} {b} vs champion {a:.4f}: the challenger has no finite figure")
            continue
        deltas[metric] = b - a
        tol = policy.tolerance.get(metric, 0.0)
        relative = metric.endswith("_cost")
        base = f"{metric} {b:.4f} vs champion {a:.4f} (tolerance {tol * abs(a) if relative else tol:.4g})"
        judge(metric, base, a, b, higher, tol, relative, draws.get(metric))
    for key, groups in challenger.subgroups.items():
        for value, m in groups.items():
            c = champion.subgroups.get(key, {}).get(value)
            if c is None or min(m.get("n", 0.0), c.get("n", 0.0)) < policy.min_subgroup_n:
                continue
            ours, theirs = m.get("accuracy"), c.get("accuracy")
            if theirs is None or not np.isfinite(theirs):
                continue
            if ours is None or not np.isfinite(ours):
                judge.regressions.append(f"accuracy on {key}={value} {ours} vs champion {theirs:.4f}: no finite figure")
                continue
            name = f"{key}={value}:accuracy"
            deltas[name] = ours - theirs
            members = [i for i in ids if old[i].groups.get(key) == value == new[i].groups.get(key)]
            if members and len(members) != int(min(m.get("n", 0.0), c.get("n", 0.0))):
                judge.notes.append(f"{name}: the interval pairs the {len(members)} assets both evaluations"
                                   " place in this subgroup")
            sub = paired(name, members, ["accuracy"])["accuracy"] if members else None
            judge(name, f"accuracy on {key}={value} {ours:.4f} vs champion {theirs:.4f}"
                        f" (tolerance {policy.subgroup_tolerance:g})",
                  theirs, ours, True, policy.subgroup_tolerance, False, sub)
    have = bool(judge.intervals)
    return Comparison(not judge.regressions, judge.regressions, deltas, policy.gate, judge.intervals, p_values,
                      judge.disagreements, judge.notes, policy.confidence if have else None,
                      policy.n_resamples if have else 0, judge.undefined)

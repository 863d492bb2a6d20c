"""The decision policy: the minimum-expected-cost grade, and when to send an asset to human review.

The grade is the Bayes decision: the grade g minimising ``sum_t p(t) C[t, g]``. An asset goes
to review, with every reason written out, when

* its expected cost exceeds the cost of a review (Chow's reject rule with costs, Chow 1970), or
  an extra threshold chosen on calibration data (see :func:`select_threshold`);
* its conformal prediction set holds more than ``max_set_size`` grades, or none at all (an empty
  set says no grade is plausible at the set's coverage: the asset is unlike those the set was
  calibrated on);
* the chosen grade is not in its conformal prediction set (``review_outside_set``): the set says
  the true grade is one of its grades with the set's coverage, so accepting another would
  contradict it; this happens when the cost matrix is asymmetric enough (a cheap asset whose
  fixed dispute cost dwarfs its value is graded down past every grade of the set);
* modalities contradict each other.

The amounts a reason quotes are followed by the cost settings' ``currency`` when they name one
("expected cost 1,400 EUR of grading B is above the threshold 150 EUR ..."); without one the reasons
read as they always did.

:func:`select_threshold` picks the most permissive acceptance threshold whose error (or cost)
among accepted assets is bounded with confidence ``1 - delta`` by Learn-then-Test (Angelopoulos,
Bates, Candès, Jordan & Lei 2021, "Learn then Test: calibrating predictive algorithms to achieve
risk control"): each candidate threshold's null "risk among accepted > target" is tested with an
exact binomial p-value (0/1 error) or Hoeffding's bound (cost scaled to [0, 1]); the family-wise
error is controlled by Bonferroni over a small grid (default) or by fixed-sequence testing.
With ``eligible`` (the assets the policy's other review rules let through) each candidate's
accepted group is what the whole policy accepts, so the bound is about the deployed decisions
(docs/decision.md, "Certifying what the policy accepts", states what that assumes).
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy.stats import binom

from assetgrade.decision.costs import CostConfig, bayes_grades, cost_matrix, expected_costs
from assetgrade.errors import ValidationError

__all__ = ["Decision", "DecisionPolicy", "ThresholdChoice", "select_threshold"]

FloatArray = npt.NDArray[np.float64]
Action = Literal["accept", "review"]


@dataclass(frozen=True)
class Decision:
    """What to do with one asset, and why.

    Examples
    --------
    >>> d = Decision("B", 1, 120.0, (400.0, 120.0, 900.0, 2000.0), "accept", ("expected cost 120 <= 150",))
    >>> d.action
    'accept'
    """

    grade: str
    grade_index: int
    expected_cost: float
    expected_costs: tuple[float, ...]
    """Expected cost of choosing each grade."""
    action: Action
    reasons: tuple[str, ...]
    currency: str | None = None
    """What ``expected_cost`` and ``expected_costs`` are in: the cost settings' ``currency`` (None: unset)."""


@dataclass
class DecisionPolicy:
    """Bayes grade choice plus review rules.

    Parameters
    ----------
    costs : CostConfig
    max_set_size : int
        Review when the conformal set holds more grades than this (an empty set is always reviewed).
    review_on_contradiction : bool
    max_expected_cost : float or None
        Accept only at or below this expected cost (None: the config's ``review_cost``);
        :func:`select_threshold` can choose it on calibration data.
    review_outside_set : bool
        Review when the chosen (minimum-expected-cost) grade is not in the conformal set given to
        :meth:`decide`; False decides on cost alone, as before 2026-12.

    Examples
    --------
    >>> import numpy as np
    >>> pol = DecisionPolicy(CostConfig())
    >>> pol.decide(np.array([0.97, 0.03, 0.0, 0.0])).action
    'accept'
    >>> d = pol.decide(np.array([0.5, 0.5, 0.0, 0.0]))
    >>> d.action, d.reasons[0].startswith("expected cost")
    ('review', True)
    >>> cheap = pol.decide(np.array([0.0, 0.7, 0.3, 0.0]), conformal_set=["B"], value=200.0)
    >>> cheap.action, cheap.reasons
    ('review', ('the chosen grade C (lowest expected cost 35) is not in the prediction set {B}',))
    """

    costs: CostConfig = field(default_factory=CostConfig)
    max_set_size: int = 1
    review_on_contradiction: bool = True
    max_expected_cost: float | None = None
    review_outside_set: bool = True  # a policy pickled before it existed reads this class default

    def __post_init__(self) -> None:
        if not isinstance(self.costs, CostConfig):
            raise ValidationError(f"costs={self.costs!r} must be a CostConfig", where="DecisionPolicy.costs")
        size = self.max_set_size
        if isinstance(size, bool | np.bool_) or not isinstance(size, numbers.Integral) or int(size) < 1:
            raise ValidationError(f"max_set_size={size!r} must be an integer >= 1", where="DecisionPolicy.max_set_size")
        for name in ("review_on_contradiction", "review_outside_set"):
            if not isinstance(getattr(self, name), bool | np.bool_):
                raise ValidationError(f"{name}={getattr(self, name)!r} must be true or false",
                                      where=f"DecisionPolicy.{name}")
        thr = self.max_expected_cost
        if thr is not None and (isinstance(thr, bool | np.bool_) or not isinstance(thr, numbers.Real)
                                or np.isnan(thr)):
            # NaN compares false with every cost: every asset would be accepted
            raise ValidationError(f"max_expected_cost={thr!r} must be a number (-inf reviews every asset) or None "
                                  "(the review cost)", where="DecisionPolicy.max_expected_cost")

    def threshold(self) -> float:
        """The expected-cost threshold in force."""
        return self.costs.review_cost if self.max_expected_cost is None else self.max_expected_cost

    def currency(self) -> str | None:
        """The ``currency`` of the cost settings (None: unset, or costs pickled before the setting existed)."""
        return getattr(self.costs, "currency", None)

    def decide(
        self,
        proba: npt.ArrayLike,
        *,
        conformal_set: Sequence[str] | None = None,
        contradictions: Sequence[str] = (),
        value: float | None = None,
        quality_flags: Sequence[str] = (),
    ) -> Decision:
        """The decision for one asset from its grade distribution and what else is known about it."""
        p = np.asarray(proba, dtype=np.float64)
        k = len(self.costs.grades)
        if p.shape != (k,) or not np.all(np.isfinite(p)):
            raise ValidationError(f"expected {k} finite probabilities, got {p.tolist()}", where="proba")
        if p.min() < -1e-9:
            raise ValidationError(f"{p.tolist()} holds a negative probability; a grade distribution lies in [0, 1]",
                                  where="proba")
        if abs(p.sum() - 1.0) > 1e-4:
            raise ValidationError(f"{p.tolist()} sums to {p.sum():.4g}; a grade distribution sums to 1", where="proba")
        C = cost_matrix(self.costs, value)
        ec = expected_costs(p[None, :], C)[0]
        g = int(bayes_grades(ec)[0])  # equal expected costs: the worse grade
        best = float(ec.min())  # the tied grades' costs differ in rounding only; the threshold rule reads the least
        thr = self.threshold()
        grade = self.costs.grades[g]
        currency = self.currency()
        unit = f" {currency}" if currency else ""  # no currency: the reasons' text as before it existed
        reasons: list[str] = []
        review = False
        if best > thr:
            review = True
            reasons.append(
                f"expected cost {best:,.0f}{unit} of grading {grade} is above the threshold {thr:,.0f}{unit}"
                f" (P({grade}) = {p[g]:.2f})"
            )
        if conformal_set is not None and len(conformal_set) > self.max_set_size:
            review = True
            reasons.append(
                f"the {len(conformal_set)}-grade prediction set {{{', '.join(conformal_set)}}} "
                f"is larger than {self.max_set_size}"
            )
        if conformal_set is not None and len(conformal_set) == 0:
            # not a cost trade-off (so not switched off with review_outside_set): no grade passed the
            # conformal threshold, which calibration assets seldom do
            review = True
            reasons.append("the prediction set is empty: no grade is plausible at the set's coverage, "
                           "so the asset is unlike the assets the set was calibrated on")
        elif conformal_set is not None and self.review_outside_set and grade not in conformal_set:
            review = True
            reasons.append(
                f"the chosen grade {grade} (lowest expected cost {best:,.0f}{unit}) is not in the prediction set "
                f"{{{', '.join(conformal_set)}}}"
            )
        if self.review_on_contradiction and contradictions:
            review = True
            reasons += [f"contradiction: {c}" for c in contradictions]
        if quality_flags:
            reasons += [f"data quality: {q}" for q in quality_flags]
        if not review:
            reasons.insert(
                0,
                f"grade {grade} has the lowest expected cost {best:,.0f}{unit} <= threshold {thr:,.0f}{unit}"
                f" (P({grade}) = {p[g]:.2f})",
            )
        return Decision(
            grade=grade,
            grade_index=g,
            expected_cost=best,
            expected_costs=tuple(float(x) for x in ec),
            action="review" if review else "accept",
            reasons=tuple(reasons),
            currency=currency,
        )

    def decide_all(
        self,
        proba: npt.ArrayLike,
        *,
        conformal_sets: Sequence[Sequence[str]] | None = None,
        contradictions: Sequence[Sequence[str]] | None = None,
        values: Sequence[float | None] | None = None,
    ) -> list[Decision]:
        """Decisions for a batch (rows of ``proba``)."""
        P = np.asarray(proba, dtype=np.float64)
        if P.ndim != 2:
            raise ValidationError(f"expected an (assets, grades) matrix, got shape {P.shape}", where="proba")
        for name, given in (("conformal_sets", conformal_sets), ("contradictions", contradictions),
                            ("values", values)):
            if given is not None and len(given) != len(P):
                raise ValidationError(f"{len(given)} entries for {len(P)} assets", where=name)
        out = []
        for i in range(len(P)):
            out.append(
                self.decide(
                    P[i],
                    conformal_set=None if conformal_sets is None else conformal_sets[i],
                    contradictions=() if contradictions is None else contradictions[i],
                    value=None if values is None else values[i],
                )
            )
        return out


@dataclass(frozen=True)
class ThresholdChoice:
    """The outcome of :func:`select_threshold`.

    Examples
    --------
    >>> ThresholdChoice(120.0, 0.8, 0.01, 0.02, 0.1, 1000, "error").accept_rate
    0.8
    """

    threshold: float
    """Accept assets whose score is at most this (-inf: accept none)."""
    accept_rate: float
    """Share of calibration assets accepted at the threshold."""
    risk: float
    """Empirical error (or mean cost) among the accepted calibration assets."""
    target: float
    delta: float
    n_calibration: int
    risk_kind: str
    procedure: str = "bonferroni"
    n_other_review: int = 0
    """Calibration assets that another review rule sends to review whatever their score (``eligible``
    False): never accepted at any threshold, they count in ``accept_rate``'s denominator only."""


def _p_value(risk_hat: float, n: int, target: float, kind: str, errors: int) -> float:
    if n == 0:
        return 1.0
    if kind == "error":
        return float(binom.cdf(errors, n, target))
    return float(np.exp(-2.0 * n * max(target - risk_hat, 0.0) ** 2))


def _as_eligible(eligible: npt.ArrayLike | None, n: int) -> npt.NDArray[np.bool_]:
    """``eligible`` as a boolean mask of ``n`` assets (None: every asset)."""
    if eligible is None:
        return np.ones(n, dtype=bool)
    e = np.asarray(eligible)
    if e.shape != (n,):
        raise ValidationError(f"eligible has shape {e.shape}; expected one entry per score, ({n},)", where="eligible")
    if e.dtype != np.bool_:
        if not (np.issubdtype(e.dtype, np.number) and np.all(np.isin(e, (0, 1)))):
            raise ValidationError(f"eligible must hold true/false per asset, got dtype {e.dtype}", where="eligible")
        e = e.astype(bool)
    return e


def _check_selection(s: FloatArray, loss: FloatArray, *, target: float, delta: float, kind: str, procedure: str,
                     n_grid: int, loss_max: float | None, min_accept: int | None,
                     grid: Sequence[float] | None) -> None:
    """:func:`select_threshold`'s arguments, each named with what it allows."""

    def real(x: object) -> bool:
        return isinstance(x, numbers.Real) and not isinstance(x, bool | np.bool_) and bool(np.isfinite(float(x)))

    if kind not in ("error", "cost"):
        raise ValidationError(f"kind={kind!r}; allowed: 'error', 'cost'", where="kind")
    if procedure not in ("bonferroni", "fixed_sequence"):
        raise ValidationError(f"procedure={procedure!r}; allowed: 'bonferroni', 'fixed_sequence'", where="procedure")
    if not real(delta) or not 0 < delta < 1:
        raise ValidationError(f"delta={delta!r} must be in (0, 1)", where="delta")
    if not real(target) or target < 0 or (kind == "error" and target > 1):
        allowed = "an error rate in [0, 1]" if kind == "error" else "a finite cost >= 0"
        raise ValidationError(f"target={target!r} must be {allowed}", where="target")
    if isinstance(n_grid, bool) or not isinstance(n_grid, numbers.Integral) or n_grid < 1:
        raise ValidationError(f"n_grid={n_grid!r} must be an integer >= 1", where="n_grid")
    if min_accept is not None and (isinstance(min_accept, bool) or not isinstance(min_accept, numbers.Integral)
                                   or min_accept < 0):
        raise ValidationError(f"min_accept={min_accept!r} must be an integer >= 0 or None", where="min_accept")
    for name, arr in (("scores", s), ("losses", loss)):
        if not np.all(np.isfinite(arr)):
            i = int(np.flatnonzero(~np.isfinite(arr))[0])
            raise ValidationError(f"item {i} is {arr[i]}; {name} must be finite numbers", where=name)
    if grid is not None and not all(real(t) for t in grid):
        raise ValidationError(f"grid={list(grid)!r} must hold finite numbers", where="grid")
    if kind == "error" and not np.all(np.isin(loss, (0.0, 1.0))):
        raise ValidationError("kind='error' needs 0/1 losses", where="losses")
    if kind == "cost":
        if loss.size and loss.min() < 0:
            raise ValidationError(f"item {int(loss.argmin())} has cost {loss.min()}; costs must be >= 0",
                                  where="losses")
        if loss_max is not None:
            if not real(loss_max) or loss_max <= 0:
                raise ValidationError(f"loss_max={loss_max!r} must be a finite number > 0", where="loss_max")
            if loss.size and loss.max() > loss_max:
                # Hoeffding's bound holds for losses in [0, loss_max] only
                raise ValidationError(f"item {int(loss.argmax())} has cost {loss.max()} > loss_max={loss_max}",
                                      where="losses")


def select_threshold(
    scores: npt.ArrayLike,
    losses: npt.ArrayLike,
    *,
    target: float = 0.02,
    delta: float = 0.1,
    kind: Literal["error", "cost"] = "error",
    procedure: Literal["bonferroni", "fixed_sequence"] = "bonferroni",
    n_grid: int = 20,
    loss_max: float | None = None,
    min_accept: int | None = None,
    grid: Sequence[float] | None = None,
    eligible: npt.ArrayLike | None = None,
) -> ThresholdChoice:
    """The loosest threshold on ``scores`` (accept when score <= threshold) with risk <= target w.p. 1-delta.

    Parameters
    ----------
    scores
        Per calibration asset, lower = more confident (e.g. expected cost of the Bayes grade, or
        1 - top probability).
    losses
        Per asset: 1/0 misgraded (``kind="error"``) or the cost incurred (``kind="cost"``).
    target
        The risk bound among accepted assets (an error rate, or a mean cost in money).
    delta
        Allowed probability that the bound fails.
    procedure
        ``"bonferroni"`` (default): test ``n_grid`` candidates (accepting 1/n_grid, 2/n_grid ...
        of the calibration assets, or ``grid``) each at level ``delta / n_grid`` and keep the
        loosest rejected one; robust to a bad stretch among the most confident assets.
        ``"fixed_sequence"``: test every distinct score from the strictest, each at level
        ``delta``, and stop at the first not rejected (more power when risk grows smoothly).
        Both are Learn-then-Test family-wise error controls (Angelopoulos et al. 2021).
    loss_max
        Upper bound of a cost loss, to scale it to [0, 1] for Hoeffding (default: the max seen).
    min_accept
        Candidates accepting fewer assets are skipped. Default: the smallest count at which zero
        loss could reject at the per-test level: ``ceil(log(level) / log(1 - target))`` for
        errors (114 for 2% at level 0.1), ``ceil(log(1/level) / (2 target^2))`` for costs; a test
        with less data can never reject (and would end a fixed sequence at once).
    grid
        Candidate thresholds fixed before seeing the calibration data (strictly valid);
        by default they come from the calibration scores (the usual practical choice).
    eligible
        Per asset, whether the policy's other review rules (conformal set size, contradictions,
        data-quality flags ...) let it be accepted at all (default: every asset). Each candidate's
        accepted group is then the eligible assets with score <= threshold, the group the deployed
        policy accepts, and its risk is what is tested; the candidates, the grid steps and
        ``min_accept`` count eligible assets, ``accept_rate`` is over all of them. The guarantee
        needs the other rules to be fixed functions of an asset, not fitted on these calibration
        assets (see docs/decision.md).

    Examples
    --------
    >>> import numpy as np
    >>> scores, losses = np.arange(400.0), np.zeros(400)
    >>> every_other = np.arange(400) % 2 == 1  # the even ones go to review for another rule
    >>> ch = select_threshold(scores, losses, eligible=every_other, procedure="fixed_sequence")
    >>> ch.threshold, ch.accept_rate, ch.n_other_review
    (399.0, 0.5, 200)
    """
    s = np.asarray(scores, dtype=np.float64)
    loss = np.asarray(losses, dtype=np.float64)
    if s.shape != loss.shape or s.ndim != 1:
        raise ValidationError(f"scores {s.shape} and losses {loss.shape} must be equal 1-D", where="select_threshold")
    elig = _as_eligible(eligible, len(s))
    _check_selection(s, loss, target=target, delta=delta, kind=kind, procedure=procedure, n_grid=n_grid,
                     loss_max=loss_max, min_accept=min_accept, grid=grid)
    n_all = len(s)
    s, loss = s[elig], loss[elig]  # assets another rule reviews are never accepted: not in any candidate's group
    n = len(s)
    order = np.argsort(s, kind="stable")
    s_sorted, l_sorted = s[order], loss[order]
    scale = 1.0
    if kind == "cost":
        scale = float(loss_max if loss_max is not None else (l_sorted.max() if n else 1.0)) or 1.0
    t_scaled = target / scale
    cum = np.cumsum(l_sorted)
    # candidate (threshold, accepted count), strictest first
    if grid is not None:
        cands = [(float(t), int(np.searchsorted(s_sorted, t, side="right"))) for t in sorted(grid)]
    elif procedure == "bonferroni":
        cands = []
        for j in range(1, n_grid + 1):
            m = int(np.floor(j * n / n_grid))
            if m >= 1:
                m = int(np.searchsorted(s_sorted, s_sorted[m - 1], side="right"))  # whole ties
                cands.append((float(s_sorted[m - 1]), m))
    else:
        ends = np.flatnonzero(np.r_[s_sorted[1:] != s_sorted[:-1], True]) if n else np.array([], dtype=int)
        cands = [(float(s_sorted[e]), int(e) + 1) for e in ends]
    # one test per distinct hypothesis: grid steps inside a run of tied scores (or a repeated grid value)
    # give the same (threshold, accepted count), and Bonferroni need not spend delta on each copy
    cands = list(dict.fromkeys(cands))
    level = delta / max(len(cands), 1) if procedure == "bonferroni" else delta
    if min_accept is None:
        t01 = min(max(t_scaled, 1e-9), 1 - 1e-9)
        if kind == "error":
            min_accept = int(np.ceil(np.log(level) / np.log(1.0 - t01)))
        else:
            min_accept = int(np.ceil(np.log(1.0 / level) / (2.0 * t01**2)))
    best_thr, best_m = float("-inf"), 0
    for thr, m in cands:
        if m < max(min_accept, 1):
            continue
        r_hat = float(cum[m - 1] / m)
        p = _p_value(r_hat / scale, m, t_scaled, kind, round(cum[m - 1]))
        if p <= level:
            if m > best_m:
                best_thr, best_m = thr, m
        elif procedure == "fixed_sequence":
            break
    risk = float(cum[best_m - 1] / best_m) if best_m else float("nan")
    return ThresholdChoice(
        threshold=best_thr,
        accept_rate=best_m / n_all if n_all else 0.0,
        risk=risk,
        target=target,
        delta=delta,
        n_calibration=n_all,
        risk_kind=kind,
        procedure=procedure,
        n_other_review=n_all - n,
    )

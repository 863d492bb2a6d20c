"""Drift between a reference window and current batches: embeddings, feature blocks, grade mix, confidence, overrides.

Signals and their tests:

- embeddings: squared MMD with an RBF kernel (bandwidth by the median heuristic, fixed on the
  reference) and a permutation test (A. Gretton, K. Borgwardt, M. Rasch, B. Schölkopf,
  A. Smola, "A kernel two-sample test", JMLR 13, 2012), after standardising and PCA fitted on
  the reference; and a classifier two-sample test (held-out AUC of a linear probe;
  D. Lopez-Paz, M. Oquab, "Revisiting classifier two-sample tests", ICLR 2017);
- feature blocks: population stability index and the Kolmogorov-Smirnov D per feature;
- predicted-grade mix: PSI over grades and a chi-square test; confidence: PSI and KS;
- reviewer override rate: two-proportion z-test with Cohen's h as the effect size.

A signal fires only when its effect size passes a threshold AND its test is significant, so a
large unshifted sample (where every p-value is tiny) does not alarm. The MMD² threshold is
calibrated on reference self-splits: the reference is halved, batches of the monitored size
are drawn from one half and compared with the other, and a high quantile of those null
MMD² values is the threshold. ``DriftMonitor`` keeps per-station history and asks for
retraining after ``retrain_after`` alarms within the last ``window`` batches of a station.

The tests and effect sizes themselves live in :mod:`assetgrade.audit.drift_stats`; their names
are importable from here as before.
"""

from __future__ import annotations

import math
from collections import defaultdict, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, model_validator

from assetgrade.audit.drift_stats import (
    _mmd2_from_masks,
    _rbf,
    classifier_two_sample_test,
    grade_mix_test,
    ks_test,
    median_bandwidth,
    mmd_permutation_test,
    psi,
    two_proportion_test,
)
from assetgrade.config import YesNo
from assetgrade.errors import ValidationError

__all__ = [
    "DriftBatch",
    "DriftDecision",
    "DriftMonitor",
    "DriftPolicy",
    "DriftSignal",
    "classifier_two_sample_test",
    "grade_mix_test",
    "ks_test",
    "median_bandwidth",
    "mmd_permutation_test",
    "psi",
    "two_proportion_test",
]

F = npt.NDArray[np.float64]


class DriftPolicy(BaseModel):
    """Drift thresholds (effect size AND significance); a pydantic model so a YAML config can set it.

    A key it does not have is refused by name (a misspelt ``alpah`` would otherwise leave alpha at its
    default without a word), and each threshold must be one its effect size can cross: PSI above 0,
    a KS D in (0, 1), Cohen's h in (0, pi). Values are read strictly, as the rest of ``assetgrade.yaml``
    is: a number setting takes a number (``window: true`` is not a window of 1, nor ``"0.05"`` an alpha)
    and ``classifier_test`` true or false, or the words yes / no (the text ``"false"`` and ``1`` are refused).

    Examples
    --------
    >>> DriftPolicy(alpha=0.05, n_permutations=100).alpha
    0.05
    """

    # strict, as the rest of assetgrade.yaml: a YAML `true` was a window of 1 (see the docstring)
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)

    alpha: float = Field(0.01, gt=0, lt=1, description="significance level of every test (Bonferroni within a block)")
    mmd_quantile: float = Field(0.99, gt=0.5, lt=1, description="quantile of reference self-split MMD² = threshold")
    calibration_splits: int = Field(100, ge=10)
    n_permutations: int = Field(200, ge=20)
    pca_components: int = Field(32, ge=1)
    max_reference: int = Field(1000, ge=20, description="reference rows kept for the MMD comparison")
    classifier_test: YesNo = True
    c2st_min_auc: float = Field(0.6, gt=0.5, le=1)
    psi_threshold: float = Field(0.2, gt=0, description="PSI (feature blocks, grade mix, confidence)")
    ks_threshold: float = Field(0.1, gt=0, lt=1, description="Kolmogorov-Smirnov D (feature blocks, confidence)")
    override_min_h: float = Field(0.2, gt=0, lt=math.pi, description="Cohen's h on the reviewer override rate")
    retrain_after: int = Field(2, ge=1, description="alarms within the last `window` batches that ask for retraining")
    window: int = Field(3, ge=1)

    @model_validator(mode="after")
    def _enough_permutations(self) -> DriftPolicy:
        # the smallest permutation p-value is 1/(n+1): it must be able to fall well below alpha
        if (self.n_permutations + 1) * self.alpha < 2:
            raise ValueError(
                f"n_permutations={self.n_permutations} cannot reach p < alpha={self.alpha}; "
                f"use at least {int(np.ceil(2 / self.alpha)) - 1}"
            )
        return self

    @model_validator(mode="after")
    def _retrain_can_fire(self) -> DriftPolicy:
        # the history holds the last `window` verdicts: more alarms than that can never be counted
        if self.retrain_after > self.window:
            raise ValueError(
                f"retrain_after={self.retrain_after} is more than window={self.window}: at most {self.window}"
                f" alarms fit in the window, so retraining could never be asked for; use retrain_after <= window"
            )
        return self


@dataclass
class DriftBatch:
    """One window of data from a station; any field may be None when that signal is not monitored.

    Examples
    --------
    >>> DriftBatch(embeddings=np.zeros((4, 2)), station_id="s1").n
    4
    """

    embeddings: F | None = None
    features: F | None = None
    feature_names: Sequence[str] = ()
    grades: Sequence[str] | None = None
    confidence: F | None = None
    overrides: npt.NDArray[np.bool_] | None = None
    station_id: str = "default"

    @property
    def n(self) -> int:
        """Rows in the batch (of the first signal present)."""
        for v in (self.embeddings, self.features, self.grades, self.confidence, self.overrides):
            if v is not None:
                return len(v)
        return 0


@dataclass
class DriftSignal:
    """One signal's verdict: its effect size against a threshold and its p-value against alpha."""

    signal: str
    effect: float
    threshold: float
    p_value: float
    fired: bool
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class DriftDecision:
    """The verdict on one batch: the signals, whether any fired (alarm), and whether to retrain."""

    station_id: str
    batch_index: int
    signals: list[DriftSignal]
    alarm: bool
    retrain: bool
    notes: list[str] = field(default_factory=list)
    """Signals of this batch that could not be tested, and why (e.g. embeddings of another size)."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "station_id": self.station_id,
            "batch_index": self.batch_index,
            "alarm": self.alarm,
            "retrain": self.retrain,
            "signals": [s.__dict__ for s in self.signals],
            "notes": list(self.notes),
        }


class DriftMonitor:
    """Reference vs current drift with calibrated thresholds, per station, with a retraining trigger.

    ``fit(reference, batch_size)`` learns the embedding projection, the kernel bandwidth and the
    MMD² threshold (from reference self-splits at ``batch_size``); ``update(batch)`` tests a
    batch, records it in its station's history and returns a ``DriftDecision``.

    Examples
    --------
    >>> g = np.random.default_rng(0)
    >>> mon = DriftMonitor(DriftPolicy(calibration_splits=20, classifier_test=False))
    >>> mon = mon.fit(DriftBatch(embeddings=g.normal(size=(400, 5))), batch_size=100)
    >>> mon.update(DriftBatch(embeddings=g.normal(size=(100, 5)) + 1.0)).alarm
    True
    """

    def __init__(self, policy: DriftPolicy | None = None, *, seed: int = 0) -> None:
        self.policy = policy or DriftPolicy()
        self.seed = seed
        self._history: dict[str, deque[bool]] = defaultdict(lambda: deque(maxlen=self.policy.window))
        self._counts: dict[str, int] = defaultdict(int)

    def _project(self, e: F) -> F:
        z = (e - self.mean_) / self.scale_
        return z @ self.components_.T  # type: ignore[no-any-return]

    def fit(self, reference: DriftBatch, *, batch_size: int) -> DriftMonitor:
        """Learn the reference statistics and calibrate the MMD² threshold for batches of ``batch_size``."""
        pol, rng = self.policy, np.random.default_rng(self.seed)
        self.reference_ = reference
        self.batch_size_ = batch_size
        self.fit_notes_: list[str] = []  # what fitting left out; told once, in the next decision's notes
        if reference.embeddings is not None:
            e = np.asarray(reference.embeddings, np.float64)
            if e.ndim != 2:
                raise ValidationError(f"reference embeddings of shape {e.shape}; expected (rows, size)",
                                      where="drift")
            finite = np.isfinite(e).all(axis=1)
            if not finite.all():
                bad = np.flatnonzero(~finite)
                self.fit_notes_.append(
                    f"reference: {len(bad)} of {len(e)} embedding rows with non-finite values left out"
                    f" (rows {', '.join(map(str, bad[:10].tolist()))}{', ...' if len(bad) > 10 else ''})")
                e = e[finite]
            if len(e) < batch_size + 4:
                raise ValidationError(f"reference has {len(e)} usable embedding rows; need well over {batch_size}",
                                      where="drift")
            self.mean_ = e.mean(0)
            self.scale_ = np.where(e.std(0) > 1e-9, e.std(0), 1.0)
            z = (e - self.mean_) / self.scale_
            k = min(pol.pca_components, z.shape[1], len(z) - 1)
            _, _, vt = np.linalg.svd(z - z.mean(0), full_matrices=False)
            self.components_ = vt[:k]
            proj = z @ self.components_.T
            order = rng.permutation(len(proj))
            half = len(proj) // 2
            core, hold = proj[order[:half]], proj[order[half:]]
            if len(core) > pol.max_reference:
                core = core[: pol.max_reference]
            b = max(2, min(batch_size, len(hold)))  # MMD needs 2+ rows a side
            self.core_ = core
            self.bandwidth_ = median_bandwidth(core, seed=self.seed)
            # null MMD² at this batch size: batches drawn from the held-out half vs the core half
            null = []
            for _ in range(pol.calibration_splits):
                batch = hold[rng.choice(len(hold), b, replace=False)]
                k_mat = _rbf(np.vstack([core, batch]), self.bandwidth_)
                mask = np.r_[np.ones(len(core), bool), np.zeros(b, bool)]
                null.append(float(_mmd2_from_masks(k_mat, mask[None, :])[0]))
            self.mmd_null_ = np.array(null)
            self.mmd_threshold_ = float(np.quantile(self.mmd_null_, pol.mmd_quantile))
        return self

    def check(self, batch: DriftBatch) -> list[DriftSignal]:
        """Test one batch against the reference (no history is recorded); untestable signals are left out."""
        return self._check(batch)[0]

    def _embedding_problem(self, emb: F) -> str | None:
        dim = len(self.mean_)
        if emb.ndim != 2 or emb.shape[1] != dim:
            return (f"embeddings of size {emb.shape[1] if emb.ndim == 2 else emb.shape}, the reference's are {dim};"
                    " embedding tests skipped")
        need = 5 if self.policy.classifier_test else 2  # C2ST: a stratified half split; MMD: 2 rows
        if len(emb) < need:
            return f"{len(emb)} embedding row(s), the embedding tests need at least {need}; skipped"
        if not np.isfinite(emb).all():
            return "embeddings with non-finite values; embedding tests skipped"
        return None

    def _check(self, batch: DriftBatch) -> tuple[list[DriftSignal], list[str]]:
        if not hasattr(self, "reference_"):  # check and update alike: no reference, nothing to compare with
            raise ValidationError("DriftMonitor.check/update before fit: fit it on a reference batch first",
                                  where="drift")
        pol, ref = self.policy, self.reference_
        out: list[DriftSignal] = []
        notes: list[str] = [  # a signal the reference lacks cannot be tested: said, not skipped without a word
            f"the batch has {what} but the reference has none; {test} not run (fit on a reference that has them)"
            for attr, what, test in (("embeddings", "embeddings", "embedding tests"),
                                     ("features", "a feature block", "feature test"),
                                     ("grades", "grades", "grade-mix test"),
                                     ("confidence", "confidences", "confidence test"),
                                     ("overrides", "override flags", "override-rate test"))
            if getattr(batch, attr) is not None and getattr(ref, attr) is None]
        emb = None if batch.embeddings is None else np.asarray(batch.embeddings, np.float64)
        if emb is not None and ref.embeddings is not None and (problem := self._embedding_problem(emb)) is not None:
            notes.append(problem)
            emb = None
        if emb is not None and ref.embeddings is not None:
            cur = self._project(emb)
            m2, p, _ = mmd_permutation_test(
                self.core_, cur, bandwidth=self.bandwidth_, n_permutations=pol.n_permutations, seed=self.seed
            )
            out.append(DriftSignal("embedding_mmd2", m2, self.mmd_threshold_, p,
                                   m2 > self.mmd_threshold_ and p < pol.alpha))
            if pol.classifier_test:
                a, p2 = classifier_two_sample_test(self.core_, cur, seed=self.seed)
                out.append(DriftSignal("embedding_c2st_auc", a, pol.c2st_min_auc, p2,
                                       a > pol.c2st_min_auc and p2 < pol.alpha))
        if batch.features is not None and ref.features is not None and (
                np.ndim(batch.features) != 2 or np.shape(batch.features)[1] != np.shape(ref.features)[1]):
            notes.append(f"feature block of shape {np.shape(batch.features)}, the reference has"
                         f" {np.shape(ref.features)[1]} columns; feature test skipped")
        elif batch.features is not None and ref.features is not None:
            rf, cf = np.asarray(ref.features, np.float64), np.asarray(batch.features, np.float64)
            names = list(batch.feature_names)
            if len(names) != cf.shape[1]:
                if names:
                    notes.append(f"{len(names)} feature names for {cf.shape[1]} columns; columns named by position")
                names = [f"f{j}" for j in range(cf.shape[1])]
            alpha = pol.alpha / max(1, cf.shape[1])
            fired, worst = [], (0.0, 1.0, "")
            for j, nm in enumerate(names):
                d, p = ks_test(rf[:, j], cf[:, j])
                s = psi(rf[:, j], cf[:, j])
                if (s > pol.psi_threshold or d > pol.ks_threshold) and p < alpha:
                    fired.append({"feature": nm, "psi": s, "ks": d, "p": p})
                if d > worst[0]:
                    worst = (d, p, nm)
            out.append(DriftSignal("feature_ks", worst[0], pol.ks_threshold, worst[1], bool(fired),
                                   {"worst_feature": worst[2], "fired": fired[:20], "n_fired": len(fired)}))
        if batch.grades is not None and ref.grades is not None:
            if not len(batch.grades) or not len(ref.grades):
                notes.append(f"no grades in the {'batch' if not len(batch.grades) else 'reference'};"
                             " grade-mix test skipped")
            else:
                s, p, r_counts, c_counts = grade_mix_test(ref.grades, batch.grades, n_resamples=pol.n_permutations,
                                                          seed=self.seed)
                out.append(DriftSignal("grade_mix_psi", s, pol.psi_threshold, p,
                                       s > pol.psi_threshold and p < pol.alpha,
                                       {"reference": r_counts, "current": c_counts}))
        if batch.confidence is not None and ref.confidence is not None:
            d, p = ks_test(ref.confidence, batch.confidence)
            s = psi(ref.confidence, batch.confidence)
            out.append(DriftSignal("confidence_ks", d, pol.ks_threshold, p,
                                   (d > pol.ks_threshold or s > pol.psi_threshold) and p < pol.alpha, {"psi": s}))
        if batch.overrides is not None and ref.overrides is not None:
            ro, co = np.asarray(ref.overrides, bool), np.asarray(batch.overrides, bool)
            diff, h, p = two_proportion_test(int(ro.sum()), len(ro), int(co.sum()), len(co))
            out.append(DriftSignal("override_rate_h", abs(h), pol.override_min_h, p,
                                   abs(h) > pol.override_min_h and p < pol.alpha, {"rate_change": diff}))
        return out, notes

    def update(self, batch: DriftBatch) -> DriftDecision:
        """Test ``batch``, append the verdict to its station's history, and say whether to retrain."""
        signals, notes = self._check(batch)
        if getattr(self, "fit_notes_", None):
            notes = [*self.fit_notes_, *notes]
            self.fit_notes_ = []
        alarm = any(s.fired for s in signals)
        st = batch.station_id
        hist = self._history[st]
        hist.append(alarm)
        self._counts[st] += 1
        retrain = sum(hist) >= self.policy.retrain_after
        if retrain:
            hist.clear()
        return DriftDecision(st, self._counts[st], signals, alarm, retrain, notes)

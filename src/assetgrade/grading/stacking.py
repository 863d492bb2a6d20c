"""Second level of the Grader's training: fusion, calibration and conformal sets, all out-of-fold.

Given the per-modality out-of-fold blocks, :func:`fit_stack`

1. gets the fused out-of-fold distribution with grouped folds (a fuser per fold, trained with
   modality dropout; Neverova et al. 2016);
2. cross-fits temperature scaling (Guo et al. 2017) and isotonic calibration (Zadrozny & Elkan
   2002) on those out-of-fold distributions and keeps the one with the lower out-of-fold
   negative log-likelihood; the kept calibrator is then fitted on all of them;
3. fits split-conformal sets (LAC scores, Sadinle et al. 2019), Mondrian by asset type with a
   pooled fallback for small types (Vovk et al. 2005), on the cross-calibrated distributions,
   and measures their coverage out-of-fold as well;
4. fits the deployed fuser on all blocks.

So every number reported (accuracy, ECE, coverage, set size, cost) comes from assets the model
that produced it did not see.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from assetgrade.fusion import Fuser, IsotonicCalibrator, SplitConformal, TemperatureScaler, cross_val_proba
from assetgrade.fusion.calibration import negative_log_likelihood
from assetgrade.fusion.combine import grouped_folds
from assetgrade.modalities.base import EvidenceBlock

__all__ = ["StackFit", "fit_stack"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Calibrator = TemperatureScaler | IsotonicCalibrator


@dataclass
class StackFit:
    """The fitted fusion stack plus its out-of-fold outputs."""

    fuser: Fuser
    calibrator: Calibrator | None
    calibration: str
    """"temperature", "isotonic" or "none"."""
    conformal: SplitConformal
    oof_raw: FloatArray
    oof_proba: FloatArray
    """Cross-calibrated out-of-fold distributions."""
    oof_membership: npt.NDArray[np.bool_]
    """Out-of-fold conformal sets (conformal fitted on the other folds)."""
    nll: dict[str, float]

    def calibrate(self, raw: FloatArray) -> FloatArray:
        """Apply the kept calibrator."""
        return raw if self.calibrator is None else self.calibrator.transform(raw)


def _new_calibrator(kind: str) -> Calibrator:
    return TemperatureScaler(input="proba") if kind == "temperature" else IsotonicCalibrator()


def _cross_calibrate(raw: FloatArray, y: IntArray, folds: list[tuple[IntArray, IntArray]], kind: str) -> FloatArray:
    out = np.full_like(raw, np.nan)
    for tr, te in folds:
        out[te] = _new_calibrator(kind).fit(raw[tr], y[tr]).transform(raw[te])
    return out


def _conformal(alpha: float, grades: Sequence[str], min_group: int) -> SplitConformal:
    return SplitConformal(alpha=alpha, method="lac", min_group_size=min_group, grade_names=tuple(grades))


def fit_stack(
    blocks: Sequence[EvidenceBlock],
    y: IntArray,
    groups: Sequence[str],
    asset_types: Sequence[str] | None,
    *,
    grades: Sequence[str],
    make_fuser: Callable[[], Fuser],
    alpha: float,
    n_splits: int,
    seed: int,
    calibrations: Sequence[str] = ("temperature", "isotonic"),
    min_group_size: int = 30,
    held_out: tuple[Sequence[EvidenceBlock], IntArray, Sequence[str], Sequence[str] | None] | None = None,
) -> StackFit:
    """Fit fuser + calibrator + conformal on out-of-fold blocks (see the module docstring).

    ``held_out`` = (blocks, y, groups, asset types) of assets kept apart from training (their
    blocks made by the deployed extractors): then calibration and conformal are fitted on the
    deployed fuser's outputs for them (split conformal, Vovk et al. 2005), cross-fitted within
    that set for the reported figures, instead of on the training assets' out-of-fold outputs.
    """
    k = len(grades)
    fuser = make_fuser().fit(blocks, y, n_classes=k)
    if held_out is None:
        raw = cross_val_proba(make_fuser, blocks, y, groups, n_classes=k, n_splits=n_splits, seed=seed + 1)
        cy, cgroups, ctypes = y, list(groups), asset_types
    else:
        hb, cy, hg, ctypes = held_out
        raw = fuser.predict_proba(hb)
        cgroups = list(hg)
    return _calibrate(fuser, raw, cy, cgroups, ctypes, grades=grades, alpha=alpha, n_splits=n_splits, seed=seed,
                      calibrations=calibrations, min_group_size=min_group_size)


def _calibrate(
    fuser: Fuser, raw: FloatArray, y: IntArray, groups: Sequence[str], asset_types: Sequence[str] | None, *,
    grades: Sequence[str], alpha: float, n_splits: int, seed: int, calibrations: Sequence[str], min_group_size: int,
) -> StackFit:
    k = len(grades)
    cal_folds = grouped_folds(groups, n_splits, seed + 2)
    candidates: dict[str, FloatArray] = {"none": raw}
    for kind in calibrations:
        candidates[kind] = _cross_calibrate(raw, y, cal_folds, kind)
    nll = {kind: negative_log_likelihood(p, y) for kind, p in candidates.items()}
    best = min((c for c in candidates if c != "none"), key=lambda c: nll[c], default="none")
    if best != "none" and nll["none"] < nll[best]:
        best = "none"
    calibrator = None if best == "none" else _new_calibrator(best).fit(raw, y)
    proba = candidates[best]
    types = list(asset_types) if asset_types is not None else None
    conformal = _conformal(alpha, grades, min_group_size).fit(proba, y, groups=types)
    member = np.zeros((len(y), k), dtype=bool)
    for tr, te in grouped_folds(groups, n_splits, seed + 3):
        cp = _conformal(alpha, grades, min_group_size).fit(
            proba[tr], y[tr], groups=None if types is None else [types[i] for i in tr]
        )
        res = cp.predict(proba[te], groups=None if types is None else [types[i] for i in te])
        member[te] = res.membership
    return StackFit(fuser, calibrator, best, conformal, raw, proba, member, nll)

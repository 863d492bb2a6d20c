"""The fusion model's design matrix: learned fill, scaling and absent flags per modality, and modality dropout.

Each modality contributes its out-of-fold ``grade_proba`` (when it has one), its feature block
and an explicit ``absent`` indicator. Missing values are filled with a fill learned in ``fit``
(the column mean over rows where the modality is present) and the indicator is set: absent is
never a silent zero. Training uses *modality dropout*: extra copies of the training rows in
which each modality is blanked at random (features → NaN → learned fill, indicator → 1), so
the model learns what to do when a modality is missing at prediction time (Neverova et al.
2016, "ModDrop: adaptive multi-modal gesture recognition", IEEE TPAMI).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

from assetgrade.errors import ValidationError
from assetgrade.modalities.base import EvidenceBlock

__all__ = ["design_matrix", "fit_scaling", "modality_dropout", "raw_columns"]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


def raw_columns(b: EvidenceBlock, widths: tuple[int, int], n_classes: int) -> FloatArray:
    """The block's raw columns: grade_proba (if ``widths`` has it) then features; NaN where absent.

    ``widths``: (distribution columns, feature columns) as fitted; a non-finite cell counts as unknown.
    """
    n_p, n_f = widths
    parts: list[FloatArray] = []
    if n_p:
        if b.grade_proba is None:
            parts.append(np.full((len(b.asset_ids), n_p), np.nan))
        else:
            gp = np.asarray(b.grade_proba, dtype=np.float64)
            if gp.shape[1] != n_classes:
                raise ValidationError(
                    f"grade_proba has {gp.shape[1]} columns, expected {n_classes}",
                    where=f"EvidenceBlock[{b.modality}].grade_proba",
                )
            # the latent model refused these; the logistic one stacked them as if they were readings
            bad = np.flatnonzero(np.asarray(b.present, dtype=bool) & np.isfinite(gp).all(axis=1) & (gp < 0).any(axis=1))
            if len(bad):
                i = int(bad[0])
                raise ValidationError(f"asset {b.asset_ids[i]!r} has negative probabilities {gp[i].tolist()}",
                                      where=f"EvidenceBlock[{b.modality}].grade_proba")
            parts.append(gp)
    if n_f:
        f = np.asarray(b.features, dtype=np.float64)
        if f.shape[1] != n_f:
            raise ValidationError(
                f"{f.shape[1]} features, fitted with {n_f}", where=f"EvidenceBlock[{b.modality}].features"
            )
        parts.append(f)
    raw = np.concatenate(parts, axis=1) if parts else np.zeros((len(b.asset_ids), 0))
    raw[~np.isfinite(raw)] = np.nan  # an infinite cell is as unknown as a NaN one: both get the learned fill
    raw[~np.asarray(b.present, dtype=bool)] = np.nan
    return raw


def fit_scaling(raw: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(fill, mean, scale) of raw columns: the fill is the column mean over known cells (0 when none).

    >>> fill, mean, scale = fit_scaling(np.array([[1.0, np.nan], [3.0, np.nan]]))
    >>> fill.tolist(), mean.tolist(), scale.tolist()
    ([2.0, 0.0], [2.0, 0.0], [1.0, 1.0])
    """
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN column: nanmean warns, fill is 0
        fill = np.nanmean(raw, axis=0) if raw.shape[1] else np.zeros(0)
    fill = np.where(np.isfinite(fill), fill, 0.0)
    filled = np.where(np.isnan(raw), fill, raw)
    mean = filled.mean(axis=0) if len(filled) else np.zeros(raw.shape[1])
    sd = filled.std(axis=0) if len(filled) else np.ones(raw.shape[1])
    return fill, mean, np.where(sd > 1e-9, sd, 1.0)


def design_matrix(modalities: Sequence[str], raws: Mapping[str, FloatArray], absent: Mapping[str, BoolArray], *,
                  fill: Mapping[str, FloatArray], mean: Mapping[str, FloatArray],
                  scale: Mapping[str, FloatArray]) -> FloatArray:
    """Per modality in order: its columns filled where unknown and standardised, then its absent flag (0/1)."""
    cols: list[FloatArray] = []
    for m in modalities:
        r = raws[m].copy()
        nan = np.isnan(r)
        r[nan] = np.broadcast_to(fill[m], r.shape)[nan]
        r = (r - mean[m]) / scale[m]
        cols.append(r)
        cols.append(absent[m].astype(np.float64)[:, None])
    return np.concatenate(cols, axis=1)


def modality_dropout(
    modalities: Sequence[str], raws: Mapping[str, FloatArray], absent: Mapping[str, BoolArray], *, copies: int,
    rate: float, rng: np.random.Generator,
) -> tuple[dict[str, FloatArray], dict[str, BoolArray], int, dict[str, int]]:
    """The rows plus ``copies`` copies with each modality blanked with probability ``rate`` (never all of them).

    Returns the stacked raw columns and absent flags per modality, how many times the rows were
    repeated in all (``copies + 1``, or 1 when ``rate`` is 0) and, per modality, the rows that
    dropout blanked (rows already absent not counted).
    """
    n = len(absent[modalities[0]])
    all_raws = {m: [raws[m]] for m in modalities}
    all_abs = {m: [absent[m]] for m in modalities}
    dropped = {m: 0 for m in modalities}
    n_mod = len(modalities)
    repeats = 1
    for _ in range(copies if rate > 0 else 0):
        drop = rng.random((n, n_mod)) < rate
        keep_one = rng.integers(0, n_mod, size=n)
        all_dropped = drop.all(axis=1)
        drop[all_dropped, keep_one[all_dropped]] = False
        for j, m in enumerate(modalities):
            r = raws[m].copy()
            r[drop[:, j]] = np.nan
            a = absent[m] | drop[:, j]
            dropped[m] += int((drop[:, j] & ~absent[m]).sum())
            all_raws[m].append(r)
            all_abs[m].append(a)
        repeats += 1
    return ({m: np.concatenate(all_raws[m]) for m in modalities}, {m: np.concatenate(all_abs[m]) for m in modalities},
            repeats, dropped)

"""Grouped cross-validation folds, and one modality's out-of-fold evidence block built on them.

No group (an asset, or every asset sharing a source) is on both sides of a split, so stacking
(Wolpert 1992, "Stacked generalization") never trains the fusion model on evidence that saw an
asset's own label.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from assetgrade.errors import ValidationError
from assetgrade.modalities.base import EvidenceBlock, Extractor, fit_extractor
from assetgrade.store.records import AssetRecord

__all__ = ["cross_val_blocks", "grouped_folds", "take_rows"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def grouped_folds(groups: Sequence[str], n_splits: int, seed: int) -> list[tuple[IntArray, IntArray]]:
    """(train, test) index pairs where no group is on both sides (groups shuffled with ``seed``).

    >>> [te.tolist() for _, te in grouped_folds(["a", "a", "b", "c"], 3, seed=0)]
    [[3], [0, 1], [2]]
    """
    if isinstance(n_splits, bool) or not isinstance(n_splits, numbers.Integral) or n_splits < 2:
        raise ValidationError(f"n_splits={n_splits!r} must be an integer >= 2", where="n_splits")
    g = np.asarray([str(x) for x in groups])
    uniq = np.unique(g)
    if len(uniq) < n_splits:
        raise ValidationError(f"{len(g)} asset(s) in {len(uniq)} group(s) cannot make {n_splits} folds: grouped "
                              "cross-validation needs at least one group per fold (fewer folds, or more assets)",
                              where="groups")
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(uniq))
    fold_of = {uniq[j]: i % n_splits for i, j in enumerate(perm)}
    f = np.array([fold_of[x] for x in g])
    idx = np.arange(len(g))
    return [(idx[f != k], idx[f == k]) for k in range(n_splits)]


def take_rows(b: EvidenceBlock, idx: IntArray) -> EvidenceBlock:
    """The block restricted to the assets at positions ``idx`` (in that order), findings and flags included."""
    ids = [b.asset_ids[i] for i in idx]
    return EvidenceBlock(
        modality=b.modality,
        asset_ids=ids,
        feature_names=b.feature_names,
        features=b.features[idx],
        present=b.present[idx],
        findings={a: b.findings[a] for a in ids if a in b.findings},
        quality_flags={a: b.quality_flags[a] for a in ids if a in b.quality_flags},
        grade_proba=None if b.grade_proba is None else b.grade_proba[idx],
    )


def cross_val_blocks(
    make_extractor: Callable[[], Extractor],
    records: Sequence[AssetRecord],
    grades: Sequence[str | None],
    groups: Sequence[str],
    *,
    n_splits: int = 5,
    seed: int = 0,
) -> EvidenceBlock:
    """One modality's out-of-fold evidence: fit on the other folds, extract on the held-out one.

    The result lists the assets in the order of ``records``, so its ``grade_proba`` can be stacked
    by :class:`~assetgrade.fusion.Fuser` without leaking a record's own label into its evidence.
    """
    n = len(records)
    if len(grades) != n or len(groups) != n:
        raise ValidationError(f"{n} records, {len(grades)} grades, {len(groups)} groups", where="cross_val_blocks")
    parts: list[tuple[IntArray, EvidenceBlock]] = []
    for tr, te in grouped_folds(groups, n_splits, seed):
        ext = fit_extractor(make_extractor(), [records[i] for i in tr], [grades[i] for i in tr],
                            [groups[i] for i in tr])
        parts.append((te, ext.extract([records[i] for i in te])))
    first = parts[0][1]
    n_feat = len(first.feature_names)
    feats = np.full((n, n_feat), np.nan)
    present = np.zeros(n, dtype=bool)
    gp: FloatArray | None = None
    findings: dict[str, list[Any]] = {}
    flags: dict[str, list[str]] = {}
    for te, b in parts:
        if b.feature_names != first.feature_names:
            raise ValidationError("extractor gave different feature names across folds", where=b.modality)
        feats[te] = b.features
        present[te] = b.present
        if b.grade_proba is not None:
            if gp is None:
                gp = np.full((n, b.grade_proba.shape[1]), np.nan)
            gp[te] = b.grade_proba
        findings.update(b.findings)
        flags.update(b.quality_flags)
    return EvidenceBlock(
        modality=first.modality,
        asset_ids=[r.asset_id for r in records],
        feature_names=first.feature_names,
        features=feats,
        present=present,
        findings=findings,
        quality_flags=flags,
        grade_proba=gp,
    )

"""Split units of the benchmarks: assets linked by identical files, and a stratified holdout that keeps each whole."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

__all__ = ["holdout_by_unit", "linked_assets"]


def linked_assets(assets: Sequence[str], shas: Sequence[str]) -> npt.NDArray[np.str_]:
    """Per item, the first asset id of its connected set of assets, two assets linked when they hold
    identical files (same sha256): the unit a split must keep whole (the asset id itself where no
    file is shared).

    >>> linked_assets(["a", "a", "b", "c"], ["1", "2", "2", "3"]).tolist()
    ['a', 'a', 'a', 'c']
    """
    from assetgrade.grading.training import linked_units

    return np.asarray(linked_units(assets, shas))


def holdout_by_unit(
    y: npt.NDArray[np.int64], units: Sequence[str], test_size: float, seed: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Sorted train and test indices of a stratified, seeded holdout of whole units (each stratified by
    its first item's label). Where every item is its own unit this is exactly
    ``train_test_split(arange(n), test_size=test_size, stratify=y, random_state=seed)``.

    >>> tr, te = holdout_by_unit(np.array([0, 0, 0, 0, 1, 1, 1, 1]), list("aabbccdd"), 0.5, 0)
    >>> [len({"aabbccdd"[i] for i in tr} & {"aabbccdd"[i] for i in te}), len(te)]
    [0, 4]
    """
    from sklearn.model_selection import train_test_split

    u = np.asarray(units)
    names, first, inverse = np.unique(u, return_index=True, return_inverse=True)
    if len(names) == len(u):
        tr, te = train_test_split(np.arange(len(y)), test_size=test_size, stratify=y, random_state=seed)
        return np.sort(tr).astype(np.int64), np.sort(te).astype(np.int64)
    order = np.sort(first)  # units in the order their first item appears
    unit_of_first = {int(f): k for k, f in enumerate(order)}
    unit_index = np.array([unit_of_first[int(first[i])] for i in inverse])
    _, te_units = train_test_split(np.arange(len(order)), test_size=test_size, stratify=y[order],
                                   random_state=seed)
    is_test = np.isin(unit_index, te_units)
    return np.flatnonzero(~is_test).astype(np.int64), np.flatnonzero(is_test).astype(np.int64)

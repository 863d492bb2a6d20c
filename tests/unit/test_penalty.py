"""choose_penalty: grouped folds, the loss table, the fallbacks."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from assetgrade.modalities.penalty import MIN_ROWS, choose_penalty

GRID = (0.001, 0.01, 0.1, 1.0, 10.0)


def fitter(X: np.ndarray, y: np.ndarray, seen: list[tuple[np.ndarray, np.ndarray]] | None = None):
    def fit_predict(tr: np.ndarray, te: np.ndarray, C: float) -> np.ndarray:
        if seen is not None:
            seen.append((tr, te))
        model = LogisticRegression(C=C, max_iter=2000).fit(X[tr], y[tr])
        out = np.zeros((len(te), int(y.max()) + 1))
        out[:, model.classes_] = model.predict_proba(X[te])
        return out

    return fit_predict


def test_noise_features_choose_the_strongest_penalty_and_clean_data_a_weak_one() -> None:
    rng = np.random.default_rng(0)
    noise = rng.normal(size=(80, 60))
    y = rng.integers(0, 2, size=80)
    C, table = choose_penalty(fitter(noise, y), y, groups=np.arange(80), grid=GRID, fallback=1.0)
    assert C <= 0.01 and table[C] < 0.7 < table[1.0] < table[10.0]  # near the prior beats fitting noise
    x = rng.normal(size=(80, 2))
    y2 = (x[:, 0] > 0).astype(int)
    C2, table2 = choose_penalty(fitter(x, y2), y2, groups=np.arange(80), grid=GRID, fallback=1.0)
    assert C2 >= 1.0 and table2[C2] < 0.2 < table2[min(GRID)]


def test_a_group_never_falls_on_both_sides_and_the_groups_change_the_choice() -> None:
    """Rows repeated within a group reward memorising when folds ignore the groups."""
    rng = np.random.default_rng(1)
    n_groups, per = 24, 5
    centres = rng.normal(size=(n_groups, 40))
    X = np.repeat(centres, per, axis=0) + 0.01 * rng.normal(size=(n_groups * per, 40))
    y = np.repeat(rng.integers(0, 2, size=n_groups), per)  # the label says nothing across groups
    groups = np.repeat(np.arange(n_groups), per)
    seen: list[tuple[np.ndarray, np.ndarray]] = []
    C_grouped, _ = choose_penalty(fitter(X, y, seen), y, groups=groups, grid=GRID, fallback=1.0)
    for tr, te in seen:
        assert not set(groups[tr]) & set(groups[te])
    C_rows, _ = choose_penalty(fitter(X, y), y, groups=np.arange(len(y)), grid=GRID, fallback=1.0)
    assert C_grouped <= 0.01 and C_rows == max(GRID)


def test_too_little_data_falls_back_with_an_empty_table() -> None:
    rng = np.random.default_rng(2)
    X = rng.normal(size=(MIN_ROWS - 1, 3))
    y = np.arange(MIN_ROWS - 1) % 2
    assert choose_penalty(fitter(X, y), y, groups=np.arange(len(y)), grid=GRID, fallback=0.5) == (0.5, {})
    X = rng.normal(size=(40, 3))
    y = np.arange(40) % 2
    assert choose_penalty(fitter(X, y), y, groups=np.zeros(40), grid=GRID, fallback=0.5) == (0.5, {})
    assert choose_penalty(fitter(X, y), np.zeros(40, dtype=int), groups=np.arange(40), grid=GRID,
                          fallback=0.5) == (0.5, {})
    with pytest.raises(ValueError, match="groups"):
        choose_penalty(fitter(X, y), y, groups=np.arange(39), grid=GRID, fallback=0.5)


def test_fewer_groups_than_folds_gives_one_fold_per_group() -> None:
    """An out-of-fold fit that sees two of three groups measures too (same recipe as the full fit)."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(60, 3))
    y = (X[:, 0] > 0).astype(int)
    groups = np.arange(60) % 2
    seen: list[tuple[np.ndarray, np.ndarray]] = []
    C, table = choose_penalty(fitter(X, y, seen), y, groups=groups, grid=GRID, fallback=0.5)
    assert sorted(table) == sorted(GRID) and C in GRID
    assert len(seen) == 2 * len(GRID)
    for tr, te in seen:
        assert len(set(groups[tr])) == 1 and not set(groups[tr]) & set(groups[te])

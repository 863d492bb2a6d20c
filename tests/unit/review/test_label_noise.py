"""Confident learning finds planted label flips; the ordinal extension ranks far flips first."""

from __future__ import annotations

import numpy as np
import pytest

from assetgrade.errors import ValidationError
from assetgrade.review.label_noise import (
    confident_joint,
    find_label_issues,
    out_of_fold_probs,
    per_class_thresholds,
)


def _blobs(rng: np.random.Generator, k: int = 4, n: int = 400, sep: float = 6.0) -> tuple[np.ndarray, np.ndarray]:
    y = np.repeat(np.arange(k), n // k)
    centers = rng.normal(0, sep, size=(k, 5))
    return centers[y] + rng.normal(0, 1, size=(len(y), 5)), y


def _flip(y: np.ndarray, k: int, frac: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    flipped = np.zeros(len(y), bool)
    flipped[rng.choice(len(y), int(frac * len(y)), replace=False)] = True
    noisy = y.copy()
    noisy[flipped] = (y[flipped] + rng.integers(1, k, flipped.sum())) % k
    return noisy, flipped


def test_thresholds_and_confident_joint_by_hand() -> None:
    probs = np.array([[0.9, 0.1], [0.7, 0.3], [0.2, 0.8], [0.4, 0.6], [0.85, 0.15]])
    labels = [0, 0, 1, 1, 1]
    t = per_class_thresholds(labels, probs)
    assert t == pytest.approx([0.8, (0.8 + 0.6 + 0.15) / 3])
    c, conf = confident_joint(labels, probs)
    # item 1 (0.7 < 0.8, 0.3 < 0.517) is in no class; item 4 is confidently class 0
    assert conf.tolist() == [0, -1, 1, 1, 0]
    assert c.tolist() == [[1, 0], [1, 2]]


def test_finds_planted_flips_on_separable_data(rng: np.random.Generator) -> None:
    X, y = _blobs(rng)
    noisy, flipped = _flip(y, 4, 0.1, rng)
    probs = out_of_fold_probs(X, noisy, n_splits=5, seed=0)
    for method in ("prune_by_noise_rate", "prune_by_class", "both", "confident_joint"):
        res = find_label_issues(noisy, probs, method=method)  # type: ignore[arg-type]
        tp = (res.flags & flipped).sum()
        assert tp / res.flags.sum() >= 0.9, method
        assert tp / flipped.sum() >= 0.8, method
    res = find_label_issues(noisy, probs)
    assert res.noise_rate == pytest.approx(0.1, abs=0.03)
    caught = res.flags & flipped
    assert np.mean(res.suggested[caught] == y[caught]) >= 0.95
    top = res.issue_indices()[:20]
    assert flipped[top].all()


def test_in_sample_clean_data_flags_little(rng: np.random.Generator) -> None:
    X, y = _blobs(rng)
    probs = out_of_fold_probs(X, y, n_splits=5, seed=0)
    assert find_label_issues(y, probs).flags.sum() <= 4


def test_ordinal_ranks_two_step_flip_above_one_step() -> None:
    # two items with the same self-confidence (0.1): one labelled A but surely C, one labelled A but surely B
    rows = [[0.1, 0.0, 0.9, 0.0], [0.1, 0.9, 0.0, 0.0]] + [[0.9, 0.1, 0.0, 0.0]] * 8 + [[0.0, 0.1, 0.9, 0.0]] * 5
    probs = np.array(rows + [[0.0, 0.9, 0.1, 0.0]] * 5 + [[0.0, 0.0, 0.1, 0.9]] * 5)
    labels = np.array([0, 0] + [0] * 8 + [2] * 5 + [1] * 5 + [3] * 5)
    nominal = find_label_issues(labels, probs, ordinal=False)
    ordinal = find_label_issues(labels, probs, ordinal=True)
    assert nominal.scores[0] == pytest.approx(nominal.scores[1])  # nominal cannot tell them apart
    assert ordinal.scores[0] > ordinal.scores[1]
    assert ordinal.expected_distance[0] == pytest.approx(1.8) and ordinal.expected_distance[1] == pytest.approx(0.9)
    assert ordinal.flags[0] and ordinal.flags[1]
    assert ordinal.issue_indices()[:2].tolist() == [0, 1]
    assert ordinal.suggested[:2].tolist() == [2, 1]


def test_ordinal_suggestion_is_the_posterior_median() -> None:
    probs = np.array([[0.4, 0.0, 0.0, 0.6], [0.45, 0.1, 0.0, 0.45]] + [[0.9, 0.1, 0, 0], [0, 0, 0.1, 0.9]] * 3)
    res = find_label_issues([0, 0] + [0, 3] * 3, probs, ordinal=True)
    assert res.suggested[0] == 3 and res.suggested[1] == 1


def test_normalized_margin_ranking(rng: np.random.Generator) -> None:
    X, y = _blobs(rng)
    noisy, flipped = _flip(y, 4, 0.1, rng)
    probs = out_of_fold_probs(X, noisy, seed=1)
    res = find_label_issues(noisy, probs, rank_by="normalized_margin")
    assert ((res.scores >= 0) & (res.scores <= 1)).all()
    assert res.scores[flipped].mean() > res.scores[~flipped].mean() + 0.5


def test_out_of_fold_probs_respects_groups(rng: np.random.Generator) -> None:
    X, y = _blobs(rng, n=120)
    groups = [f"asset{i // 3}" for i in range(len(y))]
    probs = out_of_fold_probs(X, y, groups=groups, n_splits=3, seed=0)
    assert probs.shape == (120, 4)
    assert np.allclose(probs.sum(axis=1), 1.0)
    assert (probs.argmax(axis=1) == y).mean() > 0.95


def test_bad_input_names_the_row() -> None:
    with pytest.raises(ValidationError, match="labels row 1"):
        find_label_issues([0, 5], np.full((2, 2), 0.5))
    with pytest.raises(ValidationError, match="probs row 1"):
        find_label_issues([0, 1], np.array([[0.5, 0.5], [np.nan, 1.0]]))
    with pytest.raises(ValidationError, match="method"):
        find_label_issues([0, 1], np.full((2, 2), 0.5), method="nope")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("row", "said"),
    [
        ([0.0, 0.0, 0.0], "is all zero"),
        ([0.3, 0.3, 0.0], "sums to 0.6"),
        ([60.0, 30.0, 10.0], "sums to 100"),
        ([0.7, -0.1, 0.4], "non-negative"),
        ([np.nan, 0.5, 0.5], "finite"),
        ([np.inf, 0.0, 0.0], "finite"),
    ],
)
def test_a_probability_row_that_is_not_a_distribution_is_refused_naming_its_asset(row: list[float], said: str) -> None:
    # an all-zero or unnormalised row used to be accepted silently (all zero stayed zero, others were rescaled)
    probs = np.tile([0.8, 0.1, 0.1], (6, 1))
    probs[4] = row
    ids = [f"pump-{i}" for i in range(6)]
    with pytest.raises(ValidationError, match=said) as err:
        find_label_issues([0] * 6, probs, ids=ids)
    assert err.value.where == "probs row 4 (asset 'pump-4')"
    with pytest.raises(ValidationError, match="probs row 4"):
        find_label_issues([0] * 6, probs)


def test_rows_within_the_tolerance_of_one_are_rescaled() -> None:
    # probabilities rounded to two decimals (0.33 * 3 = 0.99) are still distributions
    probs = np.array([[0.33, 0.33, 0.33], [0.9, 0.05, 0.05], [0.05, 0.9, 0.05], [0.05, 0.05, 0.9]])
    res = find_label_issues([0, 0, 1, 2], probs)
    assert res.expected_distance[0] == pytest.approx(2 / 3)
    with pytest.raises(ValidationError, match="3 ids for 4 probability rows"):
        find_label_issues([0, 0, 1, 2], probs, ids=["a", "b", "c"])


def test_the_audit_check_leaves_out_rows_not_summing_to_one_by_item() -> None:
    import pandas as pd

    from assetgrade.audit.base import get_check
    from assetgrade.audit.data import AuditData

    n = 20
    probs = np.tile([0.9, 0.1], (n, 1))
    probs[1::2] = [0.1, 0.9]
    probs[6] = [0.3, 0.3]
    labels = ["A", "B"] * 10
    ids = [f"i{i}" for i in range(n)]
    table = pd.DataFrame({"item_id": ids, "asset_id": [f"a{i}" for i in range(n)], "label": labels})
    res = get_check("label_noise").run(AuditData(table, pred_probs=probs, classes=("A", "B")))
    assert res.info["not_scored"]["unusable_probabilities"] == {"item_ids": ["i6"], "n_items": 1}
    assert res.info["n_scored"] == 19


@pytest.mark.parametrize("method", ["prune_by_noise_rate", "prune_by_class", "both"])
def test_pruning_never_flags_every_item_of_a_tiny_label(method: str) -> None:
    """Label 0 has two items, one looking like grade 1 and one like grade 2: each (0, j) pair kept one item, but
    their union flagged both, emptying the label. Now the item of higher self-confidence stays."""
    y = np.array([0, 0, 1, 1, 1, 1, 2, 2, 2, 2])
    p = np.array([[0.15, 0.75, 0.1], [0.1, 0.1, 0.8]] + [[0.2, 0.6, 0.2]] * 4 + [[0.2, 0.2, 0.6]] * 4)
    c, _ = confident_joint(y, p)
    assert c[0].tolist() == [0, 1, 1]  # both items of label 0 are confidently something else
    res = find_label_issues(y, p, method=method)
    assert res.flags.tolist() == [False, True] + [False] * 8  # item 0 (p(0) = 0.15 > 0.1) is kept


def test_ordinal_grades_change_the_ranking_not_which_items_are_flagged() -> None:
    # docs/review.md: the grade distance orders the flagged items (expected distance) and picks the
    # suggested grade (posterior median); which items are flagged is the nominal rule's
    rng = np.random.default_rng(5)
    probs = rng.dirichlet(np.ones(4) * 0.6, size=300)
    labels = rng.integers(0, 4, size=300)
    for method in ("prune_by_noise_rate", "prune_by_class", "both", "confident_joint"):
        nominal = find_label_issues(labels, probs, method=method)  # type: ignore[arg-type]
        ordinal = find_label_issues(labels, probs, method=method, ordinal=True)  # type: ignore[arg-type]
        assert nominal.flags.sum() > 0
        assert np.array_equal(nominal.flags, ordinal.flags), method
        assert not np.array_equal(nominal.suggested, ordinal.suggested)


def test_an_item_exactly_at_its_class_threshold_counts_for_that_class() -> None:
    """Northcutt et al. 2021, eq. 1: p̂(j|x) >= t_j. t_1 = mean(0.6, 0.5, 0.8, 0.5) = 0.6 exactly, but the float mean
    is 0.6000000000000001, so items 1 and 2 (p̂(1|x) = 0.6, probabilities rounded to one decimal) counted for no
    class and the label-0 item that looks like class 1 was never flagged."""
    p = np.array([[1.0, 0.0], [0.4, 0.6], [0.4, 0.6], [0.5, 0.5], [1.0, 0.0], [0.2, 0.8], [0.5, 0.5]])
    y = np.array([0, 0, 1, 1, 0, 1, 1])
    c, conf = confident_joint(y, p)
    assert conf.tolist() == [0, 1, 1, -1, 0, 1, -1]
    assert c.tolist() == [[2, 1], [0, 2]]
    assert find_label_issues(y, p, method="confident_joint").issue_indices().tolist() == [1]


def test_a_tie_with_the_given_label_is_no_evidence_of_a_wrong_label() -> None:
    """An item as probable in its given class as in another is confidently its given class: with the lowest index
    taking every tie, a model that cannot tell the classes apart flagged every label but the first."""
    p = np.full((6, 2), 0.5)
    y = np.array([0, 0, 0, 1, 1, 1])
    c, conf = confident_joint(y, p)
    assert conf.tolist() == y.tolist() and c.tolist() == [[3, 0], [0, 3]]
    for method in ("prune_by_noise_rate", "prune_by_class", "both", "confident_joint"):
        res = find_label_issues(y, p, method=method)  # type: ignore[arg-type]
        assert not res.flags.any(), method
        assert res.noise_rate == pytest.approx(0.0)
    # a tie between two other classes, above the given one, is still evidence (the lower index takes it)
    p3 = np.array([[0.2, 0.4, 0.4]] + [[0.8, 0.1, 0.1]] * 3 + [[0.3, 0.4, 0.3]] * 3 + [[0.3, 0.3, 0.4]] * 3)
    _, conf3 = confident_joint([0] + [0] * 3 + [1] * 3 + [2] * 3, p3)
    assert conf3.tolist() == [1] + [0] * 3 + [1] * 3 + [2] * 3


@pytest.mark.parametrize(("labels", "said"), [([0, 1, 0, -1] * 3, "labels row 3"), ([0, 1.5, 0, 1] * 3, "labels")])
def test_out_of_fold_probs_refuses_labels_that_are_not_class_indices(labels: list[float], said: str) -> None:
    # -1 was trained as a class and its probabilities written into the last column; 1.5 was read as 1
    x = np.random.default_rng(0).normal(size=(12, 3))
    with pytest.raises(ValidationError, match=said):
        out_of_fold_probs(x, labels, n_splits=2)
    with pytest.raises(ValidationError, match="n_classes"):
        out_of_fold_probs(x, [0, 1, 2] * 4, n_splits=2, n_classes=2)


def test_out_of_fold_probs_refuses_more_folds_than_items() -> None:
    x = np.random.default_rng(0).normal(size=(4, 3))
    with pytest.raises(ValidationError, match="n_splits=5 is more than the 4 items") as err:
        out_of_fold_probs(x, [0, 1, 0, 1])
    assert err.value.where == "out_of_fold_probs.n_splits"


def test_no_items_have_no_noise_rate() -> None:
    # the joint of no items is all zero, and 1 - trace(Q) reported a 100 % noise rate
    res = find_label_issues(np.zeros(0, dtype=np.int64), np.zeros((0, 3)))
    assert res.flags.shape == (0,) and np.isnan(res.noise_rate)
    assert find_label_issues([2], [[0.1, 0.2, 0.7]]).noise_rate == 0.0

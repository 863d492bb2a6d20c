"""Math audit of the data-fidelity checks: hand values and sklearn references, and the edge cases found wrong."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.metrics import roc_auc_score

from assetgrade.audit.adversarial import AdversarialValidation, auc, auc_p_value
from assetgrade.audit.coverage import CoverageGaps
from assetgrade.audit.data import AuditData
from assetgrade.audit.duplicates import near_duplicate_pairs
from assetgrade.audit.synthetic_share import SyntheticShare


def _table(labels: list[str], origin: list[str]) -> pd.DataFrame:
    n = len(labels)
    ids = [f"i{k}" for k in range(n)]
    return pd.DataFrame({"item_id": ids, "asset_id": ids, "label": labels, "origin": origin})


def test_auc_matches_sklearn_with_ties() -> None:
    rng = np.random.default_rng(3)
    for _ in range(50):
        y = rng.integers(0, 2, 30)
        y[:2] = (0, 1)
        s = rng.integers(0, 4, 30).astype(float)  # many ties
        assert abs(auc(y, s) - roc_auc_score(y, s)) < 1e-12


def test_auc_p_value_is_the_mann_whitney_normal_approximation() -> None:
    rng = np.random.default_rng(4)
    x1, x0 = rng.normal(size=30) + 0.4, rng.normal(size=40)
    ref = stats.mannwhitneyu(x1, x0, alternative="greater", method="asymptotic", use_continuity=False)
    assert abs(auc_p_value(ref.statistic / (30 * 40), 30, 40) - ref.pvalue) < 1e-12


def test_permutation_stops_once_p_cannot_fall_below_alpha() -> None:
    # observed AUC 0: every relabelling is as high. With 99 relabellings at alpha 0.05 the final p is
    # (1 + hits) / 100, below 0.05 only with at most 3 hits; after the 4th it cannot be, so 4 runs, not 6
    rng = np.random.default_rng(0)
    x = rng.normal(size=(24, 3))
    y = np.array([1] * 6 + [0] * 18, dtype=np.int64)
    groups = np.array([f"g{k}" for k in range(24)])
    check = AdversarialValidation(n_permutations=99, alpha=0.05)
    p, runs = check._permutation_p(x, y, groups, 0.0)
    assert runs == 4
    assert p >= 0.05


def test_synthetic_share_message_does_not_round_a_cell_onto_the_policy() -> None:
    # 21 of 200 = 10.5 % is above a 10 % policy; the message used to call it "10%"; 12.5 % was shown "12%"
    data = AuditData(_table(["x"] * 200, ["synthetic"] * 21 + ["real"] * 179))
    over = SyntheticShare(max_share=0.1).run(data)
    assert not over.passed
    assert "21 of 200" in over.message and "10.5%" in over.message
    within = SyntheticShare(max_share=0.125).run(data)
    assert within.passed and "12.5%" in within.message


def test_coverage_lists_a_named_class_without_items() -> None:
    # classes x, y, z; z has no item at all: the most needed cell, as imbalance already counts it 0
    data = AuditData(_table(["x", "x", "y", "y"], ["real"] * 4), classes=("x", "y", "z"))
    res = CoverageGaps(min_count=1).run(data)
    labels = [c["label"] for c in res.info["collection_list"]]
    assert labels == ["z"]
    assert res.info["n_cells"] == 3
    assert abs(res.info["covered_share"] - 2 / 3) < 1e-12


def test_failed_rows_take_no_part_at_the_loosest_thresholds() -> None:
    rng = np.random.default_rng(5)
    ok = np.array([True, True, True, False])
    hashes = rng.integers(0, 2, (4, 64)).astype(bool)
    pairs, _ = near_duplicate_pairs(hashes, None, ok=ok, phash_max_distance=64)
    assert {(i, j) for i, j, _, _ in pairs} == {(0, 1), (0, 2), (1, 2)}
    emb = rng.normal(size=(4, 5))
    pairs, _ = near_duplicate_pairs(None, emb, emb_ok=ok, min_cosine=-1.0)
    assert {(i, j) for i, j, _, _ in pairs} == {(0, 1), (0, 2), (1, 2)}


def test_identical_images_are_duplicates_by_phash() -> None:
    h = np.tile(np.random.default_rng(6).integers(0, 2, 64).astype(bool), (2, 1))
    pairs, best = near_duplicate_pairs(h, None, phash_max_distance=0)
    assert pairs == [(0, 1, "phash", 1.0)]
    assert best.tolist() == [1.0, 1.0]

"""Drift tests on small or empty windows, odd grades and broken reference rows: right p-values, no crashes."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from assetgrade.audit.drift import DriftBatch, DriftMonitor, DriftPolicy, grade_mix_test, two_proportion_test


def _monitor(rng: np.random.Generator, **ref: object) -> DriftMonitor:
    policy = DriftPolicy(calibration_splits=10, classifier_test=False)
    return DriftMonitor(policy).fit(DriftBatch(**ref), batch_size=20)  # type: ignore[arg-type]


def test_one_override_in_a_tiny_batch_is_not_drift(rng: np.random.Generator) -> None:
    # reference: 5 overrides in 100; batch: 1 of 1. The z-test gave p = 0.0002 and alarmed; exactly, one
    # override landing in a batch of one happens with probability 6/101
    mon = _monitor(rng, overrides=np.arange(100) < 5)
    (sig,) = mon.check(DriftBatch(overrides=np.array([True])))
    assert sig.signal == "override_rate_h"
    assert sig.p_value == pytest.approx(6 / 101)
    assert not sig.fired


def test_override_test_matches_fisher_for_small_and_z_for_large_counts() -> None:
    assert two_proportion_test(50, 1000, 1, 2)[2] == pytest.approx(sps.fisher_exact([[50, 950], [1, 1]]).pvalue)
    _, _, p = two_proportion_test(100, 1000, 60, 300)
    z = (0.2 - 0.1) / np.sqrt(160 / 1300 * (1 - 160 / 1300) * (1 / 1000 + 1 / 300))
    assert p == pytest.approx(2 * sps.norm.sf(z))


def test_grade_mix_of_a_small_batch_uses_an_exact_p_value() -> None:
    # two items of a 5 % grade: chi-square's approximation says p = 1e-8; the Monte Carlo exact test says ~0.005
    ref = ["A"] * 500 + ["B"] * 450 + ["C"] * 50
    psi_value, p, _, cur = grade_mix_test(ref, ["C", "C"], n_resamples=200, seed=0)
    assert sps.chi2_contingency([[500, 450, 50], [0, 0, 2]]).pvalue < 1e-6
    assert 1 / 201 <= p < 0.05
    assert cur == {"A": 0.0, "B": 0.0, "C": 2.0} and psi_value > 0.2
    assert grade_mix_test(ref, ["C", "C"], n_resamples=200, seed=0)[1] == p  # seeded


def test_empty_and_mixed_type_grade_windows_do_not_crash(rng: np.random.Generator) -> None:
    mon = _monitor(rng, grades=list("AB" * 50))
    signals, notes = mon._check(DriftBatch(grades=[]))
    assert signals == [] and notes == ["no grades in the batch; grade-mix test skipped"]
    (sig,) = mon.check(DriftBatch(grades=["A", None, 3]))  # type: ignore[list-item]
    assert set(sig.info["current"]) == {"3", "A", "B", "None"}


def test_feature_names_not_matching_the_columns_are_replaced_with_a_note(rng: np.random.Generator) -> None:
    mon = _monitor(rng, features=rng.normal(size=(100, 3)))
    signals, notes = mon._check(DriftBatch(features=rng.normal(size=(20, 3)), feature_names=["a", "b", "c", "d"]))
    assert [s.signal for s in signals] == ["feature_ks"]
    assert signals[0].info["worst_feature"].startswith("f")
    assert notes == ["4 feature names for 3 columns; columns named by position"]


def test_non_finite_reference_rows_are_left_out_and_told_once(rng: np.random.Generator) -> None:
    emb = rng.normal(size=(100, 4))
    emb[7] = np.nan
    emb[40, 2] = np.inf
    mon = _monitor(rng, embeddings=emb)
    assert np.isfinite(mon.mmd_threshold_)
    first = mon.update(DriftBatch(embeddings=rng.normal(size=(20, 4))))
    assert first.notes == ["reference: 2 of 100 embedding rows with non-finite values left out (rows 7, 40)"]
    assert [s.signal for s in first.signals] == ["embedding_mmd2"]
    assert mon.update(DriftBatch(embeddings=rng.normal(size=(20, 4)))).notes == []

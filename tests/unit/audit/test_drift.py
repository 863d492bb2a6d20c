"""Drift tests: thresholds stay quiet on shuffled copies and large unshifted samples, and fire on shifts."""

from __future__ import annotations

import numpy as np
import pytest

from assetgrade.audit.drift import (
    DriftBatch,
    DriftMonitor,
    DriftPolicy,
    classifier_two_sample_test,
    ks_test,
    mmd_permutation_test,
    psi,
    two_proportion_test,
)
from assetgrade.errors import ValidationError

FAST = DriftPolicy(calibration_splits=30, n_permutations=200)


def _reference(rng: np.random.Generator, n: int = 600) -> np.ndarray:
    z = rng.normal(size=(n, 3))
    return np.hstack([z @ rng.normal(size=(3, 12)), 0.3 * rng.normal(size=(n, 12))])


def test_psi_and_ks_basics(rng: np.random.Generator) -> None:
    r = rng.normal(size=5000)
    assert psi(r, rng.permutation(r)) < 1e-12
    assert psi(r, r + 0.5) > 0.2
    d, p = ks_test(r, r + 0.5)
    assert d > 0.15 and p < 1e-10


def test_mmd_is_small_and_insignificant_on_a_shuffled_split(rng: np.random.Generator) -> None:
    x = _reference(rng, 300)
    m2, p, bw = mmd_permutation_test(x[:150], x[150:], n_permutations=200)
    assert p > 0.01 and bw > 0
    m2s, ps, _ = mmd_permutation_test(x[:150], x[150:] * 1.5, n_permutations=200)
    assert ps < 0.02 and m2s > 5 * abs(m2)


def test_monitor_quiet_on_shuffled_copies_of_the_reference(rng: np.random.Generator) -> None:
    ref = _reference(rng, 400)
    mon = DriftMonitor(FAST).fit(DriftBatch(embeddings=ref), batch_size=100)
    for k in range(3):
        batch = ref[rng.permutation(len(ref))[:100]]
        d = mon.update(DriftBatch(embeddings=batch, station_id="s"))
        assert not d.alarm, (k, [s.__dict__ for s in d.signals])
        assert not d.retrain


def test_monitor_fires_on_a_shifted_copy(rng: np.random.Generator) -> None:
    ref = _reference(rng)
    mon = DriftMonitor(FAST).fit(DriftBatch(embeddings=ref), batch_size=150)
    shifted = ref[rng.permutation(len(ref))[:150]].copy()
    shifted[:75] = 0.6 * shifted[:75] + 0.8  # half the batch darker and flatter
    d = mon.update(DriftBatch(embeddings=shifted))
    fired = {s.signal for s in d.signals if s.fired}
    assert "embedding_mmd2" in fired and d.alarm
    mmd = next(s for s in d.signals if s.signal == "embedding_mmd2")
    assert mmd.effect > mmd.threshold and mmd.p_value < FAST.alpha


def test_large_unshifted_or_tiny_shift_feature_block_does_not_fire(rng: np.random.Generator) -> None:
    ref = rng.normal(size=(20000, 3))
    mon = DriftMonitor(FAST).fit(DriftBatch(features=ref), batch_size=20000)
    same = mon.check(DriftBatch(features=rng.normal(size=(20000, 3))))
    assert not any(s.fired for s in same)
    tiny = mon.check(DriftBatch(features=rng.normal(size=(20000, 3)) + 0.05))  # significant, but tiny effect
    sig = tiny[0]
    assert sig.p_value < 1e-3 and not sig.fired
    big = mon.check(DriftBatch(features=rng.normal(size=(20000, 3)) + np.array([0.0, 0.0, 0.5])))
    assert big[0].fired and big[0].info["worst_feature"] == "f2"


def test_grade_mix_confidence_and_override_signals(rng: np.random.Generator) -> None:
    grades = list(rng.choice(["A", "B", "C", "D"], size=2000, p=[0.4, 0.3, 0.2, 0.1]))
    ref = DriftBatch(grades=grades, confidence=rng.beta(8, 2, 2000), overrides=rng.random(2000) < 0.05)
    mon = DriftMonitor(FAST).fit(ref, batch_size=400)
    same = DriftBatch(grades=list(rng.choice(["A", "B", "C", "D"], 400, p=[0.4, 0.3, 0.2, 0.1])),
                      confidence=rng.beta(8, 2, 400), overrides=rng.random(400) < 0.05)
    assert not any(s.fired for s in mon.check(same))
    worse = DriftBatch(grades=list(rng.choice(["A", "B", "C", "D"], 400, p=[0.1, 0.2, 0.3, 0.4])),
                       confidence=rng.beta(4, 3, 400), overrides=rng.random(400) < 0.25)
    fired = {s.signal for s in mon.check(worse) if s.fired}
    assert fired == {"grade_mix_psi", "confidence_ks", "override_rate_h"}


def test_two_proportion_test() -> None:
    diff, h, p = two_proportion_test(50, 1000, 100, 1000)
    assert diff == pytest.approx(0.05) and h > 0 and p < 1e-4
    assert two_proportion_test(5, 100, 5, 100)[2] == pytest.approx(1.0)


def test_classifier_two_sample_test(rng: np.random.Generator) -> None:
    a, _ = classifier_two_sample_test(rng.normal(size=(200, 4)), rng.normal(size=(200, 4)))
    assert 0.35 < a < 0.65
    a2, p2 = classifier_two_sample_test(rng.normal(size=(200, 4)), rng.normal(size=(200, 4)) + 0.8)
    assert a2 > 0.75 and p2 < 1e-6


def test_retraining_is_per_station(rng: np.random.Generator) -> None:
    ref = _reference(rng)
    pol = DriftPolicy(calibration_splits=30, n_permutations=200, retrain_after=2, window=3, classifier_test=False)
    mon = DriftMonitor(pol).fit(DriftBatch(embeddings=ref), batch_size=100)
    shifted = ref[:100] * 0.5 + 1.0
    clean = ref[rng.permutation(len(ref))[:100]]
    d1 = mon.update(DriftBatch(embeddings=shifted, station_id="north"))
    d2 = mon.update(DriftBatch(embeddings=clean, station_id="south"))
    d3 = mon.update(DriftBatch(embeddings=shifted, station_id="north"))
    assert d1.alarm and not d1.retrain and not d2.alarm
    assert d3.retrain and d3.batch_index == 2 and d3.station_id == "north"


def test_policy_refuses_too_few_permutations_for_alpha() -> None:
    import pydantic

    with pytest.raises(pydantic.ValidationError, match="cannot reach"):
        DriftPolicy(alpha=0.01, n_permutations=50)


def test_update_before_fit_is_refused() -> None:
    with pytest.raises(ValidationError, match="before fit"):
        DriftMonitor().update(DriftBatch(embeddings=np.zeros((3, 2))))


def test_ks_on_a_column_without_finite_values_is_nan_not_an_error() -> None:
    import math

    from assetgrade.audit.drift import ks_test

    d, p = ks_test([float("nan")] * 5, [1.0, 2.0, 3.0])
    assert math.isnan(d) and math.isnan(p)
    d2, _ = ks_test([0.0, 1.0, 2.0], [10.0, 11.0, 12.0])
    assert d2 == 1.0

"""PatchCore-style anomaly scoring: bounded coreset, anomalies score higher, threshold in words."""

from __future__ import annotations

import numpy as np
import pytest

from assetgrade.errors import ValidationError
from assetgrade.modalities.vision.anomaly import PatchCore, greedy_coreset, patch_features, upsample_map


def test_coreset_is_bounded_and_covers_clusters(rng: np.random.Generator) -> None:
    centres = rng.normal(scale=20, size=(5, 16))
    X = np.concatenate([c + rng.normal(size=(400, 16)) for c in centres]).astype(np.float32)
    idx = greedy_coreset(X, 10, rng=rng, projection_dim=8)
    assert len(idx) == 10 and len(set(idx.tolist())) == 10
    covered = {int(np.argmin(((centres - X[i]) ** 2).sum(axis=1))) for i in idx}
    assert covered == set(range(5))  # k-center reaches every cluster; random picks of 10 often miss one


def test_memory_bank_stays_bounded_as_good_images_grow(rng: np.random.Generator) -> None:
    pc = PatchCore(coreset_size=64, buffer_size=256, seed=0)
    batches = (rng.normal(size=(8, 4, 4, 6)).astype(np.float32) for _ in range(20))  # 2,560 patches
    pc.fit(batches)
    assert pc.bank_.shape == (64, 6) and pc.n_patches_seen_ == 2560


def test_anomalous_patch_scores_higher_and_heat_map_peaks_there(rng: np.random.Generator) -> None:
    good = rng.normal(size=(30, 8, 8, 6)).astype(np.float32)
    pc = PatchCore(coreset_size=500, buffer_size=2000).fit([good])
    test = rng.normal(size=(4, 8, 8, 6)).astype(np.float32)
    test[2:, 5, 2] += 8.0
    scores, maps = pc.score(test)
    assert scores[2:].min() > scores[:2].max()
    heat = upsample_map(maps[2], (64, 64), sigma=1.0)
    y, x = np.unravel_index(np.argmax(heat), heat.shape)
    assert 36 <= y <= 52 and 12 <= x <= 28  # patch (5, 2) of an 8x8 grid on 64 px


def test_threshold_from_false_alarm_rate_is_explained() -> None:
    good_scores = np.arange(100, dtype=float)
    thr = PatchCore.threshold(good_scores, 0.05)
    assert 93 <= thr.value <= 95 and thr.observed_false_alarm <= 0.06
    assert "alarms on about 5.0% of good images" in thr.explain() and "100 held-out" in thr.explain()
    with pytest.raises(ValidationError, match="held-out good"):
        PatchCore.threshold([], 0.01)


def test_patch_features_aggregate_and_align_scales(rng: np.random.Generator) -> None:
    a = rng.normal(size=(2, 3, 8, 8)).astype(np.float32)
    b = rng.normal(size=(2, 5, 4, 4)).astype(np.float32)
    P = patch_features([a, b])
    assert P.shape == (2, 8, 8, 8)
    assert np.isclose(P[0, 3, 3, 0], a[0, 0, 2:5, 2:5].mean(), atol=1e-5)

"""Numerical audit of the vision modality: checks against the papers' definitions and edge cases."""

from __future__ import annotations

import hashlib
import io
from functools import partial
from pathlib import Path

import numpy as np
from PIL import Image

from assetgrade.modalities.vision.anomaly import PatchCore
from assetgrade.modalities.vision.backbone import Backbone
from assetgrade.modalities.vision.extractor import VisionExtractor
from assetgrade.modalities.vision.quality import assess_quality, temper_labels
from assetgrade.store.records import AssetRecord, ImageRef


def _ref(arr: np.ndarray, k: str, boxes: tuple[tuple[str, tuple[float, float, float, float]], ...] = ()) -> ImageRef:
    buf = io.BytesIO()
    Image.fromarray(np.stack([arr] * 3, axis=-1)).save(buf, format="PNG")
    data = buf.getvalue()
    return ImageRef(k, hashlib.sha256(data).hexdigest(), partial(lambda d: d, data), boxes=boxes)


def test_temper_labels_pulls_each_label_toward_one_half() -> None:
    p = np.array([[0.1, 0.9, 0.5], [0.0, 1.0, 0.2]])
    out = temper_labels(p, np.array([0.5, 0.0]))
    assert np.allclose(out[0], [0.3, 0.7, 0.5]) and np.allclose(out[1], 0.5)


def test_a_flagged_clean_photo_gets_no_defect_from_tempering(
    tmp_path: Path, backbone64: Backbone, rng: np.random.Generator
) -> None:
    """One defect label: tempering toward 1/(number of labels) = 1 turned a dark, blurry clean photo's
    low defect probability into a finding (p' = 0.42 p + 0.58 >= 0.5)."""
    recs = []
    for i in range(16):
        arr = (128 + rng.normal(0, 12, (64, 64))).clip(0, 255).astype(np.uint8)
        boxes: tuple[tuple[str, tuple[float, float, float, float]], ...] = ()
        if i % 2:
            arr[40:44, 8:56] = 250
            boxes = (("scratch", (8.0, 40.0, 56.0, 44.0)),)
        recs.append(AssetRecord(f"a{i}", images=(_ref(arr, f"img{i}", boxes),), grade="D" if i % 2 else "A"))
    ex = VisionExtractor(image_size=64, grades=("A", "B", "C", "D"), cache_dir=tmp_path, coreset_size=200,
                         quality_factors="fixed", C=0.5, grade_head="ordinal", augment=())
    ex._backbone = backbone64
    ex.fit(recs)
    dark = np.full((64, 64), 12, np.uint8)  # clean, dark and flat: underexposed and blurry
    probe = _ref(dark, "dark")
    flags = assess_quality(Image.fromarray(np.stack([dark] * 3, axis=-1))).flags
    assert {"blurry", "underexposed"} <= set(flags)
    block = ex.extract([AssetRecord("x", images=(probe,))])
    raw = float(ex.defect_head_.predict_proba(ex._see([probe])[0][0].pooled[None])[0, 0])  # type: ignore[union-attr]
    p = float(block.features[0, list(block.feature_names).index("defect_p_scratch")])
    f = 0.6 * 0.7
    assert np.isclose(p, f * raw + (1 - f) * 0.5)
    assert (p >= 0.5) == (raw >= 0.5)  # tempering never flips a label across one half


def test_alarm_threshold_uses_the_finite_sample_rank() -> None:
    """A new good image exceeds the k-th smallest of n exchangeable good scores with probability
    (n - k + 1)/(n + 1); np.quantile's (n - 1) interpolation broke the target (150 scores, 5 %: 5.3 %)."""
    for n in (20, 60, 99, 150, 400):
        for target in (0.01, 0.05, 0.1):
            thr = PatchCore.threshold(np.arange(n, dtype=float), target)
            k = int(thr.value) + 1  # the rank of the chosen score
            if thr.guaranteed:
                assert (n - k + 1) / (n + 1) <= target + 1e-12
                assert (n - k + 2) / (n + 1) > target  # the lowest such rank, not a needlessly high one
            else:
                assert k == n and (n + 1) * target < 1
    assert PatchCore.threshold(np.arange(150, dtype=float), 0.05).value == 143.0


def test_too_few_good_images_say_the_target_cannot_be_met() -> None:
    thr = PatchCore.threshold(np.arange(20, dtype=float), 0.01)
    assert not thr.guaranteed and thr.value == 19.0 and np.isclose(thr.expected_false_alarm, 1 / 21)
    assert "4.8% of good images, not the 1.0% asked" in thr.explain() and "99 are needed" in thr.explain()
    assert PatchCore.threshold(np.arange(99, dtype=float), 0.01).guaranteed
    tied = PatchCore.threshold(np.zeros(200), 0.01)  # ties: every good score equal, none above
    assert tied.value == 0.0 and tied.observed_false_alarm == 0.0 and tied.guaranteed


def test_extractor_builds_the_memory_bank_in_bounded_rounds(
    tmp_path: Path, backbone64: Backbone, rng: np.random.Generator
) -> None:
    """The bank photos went to PatchCore as one batch, so the greedy coreset ran once over every good
    patch (memory and time growing with the good photos) instead of rounds of at most the buffer."""
    recs = []
    for i in range(16):
        arr = (128 + rng.normal(0, 12, (64, 64))).clip(0, 255).astype(np.uint8)
        if i >= 12:
            arr[40:44, 8:56] = 250
        recs.append(AssetRecord(f"a{i}", images=(_ref(arr, f"img{i}"),), grade="D" if i >= 12 else "A"))
    ex = VisionExtractor(image_size=64, grades=("A", "B", "C", "D"), cache_dir=tmp_path, coreset_size=10,
                         C=0.5, grade_head="ordinal", augment=(), quality_factors="fixed")
    ex._backbone = backbone64
    ex.fit(recs)
    pc = ex.anomaly_
    assert pc is not None
    per_image = pc.n_patches_seen_ // 9  # 12 good photos, a quarter held out
    assert pc.n_patches_seen_ == 9 * per_image and pc.bank_.shape[0] == 10
    assert pc.largest_pool_ <= pc.buffer_size + per_image < pc.n_patches_seen_


def test_patchcore_reduces_when_the_buffer_fills(rng: np.random.Generator) -> None:
    good = rng.normal(size=(30, 4, 4, 8)).astype(np.float32)
    pc = PatchCore(coreset_size=20, buffer_size=100).fit(good[i : i + 2] for i in range(0, 30, 2))
    # fit regroups the photos into groups of at most buffer - coreset patches, whatever the batches
    assert pc.n_patches_seen_ == 480 and pc.bank_.shape == (20, 8) and pc.largest_pool_ <= 2 * 100 - 20

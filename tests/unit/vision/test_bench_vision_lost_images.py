"""``bench vision``: an image found unreadable while the run reads it again (fine-tuning, CAM), cut off on disk
after its features were computed, is out of every head's training as well as its scores: the linear heads and the
CAM rates are those of the same folds without it, and the JSON's counts leave it out."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tests.unit.vision.neu_copy import CHANGED, cut_after, write_neu_copy

from assetgrade.bench.vision import VisionBenchConfig, asset_folds, classification_metrics, run_vision_bench
from assetgrade.bench.vision_steps import cam_peak_in_box, finetune_probas, probe_probas
from assetgrade.datasets.neu import NEU_CLASSES, load_neu
from assetgrade.modalities.vision import features
from assetgrade.modalities.vision.backbone import Backbone
from assetgrade.modalities.vision.cache import FeatureCache


@pytest.mark.parametrize("finetune", [False, True], ids=["found-by-cam", "found-by-finetune"])
def test_an_image_cut_after_the_features_is_in_no_heads_training(
    tmp_path: Path, rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch, backbone64: Backbone, finetune: bool,
    bench_cache: Path,
) -> None:
    root = tmp_path / "neu-det"
    write_neu_copy(root, rng, 3)
    ds = load_neu(root)
    y = np.array([ds.classes.index(lab) for lab in ds.labels], dtype=np.int64)
    # the bench's features, in its cache: the run computes none, and the figures below use the same
    fb = features.extract_pooled(ds.refs, backbone64, cache=FeatureCache(bench_cache / "features"))
    lost = root / "images" / "inclusion" / "inclusion_2.jpg"
    monkeypatch.setattr(features, "extract_pooled", cut_after(features.extract_pooled, lost))
    cfg = VisionBenchConfig(dataset="neu", data_dir=root, folds=2, image_size=64, finetune=finetune, finetune_size=64,
                            finetune_epochs=2, finetune_budget_s=600.0, cache_dir=bench_cache,
                            progress=False)
    res = run_vision_bench(cfg).to_dict()
    assert res["unreadable_images"] == {
        "inclusion_2": f"image inclusion_2 (images/inclusion/inclusion_2.jpg): {CHANGED}"}
    # the same folds (drawn before the file was cut), the image out of every one
    folds = asset_folds(ds, y, 2, 0, np.ones(len(y), dtype=bool))
    ok = np.array([r.evidence_id != "inclusion_2" for r in ds.refs])
    assert res["n_images"] == 17 and res["classes"] == {c: 2 if c == "inclusion" else 3 for c in NEU_CLASSES}
    assert res["n_test_per_fold"] == [int(ok[te].sum()) for _, te in folds]
    assert res["n_train_per_fold"] == [int(ok[tr].sum()) for tr, _ in folds]
    p, _ = probe_probas({"id": fb.features}, y, ok, folds, "logistic", len(NEU_CLASSES), 0.02, views=("id",),
                        groups=np.asarray(ds.asset_ids()))
    want = classification_metrics(y[ok], p[ok], ordinal=False, n_classes=len(NEU_CLASSES))
    for k, v in want.items():
        assert res["all_heads"]["logistic"][k] == pytest.approx(v, abs=1e-9), k
    if finetune:  # the fine-tuned heads too: trained on the same folds without it
        fine, _, _ = finetune_probas(ds, y, ok, folds, cfg)
        for name, q in fine.items():
            want = classification_metrics(y[ok], q[ok], ordinal=False, n_classes=len(NEU_CLASSES))
            assert res["all_heads"][name] == pytest.approx(want, rel=1e-2), name  # noise ~1e-4, one image ~15 %
    cam = cam_peak_in_box(ds, y, ok, folds, fb.features, backbone64, cfg, None)
    assert cam["unreadable"] == {}
    assert res["metrics"]["peak_in_box_rate"] == pytest.approx(cam["peak_in_box_rate"], abs=1e-12)
    assert res["metrics"]["centre_in_box_rate"] == pytest.approx(cam["centre_in_box_rate"], abs=1e-12)

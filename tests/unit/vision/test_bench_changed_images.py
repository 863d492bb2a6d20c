"""An image cut off on disk during a bench run: the steps that read it again (fine-tuning, CAM) skip it, name
its file and go on, and the bench JSON lists it in ``unreadable_images``; ``bench anomaly`` names the file too."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tests.unit.vision.neu_copy import CHANGED, cut, cut_after, write_neu_copy

from assetgrade.bench import vision_steps
from assetgrade.bench.vision import VisionBenchConfig, asset_folds, classification_metrics, run_vision_bench
from assetgrade.datasets.image_folder import LabelledImages
from assetgrade.datasets.neu import NEU_CLASSES, load_neu
from assetgrade.modalities.vision import features, heatmaps
from assetgrade.modalities.vision.backbone import Backbone
from assetgrade.modalities.vision.features import extract_pooled


def _neu(root: Path, rng: np.random.Generator, n: int = 3) -> LabelledImages:
    write_neu_copy(root, rng, n)
    return load_neu(root)


def _labels(ds: LabelledImages) -> np.ndarray:
    return np.array([ds.classes.index(lab) for lab in ds.labels], dtype=np.int64)


def test_finetuning_skips_an_image_cut_after_the_features_and_names_its_file(
    tmp_path: Path, rng: np.random.Generator, backbone64: Backbone, bench_cache: Path
) -> None:
    ds = _neu(tmp_path / "neu-det", rng)
    y = _labels(ds)
    ok = np.ones(len(y), dtype=bool)
    folds = asset_folds(ds, y, 2, 0, ok)
    assert not extract_pooled(ds.refs, backbone64).errors  # the first step read every file
    cut(tmp_path / "neu-det" / "images" / "inclusion" / "inclusion_2.jpg")
    cfg = VisionBenchConfig(finetune_size=64, finetune_epochs=2, finetune_budget_s=600.0, C=0.02,
                            cache_dir=bench_cache, progress=False)
    out, info, unreadable = vision_steps.finetune_probas(ds, y, ok, folds, cfg)
    k = [r.evidence_id for r in ds.refs].index("inclusion_2")
    assert unreadable == {k: f"image inclusion_2 (images/inclusion/inclusion_2.jpg): {CHANGED}"}
    rest = np.arange(len(y)) != k
    for name, p in out.items():  # every head scores the other images, none this one
        assert np.isfinite(p[rest]).all() and np.isnan(p[k]).all(), name
    assert len(info["epochs_per_fold"]) == 2


def test_finetuning_with_no_image_left_stops_naming_one(tmp_path: Path, rng: np.random.Generator) -> None:
    from assetgrade.errors import ValidationError

    ds = _neu(tmp_path / "neu-det", rng, n=2)
    y = _labels(ds)
    ok = np.ones(len(y), dtype=bool)
    for f in sorted((tmp_path / "neu-det" / "images").rglob("*.jpg")):
        cut(f)
    cfg = VisionBenchConfig(finetune_size=64, cache_dir=tmp_path / "cache", progress=False)
    with pytest.raises(ValidationError, match=r"no image could be read again for fine-tuning \(12 unreadable, e\.g\. "
                       r"image crazing_1 \(images/crazing/crazing_1\.jpg\): the file changed"):
        vision_steps.finetune_probas(ds, y, ok, asset_folds(ds, y, 2, 0, ok), cfg)


def test_cam_step_skips_an_image_cut_after_the_features_and_names_its_file(
    tmp_path: Path, rng: np.random.Generator, backbone64: Backbone, monkeypatch: pytest.MonkeyPatch
) -> None:
    ds = _neu(tmp_path / "neu-det", rng)
    y = _labels(ds)
    ok = np.ones(len(y), dtype=bool)
    fb = extract_pooled(ds.refs, backbone64)
    cut(tmp_path / "neu-det" / "images" / "scratches" / "scratches_1.jpg")
    seen: list[int] = []
    real = heatmaps.peak_in_boxes

    def count(heat: np.ndarray, boxes: Any) -> bool:
        seen.append(1)
        return real(heat, boxes)

    monkeypatch.setattr(heatmaps, "peak_in_boxes", count)
    res = vision_steps.cam_peak_in_box(ds, y, ok, asset_folds(ds, y, 2, 0, ok), fb.features, backbone64,
                                       VisionBenchConfig(C=0.02), tmp_path / "out", n_overlays=18)
    k = [r.evidence_id for r in ds.refs].index("scratches_1")
    assert res["unreadable"] == {k: f"image scratches_1 (images/scratches/scratches_1.jpg): {CHANGED}"}
    # the other fold's head was trained on it: a second pass without it, whose rates are those of the folds
    # without it from the start
    assert len(seen) == 2 * (len(y) - 1) and 0.0 <= res["peak_in_box_rate"] <= 1.0
    ok[k] = False
    without = vision_steps.cam_peak_in_box(ds, y, ok, asset_folds(ds, y, 2, 0, np.ones(len(y), dtype=bool)),
                                           fb.features, backbone64, VisionBenchConfig(C=0.02), None)
    assert (res["peak_in_box_rate"], res["centre_in_box_rate"]) == (without["peak_in_box_rate"],
                                                                    without["centre_in_box_rate"])
    assert len(res["overlays"]) == len(NEU_CLASSES)  # scratches drawn from another of its images
    assert not any("scratches_1" in p for p in res["overlays"])
    assert sorted(map(str, (tmp_path / "out").glob("*.png"))) == sorted(res["overlays"])  # the first pass's gone


def test_the_bench_lists_images_cut_during_the_run_and_scores_the_others(
    tmp_path: Path, rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch, bench_cache: Path
) -> None:
    root = tmp_path / "neu-det"
    ds = _neu(root, rng)
    img = root / "images"
    # cut after the features (the fine-tuning's trunk pass reads it again), and after that pass (the CAM step does)
    monkeypatch.setattr(features, "extract_pooled",
                        cut_after(features.extract_pooled, img / "patches" / "patches_3.jpg"))
    monkeypatch.setattr(vision_steps, "trunk_pass",
                        cut_after(vision_steps.trunk_pass, img / "crazing" / "crazing_1.jpg"))
    cfg = VisionBenchConfig(dataset="neu", data_dir=root, folds=2, image_size=64, finetune=True, finetune_size=64,
                            finetune_epochs=2, finetune_budget_s=600.0, cache_dir=bench_cache,
                            out_dir=tmp_path / "out", progress=False)
    res = run_vision_bench(cfg).to_dict()
    assert res["unreadable_images"] == {
        "patches_3": f"image patches_3 (images/patches/patches_3.jpg): {CHANGED}",
        "crazing_1": f"image crazing_1 (images/crazing/crazing_1.jpg): {CHANGED}",
    }
    assert res["n_unreadable"] == 2 and res["n_images"] == 16
    assert res["classes"] == {c: 2 if c in ("patches", "crazing") else 3 for c in NEU_CLASSES}
    assert sum(res["n_test_per_fold"]) == 16
    assert res["head"] == "finetune-auto" and np.isfinite(res["metrics"]["accuracy"])
    assert all(np.isfinite(m["log_loss"]) for m in res["all_heads"].values())
    assert res["metrics"]["peak_in_box_rate"] is not None
    # found by the CAM step after the trunk pass had read it: the fine-tuned heads were not trained on it either
    y = _labels(ds)
    ok = np.array([r.evidence_id not in ("patches_3", "crazing_1") for r in ds.refs])
    fine, _, _ = vision_steps.finetune_probas(ds, y, ok, asset_folds(ds, y, 2, 0, np.ones(len(y), dtype=bool)), cfg)
    for name, q in fine.items():
        want = classification_metrics(y[ok], q[ok], ordinal=False, n_classes=len(NEU_CLASSES))
        assert res["all_heads"][name] == pytest.approx(want, rel=1e-2), name  # noise ~1e-4, one image ~15 %


def test_anomaly_bench_names_the_file_of_an_image_cut_in_its_pixels(
    tmp_path: Path, rng: np.random.Generator, bench_cache: Path
) -> None:
    from assetgrade.bench.anomaly import AnomalyBenchConfig, run_anomaly_bench

    root = tmp_path / "neu-det"
    _neu(root, rng, n=6)
    cut(root / "images" / "crazing" / "crazing_2.jpg")  # before the run: the header is whole, the pixels are not
    cfg = AnomalyBenchConfig(dataset="neu", data_dir=root, image_size=64, coreset_size=100,
                             cache_dir=bench_cache, progress=False)
    res = run_anomaly_bench(cfg).to_dict()
    assert list(res["unreadable_images"]) == ["crazing_2"]
    assert res["unreadable_images"]["crazing_2"].startswith(
        "image crazing_2 (images/crazing/crazing_2.jpg): cannot decode image")
    # folders: the file as found under --defect (the same name may be in --good), also as its key
    cfg = AnomalyBenchConfig(good=root / "images" / "patches", defect=root / "images" / "crazing", image_size=64,
                             coreset_size=100, cache_dir=bench_cache, progress=False)
    res = run_anomaly_bench(cfg).to_dict()
    file = str(root / "images" / "crazing" / "crazing_2.jpg")
    assert list(res["unreadable_images"]) == [file]
    assert res["unreadable_images"][file].startswith(f"image crazing_2.jpg ({file}): cannot decode image")

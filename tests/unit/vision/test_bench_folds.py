"""``bench vision`` folds and counts: only readable images are split and counted, identical files share a fold."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from assetgrade.bench.vision import VisionBenchConfig, asset_folds, run_vision_bench
from assetgrade.datasets.image_folder import LabelledImages
from assetgrade.errors import ValidationError
from assetgrade.store.records import ImageRef


def _ref(eid: str, content: str) -> ImageRef:
    return ImageRef(evidence_id=eid, sha256=hashlib.sha256(content.encode()).hexdigest(), load_bytes=lambda: b"")


def test_identical_files_share_a_fold_and_unreadable_images_are_in_none() -> None:
    refs = [_ref(f"a/{i}", f"a{i}") for i in range(6)] + [_ref(f"b/{i}", f"b{i}") for i in range(6)]
    refs.append(_ref("b/copy-of-a0", "a0"))  # the same bytes under another class
    ds = LabelledImages("t", refs, ["a"] * 6 + ["b"] * 7, ("a", "b"))
    y = np.array([0] * 6 + [1] * 7)
    ok = np.ones(13, dtype=bool)
    ok[5] = False
    for seed in range(6):
        folds = asset_folds(ds, y, 3, seed, ok)
        tests = [set(te.tolist()) for _, te in folds]
        assert sorted(i for t in tests for i in t) == [i for i in range(13) if i != 5]
        assert any({0, 12} <= t for t in tests), f"seed {seed}: a file and its copy were split across folds"
        assert all(5 not in tr for tr, _ in folds)


def _folder(root: Path, rng: np.random.Generator) -> Path:
    for cls, n in (("a", 4), ("b", 3)):
        (root / cls).mkdir(parents=True)
        for i in range(n):
            Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(root / cls / f"{i}.png")
    (root / "b" / "broken.png").write_text("not an image")
    return root


def test_counts_and_fold_check_are_over_readable_images(
    tmp_path: Path, rng: np.random.Generator, bench_cache: Path
) -> None:
    data = _folder(tmp_path / "data", rng)
    cfg = VisionBenchConfig(dataset="folder", data_dir=data, folds=3, image_size=64, cache_dir=bench_cache,
                            heatmaps=False, progress=False)
    res = run_vision_bench(cfg).to_dict()
    assert res["classes"] == {"a": 4, "b": 3} and res["n_unreadable"] == 1 and res["n_images"] == 7
    assert sum(res["n_test_per_fold"]) == 7 and sorted(res["n_test_per_fold"]) == [2, 2, 3]
    assert res["n_train_per_fold"] == [7 - n for n in res["n_test_per_fold"]]
    assert list(res["unreadable_images"]) == ["b/broken.png"]
    assert res["per_class"] is None
    cfg.folds = 4  # b has 4 files but only 3 readable images: a test fold would have none of b
    with pytest.raises(ValidationError, match=r"at least 4 readable images per class; too few in \{'b': 3\}"):
        run_vision_bench(cfg)
    cfg.folds = 5
    with pytest.raises(ValidationError, match=r"too few in \{'a': 4, 'b': 4\}"):  # refused before any feature
        run_vision_bench(cfg)


def test_plots_of_many_classes_stay_a_bounded_size(tmp_path: Path, rng: np.random.Generator) -> None:
    from assetgrade.bench.vision import save_plots

    k = 120
    y = np.arange(240) % k
    proba = rng.dirichlet(np.ones(k), size=240)
    paths = save_plots(y, proba, tuple(f"part-{i}" for i in range(k)), tmp_path, "many")
    with Image.open(paths[0]) as img:
        assert max(img.size) <= 3400  # 30 inches at 110 dpi, not 146 inches (16,000 px a side)
    with Image.open(paths[1]) as img:  # the fusion report's reliability diagram: bars over counts
        assert paths[1].name == "many_reliability.png" and img.size == (550, 660)


def test_too_many_finetune_blocks_are_refused_before_any_feature(tmp_path: Path, rng: np.random.Generator,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from assetgrade.bench import vision

    data = _folder(tmp_path / "data", rng)
    cfg = VisionBenchConfig(dataset="folder", data_dir=data, folds=2, image_size=64, cache_dir=tmp_path / "cache",
                            finetune=True, finetune_blocks=99, heatmaps=False, progress=False)

    def no_features(*a: object, **k: object) -> None:
        raise AssertionError("features computed before the settings were checked")

    monkeypatch.setattr("assetgrade.modalities.vision.features.extract_pooled", no_features)
    with pytest.raises(ValidationError, match=r"lite0 has 16 blocks, so 0\.\.15") as info:
        vision.run_vision_bench(cfg)
    assert info.value.where == "--finetune-blocks"


def test_peak_in_box_compares_in_the_frame_the_heat_map_is_in(
    backbone64: object, rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io
    from functools import partial

    from assetgrade.bench.vision_steps import cam_peak_in_box
    from assetgrade.modalities.vision import heatmaps
    from assetgrade.modalities.vision.features import extract_pooled

    refs, labels = [], []
    for k in range(8):
        arr = rng.integers(0, 60, (64, 96), dtype=np.uint8)  # stored 96 wide, 64 high
        arr[4:20, 60 + 2 * (k % 2) : 90] = 250
        exif = Image.Exif()
        exif[0x0112] = 6  # shown rotated 90 degrees clockwise: 64 wide, 96 high
        buf = io.BytesIO()
        Image.fromarray(arr).save(buf, format="PNG", exif=exif.tobytes())
        data = buf.getvalue()
        box = ("spot", (60.0 + 2 * (k % 2), 4.0, 90.0, 20.0))
        refs.append(ImageRef(f"p{k}", hashlib.sha256(data).hexdigest(), partial(lambda d: d, data), boxes=(box,)))
        labels.append("ab"[k % 2])
    ds = LabelledImages("rotated", refs, labels, ("a", "b"))
    y = np.array([k % 2 for k in range(8)])
    X = extract_pooled(refs, backbone64).features  # type: ignore[arg-type]
    seen: list[list[tuple[float, ...]]] = []
    real = heatmaps.peak_in_boxes

    def spy(heat: np.ndarray, boxes: list[tuple[float, ...]]) -> bool:
        seen.append([tuple(b) for b in boxes])
        assert heat.shape == (96, 64)
        return real(heat, boxes)  # type: ignore[arg-type]

    monkeypatch.setattr(heatmaps, "peak_in_boxes", spy)
    cfg = VisionBenchConfig(C=0.02)
    cam_peak_in_box(ds, y, np.ones(8, dtype=bool), asset_folds(ds, y, 2, 0), X, backbone64, cfg, None)  # type: ignore[arg-type]
    # stored (60..90, 4..20) of a 96x64 photo, turned clockwise: x from 64-20 to 64-4, y from 60 to 90
    assert sorted(seen) == sorted([[(44.0, 60.0 + 2 * (k % 2), 60.0, 90.0)] for k in range(8)])

"""``bench anomaly`` on folders: unreadable images are listed and left out, hidden files skipped, overlap refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from assetgrade.bench.anomaly import AnomalyBenchConfig, run_anomaly_bench
from assetgrade.errors import ValidationError


def _folders(root: Path, rng: np.random.Generator) -> tuple[Path, Path]:
    good, bad = root / "good", root / "good" / "defect"
    bad.mkdir(parents=True)
    for i in range(6):
        arr = (128 + rng.normal(0, 10, (48, 48))).clip(0, 255).astype(np.uint8)
        Image.fromarray(arr).save(good / f"g{i}.png")
    for i in range(3):
        arr = (128 + rng.normal(0, 10, (48, 48))).clip(0, 255).astype(np.uint8)
        arr[20:26, 5:40] = 255
        Image.fromarray(arr).save(bad / f"d{i}.png")
    (good / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\ncut short")
    (good / "g5-copy.png").write_bytes((good / "g5.png").read_bytes())
    (good / "._g0.png").write_bytes(b"\x00\x05\x16\x07 macOS resource fork")
    return good, bad


def test_unreadable_images_are_listed_and_the_rest_goes_on(
    tmp_path: Path, rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch, bench_cache: Path
) -> None:
    good, bad = _folders(tmp_path / "data", rng)
    other = tmp_path / "data" / "defects"
    bad.rename(other)
    monkeypatch.chdir(good)  # --good . : the data set is still named after the folder
    cfg = AnomalyBenchConfig(good=Path(), defect=other, image_size=64, coreset_size=100,
                             cache_dir=bench_cache, progress=False)
    res = run_anomaly_bench(cfg).to_dict()
    assert list(res["unreadable_images"]) == ["broken.png"] and res["n_unreadable"] == 1
    assert res["duplicate_good_images"] == {"g5.png": "g5-copy.png"}  # counted once
    assert res["n_train"] == 3 and res["n_test"] == 2 + 3  # 6 readable good: 3 bank / 1 threshold / 2 test
    assert res["per_class"] is None and "1 threshold / 2 test" in res["split"]
    assert res["dataset"] == "folders good vs defects"
    assert 0.0 <= res["metrics"]["image_auroc"] <= 1.0


def test_an_image_both_good_and_defective_is_refused(tmp_path: Path, rng: np.random.Generator) -> None:
    good, bad = _folders(tmp_path / "data", rng)  # the defect folder lies inside the good one
    cfg = AnomalyBenchConfig(good=good, defect=bad, image_size=64, cache_dir=tmp_path / "cache", progress=False)
    with pytest.raises(ValidationError, match=r"3 image\(s\) are both good and defective.*'defect/d0\.png'"):
        run_anomaly_bench(cfg)


def test_options_that_would_be_ignored_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="either --dataset or --good/--defect"):
        run_anomaly_bench(AnomalyBenchConfig(dataset="neu", good=tmp_path, progress=False))
    with pytest.raises(ValidationError, match="--per-class applies to --dataset neu"):
        run_anomaly_bench(AnomalyBenchConfig(good=tmp_path, defect=tmp_path, per_class=10, progress=False))

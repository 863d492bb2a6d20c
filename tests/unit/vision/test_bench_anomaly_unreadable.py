"""``bench anomaly`` with unreadable images: one cut off on disk after it was scored is skipped where the
localisation step reads it again (out of every figure, named by its file), and images of the same name unreadable
under both ``--good`` and ``--defect`` are both listed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from tests.unit.vision.neu_copy import CHANGED, cut, write_neu_copy

from assetgrade.bench.anomaly import AnomalyBenchConfig, run_anomaly_bench
from assetgrade.modalities.vision.anomaly import PatchCore


def _neu(root: Path, rng: np.random.Generator, n: int = 6) -> None:
    write_neu_copy(root, rng, n)


def _cut_after_scoring(*paths: Path) -> Callable[..., Any]:
    """PatchCore's real ``score``, and the files at ``paths`` cut once the test images have been scored (the second
    call: the first scores the threshold images): the files are damaged between the scoring and the step that
    reads the defective images again (peak in box, overlays)."""
    real = PatchCore.score
    calls: list[int] = []

    def score(self: PatchCore, *args: Any, **kwargs: Any) -> Any:
        out = real(self, *args, **kwargs)
        calls.append(1)
        if len(calls) == 2:
            for path in paths:
                cut(path)
        return out

    return score


FIGURES = ("image_auroc", "false_alarm_rate_test_good", "detection_rate_defect", "peak_in_box_rate")


def test_an_image_cut_after_scoring_is_skipped_named_and_out_of_every_figure(
    tmp_path: Path, rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch, bench_cache: Path
) -> None:
    root = tmp_path / "neu-det"
    _neu(root, rng)
    cut = root / "images" / "crazing" / "crazing_1.jpg"  # the first crazing image: the one drawn for its class
    cfg = AnomalyBenchConfig(dataset="neu", data_dir=root, image_size=64, coreset_size=100,
                             cache_dir=bench_cache, out_dir=tmp_path / "out", progress=False)
    with monkeypatch.context() as m:
        m.setattr(PatchCore, "score", _cut_after_scoring(cut))
        during = run_anomaly_bench(cfg).to_dict()
    assert during["unreadable_images"] == {"crazing_1": f"image crazing_1 (images/crazing/crazing_1.jpg): {CHANGED}"}
    assert during["n_unreadable"] == 1
    assert "all 29 readable defective images are test" in during["split"]
    assert not any("crazing_1" in p for p in during["plots"])
    assert any("anomaly_crazing_2" in p for p in during["plots"])  # its class drawn from another of its images
    # the same figures as a run in which that image could not be read from the start
    cfg.out_dir = None
    before = run_anomaly_bench(cfg).to_dict()
    assert list(before["unreadable_images"]) == ["crazing_1"]
    assert during["n_test"] == before["n_test"] == 2 + 29
    for k in FIGURES:
        assert during["metrics"][k] == pytest.approx(before["metrics"][k], abs=1e-9), k


def test_no_defective_image_left_after_scoring_stops_naming_one(
    tmp_path: Path, rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch, bench_cache: Path
) -> None:
    from assetgrade.errors import ValidationError

    root = tmp_path / "neu-det"
    _neu(root, rng, n=5)
    defective = [f for f in sorted((root / "images").rglob("*.jpg")) if f.parent.name != "patches"]
    monkeypatch.setattr(PatchCore, "score", _cut_after_scoring(*defective))
    cfg = AnomalyBenchConfig(dataset="neu", data_dir=root, image_size=64, coreset_size=100,
                             cache_dir=bench_cache, progress=False)
    with pytest.raises(ValidationError, match=r"no readable defective image \(25 unreadable, e\.g\. image crazing_1 "
                       r"\(images/crazing/crazing_1\.jpg\): the file changed"):
        run_anomaly_bench(cfg)


def _save(path: Path, arr: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)


def test_folders_list_an_unreadable_name_found_in_both(
    tmp_path: Path, rng: np.random.Generator, bench_cache: Path
) -> None:
    good, defect = tmp_path / "good", tmp_path / "defects"
    for i in range(1, 8):
        _save(good / f"{i}.png", (128 + rng.normal(0, 10, (48, 48))).clip(0, 255).astype(np.uint8))
    for i in range(1, 4):
        arr = (128 + rng.normal(0, 10, (48, 48))).clip(0, 255).astype(np.uint8)
        arr[10:16, 5:40] = 255
        _save(defect / f"{i}.png", arr)
    cut(good / "1.png")  # the same name cut off in both folders (different bytes)
    cut(defect / "1.png")
    cfg = AnomalyBenchConfig(good=good, defect=defect, image_size=64, coreset_size=100,
                             cache_dir=bench_cache, progress=False)
    res = run_anomaly_bench(cfg).to_dict()
    assert res["n_unreadable"] == 2
    assert sorted(res["unreadable_images"]) == [str(defect / "1.png"), str(good / "1.png")]
    for f in (good / "1.png", defect / "1.png"):
        assert res["unreadable_images"][str(f)].startswith(f"image 1.png ({f}): cannot decode image")
    assert res["n_train"] == 3 and res["n_test"] == 2 + 2  # of 6 readable good images 3 in the bank, 2 test

"""Bench heat-map overlays (``cam_*.png``, ``anomaly_*.png``) carry a labelled colour scale in the maps' palette."""

from __future__ import annotations

import hashlib
import io
from functools import partial
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image

from assetgrade.modalities.vision import heatmaps
from assetgrade.modalities.vision.heatmaps import heat_colours, overlay_png

LOW = tuple(int(v) for v in heat_colours(np.array([[0.0, 1.0]]))[0, 0, :3])  # inferno at the map's minimum
HIGH = tuple(int(v) for v in heat_colours(np.array([[0.0, 1.0]]))[0, 1, :3])  # and at its maximum


def _rgb(path: Path) -> npt.NDArray[np.uint8]:
    return np.asarray(Image.open(path).convert("RGB"))


def _bar(panel: npt.NDArray[np.uint8]) -> tuple[int, int, int]:
    """(row, first column, last column) of the scale bar: the row that holds both ends of the palette."""
    for r in range(panel.shape[0]):
        lo = np.nonzero((panel[r] == LOW).all(axis=1))[0]
        hi = np.nonzero((panel[r] == HIGH).all(axis=1))[0]
        if len(lo) and len(hi):
            return r, int(lo.min()), int(hi.max())
    raise AssertionError("no row of the panel holds the palette's two ends")


def test_the_overlay_keeps_the_photo_and_adds_a_bar_from_the_maps_minimum_to_its_maximum(tmp_path: Path) -> None:
    img = Image.new("RGB", (120, 60), (128, 128, 128))
    heat = np.tile(np.linspace(2.0, 6.0, 120, dtype=np.float32), (60, 1))
    path = heatmaps.overlay_scale_png(img, heat, tmp_path / "s.png", label="anomaly score", box=(10, 10, 30, 30),
                                      marks={"alarm threshold": 5.0})
    out = _rgb(path)
    assert out.shape[0] > 60 and out.shape[1] >= 120
    # the photo part is the plain overlay's, pixel for pixel (same blend, same box)
    plain = _rgb(overlay_png(img, heat, tmp_path / "p.png", box=(10, 10, 30, 30)))
    assert np.array_equal(out[:60, :120], plain)
    row, x_lo, x_hi = _bar(out[60:])
    assert x_hi - x_lo >= 100
    # the bar rises in lightness from the minimum's colour to the maximum's (the palette of the overlay)
    grey = out[60 + row, x_lo : x_hi + 1].astype(float).mean(axis=1)
    assert grey[-1] > grey[len(grey) // 2] > grey[0]
    # the alarm threshold is a tick three quarters of the way along (2 .. 6, at 5)
    mark = np.nonzero((out[60 + row] == heatmaps.SCALE_MARK_RGB).all(axis=1))[0]
    assert len(mark) and abs(float(mark.mean()) - (x_lo + 0.75 * (x_hi - x_lo))) <= 1.5


def test_a_threshold_outside_the_maps_range_draws_no_tick_and_the_label_is_written(tmp_path: Path) -> None:
    img = Image.new("RGB", (120, 60), (128, 128, 128))
    heat = np.tile(np.linspace(2.0, 6.0, 120, dtype=np.float32), (60, 1))
    a = _rgb(heatmaps.overlay_scale_png(img, heat, tmp_path / "a.png", label="CAM score",
                                        marks={"alarm threshold": 9.0}))
    assert not (a == heatmaps.SCALE_MARK_RGB).all(axis=2).any()
    b = _rgb(heatmaps.overlay_scale_png(img, heat, tmp_path / "b.png", label="anomaly score",
                                        marks={"alarm threshold": 9.0}))
    assert a.shape == b.shape and not np.array_equal(a, b)  # the words differ: the label is drawn


def test_a_narrow_image_gets_a_scale_wide_enough_to_read(tmp_path: Path) -> None:
    img = Image.new("RGB", (16, 16), (50, 50, 50))
    out = _rgb(heatmaps.overlay_scale_png(img, np.eye(16, dtype=np.float32), tmp_path / "n.png",
                                          label="CAM score for class 'scratches'"))
    _, x_lo, x_hi = _bar(out[16:])
    assert out.shape[1] > 16 and x_hi - x_lo >= 100
    assert (out[:16, 16:] == 255).all()  # beside the photo: the panel's white


def _neu_tree(root: Path, rng: np.random.Generator) -> Path:
    from assetgrade.datasets.neu import NEU_CLASSES

    for cls in NEU_CLASSES:
        (root / "images" / cls).mkdir(parents=True)
    (root / "annotations").mkdir()
    for i in range(6):
        arr = (128 + rng.normal(0, 10, (48, 48))).clip(0, 255).astype(np.uint8)
        Image.fromarray(arr).save(root / "images" / "patches" / f"patches_{i}.jpg")
    for cls in NEU_CLASSES:
        if cls == "patches":
            continue
        arr = (128 + rng.normal(0, 10, (48, 48))).clip(0, 255).astype(np.uint8)
        arr[20:26, 5:40] = 255
        Image.fromarray(arr).save(root / "images" / cls / f"{cls}_1.jpg")
        (root / "annotations" / f"{cls}_1.xml").write_text(
            f"<annotation><object><name>{cls}</name><bndbox><xmin>6</xmin><ymin>21</ymin><xmax>40</xmax>"
            "<ymax>26</ymax></bndbox></object></annotation>")
    return root


def test_the_anomaly_bench_overlays_carry_the_scale(
    tmp_path: Path, rng: np.random.Generator, bench_cache: Path
) -> None:
    from assetgrade.bench.anomaly import AnomalyBenchConfig, run_anomaly_bench

    cfg = AnomalyBenchConfig(dataset="neu", data_dir=_neu_tree(tmp_path / "neu-det", rng), image_size=64,
                             coreset_size=100, cache_dir=bench_cache, out_dir=tmp_path / "out",
                             progress=False)
    res = run_anomaly_bench(cfg).to_dict()
    pngs = [Path(p) for p in res["plots"] if Path(p).name.startswith("anomaly_") and "scores" not in Path(p).name]
    assert pngs
    for p in pngs:
        out = _rgb(p)
        assert out.shape[0] > 48 and out.shape[1] >= 48
        _bar(out[48:])


def test_the_cam_overlays_carry_the_scale(backbone64: object, rng: np.random.Generator, tmp_path: Path) -> None:
    from assetgrade.bench.vision import VisionBenchConfig, asset_folds
    from assetgrade.bench.vision_steps import cam_peak_in_box
    from assetgrade.datasets.image_folder import LabelledImages
    from assetgrade.modalities.vision.features import extract_pooled
    from assetgrade.store.records import ImageRef

    refs, y = [], []
    for k in range(8):
        arr = rng.integers(0, 60, (64, 96), dtype=np.uint8)
        arr[4:20, 60:90] = 250
        buf = io.BytesIO()
        Image.fromarray(arr).save(buf, format="PNG")
        data = buf.getvalue()
        refs.append(ImageRef(f"p{k}", hashlib.sha256(data).hexdigest(), partial(lambda d: d, data),
                             boxes=(("spot", (60.0, 4.0, 90.0, 20.0)),)))
        y.append(k % 2)
    ds = LabelledImages("tiny", refs, ["ab"[k] for k in y], ("a", "b"))
    labels = np.array(y)
    X = extract_pooled(refs, backbone64).features  # type: ignore[arg-type]
    res = cam_peak_in_box(ds, labels, np.ones(8, dtype=bool), asset_folds(ds, labels, 2, 0), X,
                          backbone64, VisionBenchConfig(C=0.02), tmp_path / "out")  # type: ignore[arg-type]
    assert res["overlays"]
    for p in res["overlays"]:
        out = _rgb(Path(p))
        assert out.shape[0] > 64 and out.shape[1] >= 96
        _bar(out[64:])

"""An image whose header is whole but whose pixel data is cut off is named by its file, not only its id, where
it is decoded (feature batches, the vision extractor, the linked benchmark's images); the others go on."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from assetgrade.datasets.elpv import load_elpv
from assetgrade.datasets.image_folder import LabelledImages
from assetgrade.modalities.base import get_extractor
from assetgrade.modalities.vision.backbone import Backbone
from assetgrade.modalities.vision.features import extract_pooled, load_images
from assetgrade.store.records import AssetRecord, ImageRef


def _cut(path: Path) -> None:
    """Keep the file's header and the first half of its pixel data: the header check passes, decoding fails."""
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _elpv(tmp_path: Path, rng: np.random.Generator, n: int = 6) -> LabelledImages:
    """An ELPV copy of ``n`` cells; cell0002.png is a PNG and cell0004.jpg a JPEG, both cut in their pixel data."""
    (tmp_path / "images").mkdir(parents=True)
    rows = []
    for k in range(1, n + 1):
        name = f"cell{k:04d}.{'jpg' if k == 4 else 'png'}"
        Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(tmp_path / "images" / name)
        rows.append(f"images/{name} {k % 2:.1f} mono\n")
    _cut(tmp_path / "images" / "cell0002.png")
    _cut(tmp_path / "images" / "cell0004.jpg")
    (tmp_path / "labels.csv").write_text("".join(rows))
    return load_elpv(tmp_path)


def test_the_header_check_passes_and_loading_the_bytes_too(tmp_path: Path, rng: np.random.Generator) -> None:
    ds = _elpv(tmp_path, rng)
    assert ds.refs[1].load_bytes()[:4] == b"\x89PNG" and ds.refs[3].load_bytes()[:2] == b"\xff\xd8"


def test_decode_batch_names_the_file_and_goes_on(tmp_path: Path, rng: np.random.Generator) -> None:
    ds = _elpv(tmp_path, rng)
    images, errors = load_images(ds.refs)
    assert sorted(errors) == [1, 3] and sum(img is not None for img in images) == 4
    assert errors[1].startswith("image cell0002 (images/cell0002.png): cannot decode image")
    assert errors[3].startswith("image cell0004 (images/cell0004.jpg): cannot decode image")


def test_feature_batch_of_a_bench_names_the_file(tmp_path: Path, rng: np.random.Generator,
                                                backbone64: Backbone) -> None:
    ds = _elpv(tmp_path / "copy", rng)
    fb = extract_pooled(ds.refs, backbone64, batch_size=4)
    assert sorted(fb.errors) == [1, 3] and np.isfinite(fb.features[[0, 2, 4, 5]]).all()
    assert fb.errors[3].startswith("image cell0004 (images/cell0004.jpg): cannot decode image")


def test_extractor_names_the_file_of_an_image_under_another_id(tmp_path: Path, rng: np.random.Generator,
                                                              backbone64: Backbone) -> None:
    # as the linked benchmark does: its asset's image id, the ELPV cell's loader
    ds = _elpv(tmp_path / "copy", rng)
    recs = [AssetRecord(f"a{i}", images=(ImageRef(f"a{i}-img1", r.sha256, r.load_bytes),), grade="AD"[i % 2])
            for i, r in enumerate(ds.refs)]
    ex = get_extractor("vision", image_size=64, grades=("A", "B", "C", "D"), cache_dir=tmp_path / "cache",
                       coreset_size=50, C=0.5)
    ex._backbone = backbone64  # type: ignore[attr-defined]
    ex.fit(recs)
    assert sorted(ex.fit_errors_) == ["a1-img1", "a3-img1"]  # type: ignore[attr-defined]
    assert ex.fit_errors_["a1-img1"].startswith(  # type: ignore[attr-defined]
        "image a1-img1 (images/cell0002.png): cannot decode image")
    assert ex.fit_errors_["a3-img1"].startswith(  # type: ignore[attr-defined]
        "image a3-img1 (images/cell0004.jpg): cannot decode image")

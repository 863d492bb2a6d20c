"""A corrupt or unreadable image in NEU, ELPV or a plain image folder is named by its path under the data root
(and its evidence id); the listing and the batch that decodes it go on without it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from assetgrade.datasets.elpv import load_elpv
from assetgrade.datasets.image_folder import load_image_folder
from assetgrade.datasets.neu import NEU_CLASSES, load_neu
from assetgrade.errors import AssetgradeError, ValidationError
from assetgrade.modalities.vision.features import load_images


def _png(path: Path, rng: np.random.Generator) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rng.integers(0, 255, (24, 24), dtype=np.uint8)).save(path, format="PNG")


def _only_error(refs: list, index: int) -> str:  # type: ignore[type-arg]
    images, errors = load_images(refs)  # the batch API: a bad image is reported and the others decoded
    assert list(errors) == [index] and images[index] is None
    assert all(img is not None for i, img in enumerate(images) if i != index)
    return errors[index]


def test_neu_corrupt_image_is_named_by_its_path_and_id(tmp_path: Path, rng: np.random.Generator) -> None:
    for cls in NEU_CLASSES:
        _png(tmp_path / "images" / cls / f"{cls}_1.jpg", rng)
    (tmp_path / "images" / "crazing" / "crazing_2.jpg").write_bytes(b"not a jpeg at all, a text file" * 4)
    ds = load_neu(tmp_path)
    assert ds.n_images == 7
    bad = [r.evidence_id for r in ds.refs].index("crazing_2")
    message = _only_error(ds.refs, bad)
    assert message.startswith("image crazing_2 (images/crazing/crazing_2.jpg): ")
    assert "not an image" in message


def test_elpv_corrupt_and_unreadable_images_are_named_and_the_rest_read(tmp_path: Path,
                                                                         rng: np.random.Generator) -> None:
    _png(tmp_path / "images" / "cell0001.png", rng)
    (tmp_path / "images" / "cell0002.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 10)  # cut off in its header
    (tmp_path / "images" / "cell0003.png").mkdir()  # a file that cannot be read (no permission test as root)
    _png(tmp_path / "images" / "cell0004.png", rng)
    (tmp_path / "labels.csv").write_text("".join(f"images/cell000{i}.png 0.0 mono\n" for i in range(1, 5)))
    ds = load_elpv(tmp_path)
    assert [r.evidence_id for r in ds.refs] == ["cell0001", "cell0002", "cell0003", "cell0004"]
    images, errors = load_images(ds.refs)
    assert sorted(errors) == [1, 2] and images[0] is not None and images[3] is not None
    assert errors[1].startswith("image cell0002 (images/cell0002.png): ")
    assert errors[2].startswith("image cell0003 (images/cell0003.png): cannot read the file")
    assert len({r.sha256 for r in ds.refs}) == 4  # an unreadable file shares no hash (no fold group) with another


def test_image_folder_bad_file_is_named_once_by_its_path(tmp_path: Path, rng: np.random.Generator) -> None:
    for rel in ("ok/1.png", "bad/2.png"):
        _png(tmp_path / rel, rng)
    (tmp_path / "bad" / "3.png").write_bytes(b"%PDF-1.7 a document saved as png")
    ds = load_image_folder(tmp_path)
    bad = [r.evidence_id for r in ds.refs].index("bad/3.png")
    message = _only_error(ds.refs, bad)
    assert message.startswith("image bad/3.png: ") and "PDF" in message


def test_a_bad_image_raises_when_loaded_one_by_one(tmp_path: Path, rng: np.random.Generator) -> None:
    _png(tmp_path / "a" / "1.png", rng)
    _png(tmp_path / "b" / "2.png", rng)
    (tmp_path / "b" / "3.png").write_bytes(b"")
    ds = load_image_folder(tmp_path)
    ref = next(r for r in ds.refs if r.evidence_id == "b/3.png")
    with pytest.raises(AssetgradeError, match=r"^image b/3\.png: "):
        ref.load_bytes()


def test_an_elpv_copy_without_its_images_is_refused_not_listed_as_unreadable(tmp_path: Path) -> None:
    (tmp_path / "labels.csv").write_text("images/cell0001.png 0.0 mono\nimages/cell0002.png 1.0 poly\n")
    with pytest.raises(ValidationError, match=r"none of the 2 images labels\.csv lists is there"):
        load_elpv(tmp_path)

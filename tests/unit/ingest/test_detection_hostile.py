"""Hostile input to the folder, VOC, COCO and YOLO importers: one bad item is one named error, never a crash."""

from __future__ import annotations

import io
import json
import struct
import zlib
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest
from PIL import Image

from assetgrade.errors import IngestError
from assetgrade.ingest import Ingestor, IngestReport, coco_items, folder_items, voc_items, yolo_items
from assetgrade.ingest.folders import image_asset_ids
from assetgrade.ingest.images import validate_image
from assetgrade.ingest.report import RowError
from assetgrade.modalities.vision.images import MAX_PIXELS, MIN_SIDE
from assetgrade.store import load_records
from assetgrade.workspace import Workspace

Jpeg = Callable[..., bytes]


def _run(ws: Workspace, items: object) -> IngestReport:
    return Ingestor(ws, kind="t", source="test", group_size=3).run(items)  # type: ignore[arg-type]


def _png(size: tuple[int, int] = (32, 32), color: int = 90) -> bytes:
    buf = io.BytesIO()
    Image.new("L", size, color).save(buf, "PNG")
    return buf.getvalue()


def _png_header(w: int, h: int) -> bytes:
    """A PNG whose header claims ``w`` x ``h`` pixels (no pixel data): what a decompression bomb shows first."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)) + chunk(b"IEND", b"")


def _voc(root: Path, name: str, width: str, height: str, box: tuple[int, int, int, int]) -> None:
    (root / "annotations" / f"{Path(name).stem}.xml").write_text(
        f"<annotation><filename>{name}</filename><size><width>{width}</width><height>{height}</height></size>"
        f"<object><name>dent</name><bndbox><xmin>{box[0]}</xmin><ymin>{box[1]}</ymin><xmax>{box[2]}</xmax>"
        f"<ymax>{box[3]}</ymax></bndbox></object></annotation>")


@pytest.fixture
def voc_root(tmp_path: Path, jpeg: Jpeg) -> Path:
    """A VOC tree with one good annotated 64x64 image, ``good.jpg``, and a 64x64 ``bad.jpg``."""
    root = tmp_path / "voc"
    (root / "images").mkdir(parents=True)
    (root / "annotations").mkdir()
    for name in ("good.jpg", "bad.jpg"):
        (root / "images" / name).write_bytes(jpeg(size=(64, 64)))
    _voc(root, "good.jpg", "64", "64", (1, 1, 10, 10))
    return root


def _yolo_root(tmp_path: Path, jpeg: Jpeg) -> Path:
    root = tmp_path / "y"
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    (root / "images" / "good.jpg").write_bytes(jpeg(size=(40, 40)))
    (root / "labels" / "good.txt").write_text("0 0.5 0.5 0.5 0.5\n")
    (root / "classes.txt").write_text("dent\n")
    return root


def _coco(tmp_path: Path, jpeg: Jpeg, doc: Mapping[str, object]) -> Path:
    for name in ("i1.jpg", "i2.jpg"):
        (tmp_path / name).write_bytes(jpeg(size=(40, 30)))
    (tmp_path / "coco.json").write_text(json.dumps(doc))
    return tmp_path / "coco.json"


_IMAGES = [{"id": 1, "file_name": "i1.jpg"}, {"id": 2, "file_name": "i2.jpg"}]


# -- 1. unguarded parses ----------------------------------------------------------------------


def test_voc_size_that_is_not_a_number_rejects_that_file_only(ws: Workspace, voc_root: Path) -> None:
    _voc(voc_root, "bad.jpg", "abc", "64", (1, 1, 10, 10))
    rep = _run(ws, voc_items(voc_root))
    assert rep.added["evidence"] == 1 and len(rep.errors) == 1
    err = rep.errors[0]
    assert Path(err.file).name == "bad.xml" and err.field == "size/width" and "'abc' is not a number" in err.reason


def test_coco_bbox_value_that_is_not_a_number_rejects_that_image_only(ws: Workspace, tmp_path: Path,
                                                                      jpeg: Jpeg) -> None:
    doc = {"images": _IMAGES, "categories": [{"id": 7, "name": "dent"}],
           "annotations": [{"id": 10, "image_id": 1, "category_id": 7, "bbox": ["a", 1, 5, 5]},
                           {"id": 11, "image_id": 2, "category_id": 7, "bbox": [1, 1, 5, 5]}]}
    rep = _run(ws, coco_items(_coco(tmp_path, jpeg, doc)))
    assert rep.added["evidence"] == 1 and len(rep.errors) == 1
    err = rep.errors[0]
    assert err.row == 1 and err.field == "bbox" and "not a number" in err.reason


def test_coco_category_without_name_rejects_only_the_images_that_use_it(ws: Workspace, tmp_path: Path,
                                                                        jpeg: Jpeg) -> None:
    doc = {"images": _IMAGES, "categories": [{"id": 7}, {"id": 8, "name": "dent"}],
           "annotations": [{"id": 10, "image_id": 1, "category_id": 7, "bbox": [1, 1, 5, 5]},
                           {"id": 11, "image_id": 2, "category_id": 8, "bbox": [1, 1, 5, 5]}]}
    rep = _run(ws, coco_items(_coco(tmp_path, jpeg, doc)))
    assert rep.added["evidence"] == 1
    by_field = {e.field: e for e in rep.errors}
    assert set(by_field) == {"categories[0].name", "category_id"}
    assert by_field["category_id"].row == 1 and "categories[0] has no 'name'" in by_field["category_id"].reason


@pytest.mark.parametrize(("doc", "field"), [
    ({"images": [{"id": 1}], "annotations": [], "categories": []}, "file_name"),
    ({"images": ["i1.jpg"], "annotations": [], "categories": []}, None),
    ({"images": _IMAGES, "annotations": [{"id": 3, "category_id": 7, "bbox": [1, 1, 2, 2]}],
      "categories": [{"id": 7, "name": "dent"}]}, "annotations[0].image_id"),
    ({"images": _IMAGES, "annotations": [7], "categories": []}, "annotations[0].image_id"),
    ({"images": _IMAGES, "annotations": [], "categories": [{"name": "dent"}]}, "categories[0].id"),
])
def test_coco_missing_required_keys_are_errors_naming_the_entry(ws: Workspace, tmp_path: Path, jpeg: Jpeg,
                                                                doc: dict[str, object], field: str | None) -> None:
    rep = _run(ws, coco_items(_coco(tmp_path, jpeg, doc)))
    assert rep.status == "done_with_errors" and len(rep.errors) == 1 and rep.errors[0].field == field
    assert Path(rep.errors[0].file).name == "coco.json"


def test_coco_top_level_that_is_not_an_object_is_an_error(tmp_path: Path, jpeg: Jpeg) -> None:
    path = _coco(tmp_path, jpeg, {})
    path.write_text("[1, 2]")
    with pytest.raises(IngestError, match="top level must be a JSON object"):
        list(coco_items(path))


def test_yolo_decompression_bomb_rejects_that_image_only(ws: Workspace, tmp_path: Path, jpeg: Jpeg) -> None:
    root = _yolo_root(tmp_path, jpeg)
    (root / "images" / "bomb.png").write_bytes(_png_header(30_000, 30_000))
    (root / "labels" / "bomb.txt").write_text("0 0.5 0.5 0.1 0.1\n")
    rep = _run(ws, yolo_items(root, classes_file=root / "classes.txt"))
    assert rep.added["evidence"] == 1 and len(rep.errors) == 1
    err = rep.errors[0]
    assert Path(err.file).name == "bomb.txt" and "bomb.png" in err.reason and "decompression bomb" in err.reason


def test_yolo_label_file_that_is_not_utf8_rejects_that_image_only(ws: Workspace, tmp_path: Path,
                                                                  jpeg: Jpeg) -> None:
    root = _yolo_root(tmp_path, jpeg)
    (root / "images" / "latin.jpg").write_bytes(jpeg(size=(40, 40)))
    (root / "labels" / "latin.txt").write_bytes(b"0 0.5 0.5 0.1 0.1 \xe9\n")
    rep = _run(ws, yolo_items(root, classes_file=root / "classes.txt"))
    assert rep.added["evidence"] == 1 and len(rep.errors) == 1
    assert Path(rep.errors[0].file).name == "latin.txt" and "not UTF-8" in rep.errors[0].reason


def test_yolo_row_with_extra_values_is_refused_not_read_as_a_box(tmp_path: Path, jpeg: Jpeg) -> None:
    root = _yolo_root(tmp_path, jpeg)
    (root / "labels" / "good.txt").write_text("0 0.1 0.1 0.9 0.1 0.9 0.9\n")  # a segmentation polygon
    (err,) = list(yolo_items(root, classes_file=root / "classes.txt"))
    assert isinstance(err, RowError) and err.row == 1 and "7 values" in err.reason


@pytest.mark.parametrize("names", ["{0: dent, 2: leak}", "{0: dent, x: leak}"])
def test_yolo_names_map_must_have_indexes_0_to_n(tmp_path: Path, jpeg: Jpeg, names: str) -> None:
    root = _yolo_root(tmp_path, jpeg)
    (root / "data.yaml").write_text(f"names: {names}\n")
    with pytest.raises(IngestError, match=r"class indexes 0\.\.1"):
        list(yolo_items(root, classes_file=root / "data.yaml"))


# -- 2. VOC boxes against the real image ---------------------------------------------------------


def test_voc_box_is_checked_against_the_real_image_not_the_declared_size(ws: Workspace, voc_root: Path) -> None:
    _voc(voc_root, "bad.jpg", "6400", "64", (1, 1, 2000, 10))
    rep = _run(ws, voc_items(voc_root))
    assert rep.added["evidence"] == 1 and len(rep.errors) == 1
    assert Path(rep.errors[0].file).name == "bad.xml" and "64x64" in rep.errors[0].reason


def test_voc_declared_size_that_differs_from_the_image_is_reported(ws: Workspace, voc_root: Path) -> None:
    _voc(voc_root, "bad.jpg", "128", "128", (1, 1, 10, 10))  # the box fits, but was drawn on another image
    rep = _run(ws, voc_items(voc_root))
    assert rep.added["evidence"] == 1 and len(rep.errors) == 1
    err = rep.errors[0]
    assert err.field == "size" and "declares 128x128" in err.reason and "64x64" in err.reason


# -- 3. one asset per image ----------------------------------------------------------------------


def _tree(root: Path, jpeg: Jpeg) -> None:
    for rel in ("crack/001.jpg", "dent/001.png", "dent/002.png"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(jpeg(len(rel), size=(32, 32)))


@pytest.mark.parametrize("label_as", ["defect", "grade"])
def test_folder_images_sharing_a_stem_are_separate_assets(ws: Workspace, tmp_path: Path, jpeg: Jpeg,
                                                          label_as: str) -> None:
    root = tmp_path / "f"
    _tree(root, jpeg)
    classes = {"crack": "A", "dent": "C"} if label_as == "grade" else {"crack": "crack"}
    rep = _run(ws, folder_items(root, label_as=label_as, asset_prefix="f-", classes=classes))
    assert rep.ok and rep.added == {"assets": 3, "evidence": 3, "labels": 3}
    recs = {r.asset_id: r for r in load_records(ws)}
    assert set(recs) == {"f-crack/001", "f-dent/001", "f-002"}  # f-002 keeps its stem id
    assert all(len(r.images) == 1 for r in recs.values())
    again = _run(ws, folder_items(root, label_as=label_as, asset_prefix="f-", classes=classes))
    assert again.ok and again.added == {"assets": 0, "evidence": 0, "labels": 0} and again.skipped_existing == 3


def test_yolo_and_coco_images_sharing_a_stem_are_separate_assets(ws: Workspace, tmp_path: Path,
                                                                 jpeg: Jpeg) -> None:
    root = _yolo_root(tmp_path, jpeg)
    for sub in ("a", "b"):
        (root / "images" / sub).mkdir()
        (root / "images" / sub / "good.jpg").write_bytes(jpeg(ord(sub), size=(40, 40)))
    rep = _run(ws, yolo_items(root, classes_file=root / "classes.txt", asset_prefix="y-"))
    assert rep.ok and rep.added["assets"] == 3
    croot = tmp_path / "c"
    for rel in ("a/001.jpg", "b/001.jpg"):
        (croot / rel).parent.mkdir(parents=True, exist_ok=True)
        (croot / rel).write_bytes(jpeg(len(rel) + ord(rel[0]), size=(40, 30)))
    doc = {"images": [{"id": 1, "file_name": "a/001.jpg"}, {"id": 2, "file_name": "b/001.jpg"}],
           "annotations": [], "categories": []}
    (croot / "coco.json").write_text(json.dumps(doc))
    assert _run(ws, coco_items(croot / "coco.json", asset_prefix="c-")).added["assets"] == 2
    assert {r.asset_id for r in load_records(ws)} == {"y-good", "y-a/good", "y-b/good", "c-a/001", "c-b/001"}


def test_yolo_label_file_shared_by_two_images_is_an_error_for_both(tmp_path: Path, jpeg: Jpeg) -> None:
    root = _yolo_root(tmp_path, jpeg)
    (root / "images" / "good.png").write_bytes(_png((40, 40)))
    errors = [str(e) for e in yolo_items(root, classes_file=root / "classes.txt")]
    assert len(errors) == 2 and all("good.jpg, good.png" in e for e in errors)


def test_voc_images_sharing_a_stem_are_separate_assets(ws: Workspace, voc_root: Path) -> None:
    (voc_root / "images" / "good.png").write_bytes(_png((64, 64)))
    (voc_root / "annotations" / "good_png.xml").write_text(
        "<annotation><filename>good.png</filename></annotation>")
    rep = _run(ws, voc_items(voc_root))
    assert rep.ok and {r.asset_id for r in load_records(ws)} == {"good.jpg", "good.png"}


def test_asset_ids_stay_unique_for_awkward_names() -> None:
    ids = image_asset_ids(["001.jpg", "001.png", "001.jpg.png", "x/002.jpg"])
    assert len(set(ids.values())) == 4 and ids["x/002.jpg"] == "002"


# -- 4. YOLO label files with no image -----------------------------------------------------------


def test_yolo_label_file_without_image_is_a_notice(ws: Workspace, tmp_path: Path, jpeg: Jpeg) -> None:
    root = _yolo_root(tmp_path, jpeg)
    (root / "labels" / "lost.txt").write_text("0 0.5 0.5 0.1 0.1\n")
    (root / "labels" / "classes.txt").write_text("dent\n")
    rep = _run(ws, yolo_items(root, classes_file=root / "labels" / "classes.txt"))
    assert rep.ok and rep.added["evidence"] == 1
    assert [Path(n.file).name for n in rep.notices] == ["lost.txt"] and "has no image" in rep.notices[0].message


# -- 5. formats ------------------------------------------------------------------------------------


def test_eps_named_jpg_is_refused_as_unsupported_without_ghostscript(ws: Workspace, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from PIL import EpsImagePlugin

    def no_ghostscript(*args: object, **kwargs: object) -> None:
        raise AssertionError("Ghostscript must never be started by ingest")

    monkeypatch.setattr(EpsImagePlugin, "Ghostscript", no_ghostscript)
    root = tmp_path / "f"
    (root / "crack").mkdir(parents=True)
    (root / "crack" / "a.jpg").write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 32 32\nshowpage\n")
    (root / "crack" / "b.jpg").write_bytes(b"P5 32 32 255\n" + bytes(32 * 32))
    rep = _run(ws, folder_items(root, label_as="none"))
    reasons = sorted(e.reason for e in rep.errors)
    assert rep.added["evidence"] == 0 and len(reasons) == 2
    assert reasons[0].startswith("unsupported image format EPS")
    assert reasons[1].startswith("unsupported image format PPM")
    assert all("JPEG, PNG, TIFF, BMP, WEBP, GIF" in r for r in reasons)


# -- 6. what the vision extractor can use --------------------------------------------------------


def test_image_smaller_than_the_vision_minimum_is_refused(ws: Workspace, tmp_path: Path) -> None:
    root = tmp_path / "f"
    (root / "crack").mkdir(parents=True)
    (root / "crack" / "tiny.png").write_bytes(_png((1, 1)))
    (root / "crack" / "edge.png").write_bytes(_png((MIN_SIDE, MIN_SIDE)))
    rep = _run(ws, folder_items(root, label_as="none"))
    assert rep.added["evidence"] == 1 and len(rep.errors) == 1
    assert rep.errors[0].field == "path" and f"at least {MIN_SIDE}" in rep.errors[0].reason


def test_pixel_limit_is_never_above_the_vision_limit() -> None:
    side = int(MAX_PIXELS**0.5) + 1
    with pytest.raises(IngestError, match=f"{MAX_PIXELS:,}"):
        validate_image(_png_header(side, side), where="big.png", max_pixels=10 * MAX_PIXELS)


@pytest.mark.parametrize("doc", [
    {"images": [{"id": [1], "file_name": "i1.jpg"}], "annotations": [], "categories": []},
    {"images": _IMAGES, "annotations": [{"id": 3, "image_id": {"x": 1}, "category_id": 7, "bbox": [1, 1, 2, 2]}],
     "categories": []},
    {"images": _IMAGES, "annotations": [], "categories": [{"id": [7], "name": "dent"}]},
    {"images": _IMAGES, "annotations": [{"id": 3, "image_id": 1, "category_id": [7], "bbox": [1, 1, 2, 2]}],
     "categories": [{"id": 7, "name": "dent"}]},
])
def test_coco_ids_that_are_lists_or_objects_are_errors(ws: Workspace, tmp_path: Path, jpeg: Jpeg,
                                                       doc: dict[str, object]) -> None:
    rep = _run(ws, coco_items(_coco(tmp_path, jpeg, doc)))
    assert len(rep.errors) == 1 and "id" in str(rep.errors[0].field)


def test_yolo_symlink_out_of_the_tree_is_refused_before_it_is_read(tmp_path: Path, jpeg: Jpeg) -> None:
    root = _yolo_root(tmp_path, jpeg)
    (tmp_path / "secret.png").write_bytes(_png_header(30_000, 30_000))
    (root / "images" / "link.png").symlink_to(tmp_path / "secret.png")
    (root / "labels" / "link.txt").write_text("0 0.5 0.5 0.1 0.1\n")
    errors = [e for e in yolo_items(root, classes_file=root / "classes.txt") if isinstance(e, RowError)]
    assert len(errors) == 1 and "outside the folder" in errors[0].reason


def test_hidden_files_and_folders_are_not_images_of_the_set(ws: Workspace, tmp_path: Path, jpeg: Jpeg) -> None:
    root = tmp_path / "tree"
    for rel in ("good/a.jpg", "worn/b.jpg", "worn/sub/c.jpg"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(jpeg(3))
    (root / "worn" / "._b.jpg").write_bytes(b"\x00\x05\x16\x07 resource fork")  # macOS AppleDouble file
    (root / "good" / ".thumbs").mkdir()
    (root / "good" / ".thumbs" / "a.jpg").write_bytes(jpeg(4))
    (root / ".ipynb_checkpoints").mkdir()
    (root / ".ipynb_checkpoints" / "x.jpg").write_bytes(jpeg(5))
    rep = _run(ws, folder_items(root, label_as="none"))
    assert rep.errors == [] and rep.added["evidence"] == 3


def test_image_listing_is_shared_and_follows_no_folder_links(tmp_path: Path, jpeg: Jpeg) -> None:
    from assetgrade.datasets.image_folder import find_image_files
    from assetgrade.ingest.folders import find_images

    root = tmp_path / "set"
    (root / "a" / "sub").mkdir(parents=True)
    (root / "a" / "x.jpg").write_bytes(jpeg(1))
    (root / "a" / "sub" / "y.JPG").write_bytes(jpeg(2))
    (root / "a" / "loop").symlink_to(root, target_is_directory=True)  # a folder link back up: not walked
    (root / "a" / "gone.jpg").symlink_to(tmp_path / "missing.jpg")  # a broken file link
    rel = [p.relative_to(root).as_posix() for p in find_images(root)]
    assert rel == ["a/gone.jpg", "a/x.jpg", "a/sub/y.JPG"]  # ingest reports the broken link on its row
    assert [p.relative_to(root).as_posix() for p in find_image_files(root)] == ["a/x.jpg", "a/sub/y.JPG"]

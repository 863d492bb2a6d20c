"""The NEU surface-defect database (hot-rolled steel, 6 classes x 300 images) with its Pascal VOC boxes.

Cite K. Song, Y. Yan, "A noise robust method based on completed local binary patterns for
hot-rolled steel strip surface defects", Applied Surface Science 285, 2013, and Y. He et al.,
"An end-to-end steel surface defect detection approach via fusing multiple hierarchical
features", IEEE TIM 69, 2020. Academic use.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from pathlib import Path

from assetgrade.datasets.image_folder import IMAGE_SUFFIXES, LabelledImages, image_ref_from_file
from assetgrade.datasets.paths import dataset_dir
from assetgrade.errors import NotFoundError, ValidationError

__all__ = ["NEU_CLASSES", "Box", "load_neu", "parse_voc"]

NEU_CLASSES = ("crazing", "inclusion", "patches", "pitted_surface", "rolled-in_scale", "scratches")

Box = tuple[str, tuple[float, float, float, float]]


def parse_voc(path: Path) -> tuple[Box, ...]:
    """The (name, (x0, y0, x1, y1)) boxes of one Pascal VOC annotation file, in the 0-based pixel-edge frame.

    VOC boxes are 1-based and inclusive (``xmin`` 1 is the first pixel column, ``xmax`` the last one in
    the box); every box in assetgrade has pixel x covering [x, x + 1) and (x0, y0, x1, y1) its edges, so
    the box is (xmin - 1, ymin - 1, xmax, ymax) (a 0, which some tools write, stays 0).
    """
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as exc:
        raise ValidationError(f"cannot parse VOC annotation: {exc}", where=str(path)) from exc
    boxes: list[Box] = []
    for k, obj in enumerate(root.iter("object")):
        name = (obj.findtext("name") or "").strip()
        bb = obj.find("bndbox")
        if bb is None or not name:
            raise ValidationError(f"object {k} has no name or bndbox", where=str(path))
        try:
            coords = tuple(float(bb.findtext(t) or "nan") for t in ("xmin", "ymin", "xmax", "ymax"))
        except ValueError as exc:
            raise ValidationError(f"object {k}: non-numeric box", where=str(path)) from exc
        if not all(math.isfinite(v) for v in coords):
            raise ValidationError(f"object {k}: box {coords} has a missing or infinite coordinate", where=str(path))
        x0, y0, x1, y1 = max(0.0, coords[0] - 1), max(0.0, coords[1] - 1), coords[2], coords[3]
        if not (x1 > x0 and y1 > y0):
            raise ValidationError(f"object {k}: empty box {coords}", where=str(path))
        boxes.append((name, (x0, y0, x1, y1)))
    return tuple(boxes)


def load_neu(data_dir: Path | None = None, *, per_class: int | None = None) -> LabelledImages:
    """NEU-DET from ``data_dir`` (default: shared data's ``neu-det``); ``per_class`` keeps the first N per class.

    Each image's evidence id is its file stem, which also names its annotation
    (``annotations/<stem>.xml``): two images with one stem (in two class folders, or with two
    suffixes) are refused, naming both, and so is a class folder without an image. An image that
    cannot be read, or is not one, is listed all the same: loading it raises an error naming its
    path under ``data_dir`` and its id (``image crazing_2 (images/crazing/crazing_2.jpg): ...``),
    so a benchmark reports it and goes on.
    """
    root = dataset_dir("neu-det", data_dir)
    img_root = root / "images"
    if not img_root.is_dir():
        raise NotFoundError(f"{img_root} not found (expected images/<class>/*.jpg)")
    ann_root = root / "annotations"
    refs, labels = [], []
    seen: dict[str, Path] = {}
    for cls in NEU_CLASSES:
        folder = img_root / cls
        if not folder.is_dir():
            raise NotFoundError(f"class folder {folder} not found")
        files = sorted(
            (p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")),
            key=lambda p: (len(p.stem), p.stem),
        )
        if not files:
            raise ValidationError(f"class folder {cls} holds no image ({', '.join(IMAGE_SUFFIXES)}, any case)",
                                  where=str(folder))
        for f in files:
            if f.stem in seen:
                raise ValidationError(f"{seen[f.stem].relative_to(img_root).as_posix()} and "
                                      f"{f.relative_to(img_root).as_posix()} both have the id {f.stem!r} (and the "
                                      f"annotation {f.stem}.xml); rename one", where=str(img_root))
            seen[f.stem] = f
        if per_class is not None:
            files = files[:per_class]
        for f in files:
            ann = ann_root / f"{f.stem}.xml"
            boxes = parse_voc(ann) if ann.exists() else ()
            refs.append(image_ref_from_file(f, evidence_id=f.stem, boxes=boxes, root=root))
            labels.append(cls)
    return LabelledImages(name="neu", refs=refs, labels=labels, classes=NEU_CLASSES)

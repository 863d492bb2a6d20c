"""Detection annotations: Pascal VOC XML, COCO JSON and YOLO text files, each box becoming a defect label.

Formats: Pascal VOC (Everingham et al. 2010, IJCV 88), COCO (Lin et al. 2014, ECCV) and
YOLO (Redmon et al. 2016, CVPR) label files. Box coordinates are stored as pixel
``[x0, y0, x1, y1]`` and checked against the image's real (stored) size, not a size the
annotation declares; class names must resolve to ontology defect terms (or be mapped with
``classes``). One asset per image: see :func:`~assetgrade.ingest.folders.image_asset_ids`.
"""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

from assetgrade.errors import IngestError
from assetgrade.ingest.folders import IMAGE_SUFFIXES, find_images, image_asset_ids
from assetgrade.ingest.images import image_size
from assetgrade.ingest.inputs import safe_path
from assetgrade.ingest.items import ItemSpec, LabelSpec
from assetgrade.ingest.report import IngestNotice, RowError
from assetgrade.store.repository import ProvenanceInfo

__all__ = ["coco_items", "voc_items", "yolo_items"]

_Out = Iterator[ItemSpec | RowError | IngestNotice]


def _index(images_dir: Path) -> dict[str, Path]:
    idx: dict[str, Path] = {}
    for p in find_images(images_dir):
        idx.setdefault(p.name, p)
    return idx


def _find_dir(root: Path, names: tuple[str, ...], what: str) -> Path:
    for n in names:
        if (root / n).is_dir():
            return root / n
    raise IngestError(f"no {what} folder (looked for {', '.join(names)})", where=str(root))


def _item(root: Path, img: Path, asset_id: str, asset_type: str | None, labels: list[LabelSpec], where: str,
          source: str, origin: str, extra: dict[str, object]) -> ItemSpec:
    rel = img.relative_to(root).as_posix() if img.is_relative_to(root) else img.name
    path = safe_path(root, rel, where=where)
    attrs = dict(extra)
    if img.parent != root and img.parent.name not in ("images", "JPEGImages"):
        attrs.setdefault("class", img.parent.name)
    return ItemSpec(where=where, asset_id=asset_id, kind="image", source_key=rel, path=path,
                    asset_type=asset_type, attributes=attrs, provenance=ProvenanceInfo(source=source, origin=origin),
                    labels=labels, file=where)


def _inside(box: tuple[float, float, float, float], w: int, h: int, tolerance: float = 0.0) -> bool:
    """True when ``box`` is a finite [x0, y0, x1, y1] with x0 <= x1, y0 <= y1 inside a ``w`` x ``h`` image."""
    x0, y0, x1, y1 = box
    return 0 <= x0 <= x1 <= w + tolerance and 0 <= y0 <= y1 <= h + tolerance  # NaN compares False


def _real_size(img: Path, where: str) -> tuple[int, int]:
    """The image's size as the vision extractor sees it; errors name the image and ``where``."""
    try:
        return image_size(img, where=where)
    except IngestError as exc:
        raise IngestError(f"image {img.name}: {exc.reason}", where=where) from None


def _declared(doc: ET.Element, key: str, where: str) -> float:
    """A ``<size>`` entry of a VOC file (0 when absent: many tools leave it out)."""
    text = (doc.findtext(f"size/{key}") or "").strip()
    try:
        value = float(text or 0)
    except ValueError:
        raise IngestError(f"<{key}> {text!r} is not a number", where=f"{where}:field size/{key}") from None
    if not math.isfinite(value) or value < 0:
        raise IngestError(f"<{key}> {text!r} is not a size in pixels", where=f"{where}:field size/{key}")
    return value


def _voc_labels(doc: ET.Element, w: int, h: int, where: str, classes: dict[str, str]) -> list[LabelSpec]:
    labels: list[LabelSpec] = []
    for i, obj in enumerate(doc.findall("object"), start=1):
        name = (obj.findtext("name") or "").strip()
        if not name:
            raise IngestError("object has no <name>", where=f"{where}:field object {i}")
        texts = [obj.findtext(f"bndbox/{k}") for k in ("xmin", "ymin", "xmax", "ymax")]
        try:
            x0, y0, x1, y1 = (float(t if t is not None else "nan") for t in texts)
        except ValueError:
            raise IngestError(f"bndbox values {texts} are not numbers", where=f"{where}:field object {i}") from None
        # VOC boxes are 1-based and inclusive (xmax = width is the last column); 1 px of slack for tools that
        # write 0-based or exclusive ends, as before
        if not _inside((x0, y0, x1, y1), w, h, tolerance=1.0):
            raise IngestError(f"box {[x0, y0, x1, y1]} is not inside the {w}x{h} image",
                              where=f"{where}:field object {i}")
        # stored in the 0-based pixel-edge frame of every other box (COCO, YOLO, findings, the review page)
        box = (max(0.0, x0 - 1), max(0.0, y0 - 1), min(float(w), x1), min(float(h), y1))
        # before that conversion (bfa2ff9) the raw numbers were stored: a re-ingest replaces such a label (commit.py)
        labels.append(LabelSpec("defect", classes.get(name, name), box=box, field=f"object {i}",
                                was_box=(x0, y0, x1, y1)))
    return labels


def voc_items(
    root: Path, *, images: Path | None = None, annotations: Path | None = None, asset_type: str | None = None,
    asset_prefix: str = "", classes: dict[str, str] | None = None, origin: str = "real", source: str | None = None,
) -> Iterator[ItemSpec | RowError]:
    """One item per VOC annotation file, with one defect label per ``<object>`` box.

    Boxes are checked against the image's real size; a ``<size>`` that declares another size is
    an error naming both (the boxes were then drawn on another version of the image).
    """
    ann_dir = annotations or _find_dir(root, ("annotations", "Annotations"), "annotation")
    img_dir = images or _find_dir(root, ("images", "JPEGImages"), "image")
    index = _index(img_dir)
    ids = image_asset_ids((p.relative_to(img_dir).as_posix() for p in index.values()), asset_prefix)
    for xml in sorted(ann_dir.glob("*.xml")):
        where = str(xml)
        try:
            doc = ET.parse(xml).getroot()
            fname = (doc.findtext("filename") or "").strip()
            img = index.get(fname) or index.get(xml.stem + ".jpg")
            if img is None:
                raise IngestError(f"image {fname!r} not found under {img_dir}", where=f"{where}:field filename")
            dw, dh = _declared(doc, "width", where), _declared(doc, "height", where)
            rel = img.relative_to(img_dir).as_posix()
            # the path check first: a symlink out of the tree is refused before anything reads it
            w, h = _real_size(safe_path(img_dir, rel, where=f"{where}:field filename"), f"{where}:field filename")
            if (dw and dw != w) or (dh and dh != h):
                raise IngestError(f"<size> declares {dw:g}x{dh:g} but {img.name} is {w}x{h} pixels; the boxes may be"
                                  " for another version of the image", where=f"{where}:field size")
            labels = _voc_labels(doc, w, h, where, classes or {})
            yield _item(img_dir, img, ids[rel], asset_type, labels, where,
                        source or root.name, origin, {})
        except ET.ParseError as exc:
            yield RowError(where, None, None, f"not valid XML: {exc}")
        except OSError as exc:
            yield RowError(where, None, None, f"cannot read: {exc.strerror or exc}")
        except IngestError as exc:
            yield RowError.from_exception(exc, where, None)


def _coco_doc(ann_file: Path) -> dict[str, list[Any]]:
    """The parsed COCO file; IngestError when it cannot be read or lacks a top-level list."""
    try:
        doc = json.loads(ann_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IngestError(f"not a readable COCO JSON file: {exc}", where=str(ann_file)) from exc
    if not isinstance(doc, dict):
        raise IngestError(f"the top level must be a JSON object, got {type(doc).__name__}", where=str(ann_file))
    for key in ("images", "annotations", "categories"):
        if not isinstance(doc.get(key), list):
            raise IngestError(f"missing the {key!r} list", where=str(ann_file))
    return doc


def _is_id(value: object) -> bool:
    """True for a COCO id: a whole number or a string (not missing, null, a bool, a list or an object).

    >>> [_is_id(v) for v in (7, "img-7", None, True, [7], 7.5)]
    [True, True, False, False, False, False]
    """
    return isinstance(value, int | str) and not isinstance(value, bool)


def _coco_categories(doc: dict[str, list[Any]], file: str, unusable: dict[object, str]) -> Iterator[RowError]:
    """Fill ``unusable`` with {id: why} for bad categories and yield one error per bad category."""
    for i, c in enumerate(doc["categories"]):
        if not isinstance(c, dict) or not _is_id(c.get("id", [])):
            yield RowError(file, None, f"categories[{i}].id", "category has no usable 'id'")
            continue
        name = c.get("name")
        if not isinstance(name, str) or not name.strip():
            unusable[c["id"]] = f"categories[{i}] has no 'name'"
            yield RowError(file, None, f"categories[{i}].name", f"category {c['id']!r} has no 'name'")


def _coco_box(a: dict[str, Any], w: int, h: int, where: str) -> tuple[float, float, float, float]:
    bbox = a.get("bbox")
    if not isinstance(bbox, list) or len(bbox) != 4:
        raise IngestError(f"annotation {a.get('id')} bbox must be [x, y, w, h], got {bbox!r}",
                          where=f"{where}:field bbox")
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in bbox):
        raise IngestError(f"annotation {a.get('id')} bbox {bbox!r} holds a value that is not a number",
                          where=f"{where}:field bbox")
    x, y, bw, bh = (float(v) for v in bbox)
    box = (x, y, x + bw, y + bh)
    if not _inside(box, w, h):
        raise IngestError(f"annotation {a.get('id')} bbox {bbox!r} is not inside the {w}x{h} image",
                          where=f"{where}:field bbox")
    return box


def coco_items(
    ann_file: Path, *, images: Path | None = None, asset_type: str | None = None, asset_prefix: str = "",
    classes: dict[str, str] | None = None, origin: str = "real", source: str | None = None,
) -> _Out:
    """One item per COCO image; each annotation's ``bbox`` [x, y, w, h] becomes a defect box.

    A broken category, image or annotation entry is an error for that entry (and for the images
    whose annotations use it); an annotation whose ``image_id`` is no image is a notice.
    """
    doc = _coco_doc(ann_file)
    file = str(ann_file)
    unusable: dict[object, str] = {}
    yield from _coco_categories(doc, file, unusable)
    cats = {c["id"]: c["name"] for c in doc["categories"]
            if isinstance(c, dict) and _is_id(c.get("id", [])) and c["id"] not in unusable}
    image_ids = {im.get("id") for im in doc["images"] if isinstance(im, dict) and _is_id(im.get("id"))}
    by_image: dict[object, list[dict[str, Any]]] = {}
    for j, a in enumerate(doc["annotations"]):
        if not isinstance(a, dict) or not _is_id(a.get("image_id", [])):
            yield RowError(file, None, f"annotations[{j}].image_id", "annotation has no usable 'image_id'")
        elif a["image_id"] not in image_ids:
            yield IngestNotice(file, None, f"annotations[{j}] (id {a.get('id')}) refers to image_id"
                                           f" {a['image_id']!r}, which is not in 'images'; it was not imported")
        else:
            by_image.setdefault(a["image_id"], []).append(a)
    img_dir = images or ann_file.parent
    names = [im["file_name"] for im in doc["images"] if isinstance(im, dict) and isinstance(im.get("file_name"), str)]
    ids = image_asset_ids((PurePosixPath(n).as_posix() for n in names), asset_prefix)
    for n, im in enumerate(doc["images"], start=1):
        where = f"{ann_file}:images[{n - 1}]"
        try:
            if not isinstance(im, dict):
                raise IngestError(f"image entry must be an object, got {type(im).__name__}", where=where)
            if not _is_id(im.get("id")):
                raise IngestError(f"id {im.get('id')!r} is not a number or string", where=f"{where}:field id")
            fname = im.get("file_name")
            if not isinstance(fname, str):
                raise IngestError(f"file_name must be a string, got {fname!r}", where=f"{where}:field file_name")
            path = safe_path(img_dir, fname, where=f"{where}:field file_name")
            w, h = _real_size(path, f"{where}:field file_name")
            for key, real in (("width", w), ("height", h)):
                if key in im and im[key] != real:
                    raise IngestError(f"{key} {im[key]!r} differs from the image's real {w}x{h}; the boxes may be"
                                      " for another version of the image", where=f"{where}:field {key}")
            labels: list[LabelSpec] = []
            for a in by_image.get(im.get("id"), []):
                cid = a.get("category_id")
                if not _is_id(cid):
                    raise IngestError(f"annotation {a.get('id')} category_id {cid!r} is not a number or string",
                                      where=f"{where}:field category_id")
                if cid in unusable:
                    raise IngestError(f"annotation {a.get('id')} uses category_id {cid!r}: {unusable[cid]}",
                                      where=f"{where}:field category_id")
                cat = cats.get(cid)
                if cat is None:
                    raise IngestError(f"annotation {a.get('id')} has unknown category_id {cid!r}",
                                      where=f"{where}:field category_id")
                labels.append(LabelSpec("defect", (classes or {}).get(cat, cat), box=_coco_box(a, w, h, where),
                                        field=f"annotation {a.get('id')}"))
            yield _item(img_dir, path, ids[PurePosixPath(fname).as_posix()], asset_type, labels, where,
                        source or ann_file.name, origin, {"coco_id": im.get("id")})
        except IngestError as exc:
            yield RowError.from_exception(exc, file, n)


def _yolo_names(classes_file: Path) -> list[str]:
    """Class names from a ``classes.txt`` (one per line) or a ``data.yaml`` (``names:`` list or index map)."""
    where = str(classes_file)
    try:
        text = classes_file.read_text(encoding="utf-8")
    except OSError as exc:
        raise IngestError(f"cannot read the class names: {exc.strerror or exc}", where=where) from None
    except UnicodeDecodeError as exc:
        raise IngestError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", where=where) from None
    if classes_file.suffix.lower() not in (".yaml", ".yml"):
        return [line.strip() for line in text.splitlines() if line.strip()]
    import yaml

    from assetgrade.strict_yaml import DuplicateKeyError, load_unique

    try:
        data = load_unique(text)
    except DuplicateKeyError as exc:
        raise IngestError(str(exc), where=f"{where}:line {exc.line}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise IngestError(f"not valid YAML: {getattr(exc, 'problem', None) or exc}",
                          where=f"{where}:line {mark.line + 1}" if mark is not None else where) from None
    names = data.get("names") if isinstance(data, dict) else None
    if isinstance(names, dict):
        keys = list(names)
        if sorted(keys, key=str) != sorted(range(len(keys)), key=str) or any(isinstance(k, bool) for k in keys):
            raise IngestError(f"the 'names' map must have the class indexes 0..{len(keys) - 1} as keys, got {keys}",
                              where=where)
        return [str(names[k]) for k in range(len(keys))]
    if isinstance(names, list):
        return [str(n) for n in names]
    raise IngestError("data.yaml has no 'names' list", where=where)


def _yolo_labels(txt: Path, w: int, h: int, names: list[str], classes: dict[str, str]) -> list[LabelSpec]:
    where = str(txt)
    try:
        text = txt.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise IngestError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", where=where) from None
    labels: list[LabelSpec] = []
    for ln, line in enumerate(text.splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 5:
            raise IngestError(f"{line!r} has {len(parts)} values, not the 5 of 'class cx cy w h'"
                              " (segmentation polygons are not supported)", where=f"{where}:row {ln}")
        try:
            c = int(parts[0])
            cx, cy, bw, bh = (float(p) for p in parts[1:5])
        except ValueError:
            raise IngestError(f"{line!r} is not 'class cx cy w h'", where=f"{where}:row {ln}") from None
        if not 0 <= c < len(names):
            raise IngestError(f"class index {c} is outside 0..{len(names) - 1}", where=f"{where}:row {ln}")
        if not all(0.0 <= v <= 1.0 for v in (cx, cy, bw, bh)):
            raise IngestError("coordinates must be normalised to [0, 1]", where=f"{where}:row {ln}")
        x0, y0 = (cx - bw / 2) * w, (cy - bh / 2) * h
        box = (max(0.0, x0), max(0.0, y0), min(w, x0 + bw * w), min(h, y0 + bh * h))
        labels.append(LabelSpec("defect", classes.get(names[c], names[c]), box=box, field=f"row {ln}"))
    return labels


def yolo_items(
    root: Path, *, classes_file: Path, asset_type: str | None = None, asset_prefix: str = "",
    classes: dict[str, str] | None = None, origin: str = "real", source: str | None = None,
) -> _Out:
    """One item per image in ``root/images``; ``root/labels/<stem>.txt`` rows ``cls cx cy w h`` (normalised).

    A label file that two images share (``a.jpg`` and ``a.png``) is an error for both; a label
    file with no image is a notice naming it.
    """
    names = _yolo_names(classes_file)
    img_dir = _find_dir(root, ("images",), "images")
    lbl_dir = _find_dir(root, ("labels",), "labels")
    imgs = find_images(img_dir)
    rels = [img.relative_to(img_dir) for img in imgs]
    ids = image_asset_ids((r.as_posix() for r in rels), asset_prefix)
    stems = Counter(r.with_suffix("") for r in rels)
    for img, rel in zip(imgs, rels, strict=True):
        txt = (lbl_dir / rel).with_suffix(".txt")
        where = str(txt)
        try:
            labels: list[LabelSpec] = []
            if txt.exists():
                if stems[rel.with_suffix("")] > 1:
                    others = sorted(r.as_posix() for r in rels if r.with_suffix("") == rel.with_suffix(""))
                    raise IngestError(f"this label file matches {len(others)} images ({', '.join(others)});"
                                      " rename them so each image has its own label file", where=where)
                w, h = _real_size(safe_path(img_dir, rel.as_posix(), where=str(img)), where)
                labels = _yolo_labels(txt, w, h, names, classes or {})
            yield _item(img_dir, img, ids[rel.as_posix()], asset_type, labels, str(img), source or root.name,
                        origin, {})
        except (IngestError, OSError) as exc:
            yield RowError.from_exception(exc, where, None)
    wanted = set(stems)
    suffixes = "|".join(s.lstrip(".") for s in IMAGE_SUFFIXES)
    for txt in sorted(lbl_dir.rglob("*.txt")):
        rel_txt = txt.relative_to(lbl_dir).with_suffix("")
        if rel_txt not in wanted and txt.resolve() != classes_file.resolve():
            yield IngestNotice(str(txt), None, f"label file has no image (looked for {img_dir}/{rel_txt.as_posix()}"
                                               f".{{{suffixes}}}); its boxes were not imported")

"""Detection annotations: Pascal VOC XML, COCO JSON and YOLO text files, each box becoming a defect label.

Formats: Pascal VOC (Everingham et al. 2010, IJCV 88), COCO (Lin et al. 2014, ECCV) and
YOLO (Redmon et al. 2016, CVPR) label files. Box coordinates are stored as pixel
``[x0, y0, x1, y1]``; class names must resolve to ontology defect terms (or be mapped with
``classes``).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

from PIL import Image

from assetgrade.errors import IngestError
from assetgrade.ingest.folders import find_images
from assetgrade.ingest.inputs import safe_path
from assetgrade.ingest.items import ItemSpec, LabelSpec
from assetgrade.ingest.report import RowError
from assetgrade.store.repository import ProvenanceInfo

__all__ = ["coco_items", "voc_items", "yolo_items"]


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


def _item(root: Path, img: Path, asset_prefix: str, asset_type: str | None, labels: list[LabelSpec], where: str,
          source: str, origin: str, extra: dict[str, object]) -> ItemSpec:
    rel = img.relative_to(root).as_posix() if img.is_relative_to(root) else img.name
    path = safe_path(root, rel, where=where)
    attrs = dict(extra)
    if img.parent != root and img.parent.name not in ("images", "JPEGImages"):
        attrs.setdefault("class", img.parent.name)
    return ItemSpec(where=where, asset_id=asset_prefix + img.stem, kind="image", source_key=rel, path=path,
                    asset_type=asset_type, attributes=attrs, provenance=ProvenanceInfo(source=source, origin=origin),
                    labels=labels, file=where)


def voc_items(
    root: Path, *, images: Path | None = None, annotations: Path | None = None, asset_type: str | None = None,
    asset_prefix: str = "", classes: dict[str, str] | None = None, origin: str = "real", source: str | None = None,
) -> Iterator[ItemSpec | RowError]:
    """One item per VOC annotation file, with one defect label per ``<object>`` box."""
    ann_dir = annotations or _find_dir(root, ("annotations", "Annotations"), "annotation")
    img_dir = images or _find_dir(root, ("images", "JPEGImages"), "image")
    index = _index(img_dir)
    for xml in sorted(ann_dir.glob("*.xml")):
        where = str(xml)
        try:
            tree = ET.parse(xml)
            doc = tree.getroot()
            fname = (doc.findtext("filename") or "").strip()
            img = index.get(fname) or index.get(xml.stem + ".jpg")
            if img is None:
                raise IngestError(f"image {fname!r} not found under {img_dir}", where=f"{where}:field filename")
            w = float(doc.findtext("size/width") or 0)
            h = float(doc.findtext("size/height") or 0)
            labels: list[LabelSpec] = []
            for i, obj in enumerate(doc.findall("object"), start=1):
                name = (obj.findtext("name") or "").strip()
                try:
                    box = tuple(float(obj.findtext(f"bndbox/{k}") or "nan") for k in ("xmin", "ymin", "xmax", "ymax"))
                except ValueError:
                    raise IngestError("bndbox values are not numbers", where=f"{where}:field object {i}") from None
                x0, y0, x1, y1 = box
                if not (0 <= x0 <= x1 and 0 <= y0 <= y1) or (w and x1 > w + 1) or (h and y1 > h + 1):
                    raise IngestError(f"box {list(box)} is not inside the {w:g}x{h:g} image",
                                      where=f"{where}:field object {i}")
                labels.append(LabelSpec("defect", (classes or {}).get(name, name), box=(x0, y0, x1, y1),
                                        field=f"object {i}"))
            yield _item(img_dir, img, asset_prefix, asset_type, labels, where, source or root.name, origin, {})
        except ET.ParseError as exc:
            yield RowError(where, None, None, f"not valid XML: {exc}")
        except IngestError as exc:
            yield RowError.from_exception(exc, where, None)


def coco_items(
    ann_file: Path, *, images: Path | None = None, asset_type: str | None = None, asset_prefix: str = "",
    classes: dict[str, str] | None = None, origin: str = "real", source: str | None = None,
) -> Iterator[ItemSpec | RowError]:
    """One item per COCO image; each annotation's ``bbox`` [x, y, w, h] becomes a defect box."""
    try:
        doc = json.loads(ann_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IngestError(f"not a readable COCO JSON file: {exc}", where=str(ann_file)) from exc
    for key in ("images", "annotations", "categories"):
        if not isinstance(doc.get(key), list):
            raise IngestError(f"missing the {key!r} list", where=str(ann_file))
    cats = {c["id"]: c["name"] for c in doc["categories"]}
    by_image: dict[object, list[dict[str, object]]] = {}
    for a in doc["annotations"]:
        by_image.setdefault(a.get("image_id"), []).append(a)
    img_dir = images or ann_file.parent
    for n, im in enumerate(doc["images"], start=1):
        where = f"{ann_file}:images[{n - 1}]"
        try:
            fname = str(im.get("file_name", ""))
            path = safe_path(img_dir, fname, where=f"{where}:field file_name")
            labels: list[LabelSpec] = []
            for a in by_image.get(im.get("id"), []):
                cat = cats.get(a.get("category_id"))
                if cat is None:
                    raise IngestError(f"annotation {a.get('id')} has unknown category_id {a.get('category_id')}",
                                      where=f"{where}:field category_id")
                bbox = a.get("bbox")
                if not isinstance(bbox, list) or len(bbox) != 4:
                    raise IngestError(f"annotation {a.get('id')} bbox must be [x, y, w, h]",
                                      where=f"{where}:field bbox")
                x, y, bw, bh = (float(v) for v in bbox)
                labels.append(LabelSpec("defect", (classes or {}).get(cat, cat), box=(x, y, x + bw, y + bh),
                                        field=f"annotation {a.get('id')}"))
            yield _item(img_dir, path, asset_prefix, asset_type, labels, where, source or ann_file.name, origin,
                        {"coco_id": im.get("id")})
        except IngestError as exc:
            yield RowError.from_exception(exc, str(ann_file), n)


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
        return [str(names[k]) for k in sorted(names)]
    if isinstance(names, list):
        return [str(n) for n in names]
    raise IngestError("data.yaml has no 'names' list", where=where)


def yolo_items(
    root: Path, *, classes_file: Path, asset_type: str | None = None, asset_prefix: str = "",
    classes: dict[str, str] | None = None, origin: str = "real", source: str | None = None,
) -> Iterator[ItemSpec | RowError]:
    """One item per image in ``root/images``; ``root/labels/<stem>.txt`` rows ``cls cx cy w h`` (normalised)."""
    names = _yolo_names(classes_file)
    img_dir = _find_dir(root, ("images",), "images")
    lbl_dir = _find_dir(root, ("labels",), "labels")
    for img in find_images(img_dir):
        rel = img.relative_to(img_dir)
        txt = (lbl_dir / rel).with_suffix(".txt")
        where = str(txt)
        try:
            labels: list[LabelSpec] = []
            if txt.exists():
                with Image.open(img) as im:
                    w, h = im.size
                for ln, line in enumerate(txt.read_text(encoding="utf-8").splitlines(), start=1):
                    if not line.strip():
                        continue
                    parts = line.split()
                    try:
                        c = int(parts[0])
                        cx, cy, bw, bh = (float(p) for p in parts[1:5])
                    except (ValueError, IndexError):
                        raise IngestError(f"{line!r} is not 'class cx cy w h'", where=f"{where}:row {ln}") from None
                    if not 0 <= c < len(names):
                        raise IngestError(f"class index {c} is outside 0..{len(names) - 1}", where=f"{where}:row {ln}")
                    if not all(0.0 <= v <= 1.0 for v in (cx, cy, bw, bh)):
                        raise IngestError("coordinates must be normalised to [0, 1]", where=f"{where}:row {ln}")
                    x0, y0 = (cx - bw / 2) * w, (cy - bh / 2) * h
                    box = (max(0.0, x0), max(0.0, y0), min(w, x0 + bw * w), min(h, y0 + bh * h))
                    labels.append(LabelSpec("defect", (classes or {}).get(names[c], names[c]), box=box,
                                            field=f"row {ln}"))
            yield _item(img_dir, img, asset_prefix, asset_type, labels, str(img), source or root.name, origin, {})
        except (IngestError, OSError) as exc:
            yield RowError.from_exception(exc, where, None)

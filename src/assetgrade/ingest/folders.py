"""Folder-per-class image trees: ``ROOT/<class>/<image>``; the class becomes a defect label or a grade."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from assetgrade.errors import IngestError
from assetgrade.ingest.inputs import safe_path
from assetgrade.ingest.items import ItemSpec, LabelSpec
from assetgrade.ingest.report import RowError
from assetgrade.store.repository import ProvenanceInfo

__all__ = ["IMAGE_SUFFIXES", "find_images", "folder_items"]

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".gif", ".webp")


def find_images(root: Path) -> list[Path]:
    """Image files under ``root`` (recursive, sorted); symlinks are returned as links, checked later."""
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and (p.is_file() or p.is_symlink()))


def folder_items(
    root: Path, *, label_as: str = "defect", asset_type: str | None = None, asset_prefix: str = "",
    origin: str = "real", source: str | None = None, classes: dict[str, str] | None = None,
) -> Iterator[ItemSpec | RowError]:
    """One image item per file; asset id = prefix + file stem; the folder name is the class.

    ``label_as`` is ``defect`` (the class is an ontology defect term), ``grade`` (a grade name)
    or ``none``. ``classes`` maps folder names to terms where they differ.
    """
    if label_as not in ("defect", "grade", "none"):
        raise IngestError(f"label_as must be defect, grade or none, got {label_as!r}", where="--label-as")
    if not root.is_dir():
        raise IngestError("folder not found", where=str(root))
    subdirs = sorted(d for d in root.iterdir() if d.is_dir())
    if not subdirs:
        raise IngestError("no class folders: expected ROOT/<class>/<image files>", where=str(root))
    for d in subdirs:
        cls = d.name
        term = (classes or {}).get(cls, cls)
        for img in find_images(d):
            rel = img.relative_to(root).as_posix()
            where = f"{root}/{rel}"
            try:
                path = safe_path(root, rel, where=where)
            except IngestError as exc:
                yield RowError(str(root), None, rel, exc.reason)
                continue
            labels = [] if label_as == "none" else [LabelSpec(label_as, term, field="class folder")]
            yield ItemSpec(where=where, asset_id=asset_prefix + img.stem, kind="image", source_key=rel, path=path,
                           asset_type=asset_type, attributes={"class": cls},
                           provenance=ProvenanceInfo(source=source or root.name, origin=origin),
                           labels=labels, file=where)

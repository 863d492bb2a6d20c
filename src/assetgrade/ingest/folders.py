"""Folder-per-class image trees: ``ROOT/<class>/<image>``; the class becomes a defect label or a grade."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath

from assetgrade.errors import IngestError
from assetgrade.ingest.inputs import safe_path
from assetgrade.ingest.items import ItemSpec, LabelSpec
from assetgrade.ingest.report import RowError
from assetgrade.store.repository import ProvenanceInfo

__all__ = ["IMAGE_SUFFIXES", "find_images", "folder_items", "image_asset_ids"]

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".gif", ".webp")


def find_images(root: Path, *, links: bool = True) -> list[Path]:
    """Image files under ``root`` and its sub-folders: folders in sorted order, each folder's files first.

    Hidden files and folders (a name starting with ``.``) are not images of the set: macOS writes
    ``._photo.jpg`` resource forks and ``.DS_Store`` next to copied photos, notebooks leave
    ``.ipynb_checkpoints``; they would show up as unreadable rows. Folder links are not followed
    (no loops). File links are returned as links, to be checked later (``links=True``, ingest
    names a broken or escaping one), or only when they lead to a file (``links=False``).
    """
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        here = Path(dirpath)
        for name in sorted(filenames):
            path = here / name
            if name.startswith(".") or path.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            if path.is_file() or (links and path.is_symlink()):
                found.append(path)
    return found


def image_asset_ids(rel_paths: Iterable[str], prefix: str = "") -> dict[str, str]:
    """One asset id per image of a batch, keyed by its relative POSIX path: one asset per image.

    The id is ``prefix`` + the file stem, as it always was, so re-ingesting a tree keeps its
    ids. Images that share a stem (``crack/001.jpg``, ``dent/001.png``) each get ``prefix`` +
    their relative path without the extension instead (``crack/001``, ``dent/001``), or with it
    where even that is shared (``a/001.jpg``, ``a/001.png``): two images never merge into one
    asset, and which id a file gets does not depend on the order the files are read in.

    Examples
    --------
    >>> image_asset_ids(["crack/001.jpg", "dent/001.png", "dent/002.png"], "f-")
    {'crack/001.jpg': 'f-crack/001', 'dent/001.png': 'f-dent/001', 'dent/002.png': 'f-002'}
    """
    rels = sorted({PurePosixPath(r).as_posix() for r in rel_paths})
    stems = Counter(PurePosixPath(r).stem for r in rels)
    bare = Counter(PurePosixPath(r).with_suffix("").as_posix() for r in rels)
    ids: dict[str, str] = {}
    for r in rels:
        p = PurePosixPath(r)
        no_ext = p.with_suffix("").as_posix()
        ids[r] = p.stem if stems[p.stem] == 1 else no_ext if bare[no_ext] == 1 else r
    while True:  # a stem may still equal another file's path ("001.jpg.png" has the stem "001.jpg")
        taken = Counter(ids.values())
        shared = [r for r, key in ids.items() if taken[key] > 1 and key != r]
        if not shared:
            return {r: prefix + key for r, key in ids.items()}
        ids.update((r, r) for r in shared)


def folder_items(
    root: Path, *, label_as: str = "defect", asset_type: str | None = None, asset_prefix: str = "",
    origin: str = "real", source: str | None = None, classes: dict[str, str] | None = None,
) -> Iterator[ItemSpec | RowError]:
    """One image item and one asset per file; the folder name is the class.

    The asset id is prefix + file stem, or prefix + relative path where stems collide (see
    :func:`image_asset_ids`). ``label_as`` is ``defect`` (the class is an ontology defect term),
    ``grade`` (a grade name) or ``none``. ``classes`` maps folder names to terms where they differ.
    """
    if label_as not in ("defect", "grade", "none"):
        raise IngestError(f"label_as must be defect, grade or none, got {label_as!r}", where="--label-as")
    if not root.is_dir():
        raise IngestError("folder not found", where=str(root))
    subdirs = sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not subdirs:
        raise IngestError("no class folders: expected ROOT/<class>/<image files>", where=str(root))
    found = [(d, img, img.relative_to(root).as_posix()) for d in subdirs for img in find_images(d)]
    asset_ids = image_asset_ids((rel for _, _, rel in found), asset_prefix)
    for d, _img, rel in found:
        cls = d.name
        term = (classes or {}).get(cls, cls)
        where = f"{root}/{rel}"
        try:
            path = safe_path(root, rel, where=where)
        except IngestError as exc:
            yield RowError(str(root), None, rel, exc.reason)
            continue
        labels = [] if label_as == "none" else [LabelSpec(label_as, term, field="class folder")]
        yield ItemSpec(where=where, asset_id=asset_ids[rel], kind="image", source_key=rel, path=path,
                       asset_type=asset_type, attributes={"class": cls},
                       provenance=ProvenanceInfo(source=source or root.name, origin=origin),
                       labels=labels, file=where)

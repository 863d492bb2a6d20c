"""Labelled image sets for the vision benchmarks: the common shape, and the generic DIR/<class>/<images> loader."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from assetgrade.errors import NotFoundError, ValidationError
from assetgrade.ingest.folders import IMAGE_SUFFIXES, find_images
from assetgrade.store.records import ImageRef

__all__ = ["IMAGE_SUFFIXES", "LabelledImages", "find_image_files", "image_ref_from_file", "load_image_folder"]



@dataclass
class LabelledImages:
    """Images with one class label each; every image is its own asset unless ``groups`` says otherwise.

    Examples
    --------
    >>> ds = LabelledImages(name="demo", refs=[], labels=[], classes=("ok", "bad"))
    >>> ds.n_images
    0
    """

    name: str
    refs: list[ImageRef]
    labels: list[str]
    classes: tuple[str, ...]
    ordinal: bool = False
    """True when ``classes`` are ordered levels (best first), e.g. condition grades."""
    groups: list[str] = field(default_factory=list)
    """Asset id per image (splits keep an asset's images together); empty: one asset per image."""
    attributes: list[dict[str, Any]] = field(default_factory=list)

    @property
    def n_images(self) -> int:
        """How many images."""
        return len(self.refs)

    def asset_ids(self) -> list[str]:
        """The asset of each image (its own evidence id when no groups are given)."""
        return self.groups if self.groups else [r.evidence_id for r in self.refs]

    def subset(self, idx: Sequence[int]) -> LabelledImages:
        """The images at ``idx`` (e.g. a reduced benchmark)."""
        return LabelledImages(
            name=self.name,
            refs=[self.refs[i] for i in idx],
            labels=[self.labels[i] for i in idx],
            classes=self.classes,
            ordinal=self.ordinal,
            groups=[self.groups[i] for i in idx] if self.groups else [],
            attributes=[self.attributes[i] for i in idx] if self.attributes else [],
        )


def _read(path: Path, sha256: str) -> bytes:
    """The file's bytes, refused when they are no longer those hashed when the set was listed: features are
    cached by that hash, so an image edited in between would be remembered under its old content's name."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise NotFoundError(f"cannot read image {path}: {exc}") from exc
    if hashlib.sha256(data).hexdigest() != sha256:
        raise ValidationError("the file changed since the data set was listed (its sha256 differs); run again",
                              where=str(path))
    return data


def image_ref_from_file(
    path: Path, *, evidence_id: str | None = None, boxes: tuple[tuple[str, tuple[float, float, float, float]], ...] = ()
) -> ImageRef:
    """An ImageRef for a file on disk: content hash now, bytes loaded lazily (and checked against that hash)."""
    try:
        sha = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise NotFoundError(f"cannot read image {path}: {exc}") from exc
    return ImageRef(evidence_id=evidence_id or path.name, sha256=sha, load_bytes=partial(_read, path, sha),
                    boxes=boxes)


def find_image_files(folder: Path) -> list[Path]:
    """The image files under ``folder`` and its sub-folders (:func:`assetgrade.ingest.folders.find_images`:
    hidden files and folders skipped, folder links not followed); file links only when they lead to a file."""
    return find_images(folder, links=False)


def load_image_folder(root: Path, *, classes: Sequence[str] | None = None, ordinal: bool = False) -> LabelledImages:
    """``root/<class>/<image>`` as a labelled set; class order is ``classes`` or alphabetical.

    Images in sub-folders of a class folder belong to that class; each image's evidence id is
    its path under ``root`` (``crack/site2/001.jpg``). Hidden files and folders are skipped. A
    class folder with no image is an error naming it: a class the benchmark can never see would
    still count in its macro averages.
    """
    if not root.is_dir():
        if root.exists():
            raise ValidationError(f"{root} is a file; give the folder holding one sub-folder per class",
                                  where=str(root))
        raise NotFoundError(f"image folder {root} does not exist")
    found = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    order = tuple(classes) if classes else tuple(found)
    unknown = [c for c in order if c not in found]
    if unknown:
        raise ValidationError(f"class folders {unknown} missing; found {found}", where=str(root))
    refs: list[ImageRef] = []
    labels: list[str] = []
    empty: list[str] = []
    for cls in order:
        files = find_image_files(root / cls)
        if not files:
            empty.append(cls)
        for f in files:
            refs.append(image_ref_from_file(f, evidence_id=f.relative_to(root).as_posix()))
            labels.append(cls)
    if len(order) - len(empty) < 2:
        raise ValidationError(f"need images in at least 2 class folders (DIR/<class>/<images>), found "
                              f"{sorted(set(labels))}", where=str(root))
    if empty:
        raise ValidationError(
            f"class folder(s) {empty} hold no image ({', '.join(IMAGE_SUFFIXES)}, any case); add images or "
            "remove the folder", where=str(root))
    return LabelledImages(name=root.resolve().name or str(root), refs=refs, labels=labels, classes=order,
                          ordinal=ordinal)

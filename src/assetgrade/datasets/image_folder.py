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
from assetgrade.modalities.vision.images import image_name
from assetgrade.store.records import ImageRef

__all__ = ["IMAGE_SUFFIXES", "LabelledImages", "find_image_files", "image_ref_from_file", "image_where",
           "load_image_folder"]



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


def _read(path: Path, sha256: str, where: str) -> bytes:
    """The file's bytes, refused when they are no longer those hashed when the set was listed: features are
    cached by that hash, so an image edited in between would be remembered under its old content's name."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise NotFoundError(f"{where}: cannot read the file: {exc.strerror or exc}") from exc
    if hashlib.sha256(data).hexdigest() != sha256:
        raise ValidationError("the file changed since the data set was listed (its sha256 differs); run again",
                              where=where)
    return data


@dataclass(frozen=True)
class _FileBytes:
    """``load_bytes`` of an image on disk (:func:`_read`); ``file`` is how messages name it
    (:func:`~assetgrade.modalities.vision.images.ref_where`), its path under the data root."""

    path: Path
    sha256: str
    file: str
    where: str

    def __call__(self) -> bytes:
        return _read(self.path, self.sha256, self.where)


def _refuse(reason: str, where: str) -> bytes:
    """``load_bytes`` of an image found unreadable when the set was listed: a fresh error on each call."""
    raise ValidationError(reason, where=where)


def image_where(path: Path, evidence_id: str, root: Path | None = None) -> str:
    """How messages name an image: ``image <id> (<path under root>)``, or ``image <path>`` when that is its id.

    >>> image_where(Path("neu/images/crazing/crazing_2.jpg"), "crazing_2", Path("neu"))
    'image crazing_2 (images/crazing/crazing_2.jpg)'
    >>> image_where(Path("set/bad/3.png"), "bad/3.png", Path("set"))
    'image bad/3.png'
    """
    return image_name(evidence_id, _file(path, root))


def _file(path: Path, root: Path | None) -> str:
    """The image's path under ``root`` (the whole path when it is not under it)."""
    return path.relative_to(root).as_posix() if root is not None and path.is_relative_to(root) else str(path)


def image_ref_from_file(
    path: Path, *, evidence_id: str | None = None,
    boxes: tuple[tuple[str, tuple[float, float, float, float]], ...] = (), root: Path | None = None,
) -> ImageRef:
    """An ImageRef for a file on disk: content hash now, bytes loaded lazily (and checked against that hash).

    A file that cannot be read, or whose header is not that of an image the vision extractor
    decodes (checked now, header only), still gives a ref: its ``load_bytes`` raises the error,
    naming the file by its path under ``root`` and its evidence id (:func:`image_where`), so a
    batch that decodes the set reports it with its other unreadable images and goes on. An
    unreadable file's ``sha256`` is one of its path, shared with no other file. Damage past the
    header (a JPEG cut off in its pixel data) shows only when the image is decoded: the loader
    carries the file (``load_bytes.file``), so the decoding error names it too, also under another
    evidence id (:func:`~assetgrade.modalities.vision.images.ref_where`).
    """
    from assetgrade.ingest.images import image_size

    evidence_id = evidence_id or path.name
    where = image_where(path, evidence_id, root)
    try:
        data = path.read_bytes()
    except OSError as exc:
        sha = hashlib.sha256(f"unreadable file\x00{path.resolve()}".encode()).hexdigest()
        reason = f"cannot read the file: {exc.strerror or exc}"
        return ImageRef(evidence_id=evidence_id, sha256=sha, load_bytes=partial(_refuse, reason, where), boxes=boxes)
    sha = hashlib.sha256(data).hexdigest()
    try:
        if not data:
            raise ValidationError("empty image file (0 bytes)", where=where)
        image_size(path, where=where)
    except ValidationError as exc:
        return ImageRef(evidence_id=evidence_id, sha256=sha, load_bytes=partial(_refuse, exc.reason, where),
                        boxes=boxes)
    return ImageRef(evidence_id=evidence_id, sha256=sha, load_bytes=_FileBytes(path, sha, _file(path, root), where),
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
    still count in its macro averages. An image that cannot be read, or is not one, is listed
    all the same and named when loaded (:func:`image_ref_from_file`).
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
            refs.append(image_ref_from_file(f, evidence_id=f.relative_to(root).as_posix(), root=root))
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

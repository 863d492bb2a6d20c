"""The ELPV solar-cell electroluminescence set (Deitsch et al. 2019) from the ``elpv-dataset`` package.

2,624 grey 300x300 cell images; each carries an expert defect probability in {0, 1/3, 2/3, 1}
(an ordinal condition grade, best first) and the cell type (mono/poly). Licence CC BY-NC-SA 4.0.
Published: CNN 88.42 %, SVM 82.44 % average accuracy (S. Deitsch et al., "Automatic
classification of defective photovoltaic module cells in electroluminescence images",
Solar Energy 185, 2019).
"""

from __future__ import annotations

import math
from pathlib import Path

from assetgrade.datasets.image_folder import LabelledImages, image_ref_from_file
from assetgrade.errors import MissingExtraError, ValidationError

__all__ = ["ELPV_CLASSES", "load_elpv"]

ELPV_CLASSES = ("p0", "p33", "p67", "p100")
"""Defect probability 0, 1/3, 2/3, 1 as ordered levels (p0 = functional, p100 = defective)."""


def _package_root() -> Path:
    try:
        import elpv_dataset
    except ImportError as exc:  # pragma: no cover - a core dependency
        raise MissingExtraError("the ELPV benchmark (elpv-dataset)", "vision") from exc
    return Path(elpv_dataset.__file__).parent / "data"


def load_elpv(data_dir: Path | None = None) -> LabelledImages:
    """All ELPV cells as an ordinal labelled set; ``data_dir`` may point at another copy (labels.csv + images/).

    ``labels.csv`` is UTF-8 (a byte-order mark and Windows line endings are fine), one
    ``path probability type`` row per image (the attributes keep the type, probability and path as
    ``cell_type``, ``defect_probability`` and ``file``); an image listed twice (or two with one file stem, its
    evidence id) is refused, naming both lines. An image that cannot be read, or is not one, is
    listed all the same: loading it raises an error naming its path and id, so a benchmark
    reports it and goes on (:func:`~assetgrade.datasets.image_folder.image_ref_from_file`); a
    copy holding none of the listed images is refused.
    """
    root = data_dir if data_dir is not None else _package_root()
    labels_csv = root / "labels.csv"
    if not labels_csv.exists():
        raise ValidationError("labels.csv not found (an ELPV copy holds labels.csv, one 'images/cellNNNN.png "
                              "probability type' row per image, and the images/ folder)", where=str(root))
    refs, labels, attrs = [], [], []
    first_line: dict[str, tuple[str, int]] = {}
    try:
        text = labels_csv.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        row = labels_csv.read_bytes()[: exc.start].count(b"\n") + 1
        raise ValidationError(f"not UTF-8 text (byte 0x{exc.object[exc.start]:02x})",
                              where=f"{labels_csv}:{row}") from exc
    for lineno, line in enumerate(text.splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 3:
            raise ValidationError(f"expected 'path probability type', got {line!r}", where=f"{labels_csv}:{lineno}")
        rel, prob, cell_type = parts
        try:
            p = float(prob)
        except ValueError as exc:
            raise ValidationError(f"bad probability {prob!r}", where=f"{labels_csv}:{lineno}") from exc
        level = round(p * 3) if math.isfinite(p) else -1
        if level not in (0, 1, 2, 3) or abs(p * 3 - level) > 1e-3:
            raise ValidationError(f"probability {prob} not in {{0, 1/3, 2/3, 1}}", where=f"{labels_csv}:{lineno}")
        stem = Path(rel).stem
        if stem in first_line:  # read twice it would count twice in every metric, and could hold two levels
            prev, at = first_line[stem]
            what = "is listed again" if prev == rel else f"has the id {stem!r} of {prev}"
            raise ValidationError(f"{rel} {what} (first on line {at})", where=f"{labels_csv}:{lineno}")
        first_line[stem] = (rel, lineno)
        refs.append(image_ref_from_file(root / rel, evidence_id=stem, root=root))
        labels.append(ELPV_CLASSES[level])
        attrs.append({"cell_type": cell_type, "defect_probability": p, "file": rel})
    if refs and not any((root / rel).is_file() for rel, _ in first_line.values()):
        raise ValidationError(f"none of the {len(refs)} images labels.csv lists is there (e.g. {rel}); give the "
                              "folder holding labels.csv and images/", where=str(root))
    return LabelledImages(name="elpv", refs=refs, labels=labels, classes=ELPV_CLASSES, ordinal=True, attributes=attrs)

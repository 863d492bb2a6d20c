"""AuditData: the table of items every audit check reads (ids, labels, splits, origins, embeddings, images)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from assetgrade.audit.expert import expert_mark, is_expert_labelled
from assetgrade.errors import ValidationError
from assetgrade.store.records import AssetRecord, ImageRef

__all__ = ["COLUMNS", "ORIGINS", "AuditData", "audit_data_from_records", "evidence_origin", "image_loader_from_refs"]

ORIGINS = ("real", "synthetic", "augmented")

COLUMNS: dict[str, Any] = {
    "item_id": None,
    "asset_id": None,
    "label": None,
    "split": "train",
    "origin": "real",
    "asset_type": "unknown",
    "capture_condition": "unknown",
    "source": "unknown",
    "expert_labelled": True,
}
"""The table's columns and their defaults (None: required)."""

ImageLoader = Callable[[int], Any]
"""Row index -> PIL image (RGB); may raise for a bad image (the check records it and goes on)."""


@dataclass
class AuditData:
    """The items an audit looks at: one row per item (usually one image), with optional embeddings and images.

    ``table`` needs ``item_id``, ``asset_id`` and ``label``; the other columns of ``COLUMNS``
    get their defaults when absent. ``origin`` is ``real``, ``synthetic`` or ``augmented``.
    ``embeddings`` is (n, d), ``pred_probs`` is (n, len(classes)) out-of-sample class
    probabilities, ``image_loader(i)`` returns row i's image. Validated once, here.

    Examples
    --------
    >>> import pandas as pd
    >>> d = AuditData(pd.DataFrame({"item_id": ["a", "b"], "asset_id": ["a", "b"], "label": ["ok", "bad"]}))
    >>> d.n, list(d.table["origin"]), d.classes
    (2, ['real', 'real'], ('bad', 'ok'))
    """

    table: pd.DataFrame
    embeddings: npt.NDArray[np.float64] | None = None
    image_loader: ImageLoader | None = None
    pred_probs: npt.NDArray[np.float64] | None = None
    classes: tuple[str, ...] = ()
    pred_probs_source: str = "pred_probs"
    """Where ``pred_probs`` came from, as the label-noise check reports it."""
    cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    """Per-run memo (image hashes and statistics) shared between checks."""

    def __post_init__(self) -> None:
        t = self.table.reset_index(drop=True).copy()
        for col, default in COLUMNS.items():
            if col not in t.columns:
                if default is None:
                    raise ValidationError(f"column {col!r} is required; got {list(t.columns)}", where="audit data")
                t[col] = default
        for col in ("item_id", "asset_id", "label", "split", "origin", "asset_type", "capture_condition", "source"):
            t[col] = t[col].astype(str)
        t["expert_labelled"] = np.array([expert_mark(v) for v in t["expert_labelled"]], dtype=bool)
        bad = ~t["origin"].isin(ORIGINS)
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise ValidationError(
                f"origin {t['origin'].iloc[i]!r} not one of {ORIGINS}", where=f"audit data:row {i}:field origin"
            )
        dup = t["item_id"].duplicated()
        if dup.any():
            i = int(np.flatnonzero(dup.to_numpy())[0])
            raise ValidationError(
                f"duplicate item_id {t['item_id'].iloc[i]!r}", where=f"audit data:row {i}:field item_id"
            )
        self.table = t
        n = len(t)
        if self.embeddings is not None:
            emb = np.asarray(self.embeddings, dtype=np.float64)
            if emb.ndim != 2 or emb.shape[0] != n:
                raise ValidationError(f"embeddings shape {emb.shape}, expected ({n}, d)", where="audit data:embeddings")
            self.embeddings = emb
        if not self.classes:
            self.classes = tuple(sorted(t["label"].unique()))
        if self.pred_probs is not None:
            p = np.asarray(self.pred_probs, dtype=np.float64)
            if p.shape != (n, len(self.classes)):
                raise ValidationError(
                    f"pred_probs shape {p.shape}, expected ({n}, {len(self.classes)}) for classes {self.classes}",
                    where="audit data:pred_probs",
                )
            self.pred_probs = p

    @property
    def n(self) -> int:
        """Number of items (rows)."""
        return len(self.table)

    @property
    def is_real(self) -> npt.NDArray[np.bool_]:
        """True where the item's origin is ``real``."""
        return np.asarray(self.table["origin"] == "real", dtype=bool)

    def column(self, name: str) -> npt.NDArray[Any]:
        """One column as a numpy array (a clear error when absent)."""
        if name not in self.table.columns:
            raise ValidationError(f"no column {name!r}; have {list(self.table.columns)}", where="audit data")
        return np.asarray(self.table[name].to_numpy())


def image_loader_from_refs(refs: Sequence[ImageRef | None]) -> ImageLoader:
    """A loader decoding ``refs[i]`` with the vision decoder (EXIF-aware, 8-bit RGB)."""
    from assetgrade.modalities.vision.images import decode_image

    def load(i: int) -> Any:
        ref = refs[i]
        if ref is None:
            raise ValidationError("item has no image", where=f"audit data:row {i}")
        return decode_image(ref.load_bytes(), where=f"image {ref.evidence_id}")

    return load


def evidence_origin(record: AssetRecord) -> str:
    """The origin of a record as a whole, from all its evidence (images, logs, series).

    ``real`` when every piece is real (or there is none); otherwise ``synthetic`` when any
    piece is synthetic, else ``augmented``. So a mixed record counts as non-real, as golden
    freeze refuses an asset with any synthetic or augmented evidence.

    Examples
    --------
    >>> from assetgrade.store.records import LogEntry
    >>> evidence_origin(AssetRecord("a", logs=(LogEntry("e1", "ok"), LogEntry("e2", "x", origin="synthetic"))))
    'synthetic'
    >>> evidence_origin(AssetRecord("b"))
    'real'
    """
    origins = {str(e.origin) for e in record.images} | {str(e.origin) for e in record.logs} | {
        str(e.origin) for e in record.series}
    if origins <= {"real"}:
        return "real"
    return "synthetic" if "synthetic" in origins else "augmented"


def audit_data_from_records(
    records: Sequence[AssetRecord],
    *,
    label_key: str | None = None,
    embed: Callable[[Sequence[ImageRef]], npt.NDArray[np.float32]] | None = None,
    pred_probs: npt.NDArray[np.float64] | None = None,
    classes: Sequence[str] = (),
    pred_probs_source: str = "pred_probs",
) -> AuditData:
    """One audit row per image of each record (one row for a record without images).

    Columns come from the record: ``asset_id``, ``asset_type``, ``label`` (``record.grade``,
    or ``record.attributes[label_key]`` when given), the image's ``origin`` (for a record
    without images, :func:`evidence_origin` of its logs and series: a synthetic log counts as
    synthetic); ``split``, ``capture_condition``, ``source`` are read from the record
    attributes when present, ``expert_labelled`` through
    :func:`~assetgrade.audit.expert.is_expert_labelled` (only a clear yes is expert).
    ``embed(refs)`` (e.g. ``assetgrade.audit.embed.embed_images``) gives the embeddings of
    the image rows; rows without an image get NaN (missing: the probes see the column mean,
    the duplicate search leaves them out).
    ``pred_probs`` holds one row per audit row, or one per record (each image row of a record
    then gets its record's row).
    """
    rows: list[dict[str, Any]] = []
    refs: list[ImageRef | None] = []
    for k, rec in enumerate(records):
        attrs = rec.attributes or {}
        label = attrs.get(label_key) if label_key else rec.grade
        if label is None:
            raise ValidationError(
                f"asset {rec.asset_id!r} has no label ({'attribute ' + label_key if label_key else 'grade'})",
                where=f"records[{k}]",
            )
        base = {
            "asset_id": rec.asset_id,
            "label": str(label),
            "asset_type": rec.asset_type,
            "split": str(attrs.get("split", "train")),
            "capture_condition": str(attrs.get("capture_condition", "unknown")),
            "source": str(attrs.get("source", "unknown")),
            "expert_labelled": is_expert_labelled(attrs),
        }
        if not rec.images:
            rows.append({**base, "item_id": rec.asset_id, "origin": evidence_origin(rec)})
            refs.append(None)
        for img in rec.images:
            rows.append({**base, "item_id": f"{rec.asset_id}/{img.evidence_id}", "origin": img.origin})
            refs.append(img)
    table = pd.DataFrame(rows, columns=[*COLUMNS])
    emb = None
    if embed is not None:
        idx = [i for i, r in enumerate(refs) if r is not None]
        if idx:
            vecs = np.asarray(embed([refs[i] for i in idx]), dtype=np.float64)  # type: ignore[misc]
            emb = np.full((len(refs), vecs.shape[1]), np.nan)  # no image, no embedding: the checks impute it
            emb[idx] = vecs
    loader = image_loader_from_refs(refs) if any(r is not None for r in refs) else None
    if pred_probs is not None and len(pred_probs) == len(records) != len(rows):
        per_record = np.asarray(pred_probs, dtype=np.float64)
        pred_probs = per_record[[k for k, rec in enumerate(records) for _ in range(max(1, len(rec.images)))]]
    return AuditData(table, embeddings=emb, image_loader=loader, pred_probs=pred_probs, classes=tuple(classes),
                     pred_probs_source=pred_probs_source)

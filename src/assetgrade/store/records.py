"""In-memory views of an asset and its evidence, handed from the store to the extractors and the grader."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

__all__ = ["AssetRecord", "ImageRef", "LogEntry", "Origin", "SeriesRef", "as_records"]

Origin = Literal["real", "synthetic", "augmented"]


@dataclass(frozen=True)
class ImageRef:
    """One inspection image: its evidence id, content hash and a loader for its bytes.

    Records that give the same ``sha256`` are taken to hold the same photo (one fold group in
    ``Grader.fit``), so the hash must be the content's, not a placeholder.
    """

    evidence_id: str
    sha256: str
    load_bytes: Callable[[], bytes] = field(repr=False, compare=False)
    origin: Origin = "real"
    boxes: tuple[tuple[str, tuple[float, float, float, float]], ...] = ()
    """Known defect boxes as (defect term, (x0, y0, x1, y1)) in pixels, where labelled: 0-based, x1 and y1
    exclusive (the box holds columns x0..x1-1; docs/vision.md, "Box frame")."""


@dataclass(frozen=True)
class LogEntry:
    """One maintenance-log entry (a work order or technician note)."""

    evidence_id: str
    text: str
    date: datetime | None = None
    cost: float | None = None
    origin: Origin = "real"
    attributes: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class SeriesRef:
    """One multichannel sensor series; ``load`` returns a pandas DataFrame indexed by time.

    ``sha256`` is the content hash of the series file: records that give the same hash are taken
    to hold the same file (one fold group in ``Grader.fit``, one evidence-cache entry per id and
    hash), so a caller building records in Python must not use a placeholder shared by
    different series.
    """

    evidence_id: str
    sha256: str
    load: Callable[[], Any] = field(repr=False, compare=False)
    sampling_rate_hz: float | None = None
    units: dict[str, str] = field(default_factory=dict, compare=False)
    origin: Origin = "real"


@dataclass(frozen=True)
class AssetRecord:
    """Everything known about one asset, as the extractors and the grader see it.

    Examples
    --------
    >>> r = AssetRecord(asset_id="pump-7", asset_type="pump")
    >>> r.modalities()
    ()
    """

    asset_id: str
    asset_type: str = "unknown"
    attributes: dict[str, Any] = field(default_factory=dict, compare=False)
    images: tuple[ImageRef, ...] = ()
    logs: tuple[LogEntry, ...] = ()
    series: tuple[SeriesRef, ...] = ()
    grade: str | None = None
    """The current grade label (latest expert label), if any."""
    value: float | None = None
    """Asset value used to scale misgrading costs, if known."""

    def modalities(self) -> tuple[str, ...]:
        """The modalities this asset has evidence for, in a fixed order."""
        present = (("vision", self.images), ("text", self.logs), ("sensors", self.series))
        return tuple(name for name, items in present if items)


def as_records(value: Any, where: str) -> list[AssetRecord]:
    """``value`` as a list of :class:`AssetRecord` (any iterable of them), else a ValidationError naming ``where``.

    A path or an asset id where records belong is the usual slip: the message says how to get
    records (``load_records(Workspace.open(path))``).

    Examples
    --------
    >>> len(as_records(iter([AssetRecord("a"), AssetRecord("b")]), "records"))
    2
    >>> try:
    ...     as_records("ws", "Grader.fit")
    ... except Exception as exc:
    ...     print(exc.where)
    Grader.fit
    """
    from assetgrade.errors import ValidationError

    hint = ("pass AssetRecords (assetgrade.store.load_records(workspace)) or the Workspace itself "
            "(Workspace.open(path))")
    if isinstance(value, str | bytes) or not isinstance(value, Iterable) or hasattr(value, "__fspath__"):
        raise ValidationError(f"expected asset records, got {type(value).__name__} {value!r:.60}; {hint}", where=where)
    out = list(value)
    for i, item in enumerate(out):
        if not isinstance(item, AssetRecord):
            raise ValidationError(f"item {i} is a {type(item).__name__} ({item!r:.60}), not an AssetRecord; {hint}",
                                  where=where)
    return out

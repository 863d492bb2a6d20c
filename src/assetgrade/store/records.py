"""In-memory views of an asset and its evidence, handed from the store to the extractors and the grader."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

__all__ = ["AssetRecord", "ImageRef", "LogEntry", "Origin", "SeriesRef"]

Origin = Literal["real", "synthetic", "augmented"]


@dataclass(frozen=True)
class ImageRef:
    """One inspection image: its evidence id, content hash and a loader for its bytes."""

    evidence_id: str
    sha256: str
    load_bytes: Callable[[], bytes] = field(repr=False, compare=False)
    origin: Origin = "real"
    boxes: tuple[tuple[str, tuple[float, float, float, float]], ...] = ()
    """Known defect boxes as (defect term, (x0, y0, x1, y1)) in pixels, where labelled."""


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
    """One multichannel sensor series; ``load`` returns a pandas DataFrame indexed by time."""

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

"""What importers hand the writer: one :class:`ItemSpec` per evidence item, with its labels and provenance."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assetgrade.ingest.report import IngestNotice
from assetgrade.store.repository import ProvenanceInfo

__all__ = ["ItemSpec", "LabelSpec", "default_evidence_id"]


def default_evidence_id(asset_id: str, kind: str, source_key: str) -> str:
    """A stable evidence id from the asset, kind and where the item came from (a relative path, a row key)."""
    key = f"{asset_id}\x1f{kind}\x1f{source_key}"
    return "ev_" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class LabelSpec:
    """A label that comes with an item: a grade for the asset or a defect on the evidence item.

    Examples
    --------
    >>> LabelSpec("defect", "crazing", box=(2.0, 2.0, 193.0, 194.0)).kind
    'defect'
    """

    kind: str
    value: str
    severity: str | None = None
    box: tuple[float, float, float, float] | None = None
    annotator: str = "import"
    text_span: tuple[int, int] | None = None
    time_window: tuple[Any, Any] | None = None
    field: str = "label"
    """The input field the label came from, named in errors."""
    was_box: tuple[float, float, float, float] | None = None
    """The box an earlier version of the same importer stored for this annotation (a VOC box's raw 1-based
    numbers, stored as they were before the conversion to the 0-based frame): a stored label with that box,
    written by an ingest of the same kind, is this label in the old frame, and the ingest replaces it."""


@dataclass
class ItemSpec:
    """One evidence item to ingest (exactly one of ``path``, ``data``, ``text``).

    Examples
    --------
    >>> spec = ItemSpec(where="m.csv:row 2", asset_id="pump-7", kind="log", text="bearing noisy",
    ...                 source_key="m.csv#2")
    >>> spec.resolved_id() == default_evidence_id("pump-7", "log", "m.csv#2")
    True
    """

    where: str
    asset_id: str
    kind: str
    source_key: str
    path: Path | None = None
    data: bytes | None = None
    text: str | None = None
    evidence_id: str | None = None
    media_type: str | None = None
    asset_type: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    provenance: ProvenanceInfo = field(default_factory=ProvenanceInfo)
    labels: list[LabelSpec] = field(default_factory=list)
    row: int | None = None
    file: str = ""
    notices: list[IngestNotice] = field(default_factory=list)
    """What the importer says of this item (it overlaps an earlier series of the same input), said in the report
    once its row is stored: not for a row the writer refuses, merges into an earlier row or finds stored."""

    def resolved_id(self) -> str:
        """The evidence id: given, or derived from asset, kind and source key."""
        return self.evidence_id or default_evidence_id(self.asset_id, self.kind, self.source_key)

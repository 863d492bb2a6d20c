"""What an ingest did: counts, rows skipped as already stored, and every bad row with file, row, field, reason."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from assetgrade.errors import AssetgradeError, ValidationError
from assetgrade.ingest.supersede import Superseded

__all__ = ["IngestNotice", "IngestReport", "RowError"]


@dataclass(frozen=True)
class RowError:
    """One bad row or file: where it is and why it was skipped.

    Examples
    --------
    >>> str(RowError("m.csv", 3, "path", "file not found"))
    'm.csv:row 3:field path: file not found'
    """

    file: str
    row: int | None
    field: str | None
    reason: str
    error: str = "IngestError"

    def __str__(self) -> str:
        parts = [self.file]
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.field:
            parts.append(f"field {self.field}")
        return ":".join(parts) + f": {self.reason}"

    @classmethod
    def from_exception(cls, exc: Exception, file: str, row: int | None, field: str | None = None) -> RowError:
        """A row error from a raised error (keeps its ``reason`` and class name).

        When ``row`` or ``field`` is not given they are read from the error's ``where``
        (``file:row N:field F``).
        """
        reason = exc.reason if isinstance(exc, ValidationError) else str(exc)
        name = type(exc).__name__ if isinstance(exc, AssetgradeError) else "IngestError"
        where = exc.where if isinstance(exc, ValidationError) else None
        if where and (row is None or field is None):
            parts = where.split(":")
            for part in parts[1:]:
                if row is None and part.startswith("row ") and part[4:].strip().isdigit():
                    row = int(part[4:])
                elif field is None and part.startswith("field "):
                    field = part[6:]
            if file == where:
                file = parts[0]
        return cls(file, row, field, reason, name)


@dataclass(frozen=True)
class IngestNotice:
    """Something about the input that rejected nothing but may not be what its author meant.

    Examples
    --------
    >>> str(IngestNotice("m.csv", 1, "column 'grde' is not a manifest column and was ignored"))
    "m.csv:row 1: column 'grde' is not a manifest column and was ignored"
    """

    file: str
    row: int | None
    message: str
    requires: tuple[str, str] | None = None
    """(asset id, sha256) of evidence that must be stored once the row is written for this to be said (an overlap
    with an earlier series of the input is no overlap when the writer refused that series); None: said whenever
    its item is."""

    def __str__(self) -> str:
        return self.file + ("" if self.row is None else f":row {self.row}") + f": {self.message}"


@dataclass
class IngestReport:
    """The result of one ingest run; ``write`` saves it as JSON.

    Examples
    --------
    >>> r = IngestReport(batch_id="b1", kind="manifest", source="m.csv")
    >>> r.added["evidence"] += 2
    >>> r.ok, r.added["evidence"]
    (True, 2)
    """

    batch_id: str
    kind: str
    source: str
    added: dict[str, int] = field(default_factory=lambda: {"assets": 0, "evidence": 0, "labels": 0})
    skipped_existing: int = 0
    errors: list[RowError] = field(default_factory=list)
    notices: list[IngestNotice] = field(default_factory=list)
    """Input that was read but may not mean what it says (an unknown manifest column): nothing rejected."""
    superseded: list[Superseded] = field(default_factory=list)
    """Stored items withdrawn for the newer content of the same source (``--supersede``), old id -> new id."""
    wall_s: float = 0.0
    status: str = "running"
    report_path: str | None = None

    @property
    def ok(self) -> bool:
        """True when no row was rejected."""
        return not self.errors

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        d = asdict(self)
        d["errors"] = [asdict(e) | {"message": str(e)} for e in self.errors]
        d["notices"] = [str(n) for n in self.notices]
        d["superseded"] = [asdict(x) for x in self.superseded]
        return d

    def write(self, folder: Path) -> Path:
        """Write ``ingest-<batch>.json`` into ``folder``; returns its path."""
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"ingest-{self.batch_id}.json"
        self.report_path = str(path)
        path.write_text(json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        return path

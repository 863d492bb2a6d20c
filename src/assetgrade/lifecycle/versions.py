"""A registered model version as stored: :class:`ModelInfo`, read from its ``model_versions`` row."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from assetgrade.errors import NotFoundError
from assetgrade.lifecycle.bundles import bundle_model_version
from assetgrade.store.lifecycle_schema import ModelVersion

__all__ = ["ModelInfo", "model_info", "version_row"]


@dataclass(frozen=True)
class ModelInfo:
    """A registered model version as stored, with its bundle folder.

    Examples
    --------
    >>> ModelInfo(version="v1", status="candidate", bundle_dir=Path("m/v1")).is_champion
    False
    """

    version: str
    status: str
    bundle_dir: Path
    loader: str = "grader"
    entry: str = "."
    bundle_sha256: str = ""
    manifest_hash: str | None = None
    ontology_version: str | None = None
    code_version: str = ""
    git_commit: str | None = None
    parent_version: str | None = None
    previous_champion: str | None = None
    metrics: dict[str, Any] | None = None
    golden: dict[str, Any] | None = None
    lineage: dict[str, Any] | None = None
    notes: str | None = None
    created_at: datetime | None = None
    created_by: str = "system"
    promoted_at: datetime | None = None
    retired_at: datetime | None = None
    model_version: str | None = None

    @property
    def is_champion(self) -> bool:
        """Whether this version is the current champion."""
        return self.status == "champion"

    @property
    def prediction_versions(self) -> tuple[str, ...]:
        """The ``model_version`` values its stored predictions may carry: its model's own id and its registry name."""
        return tuple(dict.fromkeys(v for v in (self.model_version, self.version) if v))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        d = asdict(self)
        d["bundle_dir"] = str(self.bundle_dir)
        for k in ("created_at", "promoted_at", "retired_at"):
            d[k] = None if d[k] is None else d[k].isoformat()
        return d


def model_info(models_dir: Path, row: ModelVersion) -> ModelInfo:
    """The :class:`ModelInfo` of a stored row, its bundle folder under ``models_dir``."""
    bundle_dir = models_dir / row.version
    lineage = dict(row.lineage or {})
    return ModelInfo(
        version=row.version, status=row.status, bundle_dir=bundle_dir, loader=row.loader,
        entry=row.entry, bundle_sha256=row.bundle_sha256, manifest_hash=row.manifest_hash,
        ontology_version=row.ontology_version, code_version=row.code_version, git_commit=row.git_commit,
        parent_version=row.parent_version, previous_champion=row.previous_champion,
        metrics=dict(row.metrics or {}), golden=dict(row.golden or {}), lineage=lineage,
        notes=row.notes, created_at=row.created_at, created_by=row.created_by, promoted_at=row.promoted_at,
        retired_at=row.retired_at,
        model_version=lineage.get("model_version") or bundle_model_version(bundle_dir / row.entry),
    )


def version_row(s: Session, version: str) -> ModelVersion:
    """The stored row of ``version``; NotFoundError naming the last registered versions."""
    row = s.get(ModelVersion, version)
    if row is None:
        known = list(s.execute(select(ModelVersion.version).order_by(ModelVersion.created_at)).scalars())
        raise NotFoundError(f"model version {version!r} not found (registered: {known[-10:] or 'none'})")
    return row

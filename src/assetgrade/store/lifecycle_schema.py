"""Tables of the model lifecycle: registered model versions (with lineage and status) and frozen golden sets."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from assetgrade.store.schema import Base, utcnow

__all__ = ["MODEL_STATUSES", "GoldenSetRow", "ModelVersion"]

MODEL_STATUSES = ("candidate", "champion", "retired")


class ModelVersion(Base):
    """One registered model: its bundle under ``<workspace>/models/<version>/``, lineage, metrics and status.

    At most one version is ``champion`` at a time (enforced by the registry in one transaction);
    ``previous_champion`` is the version it replaced, which a rollback restores.

    Examples
    --------
    >>> ModelVersion.__tablename__
    'model_versions'
    """

    __tablename__ = "model_versions"
    __table_args__ = (
        CheckConstraint("status IN ('candidate', 'champion', 'retired')", name="ck_model_version_status"),
    )
    version: Mapped[str] = mapped_column(String(100), primary_key=True)
    status: Mapped[str] = mapped_column(String(20), index=True, default="candidate")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200), default="system")
    loader: Mapped[str] = mapped_column(String(300))
    """A registered loader name (``grader``) or ``module:attribute`` of the callable that loads the bundle."""
    entry: Mapped[str] = mapped_column(String(200), default=".")
    """The path inside the bundle folder handed to the loader (``.``: the folder itself)."""
    bundle_sha256: Mapped[str] = mapped_column(String(64))
    manifest_hash: Mapped[str | None] = mapped_column(String(64))
    ontology_version: Mapped[str | None] = mapped_column(String(64))
    code_version: Mapped[str] = mapped_column(String(100))
    git_commit: Mapped[str | None] = mapped_column(String(64))
    parent_version: Mapped[str | None] = mapped_column(String(100))
    previous_champion: Mapped[str | None] = mapped_column(String(100))
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    golden: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """Golden-set evaluations by golden set name (each with the set's content hash)."""
    lineage: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """Training data facts: number of assets, reviewed labels, origin mix, excluded golden assets..."""
    notes: Mapped[str | None] = mapped_column(Text)
    promoted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class GoldenSetRow(Base):
    """A frozen golden set: asset ids, their evidence content hashes and a snapshot of their labels.

    ``content_hash`` is the sha256 of the canonical JSON of ``items``; the freeze is also an
    audit event carrying that hash, so an edited row is detected even if its hash is rewritten.

    Examples
    --------
    >>> GoldenSetRow.__tablename__
    'golden_sets'
    """

    __tablename__ = "golden_sets"
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200), default="system")
    n_items: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    ontology_version: Mapped[str | None] = mapped_column(String(64))
    items: Mapped[list[Any]] = mapped_column(JSON)
    notes: Mapped[str | None] = mapped_column(Text)

"""Which of an asset's grade labels is its grade (``AssetRecord.grade``, the training label): one rule for the store.

1. **A human's label beats a machine's**, whenever each was made. A machine label is one whose
   source or annotator (free text from manifests: case and surrounding spaces ignored) is one of
   :data:`NON_EXPERT_SOURCES`, the same definition golden sets refuse; every other label (a review,
   an import by a named expert or the default ``import``) is human.
2. **Among human labels a review beats an import**, and the latest correction wins: reviews in the
   order of the asset version each produced (reviews are version-checked, so the versions of one
   asset's reviews are totally ordered, whichever server wrote them and whatever its clock said),
   imports, which have no version, by time (``created_at``), then by id.
3. **An asset with machine labels only has no grade**: it is not trained on, and a label round may
   ask for it (``store.requests``). Pseudo-labels are not used for training.

The version a review produced is in its ``review.add`` audit event (``asset_version``, written in
the review's transaction since the store's first release); its grade label is ``lb_<review id>``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, and_, cast, select
from sqlalchemy.orm import Session

from assetgrade.store.schema import AuditEvent, Label, Review

__all__ = ["NON_EXPERT_SOURCES", "current_grade_label", "grade_rank", "is_machine_label", "produced_version",
           "review_label_id", "review_versions"]

NON_EXPERT_SOURCES = frozenset({"pseudo", "model", "weak", "synthetic", "auto"})
"""Label sources and annotators that are not a person's judgement (case-folded): machine labels."""

_CHUNK = 500


def is_machine_label(source: Any, annotator: Any) -> bool:
    """Whether a label's source or annotator names a machine (any case, surrounding spaces ignored).

    Examples
    --------
    >>> is_machine_label("import", " Pseudo "), is_machine_label("weak", "ana"), is_machine_label("review", "ana")
    (True, True, False)
    """
    return not NON_EXPERT_SOURCES.isdisjoint({str(source).strip().casefold(), str(annotator).strip().casefold()})


def review_label_id(review_id: str) -> str:
    """The id of the grade label a review adds (its defect labels add ``_<i>``)."""
    return f"lb_{review_id}"


def produced_version() -> tuple[ColumnElement[int], ColumnElement[bool]]:
    """SQL for the asset version a review produced: (the version, the join condition of its ``review.add`` event).

    Join :class:`AuditEvent` on the condition (an outer join keeps reviews whose event is missing: version NULL).
    """
    return (cast(AuditEvent.payload["asset_version"].as_string(), BigInteger),
            and_(AuditEvent.entity_id == Review.id, AuditEvent.action == "review.add"))


def review_versions(session: Session, asset_ids: Sequence[str] | None = None) -> dict[str, int]:
    """Grade label id of each review that gave a grade (of ``asset_ids``, or all) → the asset version it produced.

    A review whose audit event holds no version is left out (ordered by time then).
    """
    version, event = produced_version()
    q = select(Review.id, version).join(AuditEvent, event).where(Review.grade.is_not(None))
    out: dict[str, int] = {}
    chunks = [None] if asset_ids is None else [asset_ids[i:i + _CHUNK] for i in range(0, len(asset_ids), _CHUNK)]
    for chunk in chunks:
        rows = session.execute(q if chunk is None else q.where(Review.asset_id.in_(list(chunk)))).tuples()
        out.update((review_label_id(rid), int(v)) for rid, v in rows if v is not None)
    return out


def _naive_utc(ts: datetime) -> datetime:
    return ts.astimezone(UTC).replace(tzinfo=None) if ts.tzinfo is not None else ts


def grade_rank(source: str, created_at: datetime, label_id: str,
               versions: Mapping[str, int]) -> tuple[bool, bool, int, datetime, str]:
    """The sort key of one human grade label: the greatest is the grade (reviews by version, imports by time)."""
    version = versions.get(label_id)
    return (source == "review", version is not None, version if version is not None else 0,
            _naive_utc(created_at), label_id)


def current_grade_label(labels: Iterable[Label], versions: Mapping[str, int]) -> Label | None:
    """The label that is the asset's grade among ``labels`` (one asset's), or None when no human gave one.

    ``versions`` is :func:`review_versions` of the asset (or more assets).
    """
    human = [lb for lb in labels if lb.kind == "grade" and not is_machine_label(lb.source, lb.annotator)]
    return max(human, key=lambda lb: grade_rank(lb.source, lb.created_at, lb.id, versions), default=None)

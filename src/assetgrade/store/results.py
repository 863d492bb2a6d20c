"""Predictions and human reviews; a review checks the asset's version (optimistic concurrency)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from assetgrade.errors import ConflictError, ValidationError
from assetgrade.store.audit import append_event
from assetgrade.store.repository import add_label, get_asset
from assetgrade.store.schema import Asset, Prediction, Review, new_id

__all__ = ["add_prediction", "add_review", "get_prediction", "latest_prediction", "list_predictions",
           "list_reviews"]


def add_prediction(
    session: Session, asset_id: str, *, model_version: str, grade: str, distribution: dict[str, float],
    conformal_set: Sequence[str], decision: str, expected_cost: float | None = None,
    payload: dict[str, Any] | None = None, actor: str = "system",
) -> Prediction:
    """Store one grading result."""
    get_asset(session, asset_id)
    if grade not in distribution:
        raise ValidationError(f"grade {grade!r} is not in the distribution {sorted(distribution)}",
                              where="prediction.grade")
    pred = Prediction(id=new_id("pred"), asset_id=asset_id, model_version=model_version, grade=grade,
                      distribution={k: float(v) for k, v in distribution.items()},
                      conformal_set=list(conformal_set), decision=decision,
                      expected_cost=None if expected_cost is None else float(expected_cost),
                      payload=payload or {})
    session.add(pred)
    append_event(session, actor=actor, action="prediction.add", entity="prediction", entity_id=pred.id,
                 payload={"asset_id": asset_id, "model_version": model_version, "grade": grade,
                          "decision": decision})
    return pred


def get_prediction(session: Session, prediction_id: str) -> Prediction | None:
    """The prediction ``prediction_id`` or None."""
    return session.get(Prediction, prediction_id)


def list_predictions(session: Session, asset_id: str) -> list[Prediction]:
    """An asset's predictions, newest first."""
    q = select(Prediction).where(Prediction.asset_id == asset_id).order_by(Prediction.created_at.desc())
    return list(session.execute(q).scalars())


def latest_prediction(session: Session, asset_id: str) -> Prediction | None:
    """An asset's newest prediction, or None."""
    preds = list_predictions(session, asset_id)
    return preds[0] if preds else None


def add_review(
    session: Session, asset_id: str, *, reviewer: str, expected_version: int, grade: str | None = None,
    defects: Sequence[dict[str, Any]] = (), note: str | None = None,
    based_on_prediction_id: str | None = None, status: str = "submitted",
) -> Review:
    """Store a review if the asset is still at ``expected_version`` (else ConflictError).

    The asset's version goes up by one; the review's grade becomes a grade label and each defect
    (``{"id": ontology defect id, "severity": ..., "box": [...]}``) a defect label, both with
    source ``"review"`` (they win over imported labels).
    """
    asset = get_asset(session, asset_id)
    result = session.execute(
        update(Asset).where(Asset.id == asset_id, Asset.version == expected_version)
        .values(version=Asset.version + 1).execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.refresh(asset)
        raise ConflictError(
            f"asset {asset_id!r} changed: it is at version {asset.version}, the review expected"
            f" {expected_version}; reload and review again"
        )
    session.refresh(asset)
    review = Review(id=new_id("rev"), asset_id=asset_id, reviewer=reviewer, grade=grade,
                    defects=[dict(d) for d in defects], note=note,
                    based_on_prediction_id=based_on_prediction_id, status=status)
    session.add(review)
    session.flush()
    append_event(session, actor=reviewer, action="review.add", entity="review", entity_id=review.id,
                 payload={"asset_id": asset_id, "grade": grade, "defects": review.defects,
                          "based_on_prediction_id": based_on_prediction_id,
                          "asset_version": asset.version})
    if grade is not None:
        add_label(session, asset_id=asset_id, kind="grade", value=grade, annotator=reviewer, source="review",
                  label_id=f"lb_{review.id}", actor=reviewer)
    for i, d in enumerate(defects):
        if "id" not in d:
            raise ValidationError("each defect needs an 'id' (ontology defect id)", where=f"defects[{i}]")
        add_label(session, asset_id=asset_id, kind="defect", value=str(d["id"]), annotator=reviewer,
                  severity=d.get("severity"), box=d.get("box"), evidence_id=d.get("evidence_id"),
                  source="review", label_id=f"lb_{review.id}_{i}", actor=reviewer)
    return review


def list_reviews(session: Session, asset_id: str) -> list[Review]:
    """An asset's reviews, newest first."""
    q = select(Review).where(Review.asset_id == asset_id).order_by(Review.created_at.desc())
    return list(session.execute(q).scalars())

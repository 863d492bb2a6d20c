"""Recording grades in a workspace: one prediction and one ``grade.decision`` audit event per result."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from assetgrade.result import GradeResult

if TYPE_CHECKING:
    from assetgrade.workspace import Workspace

__all__ = ["record_grades"]


def record_grades(ws: Workspace, results: Sequence[GradeResult], *, model_version: str,
                  actor: str = "grader") -> None:
    """Store each result as a prediction plus a ``grade.decision`` audit event (inputs hash, versions)."""
    from assetgrade.store.audit import append_event
    from assetgrade.store.results import add_prediction

    with ws.session() as s:
        for r in results:
            pred = add_prediction(s, r.asset_id, model_version=model_version, grade=r.grade,
                                  distribution=r.probabilities, conformal_set=r.conformal_set, decision=r.decision,
                                  expected_cost=r.expected_cost, payload=r.to_dict(), actor=actor)
            append_event(s, actor=actor, action="grade.decision", entity="prediction", entity_id=pred.id,
                         payload={"asset_id": r.asset_id, "inputs_sha256": r.versions.get("inputs"),
                                  "model_version": model_version, "ontology_version": r.versions.get("ontology"),
                                  "code_version": r.versions.get("code"),
                                  "training_manifest": r.versions.get("manifest"), "grade": r.grade,
                                  "decision": r.decision, "conformal_set": list(r.conformal_set),
                                  "expected_cost": r.expected_cost, "reasons": list(r.reasons)})

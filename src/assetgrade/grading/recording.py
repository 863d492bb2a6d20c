"""Recording grades in a workspace: one prediction and one ``grade.decision`` audit event per result."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from assetgrade.errors import AssetgradeError
from assetgrade.result import GradeResult
from assetgrade.store.records import AssetRecord

if TYPE_CHECKING:
    from assetgrade.workspace import Workspace

__all__ = ["decision_event_payload", "graded_unchanged", "heatmap_overlays", "record_grades"]


def heatmap_overlays(ws: Workspace, grader: Any, records: Sequence[AssetRecord]) -> dict[str, dict[str, str]]:
    """Render each image's heat map (anomaly or class activation) as a PNG blob: asset → {evidence id: sha256}.

    These are the overlays the review UI lays over the images (``payload["overlays"]`` of a
    prediction); an image whose map cannot be made is left out and the rest go on. The grader's
    evidence cache remembers each image's overlay blob (by model and image hash), so grading an
    unchanged image again, in this process or after :meth:`Grader.use_evidence_store` in another,
    re-uses the stored PNG instead of rendering it again.
    """
    from assetgrade.grading.report import heatmap_png, image_heatmap
    from assetgrade.modalities.vision.heatmaps import HEAT_CMAP

    vision = getattr(grader, "extractors_", {}).get("vision")
    out: dict[str, dict[str, str]] = {}
    if vision is None:
        return out
    cache = getattr(grader, "cache", None)
    for rec in records:
        for ref in rec.images:
            # the palette is in the key: an overlay cached in another one (jet, opaque) is drawn again
            key = f"{getattr(grader, 'version_', '')}/overlay/{HEAT_CMAP}-rgba/{ref.sha256}"
            sha = cache.get_ref(key) if cache is not None else None
            if sha is None or not ws.blobs.exists(sha):
                try:
                    _, heat, _ = image_heatmap(vision, ref)
                except (ValueError, OSError, AssetgradeError):  # an image gone or damaged: no heat map for it
                    continue
                if heat is None:
                    continue
                sha = ws.blobs.put_bytes(heatmap_png(heat))
                if cache is not None:
                    cache.put_ref(key, sha)
            out.setdefault(rec.asset_id, {})[ref.evidence_id] = sha
    if cache is not None:
        cache.flush()
    return out


def graded_unchanged(ws: Workspace, records: Sequence[AssetRecord], model_version: str) -> set[str]:
    """Ids of the ``records`` whose newest prediction is by ``model_version`` on their evidence as it is now.

    Grading one of them again would give the same result (``grade --all --changed`` skips them);
    new evidence, a changed asset type or value, or another model makes an asset count as changed.
    """
    from assetgrade.grading.cache import asset_input_hash
    from assetgrade.store.results import latest_graded_inputs

    with ws.session(readonly=True) as s:
        last = latest_graded_inputs(s, [r.asset_id for r in records])
    return {r.asset_id for r in records if last.get(r.asset_id) == (model_version, asset_input_hash(r))}


def decision_event_payload(r: GradeResult, model_version: str) -> dict[str, Any]:
    """What a ``grade.decision`` audit event records of a result: inputs hash, versions, grade, decision, expected
    cost and its ``currency`` (None: the grader's costs name none; events written before it have no such key), why."""
    return {"asset_id": r.asset_id, "inputs_sha256": r.versions.get("inputs"), "model_version": model_version,
            "ontology_version": r.versions.get("ontology"), "code_version": r.versions.get("code"),
            "training_manifest": r.versions.get("manifest"), "grade": r.grade, "decision": r.decision,
            "conformal_set": list(r.conformal_set), "expected_cost": r.expected_cost, "currency": r.currency,
            "reasons": list(r.reasons)}


def record_grades(ws: Workspace, results: Sequence[GradeResult], *, model_version: str,
                  actor: str = "grader", grader: Any = None, records: Sequence[AssetRecord] | None = None) -> None:
    """Store each result as a prediction plus a ``grade.decision`` audit event (inputs hash, versions).

    With the ``grader`` and the graded ``records``, each image's heat map is stored as a blob and
    referenced from the prediction (``payload["overlays"]``) for the review UI.
    """
    from assetgrade.errors import ValidationError
    from assetgrade.store.audit import append_event
    from assetgrade.store.results import add_prediction

    results = list(results)
    for i, r in enumerate(results):
        if not isinstance(r, GradeResult):
            raise ValidationError(f"item {i} is a {type(r).__name__} ({r!r:.60}), not the GradeResult of "
                                  "Grader.grade", where="record_grades")
    overlays = heatmap_overlays(ws, grader, records) if grader is not None and records else {}
    with ws.session() as s:
        for r in results:
            payload = r.to_dict()
            if r.asset_id in overlays:
                payload["overlays"] = overlays[r.asset_id]
            pred = add_prediction(s, r.asset_id, model_version=model_version, grade=r.grade,
                                  distribution=r.probabilities, conformal_set=r.conformal_set, decision=r.decision,
                                  expected_cost=r.expected_cost, payload=payload, actor=actor)
            append_event(s, actor=actor, action="grade.decision", entity="prediction", entity_id=pred.id,
                         payload=decision_event_payload(r, model_version))

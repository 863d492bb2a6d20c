"""Figures of one ``bench fusion`` run on its test split: per-stack metrics, diagnostics and per-asset predictions."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["cost_reduction", "disk_cached_pass", "evaluate_stack", "known_rubric", "per_asset_predictions",
           "threshold_summary"]


def evaluate_stack(
    grader: Any, blocks: list[Any], records: list[Any], y: np.ndarray, modality: str | None
) -> dict[str, Any]:
    """Test-split figures of the fused stack (``modality`` None) or of one single-modality reference.

    Accuracy, calibration, conformal coverage, costs and what the deployed policy accepts
    (:func:`~assetgrade.grading.decide.stack_metrics`); the keys starting with ``_`` hold the
    per-asset distributions, cover, acceptances and costs, for the caller to pool or drop.
    """
    from assetgrade.fusion import contradictions_for_blocks
    from assetgrade.grading.decide import decide_asset, image_quality_flags, per_asset_costs, stack_metrics

    if modality is None:
        fuser, cal, conformal, policy = grader.fuser_, grader.calibrator_, grader.conformal_, grader.policy_
        use = blocks
    else:
        stack, policy = grader.single_[modality]
        fuser, cal, conformal, use = stack.fuser, stack.calibrator, stack.conformal, [
            b for b in blocks if b.modality == modality]
    p = fuser.predict_proba(use)
    if cal is not None:
        p = cal.transform(p)
    types = [r.asset_type for r in records]
    res = conformal.predict(p, groups=types if grader.mondrian else None)
    contra = contradictions_for_blocks(use, grader.grades_) if modality is None else {}
    sets = res.sets()
    decisions = []
    accounted = grader.accounted_flags()
    for i, r in enumerate(records):
        vflags = [f for b in use if b.modality == "vision" for f in b.quality_flags.get(r.asset_id, [])]
        decisions.append(decide_asset(policy, p[i], conformal_set=sets[i], value=r.value,
                                      contradictions=[c.message for c in contra.get(r.asset_id, [])],
                                      image_flags=image_quality_flags(vflags, accounted),
                                      review_on_quality=grader.review_on_quality))
    out = stack_metrics(p, y, res.membership, grades=grader.grades_, costs=grader.costs_,
                        values=[r.value for r in records], decisions=decisions, max_error=grader.max_error)
    out["contradiction_rate"] = float(np.mean([r.asset_id in contra for r in records]))
    out["_proba"] = p
    out["_covered"] = res.membership[np.arange(len(y)), y]
    out["_accepted"] = np.array([d.action == "accept" for d in decisions])
    out["_costs"] = dict(zip(("expected", "realised"), per_asset_costs(
        p, y, costs=grader.costs_, values=[r.value for r in records]), strict=True))
    return out


def known_rubric(
    blocks: list[Any], bench: Any, test_idx: list[int], y: np.ndarray, grader: Any
) -> dict[str, Any]:
    """The benchmark's own rubric applied to the extractors' level distributions (no learned fusion).

    A diagnostic of where the error comes from, not a strict bound: it uses the rubric that the
    Grader has to learn, but takes each extractor's distribution at face value (uncalibrated on
    its own level). ``extractors``: every modality as its extractor reads it; ``<m>_exact``:
    modality ``m`` replaced by its true level, the others as read -- how far a perfect extractor
    for ``m`` would move accuracy, cost and the auto-accept rate. Test split.
    """
    from assetgrade.datasets.linked import rubric_proba
    from assetgrade.decision import cost_matrix
    from assetgrade.decision.metrics import grade_metrics

    by = {b.modality: b for b in blocks}
    if set(by) != {"vision", "sensors", "text"} or any(
            b.grade_proba is None or not np.all(b.present) for b in blocks):
        return {"skipped": "needs all three modalities with a grade distribution for every test asset"}
    k = len(grader.grades_)
    read = {m: np.nan_to_num(np.asarray(by[m].grade_proba, dtype=np.float64), nan=1.0 / k) for m in by}
    col = {"vision": "image_level", "sensors": "sensor_level", "text": "log_level"}
    exact = {m: np.eye(k)[[int(getattr(bench.labels[i], col[m])) for i in test_idx]] for m in col}
    cost = cost_matrix(grader.costs_, None)
    out: dict[str, Any] = {}
    for name, swap in (("extractors", None), ("vision_exact", "vision"), ("sensors_exact", "sensors"),
                       ("text_exact", "text")):
        q = {m: exact[m] if m == swap else read[m] for m in col}
        p = np.clip(rubric_proba(q["vision"], q["sensors"], q["text"]), 1e-6, None)
        p /= p.sum(axis=1, keepdims=True)
        g = grade_metrics(p, y, cost=cost, max_error=grader.max_error)
        out[name] = {key: g[key] for key in ("accuracy", "qwk", "nll", "ece", "expected_cost", "realised_cost")}
        out[name]["accept_rate_at_error"] = g[f"accept_rate_at_{grader.max_error:g}_error"]
    return out


def per_asset_predictions(bench: Any, test_idx: list[int], fused: dict[str, Any], y: np.ndarray,
                      singles: Mapping[Any, dict[str, Any]]) -> dict[str, Any]:
    """The fused test distributions, conformal cover and decisions, with what each asset is made of
    (its photo, engine unit, piece group), and the expected and realised cost per asset of the
    fused grader and of each single modality (``costs``)."""
    labels = [bench.labels[i] for i in test_idx]
    return {
        "costs": {"fused": fused["_costs"], **{m: v["_costs"] for m, v in singles.items()}},
        "asset_id": [lab.asset_id for lab in labels],
        "y": y.tolist(),
        "proba": fused["_proba"].tolist(),
        "covered": fused["_covered"].tolist(),
        "accepted": fused["_accepted"].tolist(),
        "elpv_file": [lab.elpv_file for lab in labels],
        "cmapss_unit": [f"{lab.cmapss_subset}-{lab.cmapss_unit}" for lab in labels],
        "group": [lab.group for lab in labels],
    }


def cost_reduction(fused: float, best: float) -> float | None:
    """``1 - fused / best``: the share of the best single modality's cost the fused grader saves; None when
    the best single modality cost nothing (no share of nothing to save)."""
    return None if best == 0 else 1.0 - fused / best


def threshold_summary(policy: Any) -> dict[str, Any]:
    """The deployed review threshold, and whether Learn-then-Test certified one: JSON writes the -inf
    of "none certified, every asset reviewed" as null, which reads as "no threshold"."""
    threshold = float(policy.threshold())
    return {"review_threshold": threshold, "review_threshold_certified": bool(np.isfinite(threshold))}


def disk_cached_pass(grader: Any, test: list[Any], results: list[Any]) -> tuple[float, bool]:
    """Seconds for a freshly loaded copy of ``grader`` to grade ``test`` from an evidence store on disk
    (a new process after ``grade --all``), and whether it gave ``results`` exactly."""
    from assetgrade.grader import Grader

    with tempfile.TemporaryDirectory(prefix="assetgrade-bench-") as tmp:
        folder = grader.save(Path(tmp) / "grader")
        grader.use_evidence_store(Path(tmp) / "evidence.sqlite")  # what it holds in memory goes to disk
        again = Grader.load(folder, evidence_store=Path(tmp) / "evidence.sqlite")
        t = time.perf_counter()
        out = again.grade_many(test)
        elapsed = time.perf_counter() - t
        again.cache.close()
        grader.cache.close()
    same = [(r.grade, r.probabilities, r.decision) for r in out] == [
        (r.grade, r.probabilities, r.decision) for r in results]
    return elapsed, same

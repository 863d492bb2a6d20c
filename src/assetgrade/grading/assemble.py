"""Turning fused outputs into GradeResults, and GradeResults into plain-text explanations."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from assetgrade.decision import Decision
from assetgrade.decision.costs import format_cost
from assetgrade.fusion import Contradiction
from assetgrade.modalities.base import EvidenceBlock
from assetgrade.result import ContradictionInfo, GradeResult, ModalityEvidence

__all__ = ["build_result", "explain_text", "modality_evidence"]


def modality_evidence(block: EvidenceBlock, i: int, grades: Sequence[str]) -> ModalityEvidence:
    """What one modality said about asset ``i`` of its block (probabilities rounded to 12 digits: BLAS
    results differ in the last bits with the batch size, and a result should not)."""
    aid = block.asset_ids[i]
    probs = None
    if block.grade_proba is not None and bool(block.present[i]) and np.all(np.isfinite(block.grade_proba[i])):
        probs = {g: round(float(p), 12) for g, p in zip(grades, block.grade_proba[i], strict=True)}
    return ModalityEvidence(
        modality=block.modality,
        present=bool(block.present[i]),
        probabilities=probs,
        findings=tuple(block.findings.get(aid, ())),
        quality_flags=tuple(block.quality_flags.get(aid, ())),
    )


def build_result(
    *,
    asset_id: str,
    asset_type: str,
    grades: Sequence[str],
    proba: npt.NDArray[np.float64],
    conformal_set: Sequence[str],
    coverage: float,
    decision: Decision,
    evidence: Sequence[ModalityEvidence],
    contradictions: Sequence[Contradiction],
    versions: dict[str, str],
    reading: dict[str, Any] | None = None,
) -> GradeResult:
    """One GradeResult (floats rounded to 12 digits so saved and reloaded results compare equal); its ``currency`` is
    the decision's (the policy's cost settings)."""
    flags = tuple(f"{e.modality}: {q}" for e in evidence for q in e.quality_flags)
    return GradeResult(
        asset_id=asset_id,
        asset_type=asset_type,
        probabilities={g: round(float(p), 12) for g, p in zip(grades, proba, strict=True)},
        grade=decision.grade,
        conformal_set=tuple(conformal_set),
        coverage=coverage,
        expected_cost=round(float(decision.expected_cost), 6),
        expected_costs={g: round(float(c), 6) for g, c in zip(grades, decision.expected_costs, strict=True)},
        decision=decision.action,
        reasons=tuple(decision.reasons),
        evidence=tuple(evidence),
        contradictions=tuple(
            ContradictionInfo(c.modalities, c.grades, int(c.gap), c.message) for c in contradictions
        ),
        quality_flags=flags,
        versions=dict(versions),
        reading=reading,
        currency=decision.currency,
    )


def explain_text(result: GradeResult, *, max_findings: int = 5, currency: str | None = None) -> str:
    """A plain-text explanation: grade and confidence, decision and reasons, evidence, contradictions.

    ``currency``: what the expected costs are in (the cost settings' ``currency``; None: "cost units").
    """
    r = result
    lines = [
        f"Asset {r.asset_id} ({r.asset_type}): grade {r.grade} — {r.decision.upper()}",
        "  probabilities: " + ", ".join(f"{g} {p:.2f}" for g, p in r.probabilities.items()),
        f"  {r.coverage:.0%} prediction set: {{{', '.join(r.conformal_set)}}}",
        f"  expected misgrading cost: {format_cost(r.expected_cost, currency)}"
        + (" (" + ", ".join(f"{g} {c:,.0f}" for g, c in r.expected_costs.items()) + ")" if r.expected_costs else ""),
    ]
    if r.most_likely != r.grade:
        lines.append(f"  note: {r.most_likely} is the most likely grade; {r.grade} costs least in expectation")
    lines.append("Why:")
    lines += [f"  - {reason}" for reason in r.reasons] or ["  - (no reasons recorded)"]
    lines.append("Evidence:")
    for e in r.evidence:
        if not e.present:
            lines.append(f"  {e.modality}: absent")
            continue
        head = f"  {e.modality}:"
        if e.probabilities:
            top = max(e.probabilities, key=lambda g: e.probabilities[g])  # type: ignore[index]
            head += f" alone points to {top} (p={e.probabilities[top]:.2f})"
        lines.append(head)
        for f in e.findings[:max_findings]:
            where = ""
            if f.region is not None:
                where = f" region {f.region}"
            elif f.span is not None:
                where = f" chars {f.span[0]}-{f.span[1]}"
            elif f.window is not None:
                a, b = f.window
                where = f" at {a:g}" if a == b else f" window {a:g}-{b:g}"
            neg = " [negated]" if f.status == "negated" else ""
            lines.append(f"    - {f.summary}{neg} ({f.evidence_id or '-'}{where}, conf {f.confidence:.2f})")
        if len(e.findings) > max_findings:
            lines.append(f"    ... and {len(e.findings) - max_findings} more findings")
    if (reading := r.reading_summary()) is not None:
        lines.append(f"Joint reading: {reading}")
    if r.contradictions:
        lines.append("Contradictions:")
        lines += [f"  - {c.message}" for c in r.contradictions]
    if r.quality_flags:
        shown = list(r.quality_flags[:6])
        more = len(r.quality_flags) - len(shown)
        lines.append("Data quality: " + "; ".join(shown) + (f"; ... {more} more" if more > 0 else ""))
    if r.versions:
        lines.append("Versions: " + ", ".join(f"{k} {v[:16]}" for k, v in sorted(r.versions.items())))
    return "\n".join(lines)

"""GradeResult: everything one grade decision says, serialisable for the store, the REST API and reports."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from assetgrade.modalities.base import Finding

__all__ = ["ContradictionInfo", "GradeResult", "ModalityEvidence", "finding_from_dict", "finding_to_dict"]

DecisionKind = Literal["accept", "review"]


def finding_to_dict(f: Finding) -> dict[str, Any]:
    """A Finding as plain JSON-able data."""
    out = dataclasses.asdict(f)
    for key in ("region", "span", "window", "channels"):
        if out[key] is not None:
            out[key] = list(out[key])
    return out


def finding_from_dict(d: Mapping[str, Any]) -> Finding:
    """Inverse of :func:`finding_to_dict`."""
    kw = dict(d)
    for key in ("region", "span", "window"):
        if kw.get(key) is not None:
            kw[key] = tuple(kw[key])
    kw["channels"] = tuple(kw.get("channels") or ())
    return Finding(**kw)


@dataclass(frozen=True)
class ModalityEvidence:
    """What one modality contributed to a grade: present or absent, its own distribution, findings, flags."""

    modality: str
    present: bool
    probabilities: dict[str, float] | None = None
    findings: tuple[Finding, ...] = ()
    quality_flags: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "modality": self.modality,
            "present": self.present,
            "probabilities": self.probabilities,
            "findings": [finding_to_dict(f) for f in self.findings],
            "quality_flags": list(self.quality_flags),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ModalityEvidence:
        return cls(
            modality=d["modality"],
            present=bool(d["present"]),
            probabilities=d.get("probabilities"),
            findings=tuple(finding_from_dict(f) for f in d.get("findings", ())),
            quality_flags=tuple(d.get("quality_flags", ())),
        )


@dataclass(frozen=True)
class ContradictionInfo:
    """Two modalities pointing to grades far apart, with the message shown to a reviewer."""

    modalities: tuple[str, str]
    grades: tuple[str, str]
    gap: int
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"modalities": list(self.modalities), "grades": list(self.grades), "gap": self.gap,
                "message": self.message}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ContradictionInfo:
        return cls(tuple(d["modalities"]), tuple(d["grades"]), int(d["gap"]), str(d["message"]))  # type: ignore[arg-type]


@dataclass(frozen=True)
class GradeResult:
    """One asset's grade: calibrated distribution, chosen grade, conformal set, cost (and its currency), decision and
    evidence.

    Examples
    --------
    >>> r = GradeResult(asset_id="cell-1", probabilities={"A": 0.7, "B": 0.2, "C": 0.1, "D": 0.0},
    ...                 grade="A", conformal_set=("A", "B"), coverage=0.9, expected_cost=12.5,
    ...                 decision="review", reasons=("conformal set has 2 grades",))
    >>> GradeResult.from_dict(r.to_dict()) == r
    True
    >>> r.confidence
    0.7
    """

    asset_id: str
    probabilities: dict[str, float]
    grade: str
    conformal_set: tuple[str, ...]
    coverage: float
    expected_cost: float
    decision: DecisionKind
    reasons: tuple[str, ...] = ()
    expected_costs: dict[str, float] = field(default_factory=dict)
    evidence: tuple[ModalityEvidence, ...] = ()
    contradictions: tuple[ContradictionInfo, ...] = ()
    quality_flags: tuple[str, ...] = ()
    versions: dict[str, str] = field(default_factory=dict)
    """model, ontology and code versions, and the training manifest hash."""
    asset_type: str = "unknown"
    reading: dict[str, Any] | None = None
    """With latent-level fusion: the most probable joint reading of the modalities (``levels``),
    its ``probability`` and the learned ``grade_mix`` of assets read so; None otherwise."""
    currency: str | None = None
    """What ``expected_cost`` and ``expected_costs`` are in: the ``currency`` of the cost settings the grader decided
    with (an ISO 4217 code such as ``EUR``); None when they name none (and for a payload stored before the field)."""

    @property
    def confidence(self) -> float:
        """Calibrated probability of the chosen grade."""
        return float(self.probabilities.get(self.grade, 0.0))

    @property
    def most_likely(self) -> str:
        """The grade with the highest probability (may differ from ``grade``, which minimises cost)."""
        return max(self.probabilities, key=lambda g: self.probabilities[g])

    def reading_summary(self) -> str | None:
        """The joint reading in words (levels, their probability, the table's grade mix), or None.

        >>> r = GradeResult("a", {"A": 1.0}, "A", ("A",), 0.9, 0.0, "accept",
        ...                 reading={"levels": {"vision": "B"}, "probability": 0.6, "grade_mix": {"A": 0.3, "B": 0.7}})
        >>> r.reading_summary()
        'vision B (p=0.60); the fusion table grades assets read so: A 0.30, B 0.70'
        """
        if not self.reading or not self.reading.get("levels"):
            return None
        levels = ", ".join(f"{m} {g}" for m, g in self.reading["levels"].items())
        mix = ", ".join(f"{g} {p:.2f}" for g, p in self.reading["grade_mix"].items() if p >= 0.005)
        return f"{levels} (p={self.reading['probability']:.2f}); the fusion table grades assets read so: {mix}"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data (stored as a prediction's payload, served by the REST API)."""
        return {
            "asset_id": self.asset_id,
            "asset_type": self.asset_type,
            "probabilities": dict(self.probabilities),
            "grade": self.grade,
            "confidence": self.confidence,
            "conformal_set": list(self.conformal_set),
            "coverage": self.coverage,
            "expected_cost": self.expected_cost,
            "expected_costs": dict(self.expected_costs),
            "currency": self.currency,
            "decision": self.decision,
            "reasons": list(self.reasons),
            "evidence": [e.to_dict() for e in self.evidence],
            "contradictions": [c.to_dict() for c in self.contradictions],
            "quality_flags": list(self.quality_flags),
            "versions": dict(self.versions),
            **({"reading": self.reading} if self.reading is not None else {}),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> GradeResult:
        """Inverse of :meth:`to_dict`."""
        return cls(
            asset_id=d["asset_id"],
            asset_type=d.get("asset_type", "unknown"),
            probabilities={k: float(v) for k, v in d["probabilities"].items()},
            grade=d["grade"],
            conformal_set=tuple(d["conformal_set"]),
            coverage=float(d["coverage"]),
            expected_cost=float(d["expected_cost"]),
            expected_costs={k: float(v) for k, v in d.get("expected_costs", {}).items()},
            decision=d["decision"],
            reasons=tuple(d.get("reasons", ())),
            evidence=tuple(ModalityEvidence.from_dict(e) for e in d.get("evidence", ())),
            contradictions=tuple(ContradictionInfo.from_dict(c) for c in d.get("contradictions", ())),
            quality_flags=tuple(d.get("quality_flags", ())),
            versions=dict(d.get("versions", {})),
            reading=d.get("reading"),
            currency=d.get("currency"),
        )

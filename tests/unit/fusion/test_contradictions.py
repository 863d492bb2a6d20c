"""Contradictions: a hand-built case where the image and the log disagree is flagged, with its findings."""

from __future__ import annotations

import numpy as np
import pytest

from assetgrade.fusion.contradictions import contradictions_for_blocks, find_contradictions, ordinal_distance
from assetgrade.modalities.base import EvidenceBlock, Finding

GRADES = ("A", "B", "C", "D")


def _case() -> tuple[dict[str, np.ndarray | None], dict[str, list[Finding]]]:
    scratch = Finding(
        modality="vision",
        summary="cosmetic scratch",
        defect="scratch",
        region=(3, 4, 50, 60),
        severity=0.2,
        grade_hint="B",
    )
    pitting = Finding(
        modality="text",
        summary="pitting corrosion",
        defect="corrosion.pitting",
        span=(10, 27),
        severity=0.8,
        grade_hint="D",
    )
    routine = Finding(modality="text", summary="oil change", grade_hint="A", severity=0.0)
    vib = Finding(
        modality="sensors",
        summary="vibration rising",
        window=(120.0, 160.0),
        channels=("s3",),
        severity=0.7,
        grade_hint="D",
    )
    proba = {
        "vision": np.array([0.2, 0.7, 0.08, 0.02]),
        "text": np.array([0.02, 0.08, 0.2, 0.7]),
        "sensors": None,
    }
    return proba, {"vision": [scratch], "text": [routine, pitting], "sensors": [vib]}


def test_image_and_log_disagreement_is_flagged() -> None:
    proba, findings = _case()
    found = find_contradictions(proba, findings, GRADES)
    pairs = {c.modalities: c for c in found}
    c = pairs[("vision", "text")]
    assert c.grades == ("B", "D") and c.gap == 2
    assert c.findings[0][0].summary == "cosmetic scratch"
    assert c.findings[1][0].summary == "pitting corrosion"  # the finding behind D comes first
    assert "vision says B (cosmetic scratch)" in c.message and "text says D (pitting corrosion" in c.message
    # sensors have no distribution, so their grade comes from the worst finding hint (D)
    assert ("vision", "sensors") in pairs and "vibration rising" in pairs[("vision", "sensors")].message
    assert ("sensors", "text") not in pairs and ("text", "sensors") not in pairs


def test_agreeing_modalities_are_not_flagged() -> None:
    p = np.array([0.1, 0.7, 0.2, 0.0])
    q = np.array([0.05, 0.35, 0.55, 0.05])  # one level apart
    assert find_contradictions({"vision": p, "text": q}, {}, GRADES) == []
    # unconfident distributions do not count, and negated findings are ignored
    flat = np.full(4, 0.25)
    neg = Finding(modality="text", summary="no leak", grade_hint="D", status="negated")
    assert find_contradictions({"vision": p, "text": flat}, {"text": [neg]}, GRADES, emd_threshold=None) == []


def test_ordinal_distance() -> None:
    assert ordinal_distance([1, 0, 0, 0], [0, 0, 0, 1]) == pytest.approx(3.0)
    assert ordinal_distance([0.5, 0.5, 0, 0], [0.5, 0.5, 0, 0]) == pytest.approx(0.0)


def test_for_blocks_skips_absent() -> None:
    proba, findings = _case()
    ids = ["x", "y"]
    v = EvidenceBlock(
        "vision",
        ids,
        ("f",),
        np.zeros((2, 1)),
        np.array([True, True]),
        findings={"x": findings["vision"]},
        grade_proba=np.vstack([proba["vision"]] * 2),
    )
    t = EvidenceBlock(
        "text",
        ids,
        ("f",),
        np.array([[0.0], [np.nan]]),
        np.array([True, False]),
        findings={"x": findings["text"]},
        grade_proba=np.vstack([proba["text"], np.full(4, np.nan)]),
    )
    out = contradictions_for_blocks([v, t], GRADES)
    assert list(out) == ["x"]
    assert out["x"][0].modalities == ("vision", "text")


def test_two_grade_scale_flags_opposite_ends() -> None:
    # the image says fine, the logs say cracked: with the default min_gap=2 a two-grade scale
    # could never be 2 levels apart, so this was never flagged
    grades = ("ok", "cracked")
    found = find_contradictions({"vision": np.array([0.95, 0.05]), "text": np.array([0.02, 0.98])}, {}, grades)
    assert len(found) == 1 and found[0].grades == ("ok", "cracked") and found[0].gap == 1
    assert find_contradictions({"vision": np.array([0.95, 0.05]), "text": np.array([0.9, 0.1])}, {}, grades) == []
    # a longer scale keeps min_gap as given
    three = ("A", "B", "C")
    assert find_contradictions({"vision": np.array([0.9, 0.1, 0.0]), "text": np.array([0.1, 0.9, 0.0])}, {}, three,
                               emd_threshold=None) == []


@pytest.mark.parametrize(("kw", "says"), [
    ({"min_confidence": float("nan")}, r"min_confidence: min_confidence=nan must be in \[0, 1\]"),
    ({"min_confidence": 1.5}, r"min_confidence=1.5 must be in \[0, 1\]"),
    ({"emd_threshold": 0.0}, r"emd_threshold: emd_threshold=0.0 must be a finite number > 0, or None"),
    ({"emd_threshold": float("nan")}, "emd_threshold=nan must be"),
])
def test_contradiction_settings_are_checked(kw: dict, says: str) -> None:  # type: ignore[type-arg]
    from assetgrade.errors import ValidationError

    agree = {"vision": np.array([0.9, 0.1, 0.0]), "text": np.array([0.85, 0.15, 0.0])}
    with pytest.raises(ValidationError, match=says):
        find_contradictions(agree, {}, ("A", "B", "C"), **kw)

"""Contradictions between modalities: evidence that points to grades far apart, with the findings behind it.

Each modality's own grade is the argmax of its ``grade_proba`` (when the modality gives one and
is confident enough) or else the worst ``grade_hint`` among its confirmed findings. Two
modalities contradict each other when their grades differ by at least ``min_gap`` levels, or
when the ordinal (earth mover's) distance between their grade distributions, the sum over
grades of the absolute difference of the cumulative distributions (Rubner et al. 2000), reaches
``emd_threshold``. A contradiction names both modalities, their grades and the findings that
support each side, e.g. "vision says B (cosmetic scratch); text says D (pitting corrosion)".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from assetgrade.errors import ValidationError
from assetgrade.modalities.base import EvidenceBlock, Finding

__all__ = ["Contradiction", "contradictions_for_blocks", "find_contradictions", "ordinal_distance"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Contradiction:
    """Two modalities whose evidence points to grades far apart.

    Examples
    --------
    >>> c = Contradiction(("vision", "text"), ("B", "D"), 2, 1.8, ((), ()), "vision says B; text says D")
    >>> c.gap
    2
    """

    modalities: tuple[str, str]
    grades: tuple[str, str]
    gap: int
    """Levels between the two grades."""
    distance: float
    """Ordinal distance between the two distributions (grade levels); NaN when one has none."""
    findings: tuple[tuple[Finding, ...], tuple[Finding, ...]]
    """The findings supporting each side, worst first."""
    message: str


def ordinal_distance(p: npt.ArrayLike, q: npt.ArrayLike) -> float:
    """Earth mover's distance between two distributions over ordered grades, in grade levels."""
    a = np.asarray(p, dtype=np.float64)
    b = np.asarray(q, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise ValidationError(f"shapes {a.shape} and {b.shape} differ or are not 1-D", where="ordinal_distance")
    return float(np.abs(np.cumsum(a) - np.cumsum(b))[:-1].sum())


def _hint_index(f: Finding, grades: Sequence[str]) -> int | None:
    if f.grade_hint is None or f.status == "negated" or f.grade_hint not in grades:
        return None
    return list(grades).index(f.grade_hint)


def _describe(f: Finding) -> str:
    return f.summary or (f.defect or "finding")


def find_contradictions(
    proba: Mapping[str, FloatArray | None],
    findings: Mapping[str, Sequence[Finding]],
    grades: Sequence[str],
    *,
    min_gap: int = 2,
    emd_threshold: float | None = 1.5,
    min_confidence: float = 0.5,
    max_findings: int = 3,
) -> list[Contradiction]:
    """Contradictions for one asset.

    Parameters
    ----------
    proba
        Modality → its grade distribution for this asset (None or NaN where it has none); it is scaled
        to sum to 1, and a negative entry is refused.
    findings
        Modality → its findings for this asset.
    grades
        Grade names, best first.
    min_gap
        Grade levels apart that count as a contradiction (at most ``len(grades) - 1``: on a
        shorter scale the best and the worst grade contradict each other).
    emd_threshold
        Ordinal distance between two distributions that counts as a contradiction (None: off).
    min_confidence
        A modality's argmax grade is used only when its top probability reaches this; otherwise
        the modality's grade comes from its findings' hints.
    """
    if min_gap < 1:
        raise ValidationError(f"min_gap={min_gap} must be >= 1", where="min_gap")
    if not 0.0 <= min_confidence <= 1.0:  # NaN too: it silently turned every distribution's grade off
        raise ValidationError(f"min_confidence={min_confidence} must be in [0, 1]", where="min_confidence")
    if emd_threshold is not None and not 0.0 < emd_threshold < float("inf"):
        # 0 (or less) made every pair of modalities contradict each other
        raise ValidationError(f"emd_threshold={emd_threshold} must be a finite number > 0, or None (off)",
                              where="emd_threshold")
    k = len(grades)
    # on a scale too short for min_gap (two grades, with the default 2), the two ends of the
    # scale are the furthest apart modalities can be: they contradict each other
    min_gap = max(1, min(min_gap, k - 1))
    level: dict[str, int] = {}
    dist: dict[str, FloatArray] = {}
    support: dict[str, tuple[Finding, ...]] = {}
    for m in sorted(set(proba) | set(findings)):
        fs = [f for f in findings.get(m, ()) if f.status != "negated"]
        hints = [h for h in (_hint_index(f, grades) for f in fs) if h is not None]
        p = proba.get(m)
        lvl: int | None = None
        if p is not None:
            arr = np.asarray(p, dtype=np.float64)
            if arr.shape != (k,):
                raise ValidationError(f"distribution has shape {arr.shape}, expected ({k},)", where=f"proba[{m}]")
            if np.any(arr < -1e-9):  # NaN compares False: a NaN row is "no distribution" below
                raise ValidationError(f"distribution {arr.tolist()} has a negative entry", where=f"proba[{m}]")
            total = float(np.clip(arr, 0.0, None).sum())
            if np.all(np.isfinite(arr)) and total > 0:
                # as a distribution: [1, 0, 0, 0] and [2, 0, 0, 0] (or percentages) both say the best
                # grade, yet their unnormalised ordinal distance of 3 made them contradict each other
                arr = np.clip(arr, 0.0, None) / total
                dist[m] = arr
                if arr.max() >= min_confidence:
                    lvl = int(arr.argmax())
        if lvl is None and hints:
            lvl = max(hints)
        if lvl is None:
            continue
        level[m] = lvl

        # findings supporting this modality's grade: hints closest to it, worst first, then the rest
        def closeness(f: Finding, lvl: int = lvl) -> tuple[int, float]:
            h = _hint_index(f, grades)
            return (abs(h - lvl) if h is not None else k + 1, -(f.severity or 0.0))

        ranked = sorted(fs, key=closeness)
        support[m] = tuple(ranked[:max_findings])
    names = sorted(level)
    out: list[Contradiction] = []
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            gap = abs(level[a] - level[b])
            d = ordinal_distance(dist[a], dist[b]) if a in dist and b in dist else float("nan")
            if gap >= min_gap or (emd_threshold is not None and np.isfinite(d) and d >= emd_threshold):
                lo, hi = (a, b) if level[a] <= level[b] else (b, a)
                parts = []
                for m in (lo, hi):
                    said = ", ".join(_describe(f) for f in support[m])
                    parts.append(f"{m} says {grades[level[m]]}" + (f" ({said})" if said else ""))
                msg = "; ".join(parts) + f" — {gap} grade levels apart"
                if np.isfinite(d):
                    msg += f", ordinal distance {d:.2f}"
                out.append(
                    Contradiction(
                        modalities=(lo, hi),
                        grades=(grades[level[lo]], grades[level[hi]]),
                        gap=gap,
                        distance=d,
                        findings=(support[lo], support[hi]),
                        message=msg,
                    )
                )
    return out


def contradictions_for_blocks(
    blocks: Sequence[EvidenceBlock],
    grades: Sequence[str],
    *,
    min_gap: int = 2,
    emd_threshold: float | None = 1.5,
    min_confidence: float = 0.5,
) -> dict[str, list[Contradiction]]:
    """Contradictions for every asset of a set of blocks (same assets, same order); only assets with some."""
    if not blocks:
        return {}
    ids = blocks[0].asset_ids
    for b in blocks[1:]:
        if b.asset_ids != ids:
            raise ValidationError("blocks list different assets or orders", where=f"EvidenceBlock[{b.modality}]")
    out: dict[str, list[Contradiction]] = {}
    for i, a in enumerate(ids):
        proba: dict[str, FloatArray | None] = {}
        finds: dict[str, Sequence[Finding]] = {}
        for b in blocks:
            if not bool(b.present[i]):
                continue
            proba[b.modality] = None if b.grade_proba is None else b.grade_proba[i]
            finds[b.modality] = b.findings.get(a, [])
        try:
            found = find_contradictions(
                proba, finds, grades, min_gap=min_gap, emd_threshold=emd_threshold, min_confidence=min_confidence
            )
        except ValidationError as exc:
            raise ValidationError(f"asset {a!r}: {exc.reason}", where=exc.where) from None
        if found:
            out[a] = found
    return out

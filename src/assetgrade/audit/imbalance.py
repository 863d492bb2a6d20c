"""Class imbalance: how far the smallest class is from the largest (counts per label, optionally real items only)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from assetgrade.audit.base import CheckResult, register_check
from assetgrade.audit.data import AuditData
from assetgrade.audit.params import Flag, Interval, SettingConstraint, validate_settings

__all__ = ["ClassImbalance"]


@register_check("imbalance")
class ClassImbalance:
    """Summary = smallest class count / largest; items of classes under ``min_ratio`` of the largest are flagged.

    Parameters
    ----------
    min_ratio : policy, each class needs at least this fraction of the largest class's count (default 0.1).
    real_only : count only real items (default True: synthetic padding does not hide a real shortage).

    Examples
    --------
    >>> ClassImbalance(min_ratio=0.2).min_ratio
    0.2
    """

    name = "imbalance"
    _constraints: ClassVar[dict[str, SettingConstraint]] = {"min_ratio": Interval(0, 1), "real_only": Flag()}

    def __init__(self, *, min_ratio: float = 0.1, real_only: bool = True) -> None:
        validate_settings(self.name, self._constraints, min_ratio=min_ratio, real_only=real_only)
        self.min_ratio = min_ratio
        self.real_only = real_only

    def run(self, data: AuditData) -> CheckResult:
        labels = data.column("label")
        counted = data.is_real if self.real_only else np.ones(data.n, bool)
        classes = list(data.classes) or sorted(set(labels))
        counts = {c: int(np.sum((labels == c) & counted)) for c in classes}
        top = max(counts.values()) if counts else 0
        ratio = {c: (n / top if top else 0.0) for c, n in counts.items()}
        scores = np.array([ratio.get(str(lab), 0.0) for lab in labels])
        minority = [c for c, r in ratio.items() if r < self.min_ratio]
        flags = np.isin(labels, minority)
        summary = min(ratio.values()) if ratio else 1.0
        p = np.array([n for n in counts.values() if n > 0], dtype=np.float64)
        p = p / p.sum() if p.sum() else p
        entropy = float(-(p * np.log(p)).sum() / np.log(len(counts))) if len(counts) > 1 and len(p) else 1.0
        passed = not minority
        msg = f"smallest/largest class = {summary:.3f} (policy >= {self.min_ratio})" + (
            f"; under-represented: {', '.join(minority)}" if minority else ""
        )
        if self.real_only and data.n and not top:  # 0 / 0: no ratio to read, every class lacks real items
            msg = (f"no real item among the {data.n}: all are synthetic/augmented, so no class has a real example "
                   "(real_only counts real items only)")
        info = {"counts": counts, "ratio_to_largest": ratio, "normalised_entropy": entropy,
                "real_only": self.real_only}
        return CheckResult(self.name, scores, flags, float(summary), passed, msg, info)

"""Coverage gaps: cells of defect x asset type x capture condition with too few real, expert-labelled items."""

from __future__ import annotations

import itertools
from typing import Any, ClassVar

import numpy as np

from assetgrade.audit.base import CheckResult, register_check
from assetgrade.audit.data import AuditData
from assetgrade.audit.params import Interval, Names, SettingConstraint, validate_settings
from assetgrade.errors import ValidationError

__all__ = ["MAX_CELLS", "CoverageGaps"]

MAX_CELLS = 1_000_000
"""The most cells (combinations of the ``by`` values) the check builds; more is refused, naming the columns."""


@register_check("coverage")
class CoverageGaps:
    """Counts real, expert-labelled items in every combination of ``by`` and ranks the cells short of ``min_count``.

    Every combination of the observed values is a cell, so a combination never seen at all
    shows up with count 0; a class named in ``AuditData.classes`` without any item is a value of
    ``label`` too. The ranked ``collection_list`` (largest shortfall first) says what
    to photograph next.

    Parameters
    ----------
    min_count : a cell needs at least this many real, expert-labelled items (default 20).
    by : the columns spanning the cells (default label x asset_type x capture_condition).
    min_covered_share : policy, the share of cells that must be covered (default 0.8).

    Examples
    --------
    >>> CoverageGaps(min_count=5).by
    ('label', 'asset_type', 'capture_condition')
    """

    name = "coverage"
    _constraints: ClassVar[dict[str, SettingConstraint]] = {
        "min_count": Interval(1, None, integer=True), "by": Names(), "min_covered_share": Interval(0, 1)}

    def __init__(
        self,
        *,
        min_count: int = 20,
        by: tuple[str, ...] = ("label", "asset_type", "capture_condition"),
        min_covered_share: float = 0.8,
    ) -> None:
        validate_settings(self.name, self._constraints, min_count=min_count, by=by,
                          min_covered_share=min_covered_share)
        self.min_count = min_count
        self.by = tuple(by)
        self.min_covered_share = min_covered_share

    def run(self, data: AuditData) -> CheckResult:
        t = data.table
        good = data.is_real & data.column("expert_labelled").astype(bool)
        cols = [data.column(c).astype(str) for c in self.by]
        # a class named in ``classes`` but without any item is a cell with count 0 too (as in imbalance)
        levels = [sorted(set(c) | (set(data.classes) if b == "label" else set()))
                  for b, c in zip(self.by, cols, strict=True)]
        n_cells = int(np.prod([len(lv) for lv in levels], dtype=object))
        if n_cells > MAX_CELLS:
            # every combination is a cell: a column of per-item values (ids, timestamps) makes millions
            sizes = ", ".join(f"{b} {len(lv)}" for b, lv in zip(self.by, levels, strict=True))
            raise ValidationError(f"{n_cells:,} cells ({sizes} distinct values) is more than {MAX_CELLS:,}; cover"
                                  " columns with a few values each", where="coverage.by")
        keys = list(zip(*cols, strict=True))
        counts: dict[tuple[str, ...], int] = dict.fromkeys(itertools.product(*levels), 0)
        for k, g in zip(keys, good, strict=True):
            if g:
                counts[k] += 1
        cells: list[dict[str, Any]] = []
        for k, n in counts.items():
            row: dict[str, Any] = dict(zip(self.by, k, strict=True))
            row.update(n_real_expert=n, shortfall=max(0, self.min_count - n))
            cells.append(row)
        gaps = sorted(
            (c for c in cells if c["shortfall"] > 0), key=lambda c: (-c["shortfall"], *(c[b] for b in self.by))
        )
        covered_share = 1.0 - len(gaps) / len(cells) if cells else 1.0
        row_count = np.array([counts[k] for k in keys], dtype=np.float64)
        scores = np.minimum(1.0, row_count / max(1, self.min_count))
        flags = row_count < self.min_count
        passed = covered_share >= self.min_covered_share
        msg = (
            f"{len(cells) - len(gaps)} of {len(cells)} cells have >= {self.min_count} real expert-labelled items"
            + (f"; most needed: {', '.join('/'.join(g[b] for b in self.by) for g in gaps[:3])}" if gaps else "")
        )
        info = {
            "by": list(self.by),
            "min_count": self.min_count,
            "n_cells": len(cells),
            "covered_share": covered_share,
            "collection_list": gaps,
            "n_real_expert": int(good.sum()),
            "n_items": len(t),
        }
        return CheckResult(self.name, scores, flags, covered_share, passed, msg, info)

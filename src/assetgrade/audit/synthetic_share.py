"""Synthetic share: the fraction of synthetic or augmented items per class and split, against a policy."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from assetgrade.audit.base import CheckResult, register_check
from assetgrade.audit.data import AuditData
from assetgrade.audit.params import Flag, Interval, Names, SettingConstraint, validate_settings

__all__ = ["SyntheticShare"]


def _pct(x: float) -> str:
    """A share as a percentage with up to four significant digits: 0.105 -> '10.5%', 0.1 -> '10%'.

    >>> _pct(0.125), _pct(0.1), _pct(21 / 200)
    ('12.5%', '10%', '10.5%')
    """
    return f"{100 * x:.4g}%"


@register_check("synthetic_share")
class SyntheticShare:
    """Flags the non-real items of every (class, split) cell whose synthetic + augmented share exceeds ``max_share``.

    Parameters
    ----------
    max_share : the policy, at most this share of a cell may be synthetic or augmented (default 0.10).
    count_augmented : whether augmented copies count against the policy (default True).
    by : the columns defining a cell (default ``("label", "split")``).

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"item_id": list("abcd"), "asset_id": list("abcd"), "label": ["x"] * 4,
    ...                   "origin": ["real", "real", "real", "synthetic"]})
    >>> SyntheticShare(max_share=0.1).run(AuditData(t)).passed
    False
    """

    name = "synthetic_share"
    _constraints: ClassVar[dict[str, SettingConstraint]] = {
        "max_share": Interval(0, 1), "count_augmented": Flag(), "by": Names()}

    def __init__(
        self, *, max_share: float = 0.10, count_augmented: bool = True, by: tuple[str, ...] = ("label", "split")
    ) -> None:
        validate_settings(self.name, self._constraints, max_share=max_share, count_augmented=count_augmented, by=by)
        self.max_share = max_share
        self.count_augmented = count_augmented
        self.by = tuple(by)

    def run(self, data: AuditData) -> CheckResult:
        t = data.table
        kinds = ("synthetic", "augmented") if self.count_augmented else ("synthetic",)
        nonreal = t["origin"].isin(kinds).to_numpy()
        keys = [data.column(c) for c in self.by]
        members: dict[tuple[str, ...], list[int]] = {}
        for i, k in enumerate(zip(*keys, strict=True)):  # cells by value tuple: any text, separators included
            members.setdefault(tuple(map(str, k)), []).append(i)
        share = np.zeros(data.n)
        cells: list[dict[str, Any]] = []
        for c in sorted(members):
            m = np.zeros(data.n, bool)
            m[members[c]] = True
            s = float(nonreal[m].mean())
            share[m] = s
            row: dict[str, Any] = dict(zip(self.by, c, strict=True))
            row.update(n=int(m.sum()), n_nonreal=int(nonreal[m].sum()), share=round(s, 4), over=s > self.max_share)
            cells.append(row)
        cells.sort(key=lambda r: -float(r["share"]))
        over = [r for r in cells if r["over"]]
        max_share = float(share.max()) if data.n else 0.0
        flags = nonreal & (share > self.max_share)
        overall = float(nonreal.mean()) if data.n else 0.0
        passed = not over
        # counts and enough digits that a cell just over the policy (21 of 200) never reads as the policy (10%)
        msg = (
            f"all {len(cells)} cells within {_pct(self.max_share)} synthetic/augmented"
            if passed
            else f"{len(over)} of {len(cells)} cells above {_pct(self.max_share)}: "
            + ", ".join(f"{'/'.join(str(r[b]) for b in self.by)} {r['n_nonreal']} of {r['n']}"
                        f" ({_pct(r['n_nonreal'] / r['n'])})" for r in over[:5])
        )
        return CheckResult(
            self.name,
            scores=1.0 - share,
            flags=flags,
            summary=1.0 - max_share,
            passed=passed,
            message=msg,
            info={"policy_max_share": self.max_share, "overall_share": overall, "cells": cells},
        )

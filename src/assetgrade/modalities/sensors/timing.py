"""How far apart a series' rows are, and whether a RUL model's rows mean the same time as an asset's.

A remaining-life model counts life in *rows* of the histories it was trained on (C-MAPSS: one
row per flight cycle), and its window features span a number of rows. Applied to a series
sampled every 10 minutes when the fleet was sampled hourly, every number it gives is 6 times
off, with nothing to show for it. :class:`RowTime` records what one row meant in training (the
kind of time axis and the median step between rows) so the sensors extractor can refuse the
remaining life of a series whose rows mean something else, and say why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["STEP_TOLERANCE", "RowTime", "row_step", "row_time"]

STEP_TOLERANCE = 1.5
"""The largest factor by which an asset's row step may differ from the training fleet's (either way)."""


def row_step(frame: pd.DataFrame) -> float | None:
    """The median step between consecutive rows: seconds for a datetime index, index units for a numeric one.

    None for fewer than two rows or an index that is neither.

    >>> row_step(pd.DataFrame({"v": [1, 2, 3]}, index=[10.0, 12.0, 14.0]))
    2.0
    """
    idx = frame.index
    if len(idx) < 2:
        return None
    if isinstance(idx, pd.DatetimeIndex):
        t = np.asarray((idx - idx[0]).total_seconds(), dtype=float)
    else:
        try:
            t = np.asarray(idx, dtype=float)
        except (TypeError, ValueError):
            return None
    d = np.diff(t)
    d = d[np.isfinite(d) & (d > 0)]
    return float(np.median(d)) if d.size else None


def _kind(frame: pd.DataFrame) -> str:
    return "datetime" if isinstance(frame.index, pd.DatetimeIndex) else "numeric"


@dataclass(frozen=True)
class RowTime:
    """What one row of the training histories meant: the time axis' kind and the median step between rows."""

    kind: str
    step: float

    def describe(self, step: float | None = None) -> str:
        """``step`` (default: this one's) in words: "1 cycle (index units)", "10 min"."""
        s = self.step if step is None else step
        if self.kind == "numeric":
            return f"{s:g} (index units)"
        for unit, secs in (("d", 86400.0), ("h", 3600.0), ("min", 60.0)):
            if s >= secs:
                return f"{s / secs:.3g} {unit}"
        return f"{s:.3g} s"

    def mismatch(self, frame: pd.DataFrame) -> str | None:
        """Why ``frame``'s rows do not mean what the training rows meant, or None when they do (or cannot tell)."""
        kind = _kind(frame)
        if kind != self.kind:
            return (f"its time axis is {kind}, the RUL model's training histories had {self.kind} time: "
                    "a remaining life counted in their rows does not apply")
        step = row_step(frame)
        if step is None or 1 / STEP_TOLERANCE <= step / self.step <= STEP_TOLERANCE:
            return None
        return (f"one row every {self.describe(step)}, the RUL model was trained on one every {self.describe()}: "
                f"it counts remaining life in rows, so it would be about {step / self.step:.3g} times off")


def row_time(histories: Sequence[pd.DataFrame]) -> RowTime | None:
    """The training histories' :class:`RowTime`; None when any has a plain row-number index (no time
    axis to compare with), their kinds differ, or no step can be measured."""
    if not histories or any(isinstance(h.index, pd.RangeIndex) for h in histories):
        return None
    kinds = {_kind(h) for h in histories}
    steps = [s for s in (row_step(h) for h in histories) if s is not None]
    if len(kinds) != 1 or not steps:
        return None
    return RowTime(kinds.pop(), float(np.median(steps)))

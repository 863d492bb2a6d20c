"""Anomaly events in a sensor series: change points, threshold exceedances and RMS growth, as findings.

* Change points: binary segmentation (Scott & Knott 1974, Biometrics 30) of a channel with the
  least-squares (CUSUM-type, Page 1954, Biometrika 41) cost of a mean shift; a split is kept when
  it lowers the cost by more than ``penalty · σ² · log n`` (a BIC-style penalty, with σ estimated
  robustly from the median absolute first difference).
* Exceedances: runs of samples more than ``z_threshold`` noise standard deviations (estimated from
  first differences, so spikes and slow drifts do not inflate it) away from the commissioning level
  (median of the first ``baseline_window`` samples), with their time window.
* RMS growth: the RMS of the last ``recent_window`` samples against the commissioning RMS
  ("vibration_rms rose 3.1× over the last 40 cycles").

Each event is a :class:`~assetgrade.modalities.base.Finding` with ``window=(start, end)`` in the
series' time unit and the ``channels`` involved.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

from assetgrade.modalities.base import Finding
from assetgrade.modalities.sensors.validate import nearly_constant

__all__ = ["change_points", "detect_events", "exceedance_windows", "robust_sigma"]


def robust_sigma(x: np.ndarray) -> float:
    """Noise level from the median absolute first difference (robust to level shifts and spikes)."""
    if len(x) < 3:
        return float(np.std(x)) or 1.0
    s = float(np.median(np.abs(np.diff(x))) / (0.6745 * np.sqrt(2.0)))
    return s if s > 0 else (float(np.std(x)) or 1.0)


def _seg_cost(cs: np.ndarray, cs2: np.ndarray, a: int, b: int) -> float:
    n = b - a
    s = cs[b] - cs[a]
    return float(cs2[b] - cs2[a] - s * s / n) if n > 0 else 0.0


def change_points(x: npt.ArrayLike, *, penalty: float = 4.0, min_size: int = 5, max_points: int = 5) -> list[int]:
    """Positions where the mean of ``x`` shifts (index of the first sample of each new segment).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.r_[np.zeros(50), np.full(50, 3.0)] + np.random.default_rng(0).normal(0, 0.5, 100)
    >>> change_points(x)
    [50]
    """
    a = np.asarray(x, dtype=float)
    n = len(a)
    if n < 2 * min_size:
        return []
    sigma = robust_sigma(a)
    pen = penalty * sigma * sigma * np.log(n)
    cs = np.concatenate([[0.0], np.cumsum(a)])
    cs2 = np.concatenate([[0.0], np.cumsum(a * a)])
    found: list[int] = []
    segments = [(0, n)]
    while segments and len(found) < max_points:
        best: tuple[float, int, int, int] | None = None
        for lo, hi in segments:
            if hi - lo < 2 * min_size:
                continue
            whole = _seg_cost(cs, cs2, lo, hi)
            ks = np.arange(lo + min_size, hi - min_size + 1)
            left_n, right_n = ks - lo, hi - ks
            ls, rs = cs[ks] - cs[lo], cs[hi] - cs[ks]
            left = cs2[ks] - cs2[lo] - ls * ls / left_n
            right = cs2[hi] - cs2[ks] - rs * rs / right_n
            gains = whole - left - right
            j = int(np.argmax(gains))
            if best is None or gains[j] > best[0]:
                best = (float(gains[j]), int(ks[j]), lo, hi)
        if best is None or best[0] <= pen:
            break
        _, k, lo, hi = best
        found.append(k)
        segments.remove((lo, hi))
        segments += [(lo, k), (k, hi)]
    return sorted(found)


def exceedance_windows(mask: npt.ArrayLike, *, min_run: int = 1) -> list[tuple[int, int]]:
    """Inclusive (first, last) index pairs of the runs of True in ``mask`` at least ``min_run`` long.

    Examples
    --------
    >>> exceedance_windows([False, True, True, False, True])
    [(1, 2), (4, 4)]
    """
    m = np.asarray(mask, dtype=bool)
    padded = np.concatenate([[0], m.astype(np.int8), [0]])
    edges = np.flatnonzero(np.diff(padded))
    return [(int(s), int(e) - 1) for s, e in zip(edges[0::2], edges[1::2], strict=True) if e - s >= min_run]


def _fmt(t: float) -> str:
    return f"{t:g}"


def detect_events(
    frame: pd.DataFrame,
    *,
    evidence_id: str | None = None,
    channels: Sequence[str] | None = None,
    baseline_window: int = 30,
    recent_window: int = 40,
    z_threshold: float = 5.0,
    rms_ratio: float = 1.5,
    penalty: float = 4.0,
    time_unit: str = "cycles",
    raw: pd.DataFrame | None = None,
) -> list[Finding]:
    """Change points, exceedances and RMS growth in each channel of a validated series.

    Parameters
    ----------
    frame
        Float index (time), one column per channel: raw values, or per-regime z-scores.
    raw
        Raw values for the RMS-growth test (defaults to ``frame``); RMS is meaningless on z-scores.
    z_threshold
        Exceedance threshold in robust standard deviations of the commissioning baseline.
    rms_ratio
        RMS growth that makes a finding.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> x = np.random.default_rng(1).normal(0, 1, 200); x[120:123] += 12
    >>> ev = detect_events(pd.DataFrame({"vib": x}, index=np.arange(200.0)), rms_ratio=10)
    >>> [(f.window, f.channels) for f in ev if "exceeded" in f.summary]
    [((120.0, 122.0), ('vib',))]
    """
    t = np.asarray(frame.index, dtype=float)
    cols = list(channels) if channels is not None else [str(c) for c in frame.columns]
    raw = frame if raw is None else raw
    out: list[Finding] = []
    n = len(frame)
    # one conversion for all channels (a pandas column lookup per channel costs more than the tests below)
    values = np.ascontiguousarray(frame[cols].to_numpy(dtype=float).T) if cols else np.empty((0, n))
    raw_cols = [c for c in cols if c in raw.columns] if n >= baseline_window + recent_window else []
    raw_values = dict(zip(raw_cols, np.ascontiguousarray(raw[raw_cols].to_numpy(dtype=float).T),
                          strict=True)) if raw_cols else {}
    for c, x in zip(cols, values, strict=True):
        if n == 0 or nearly_constant(x):
            continue  # a channel that moves only by rounding has no events (σ would be rounding noise)
        base = x[: min(baseline_window, n)]
        mu = float(np.median(base))
        sigma = robust_sigma(x)  # noise level from first differences: robust to spikes and drifts
        for k in change_points(x, penalty=penalty, min_size=max(3, min(10, n // 10))):
            before, after = float(np.mean(x[:k][-baseline_window:])), float(np.mean(x[k:][:baseline_window]))
            shift = (after - before) / sigma
            if abs(shift) < 2.0:
                continue
            out.append(
                Finding(
                    modality="sensors",
                    summary=f"{c} level shifted {shift:+.1f}σ at {_fmt(t[k])} {time_unit} "
                    f"(from {before:.3g} to {after:.3g})",
                    severity=float(min(1.0, abs(shift) / 10.0)),
                    confidence=float(min(0.99, 0.5 + abs(shift) / 20.0)),
                    evidence_id=evidence_id,
                    window=(float(t[k - 1]), float(t[k])),
                    channels=(c,),
                )
            )
        z = np.abs(x - mu) / sigma
        for a, b in exceedance_windows(z > z_threshold):
            if a < min(baseline_window, n) and b < min(baseline_window, n):
                continue  # inside the baseline itself
            peak = float(z[a : b + 1].max())
            out.append(
                Finding(
                    modality="sensors",
                    summary=f"{c} exceeded {z_threshold:g}σ of its commissioning level from {_fmt(t[a])} "
                    f"to {_fmt(t[b])} {time_unit} (peak {peak:.1f}σ)",
                    severity=float(min(1.0, peak / (4 * z_threshold))),
                    confidence=float(min(0.99, 0.5 + peak / (4 * z_threshold))),
                    evidence_id=evidence_id,
                    window=(float(t[a]), float(t[b])),
                    channels=(c,),
                )
            )
        if c in raw_values:
            r = raw_values[c]
            rms0 = float(np.sqrt(np.mean(r[:baseline_window] ** 2)))
            rms1 = float(np.sqrt(np.mean(r[-recent_window:] ** 2)))
            if rms0 > 0 and rms1 / rms0 >= rms_ratio:
                ratio = rms1 / rms0
                out.append(
                    Finding(
                        modality="sensors",
                        summary=f"{c} RMS rose {ratio:.1f}× over the last {recent_window} {time_unit} "
                        f"(vs the first {baseline_window})",
                        severity=float(min(1.0, (ratio - 1.0) / 4.0)),
                        confidence=0.9,
                        evidence_id=evidence_id,
                        window=(float(t[-recent_window]), float(t[-1])),
                        channels=(c,),
                    )
                )
    return out

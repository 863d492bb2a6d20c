"""Small server-side SVG plots for the web UI: grade distribution bars, sensor series with anomaly windows, trends.

Hand-written SVG keeps an asset page fast (no plotting library on the request path) and
accessible (each plot has a ``<title>`` and an ``aria-label``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape

import numpy as np
import numpy.typing as npt

__all__ = ["distribution_bars", "line_chart", "rounded_shares", "series_plot", "stacked_bars"]

PALETTE = ("#2b8a3e", "#649e13", "#c58000", "#e8590c", "#c92a2a", "#862e9c", "#1971c2", "#495057")
"""Sensor channels' line colours: each 3:1 at least against the plot's #fafafa (WCAG 2.1, 1.4.11 non-text contrast);
the legend writes the names in the text colour beside a swatch of the line's colour."""
GRADE_COLOURS = ("#2a853c", "#51820b", "#b45d00", "#c92a2a")
"""The grade badges' colours in ``static/app.css`` (``.g-A`` to ``.g-D``), best grade to worst: white text on them,
and each as text on white, is 4.5:1 at least (WCAG 2.1, 1.4.3)."""
OFF_SCALE = "#6e767e"
"""Grades no longer on the scale (grey, 4.5:1 on white)."""


def grade_colours(n: int) -> list[str]:
    """``n`` colours, best grade to worst: the badges' own on a four-grade scale, else spread evenly along them.

    >>> grade_colours(4) == list(GRADE_COLOURS)
    True
    >>> grade_colours(2)
    ['#2a853c', '#c92a2a']
    """
    anchors = np.array([[int(c[i:i + 2], 16) for i in (1, 3, 5)] for c in GRADE_COLOURS], dtype=np.float64)
    out = []
    for k in range(n):
        pos = k / (n - 1) * (len(anchors) - 1) if n > 1 else 0.0
        lo = min(int(pos), len(anchors) - 2)
        rgb = anchors[lo] + (anchors[lo + 1] - anchors[lo]) * (pos - lo)
        out.append("#" + "".join(f"{round(v):02x}" for v in rgb))
    return out


def _svg(width: int, height: int, label: str, body: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
            f'role="img" aria-label="{escape(label)}" class="plot"><title>{escape(label)}</title>{body}</svg>')


def rounded_shares(values: Sequence[float], decimals: int = 2) -> list[float]:
    """``values`` rounded to ``decimals`` places so that, when they add up to one, the rounded ones do too.

    Rounding each share alone writes a third three times as 0.33 (0.99 in all): a reviewer adding up the bars
    sees a distribution that is not one. The largest-remainder (Hamilton) method rounds every share down, then
    gives the units left over to the largest remainders (ties to the earlier share); each share stays within one
    unit of its value. Values that do not add up to one (up to 1e-6), or are not all finite, are rounded alone.

    >>> rounded_shares([1 / 3, 1 / 3, 1 / 3]), rounded_shares([0.3, 0.3])
    ([0.34, 0.33, 0.33], [0.3, 0.3])
    """
    if not values or not all(math.isfinite(v) and v >= 0 for v in values) or abs(sum(values) - 1.0) > 1e-6:
        return [round(v, decimals) for v in values]
    unit = 10 ** decimals
    scaled = [v * unit for v in values]
    floors = [math.floor(s + 1e-9) for s in scaled]
    left = unit - sum(floors)
    order = sorted(range(len(values)), key=lambda i: (-(scaled[i] - floors[i]), i))
    for i in order[:max(0, left)]:
        floors[i] += 1
    return [f / unit for f in floors]


def distribution_bars(probabilities: Mapping[str, float], *, chosen: str | None = None,
                      conformal_set: Sequence[str] = ()) -> str:
    """Horizontal bars of a grade distribution; the chosen grade is dark, conformal-set grades outlined.

    Examples
    --------
    >>> "<svg" in distribution_bars({"A": 0.6, "B": 0.4}, chosen="A")
    True
    """
    names = list(probabilities)
    row, w, lw = 24, 360, 40
    h = row * len(names) + 8
    parts = []
    shown = rounded_shares([float(probabilities[g]) for g in names])  # they add up to 1.00 as written
    for i, g in enumerate(names):
        p = float(probabilities[g])
        y = 4 + i * row
        bw = max(0.0, min(1.0, p)) * (w - lw - 60)
        fill = "#1c3d5a" if g == chosen else "#7aa6c2"
        stroke = ' stroke="#e8590c" stroke-width="2"' if g in conformal_set else ""
        parts.append(f'<text x="4" y="{y + 16}" class="lbl">{escape(g)}</text>'
                     f'<rect x="{lw}" y="{y + 3}" width="{bw:.1f}" height="{row - 8}" fill="{fill}"{stroke}/>'
                     f'<text x="{lw + bw + 6:.1f}" y="{y + 16}" class="val">{shown[i]:.2f}</text>')
    label = "grade distribution: " + ", ".join(f"{g} {s:.2f}" for g, s in zip(names, shown, strict=True))
    return _svg(w, h, label, "".join(parts))


def _downsample(x: npt.NDArray[np.float64], y: npt.NDArray[np.float64], n: int) -> tuple[
        npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    if len(x) <= n:
        return x, y
    idx = np.linspace(0, len(x) - 1, n).astype(int)
    return x[idx], y[idx]


def _range_text(lo: float, hi: float) -> tuple[str, str]:
    """A channel's range with as few digits as tell its ends apart (``2388, 2394``, not ``2.39e+03`` twice).

    >>> _range_text(2388.21, 2394.13), _range_text(0.852, 1.48)
    (('2388', '2394'), ('0.852', '1.48'))
    """
    for digits in range(3, 8):
        a, b = f"{lo:.{digits}g}", f"{hi:.{digits}g}"
        if a != b or lo == hi:
            break
    return a, b


_LABEL_LANES = 2
"""Lines of window labels at the top of a series plot; a label that fits on neither is left to the window's tooltip
and the list under the plot (dozens of windows near the end of a history drew their labels over each other)."""
_LABEL_CHARS = 40
"""A window label longer than this is cut, with "…" (the whole text is the window's tooltip)."""
_CHAR_PX = 7.0
"""Width allowed per character of a window label (11 px system-ui; its widest common letters are about 6.6 px)."""


def _window_label(label: str, xa: float, xb: float, pad_l: float, pw: float, pad_t: float,
                  lanes: list[list[tuple[float, float]]]) -> str:
    """The ``<text>`` of one window's label, on the first lane where it overlaps no label placed before, or ``""``.

    It starts at the window's left edge, or ends at its right edge in the plot's right half (so it stays in sight),
    and is moved back inside the plot where it would run over an edge.

    >>> lanes: list[list[tuple[float, float]]] = [[], []]
    >>> [bool(_window_label("s2 high", x, x + 2, 8, 624, 4, lanes)) for x in (10, 20, 30)]
    [True, True, False]
    """
    text = label if len(label) <= _LABEL_CHARS else label[:_LABEL_CHARS - 1].rstrip() + "…"
    width = len(text) * _CHAR_PX
    start = xb - 2 - width if xa > pad_l + pw / 2 else xa + 2
    start = min(max(start, pad_l + 1), pad_l + pw - 1 - width)
    for k, placed in enumerate(lanes):
        if all(start + width + 4 <= a or start >= b + 4 for a, b in placed):
            placed.append((start, start + width))
            return f'<text x="{start:.1f}" y="{pad_t + 12 + 14 * k}" class="wlbl">{escape(text)}</text>'
    return ""


def series_plot(t: Sequence[float], channels: Mapping[str, Sequence[float]], *,
                windows: Sequence[tuple[float, float, str]] = (), title: str = "sensor series",
                width: int = 640, height: int = 220, max_points: int = 600) -> str:
    """Channels (each min-max scaled) over time, with anomaly windows shaded and labelled.

    Examples
    --------
    >>> s = series_plot([0, 1, 2], {"temp": [1.0, 2.0, 3.0]}, windows=[(1.0, 2.0, "overheating")])
    >>> "overheating" in s and "<polyline" in s
    True
    """
    tx = np.asarray(t, dtype=np.float64)
    per_line = 3  # legend entries per line: six channels with their ranges do not fit on one
    pad_l, pad_r, pad_t, pad_b = 8, 8, 4 + 14 * max(1, math.ceil(len(channels) / per_line)), 22
    if tx.size == 0:
        return _svg(width, 40, f"{title}: no data", '<text x="8" y="24">no data</text>')
    t0, t1 = float(np.nanmin(tx)), float(np.nanmax(tx))
    span = (t1 - t0) or 1.0
    pw, ph = width - pad_l - pad_r, height - pad_t - pad_b

    def px(v: float) -> float:
        return pad_l + (v - t0) / span * pw

    parts = [f'<rect x="{pad_l}" y="{pad_t}" width="{pw}" height="{ph}" fill="#fafafa" stroke="#ced4da"/>']
    lanes: list[list[tuple[float, float]]] = [[] for _ in range(_LABEL_LANES)]
    for a, b, label in windows:
        xa, xb = px(max(a, t0)), px(min(b, t1))
        if xb < pad_l or xa > pad_l + pw:
            continue
        parts.append(f'<rect x="{xa:.1f}" y="{pad_t}" width="{max(xb - xa, 2.0):.1f}" height="{ph}" '
                     f'fill="#ffa8a8" fill-opacity="0.45" class="window"><title>{escape(label)}</title></rect>')
        parts.append(_window_label(label, xa, xb, pad_l, pw, pad_t, lanes))
    legend = []
    for k, (name, values) in enumerate(channels.items()):
        y = np.asarray(values, dtype=np.float64)
        ok = np.isfinite(y) & np.isfinite(tx)
        if not ok.any():
            continue
        xs, ys = _downsample(tx[ok], y[ok], max_points)
        lo, hi = float(ys.min()), float(ys.max())
        scale = (hi - lo) or 1.0
        pts = " ".join(f"{px(float(a)):.1f},{pad_t + ph - (float(b) - lo) / scale * ph:.1f}"
                       for a, b in zip(xs, ys, strict=True))
        color = PALETTE[k % len(PALETTE)]
        parts.append(f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="1.3"/>')
        lo_s, hi_s = _range_text(lo, hi)
        legend.append(f'<tspan fill="{color}">■</tspan> {escape(str(name))} [{lo_s}, {hi_s}] ')
    for i in range(0, len(legend), per_line):
        parts.append(f'<text x="{pad_l}" y="{12 + 14 * (i // per_line)}" class="lgd">'
                     f'{"".join(legend[i:i + per_line])}</text>')
    parts.append(f'<text x="{pad_l}" y="{height - 6}" class="ax">{t0:.4g}</text>'
                 f'<text x="{width - pad_r}" y="{height - 6}" text-anchor="end" class="ax">{t1:.4g}</text>')
    label = f"{title}: {len(channels)} channel(s), {len(windows)} anomaly window(s)"
    return _svg(width, height, label, "".join(parts))


def line_chart(x_labels: Sequence[str], values: Sequence[float | None], *, title: str,
               y_max: float | None = None, percent: bool = False, width: int = 520, height: int = 200) -> str:
    """A line with dots over days; missing values leave gaps.

    Examples
    --------
    >>> "<circle" in line_chart(["d1", "d2"], [0.5, None], title="rate", y_max=1.0)
    True
    """
    pad_l, pad_r, pad_t, pad_b = 44, 10, 22, 30
    pw, ph = width - pad_l - pad_r, height - pad_t - pad_b
    finite = [v for v in values if v is not None and math.isfinite(v)]
    top = y_max if y_max is not None else (max(finite) * 1.1 if finite else 1.0) or 1.0
    n = len(x_labels)

    def px(i: int) -> float:
        return pad_l + (pw / 2 if n == 1 else i * pw / (n - 1))

    def py(v: float) -> float:
        return pad_t + ph - min(v, top) / top * ph

    def fmt(v: float) -> str:  # a cost of 1,143 is "1.14k", not "1.14e+03" cut off at the plot's left edge
        if percent:
            return f"{v * 100:.0f}%"
        return f"{v / 1e6:.3g}M" if abs(v) >= 1e6 else f"{v / 1e3:.3g}k" if abs(v) >= 1e3 else f"{v:.3g}"

    parts = [f'<text x="{pad_l}" y="14" class="ttl">{escape(title)}</text>',
             f'<line x1="{pad_l}" y1="{pad_t + ph}" x2="{pad_l + pw}" y2="{pad_t + ph}" stroke="#adb5bd"/>',
             f'<text x="{pad_l - 4}" y="{pad_t + 4}" text-anchor="end" class="ax">{fmt(top)}</text>',
             f'<text x="{pad_l - 4}" y="{pad_t + ph}" text-anchor="end" class="ax">{fmt(0.0)}</text>']
    seg: list[str] = []
    for i, v in enumerate(values):
        if v is None or not math.isfinite(v):
            if len(seg) > 1:
                parts.append(f'<polyline points="{" ".join(seg)}" fill="none" stroke="#1971c2" stroke-width="2"/>')
            seg = []
            continue
        seg.append(f"{px(i):.1f},{py(v):.1f}")
        parts.append(f'<circle cx="{px(i):.1f}" cy="{py(v):.1f}" r="3" fill="#1971c2"><title>'
                     f'{escape(x_labels[i])}: {fmt(v)}</title></circle>')
    if len(seg) > 1:
        parts.append(f'<polyline points="{" ".join(seg)}" fill="none" stroke="#1971c2" stroke-width="2"/>')
    last = next((i for i in range(n - 1, -1, -1) if values[i] is not None and math.isfinite(values[i] or 0.0)), None)
    if last is not None:  # the latest day's value is read off the plot, not only from a tooltip
        v_last = float(values[last] or 0.0)
        right = px(last) > pad_l + pw / 2
        parts.append(f'<text x="{px(last) + (-5 if right else 5):.1f}" y="{py(v_last) - 7:.1f}" '
                     f'text-anchor="{"end" if right else "start"}" class="val">{fmt(v_last)}</text>')
    for i in sorted({0, n - 1}) if n else []:  # the first and last day, inside the plot's width
        anchor = "middle" if n == 1 else "start" if i == 0 else "end"
        parts.append(f'<text x="{px(i):.1f}" y="{height - 8}" text-anchor="{anchor}" class="ax">'
                     f'{escape(x_labels[i])}</text>')
    label = f"{title}: " + ", ".join(f"{d} {fmt(v) if v is not None else 'n/a'}"
                                     for d, v in zip(x_labels, values, strict=False))
    return _svg(width, height, label, "".join(parts))


def stacked_bars(x_labels: Sequence[str], mixes: Sequence[Mapping[str, int]], grades: Sequence[str], *,
                 title: str, width: int = 520, height: int = 200, scale: int | None = None) -> str:
    """Grade mix per day as stacked shares.

    The first ``scale`` grades (all by default) are the grade scale, best to worst, in their badges'
    colours; any after them (grades no longer on the scale, from older predictions) are grey.

    Examples
    --------
    >>> "<rect" in stacked_bars(["d1"], [{"A": 3, "B": 1}], ["A", "B"], title="mix")
    True
    """
    pad_l, pad_r, pad_t, pad_b = 44, 10, 38, 30  # the legend has a line of its own under the title
    pw, ph = width - pad_l - pad_r, height - pad_t - pad_b
    n = max(len(x_labels), 1)
    bw = pw / n * 0.8
    parts = [f'<text x="{pad_l}" y="14" class="ttl">{escape(title)}</text>']
    n_scale = len(grades) if scale is None else scale
    colour = grade_colours(n_scale) + [OFF_SCALE] * (len(grades) - n_scale)  # as the grade badges elsewhere
    for i, (day, mix) in enumerate(zip(x_labels, mixes, strict=False)):
        total = sum(mix.values()) or 1
        y: float = pad_t + ph
        x = pad_l + i * pw / n + (pw / n - bw) / 2
        for k, g in enumerate(grades):
            c = mix.get(g, 0)
            hgt = c / total * ph
            y -= hgt
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bw:.1f}" height="{hgt:.1f}" '
                         f'fill="{colour[k]}"><title>{escape(day)} {escape(g)}: {c}</title></rect>')
    legend = "".join(f'<tspan fill="{colour[k]}">■ {escape(g)} </tspan>' for k, g in enumerate(grades))
    parts.append(f'<text x="{pad_l}" y="30" class="lgd">{legend}</text>')
    if len(x_labels) == 1:  # one day: its date once, under its bar
        parts.append(f'<text x="{pad_l + pw / 2:.1f}" y="{height - 8}" text-anchor="middle" class="ax">'
                     f'{escape(x_labels[0])}</text>')
    elif x_labels:
        parts.append(f'<text x="{pad_l}" y="{height - 8}" class="ax">{escape(x_labels[0])}</text>'
                     f'<text x="{pad_l + pw}" y="{height - 8}" text-anchor="end" class="ax">'
                     f'{escape(x_labels[-1])}</text>')
    label = f"{title}: " + "; ".join(f"{d} " + ", ".join(f"{g} {m.get(g, 0)}" for g in grades)
                                      for d, m in zip(x_labels, mixes, strict=False))
    return _svg(width, height, label, "".join(parts))

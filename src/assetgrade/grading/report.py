"""A self-contained HTML report of one grade: images with heat maps, highlighted logs, sensor plot, decision.

Everything is embedded (images and plots as base64 PNG, CSS inline), so the file can be mailed
or archived. Heat maps: the vision extractor's PatchCore anomaly map when it has one (patch
distance to known-good images; Roth et al. 2022), else the class-activation map of its grade
head (Zhou et al. 2016); the boxes are the regions its findings name.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import numpy.typing as npt

from assetgrade.decision.costs import cost_unit
from assetgrade.errors import ValidationError
from assetgrade.grading.visible import visible
from assetgrade.modalities.base import Finding
from assetgrade.result import GradeResult
from assetgrade.store.records import AssetRecord, ImageRef, LogEntry, SeriesRef

if TYPE_CHECKING:
    from assetgrade.grader import Grader

__all__ = ["MAX_HEATMAP_SIDE", "REPORT_FINDINGS_SHOWN", "REPORT_SHOWN", "REPORT_TEXT_SHOWN", "heatmap_png",
           "heatmap_size", "highlight_spans", "image_heatmap", "render_report", "write_report"]

_Item = TypeVar("_Item", ImageRef, LogEntry, SeriesRef)
_TEMPLATES = Path(__file__).resolve().parent / "templates"

REPORT_TEXT_SHOWN = 4000
"""The report shows at most this many characters of a log entry, cut after a space where one is in the 80 before
(as the review UI's asset page does, ``assetgrade.web.page.TEXT_SHOWN``), and says how many characters and
highlighted spans are not in it: a static file has no "show all", and a 1 MB note made a 1.2 MB report."""
_CUT_SLACK = 80
REPORT_SHOWN: dict[str, int] = {"image": 24, "log": 200, "series": 6}
"""The report shows at most this many images, log entries and series of an asset (the review UI's asset page
reads and draws as many, ``assetgrade.web.page.SHOWN``; the web layer is above this one, so the figures are
repeated here): those a finding names first, then the rest, log entries newest first (undated ones last), images
and series in the record's order. It says how many more there are ("N more images not in this report"): an
asset with thousands of photos had each decoded, drawn and embedded."""
REPORT_FINDINGS_SHOWN = 8
"""Findings listed under an image or a series; then "… N more findings"."""
_FINDINGS_LISTED = 20
"""Distinct findings (summary and status, each with its count) listed beside a log entry."""


def _bdi(value: Any) -> Any:
    """``value`` escaped inside ``<bdi>``: right-to-left letters in an id or a text that quotes one do not move the
    text after it on its line (as the review UI's ``bdi`` filter does; bidi controls are shown by ``visible``)."""
    from markupsafe import Markup

    return Markup("<bdi>{}</bdi>").format(value)


def _plot_text(value: Any) -> str:
    """``value`` as matplotlib should draw it, literally: ``$`` escaped (``'$\\bad$'`` is mathtext and made the
    report raise ValueError), control characters as their pictures (a NUL has no glyph)."""
    return str(visible(str(value))).replace("$", r"\$")


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


_NOT_A_NUMBER = "–"
"""What the report shows for a number that is missing, None or NaN (never "nan", never a made-up 0)."""


def _number(value: Any, fmt: str = "{:.2f}") -> str:
    """``value`` formatted with ``fmt`` (a ``str.format`` pattern), or ``"–"`` when it is not a finite number.

    Examples
    --------
    >>> _number(1234.4, "{:,.0f}"), _number(float("nan")), _number(None), _number("0.5")
    ('1,234', '–', '–', '–')
    """
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        return _NOT_A_NUMBER
    if not np.isfinite(value):
        return _NOT_A_NUMBER
    return fmt.format(value)


MAX_HEATMAP_SIDE = 1024
"""Longest side of a heat map drawn for people (the UI overlay, the HTML report): the browser scales
it over its photo, so a 60-megapixel photo does not need a 60-megapixel float map (about 2 GB)."""


def heatmap_size(size: tuple[int, int], max_side: int = MAX_HEATMAP_SIDE) -> tuple[int, int]:
    """``size`` (width, height) scaled down, aspect kept, so its longest side is at most ``max_side``.

    Examples
    --------
    >>> heatmap_size((9000, 6000)), heatmap_size((200, 200))
    ((1024, 683), (200, 200))
    """
    w, h = size
    s = min(1.0, max_side / max(w, h, 1))
    return max(1, round(w * s)), max(1, round(h * s))


def image_heatmap(extractor: Any, ref: ImageRef) -> tuple[Any, npt.NDArray[np.float32] | None, str]:
    """(RGB image, heat map or None, what the map shows) for one image of a fitted vision extractor.

    The map has the image's aspect and at most :data:`MAX_HEATMAP_SIDE` pixels on its longest
    side (the image's own size when smaller); stretch it over the image to show it.
    """
    from assetgrade.modalities.vision.anomaly import SMOOTH_PX, patch_features, upsample_map
    from assetgrade.modalities.vision.heatmaps import cam_map, resize_map
    from assetgrade.modalities.vision.images import decode_image, preprocess

    img = decode_image(ref.load_bytes(), where=f"image {ref.evidence_id}")
    if extractor is None or not callable(getattr(extractor, "_bb", None)):
        return img, None, "no vision model"
    out = extractor._bb().run(preprocess(img, extractor.image_size)[None])
    size = heatmap_size(img.size)
    anomaly = getattr(extractor, "anomaly_", None)
    if anomaly is not None:
        _, maps = anomaly.score(patch_features(out.patch_maps))
        sigma = SMOOTH_PX * size[0] / img.size[0]  # the same smoothing, measured on the image
        return img, upsample_map(maps[0], size, sigma=sigma), "anomaly map (distance to known-good image patches)"
    head = getattr(extractor, "grade_head_", None)
    if head is not None and callable(getattr(head, "severity_direction", None)):
        w = np.asarray(head.severity_direction(), dtype=np.float64)
        return img, resize_map(cam_map(tuple(m[0] for m in out.cam_maps), w), size), "grade class-activation map"
    return img, None, "no heat map available"


def heatmap_png(heat: npt.NDArray[np.float32]) -> bytes:
    """A heat map alone as an RGBA PNG at its own size, to lay over its image: the
    :data:`~assetgrade.modalities.vision.heatmaps.HEAT_CMAP` colours of the min-max scaled map, with the scaled
    value as the opacity (cold parts clear: the photo shows through; see ``heat_colours``)."""
    from PIL import Image

    from assetgrade.modalities.vision.heatmaps import heat_colours

    buf = io.BytesIO()
    Image.fromarray(heat_colours(heat), mode="RGBA").save(buf, format="PNG")
    return buf.getvalue()


def _scale_b64(width: int = 160, height: int = 12) -> str:
    """The colour scale of the heat maps as a ``width`` x ``height`` PNG (base64): low on the left, high on the
    right, each colour at full strength (over the photo a colour is laid at most 45 %, the coldest not at all)."""
    from PIL import Image

    from assetgrade.modalities.vision.heatmaps import heat_colours

    ramp = np.tile(np.linspace(0.0, 1.0, width), (height, 1))
    buf = io.BytesIO()
    Image.fromarray(heat_colours(ramp)[..., :3]).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _overlay_b64(img: Any, heat: npt.NDArray[np.float32] | None, boxes: Sequence[tuple[int, int, int, int]]) -> str:
    """The image at most 360 px wide or high, the heat map blended over it, ``boxes`` (image pixels) outlined.

    The map is laid over as the bench overlays are (``heatmaps.blend_heat``: at most 45 %, cold parts clear).
    Boxes are in the pixel-edge frame (x0, y0, x1, y1) of docs/vision.md: the box holds columns x0 .. x1 - 1,
    and PIL's rectangle includes its last coordinate, so the outline is drawn on x1 - 1 (``heatmaps.box_outline``,
    in shown pixels).
    """
    from PIL import Image, ImageDraw

    from assetgrade.modalities.vision.heatmaps import blend_heat, box_outline

    rgb = img.convert("RGB")
    full = rgb.size
    scale = min(1.0, 360 / max(rgb.size))
    if scale < 1.0:  # shrink first: the blend below works on the shown pixels only
        rgb = rgb.resize((max(1, int(rgb.size[0] * scale)), max(1, int(rgb.size[1] * scale))),
                         Image.Resampling.BILINEAR)
    if heat is not None:
        rgb = blend_heat(rgb, heat, alpha=0.45)
    draw = ImageDraw.Draw(rgb)
    shown = (rgb.size[0] / full[0], rgb.size[1] / full[1])
    for box in boxes:
        draw.rectangle(box_outline(box, shown), outline=(255, 255, 255), width=2)
    buf = io.BytesIO()
    rgb.save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _drawn_spans(n: int, findings: Sequence[Finding]) -> list[tuple[int, int, Finding]]:
    """The finding spans highlighted in a text of ``n`` characters: in order, none overlapping (a span that starts
    inside an earlier one is drawn from where that one ends)."""
    spans = sorted({(f.span[0], f.span[1], f) for f in findings if f.span is not None}, key=lambda t: (t[0], -t[1]))
    out, pos = [], 0
    for a, b, f in spans:
        a, b = max(a, pos), min(b, n)
        if a < b:
            out.append((a, b, f))
            pos = b
    return out


def _marked(text: str, spans: Sequence[tuple[int, int, Finding]]) -> str:
    from html import escape

    out, pos = [], 0
    for a, b, f in spans:
        cls = "neg" if f.status == "negated" else "hit"
        out.append(escape(text[pos:a]))
        out.append(f'<mark class="{cls}" title="{escape(f.summary)}">{escape(text[a:b])}</mark>')
        pos = b
    out.append(escape(text[pos:]))
    return "".join(out)


def highlight_spans(text: str, findings: Sequence[Finding]) -> str:
    """HTML of ``text`` with each finding's character span wrapped in ``<mark>`` (negated spans struck through)."""
    return _marked(text, _drawn_spans(len(text), findings))


def _cut(text: str, limit: int = REPORT_TEXT_SHOWN, slack: int = _CUT_SLACK) -> int:
    """Where a text longer than ``limit`` is cut: after the last space or line break in the ``slack`` characters
    before ``limit`` (a word is not cut in two), else at ``limit``; ``len(text)`` when it is not longer.

    Examples
    --------
    >>> _cut("pump leak found; seal leak too", 12, 10), _cut("x" * 30, 10), _cut("short", 10)
    (10, 10, 5)
    """
    if len(text) <= limit:
        return len(text)
    space = max(text.rfind(c, max(0, limit - slack), limit) for c in " \n\t\r")
    return space + 1 if space >= 0 else limit


def _bars_b64(result: GradeResult) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(result.probabilities)
    p = [result.probabilities[g] for g in names]
    # drawn within the axes: a NaN or infinite bar as none (its label says "–"), 1e300 as a full one (its label
    # placed at 1e300 made a figure 1e298 pixels high and rendering raised TypeError)
    drawn = [min(max(float(v), 0.0), 1.0) if _number(v) != _NOT_A_NUMBER else 0.0 for v in p]
    fig, ax = plt.subplots(figsize=(4.2, 2.2))
    colours = ["#1c7ed6" if g == result.grade else "#adb5bd" for g in names]
    bars = ax.bar(range(len(names)), drawn, color=colours,
                  edgecolor=["#000" if g in result.conformal_set else "none" for g in names])
    ax.set_xticks(range(len(names)), [_plot_text(g) for g in names])
    for bar, v, h in zip(bars, p, drawn, strict=True):
        ax.text(bar.get_x() + bar.get_width() / 2, h + 0.02, _number(v), ha="center", fontsize=8)
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("probability")
    ax.set_title("calibrated grade distribution (outlined: conformal set)", fontsize=8)
    return _png(fig)


def _numeric(frame: Any, column: Any) -> npt.NDArray[np.float64]:
    """A column as floats, anything not a finite number as NaN (a text cell, an infinity)."""
    import pandas as pd

    y = np.array(pd.to_numeric(frame[column], errors="coerce"), dtype=np.float64)  # a copy: written below
    y[~np.isfinite(y)] = np.nan
    return y


def _varies(y: npt.NDArray[np.float64]) -> bool:
    finite = y[np.isfinite(y)]
    return len(finite) > 1 and float(finite.max() - finite.min()) > 0


def _series_b64(ref: SeriesRef, findings: Sequence[Finding], max_channels: int = 4, *,
                time_unit: str | None = None) -> tuple[str | None, str]:
    """:func:`_series_figure` as a base64 PNG, or None and why there is none."""
    fig, why = _series_figure(ref, findings, max_channels, time_unit=time_unit)
    if fig is None:
        return None, why
    try:
        return _png(fig), ""
    except Exception as exc:  # a series matplotlib cannot render must not break the report either
        import matplotlib.pyplot as plt

        plt.close(fig)
        return None, f"could not plot: {exc}"


def _series_figure(ref: SeriesRef, findings: Sequence[Finding], max_channels: int = 4, *,
                   time_unit: str | None = None) -> tuple[Any, str]:
    """The plot of up to ``max_channels`` channels of a series (those the findings name first, else those that
    vary) with the findings' windows shaded, or None and why there is none. A sample that is not a finite number
    is a gap in its line (one infinity hid its channel: its std() is NaN); a time index that is not numeric is
    drawn by sample number, without the windows.

    The time axis is named after the series' index (else "time") with ``time_unit`` (the sensor extractor's, e.g.
    "cycles", the unit its findings' windows are in); a channel's label carries its unit where the series gives
    one (``SeriesRef.units``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    try:
        frame = ref.load()
        columns = list(frame.columns)
    except Exception as exc:  # a broken series must not break the report
        return None, f"could not read: {exc}"
    named = [c for f in findings for c in f.channels if c in columns]
    varying = [c for c in columns if not str(c).lower().startswith("setting")]
    try:
        values = {c: _numeric(frame, c) for c in dict.fromkeys(named + varying)}
    except Exception as exc:
        return None, f"could not read: {exc}"
    cols = [c for c in named if np.isfinite(values[c]).any()] or [c for c in varying if _varies(values[c])]
    cols = list(dict.fromkeys(cols))[:max_channels]
    if not cols:
        return None, "nothing to plot (no numeric channel that varies)"
    try:
        t = np.asarray(frame.index, dtype=np.float64)
        timed = True
    except (TypeError, ValueError):
        t, timed = np.arange(len(frame), dtype=np.float64), False
    t = np.where(np.isfinite(t), t, np.nan)
    finite_t = t[np.isfinite(t)]
    span = float(finite_t.max() - finite_t.min()) if len(finite_t) else 0.0
    span = span if span > 0 else 1.0
    # constrained: the title sits just above the top panel (it floated 50 px above it)
    fig, axes = plt.subplots(len(cols), 1, figsize=(7.5, 1.3 * len(cols) + 0.4), sharex=True, squeeze=False,
                             layout="constrained")
    try:
        for ax, c in zip(axes[:, 0], cols, strict=True):
            ax.plot(t, values[c], lw=0.9, color="#1c7ed6")
            unit = ref.units.get(str(c)) if isinstance(ref.units, dict) else None
            ax.set_ylabel(_plot_text(f"{c} ({unit})" if unit else c), fontsize=8)
            ax.tick_params(labelsize=7)
            for f in findings:
                if timed and f.window is not None and np.isfinite(f.window).all() and (not f.channels
                                                                                      or c in f.channels):
                    a, b = f.window
                    if b - a < span * 0.01:
                        a, b = a - span * 0.005, b + span * 0.005
                    ax.axvspan(a, b, color="#fa5252", alpha=0.25, lw=0)
        name = str(frame.index.name) if frame.index.name is not None else "time"
        same = time_unit is not None and name.lower().rstrip("s") == time_unit.lower().rstrip("s")  # cycle, cycles
        axis = f"{name} ({time_unit})" if time_unit and not same else name
        axes[-1, 0].set_xlabel(_plot_text(axis) if timed else "sample (the time index is not numeric)", fontsize=8)
        fig.suptitle(_plot_text(f"{ref.evidence_id}: shaded = windows named by findings"), fontsize=9)
        return fig, ""
    except Exception as exc:  # a series matplotlib cannot draw must not break the report either
        plt.close(fig)
        return None, f"could not plot: {exc}"


def render_report(result: GradeResult, record: AssetRecord | None = None, grader: Grader | None = None, *,
                  currency: str | None = None) -> str:
    """The report as one HTML string (``record`` gives the images, logs and series to show).

    ``currency``: what the expected costs are in (default: ``grader``'s :attr:`~assetgrade.grader.Grader.currency_`;
    None for both: "cost units").
    """
    import jinja2

    ev = {e.modality: e for e in result.evidence}
    images: list[dict[str, Any]] = []
    logs: list[dict[str, Any]] = []
    series: list[dict[str, Any]] = []
    hidden: dict[str, int] = {}
    if record is not None:
        vision = grader.extractors_.get("vision") if grader is not None else None
        vfind = ev["vision"].findings if "vision" in ev else ()
        named = {f.evidence_id for f in vfind}
        for ref in _first(record.images, named, REPORT_SHOWN["image"], hidden, "image"):
            mine = [f for f in vfind if f.evidence_id == ref.evidence_id]
            boxes = [f.region for f in mine if f.region is not None]
            try:
                img, heat, what = image_heatmap(vision, ref)
                images.append({"id": ref.evidence_id, "png": _overlay_b64(img, heat, boxes), "what": what,
                               "heat": heat is not None, "findings": mine})
            except Exception as exc:  # e.g. its blob replaced after grading: the image is named, its findings kept
                images.append({"id": ref.evidence_id, "png": None, "what": "could not render", "error": str(exc),
                               "findings": mine})
        tfind = ev["text"].findings if "text" in ev else ()
        named = {f.evidence_id for f in tfind}
        newest = sorted(record.logs, key=lambda e: (e.date is None, -e.date.timestamp() if e.date else 0.0))
        for entry in _first(newest, named, REPORT_SHOWN["log"], hidden, "log"):
            mine = [f for f in tfind if f.evidence_id == entry.evidence_id]
            logs.append(_log_row(entry, mine))
        sfind = ev["sensors"].findings if "sensors" in ev else ()
        sensors = grader.extractors_.get("sensors") if grader is not None else None
        time_unit = getattr(sensors, "time_unit", None)
        named = {f.evidence_id for f in sfind}
        for sref in _first(record.series, named, REPORT_SHOWN["series"], hidden, "series"):
            mine = [f for f in sfind if f.evidence_id in (sref.evidence_id, None)]
            png, why = _series_b64(sref, mine, time_unit=time_unit)
            series.append({"id": sref.evidence_id, "png": png, "why": why, "findings": mine})
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(_TEMPLATES), autoescape=True, finalize=visible)
    env.filters["num"] = _number
    env.filters["bdi"] = _bdi
    return env.get_template("report.html").render(
        r=result, images=images, logs=logs, series=series, bars=_bars_b64(result), evidence=result.evidence,
        hidden=hidden, findings_shown=REPORT_FINDINGS_SHOWN,
        heat_scale=(_scale_b64() if any(im.get("heat") for im in images) else None),
        metrics=(grader.metrics_ if grader is not None else None),
        cost_unit=cost_unit(currency if currency is not None else getattr(grader, "currency_", None)),
    )


def _first(items: Sequence[_Item], named: set[str | None], limit: int, hidden: dict[str, int], kind: str
           ) -> list[_Item]:
    """The first ``limit`` of ``items``: those whose evidence id is in ``named`` (a finding names them) first, each
    group in the order given; how many are left off goes into ``hidden[kind]``.

    Examples
    --------
    >>> left: dict[str, int] = {}
    >>> [e.evidence_id for e in _first([LogEntry(i, "") for i in "abcd"], {"c"}, 2, left, "log")], left
    (['c', 'a'], {'log': 2})
    """
    ordered = [i for i in items if i.evidence_id in named] + [i for i in items if i.evidence_id not in named]
    hidden[kind] = len(ordered) - min(len(ordered), limit)
    return ordered[:limit]


def _log_row(entry: LogEntry, findings: Sequence[Finding]) -> dict[str, Any]:
    """A log entry as the report shows it: its first :data:`REPORT_TEXT_SHOWN` characters highlighted, how many
    characters and highlighted spans are left off, and its distinct findings with their counts."""
    from markupsafe import Markup

    text = entry.text
    cut = _cut(text)
    drawn = _drawn_spans(len(text), findings)
    shown = [(a, min(b, cut), f) for a, b, f in drawn if a < cut]  # one the cut goes through: as far as shown
    counts: dict[tuple[str, str], int] = {}
    for f in findings:
        counts[(f.summary, f.status)] = counts.get((f.summary, f.status), 0) + 1
    listed = [(summary, status, n) for (summary, status), n in counts.items()]
    return {"id": entry.evidence_id, "date": entry.date.date().isoformat() if entry.date else "",
            "html": Markup(_marked(text[:cut], shown)), "hidden_chars": len(text) - cut,
            "hidden_marks": len(drawn) - len(shown), "findings": listed[:_FINDINGS_LISTED],
            "more_findings": len(listed) - min(len(listed), _FINDINGS_LISTED)}


def write_report(path: Path, result: GradeResult, record: AssetRecord | None = None,
                 grader: Grader | None = None, *, currency: str | None = None) -> Path:
    """Write :func:`render_report` to ``path`` (folders created); returns the path."""
    path = Path(path)
    text = render_report(result, record, grader, currency=currency)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:  # a folder of that name, a read-only or missing place: the path given is at fault
        raise ValidationError(f"cannot write the report to {path}: {exc.strerror or exc}", where="path") from exc
    return path

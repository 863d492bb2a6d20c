"""What the asset page shows, assembled in a fixed number of queries: evidence, findings, plots, queue position."""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import func, select

from assetgrade.errors import NotFoundError, StoreError, ValidationError
from assetgrade.rest.queries import queue_neighbours
from assetgrade.rest.routes.assets import evidence_url, overlay_sha
from assetgrade.rest.schemas import _as_utc
from assetgrade.result import GradeResult
from assetgrade.store.evidence_sample import TextHead, sample_evidence
from assetgrade.store.repository import get_asset, get_evidence
from assetgrade.store.requests import get_label_request, list_label_requests
from assetgrade.store.results import latest_prediction, list_reviews
from assetgrade.store.schema import Evidence, EvidenceWithdrawal, Prediction, Review
from assetgrade.store.withdrawals import Withdrawal, withdrawal_open
from assetgrade.web.svg import distribution_bars, series_plot

if TYPE_CHECKING:
    from assetgrade.store.blobs import BlobStore
    from assetgrade.workspace import Workspace

__all__ = ["SHOWN", "TEXT_LINES", "TEXT_SHOWN", "WITHDRAWN_SHOWN", "AssetPage", "clip_text", "highlight_segments",
           "load_asset_page", "load_log_entry", "series_svg", "text_cut"]

log = logging.getLogger(__name__)
REVIEWS_SHOWN = 50
"""The asset page lists this many reviews, newest first, and says how many there are."""

SHOWN: dict[str, int] = {"image": 24, "log": 200, "series": 6, "other": 100}
"""The asset page reads and draws at most this many evidence items of a kind (the groups of
:mod:`assetgrade.store.evidence_sample`: ``log`` counts logs and documents with text, ``other`` what it
can only list): those the latest grade's findings name first, then the newest. It says how many more
there are and links to the page with all of them (``?all=1``)."""

TEXT_SHOWN = 4000
"""The asset page draws at most this many characters of a log entry (or a document's text), cut after a space
where one is near (:func:`text_cut`), and says how many more there are with a "show all" control that draws
the entry whole in its place (``?text=<evidence id>``). A 1 MB maintenance note drawn whole made every view of
its asset a page of more than 1 MB; the page's query reads only these characters of an entry and its length."""
TEXT_LINES = 60
"""The asset page draws at most this many lines of a log entry (cut after the line break that ends the last of
them, with the same "show all" control): 4,000 characters of short lines would be hundreds of lines tall."""
TEXT_CUT_SLACK = 80
"""How far back from :data:`TEXT_SHOWN` a cut looks for a space, so as not to cut a word in two."""

WITHDRAWN_SHOWN = 50
"""The asset page lists at most this many withdrawn items, the newest withdrawals first, and says how many there are
(all of them with ``?all=1``)."""

Segment = tuple[str, str | None, str]
"""A piece of a text, the label of the finding whose span it is (None outside spans) and its css class."""


@dataclass
class AssetPage:
    """Everything the asset template needs."""

    asset: Any
    prediction: Prediction | None
    result: GradeResult | None
    n_predictions: int
    """How many predictions the asset has (only the latest is read)."""
    reviews: list[Any]
    """The newest :data:`REVIEWS_SHOWN` reviews, newest first."""
    n_reviews: int
    """How many reviews the asset has."""
    images: list[dict[str, Any]]
    logs: list[dict[str, Any]]
    series: list[dict[str, Any]]
    distribution_svg: str | None
    candidate_defects: list[dict[str, Any]]
    prev_id: str | None
    next_id: str | None
    position: int | None
    queue_length: int
    findings_other: list[Any] = field(default_factory=list)
    other_evidence: list[dict[str, Any]] = field(default_factory=list)
    """Evidence the page cannot draw (a document stored as a file, say): listed with a download link."""
    label_request: Any = None
    """The asset's latest label request (:class:`~assetgrade.store.schema.LabelRequest`), or None."""
    next_request_id: str | None = None
    """The first other open label request in working order (for "next request" navigation)."""
    open_requests: int = 0
    result_error: str | None = None
    """Why the latest prediction's stored details (reasons, findings) cannot be shown, when they cannot."""
    hidden: dict[str, int] = field(default_factory=dict)
    """Per kind of :data:`SHOWN`, how many evidence items were left off the page (empty with ``show_all``)."""
    show_all: bool = False
    withdrawn: list[tuple[Withdrawal, str]] = field(default_factory=list)
    """The asset's withdrawn items (store.md, "Withdrawn evidence") with their kind, newest withdrawal first: at most
    :data:`WITHDRAWN_SHOWN` unless ``show_all``."""
    n_withdrawn: int = 0
    """How many of the asset's items are withdrawn."""
    withdrawable: list[tuple[str, str]] = field(default_factory=list)
    """(evidence id, kind) of the items in use that the page shows: those the withdraw form offers (admins)."""


def highlight_segments(text: str, spans: list[tuple[int, int, str, str]]) -> list[Segment]:
    """Split ``text`` into (piece, label or None, css class) with non-overlapping spans highlighted.

    Examples
    --------
    >>> highlight_segments("pump leak found", [(5, 9, "leak", "confirmed")])
    [('pump ', None, ''), ('leak', 'leak', 'confirmed'), (' found', None, '')]
    """
    out: list[Segment] = []
    pos = 0
    for a, b, label, status in _drawn_spans(spans, len(text)):
        if a > pos:
            out.append((text[pos:a], None, ""))
        out.append((text[a:b], label, status))
        pos = b
    if pos < len(text):
        out.append((text[pos:], None, ""))
    return out


def _drawn_spans(spans: list[tuple[int, int, str, str]], length: int) -> list[tuple[int, int, str, str]]:
    """The spans :func:`highlight_segments` highlights in a text of ``length`` characters: in order, each within the
    text, one that overlaps an earlier one left out."""
    out: list[tuple[int, int, str, str]] = []
    pos = 0
    for a, b, label, status in sorted(spans):
        a, b = max(a, 0), min(b, length)
        if a < pos or b <= a:
            continue
        out.append((a, b, label, status))
        pos = b
    return out


_LINE_BREAK = re.compile(r"\r\n|\r|\n")
"""A line break as a browser draws one (the HTML parser reads CR LF and a lone CR as LF)."""


def text_cut(head: str, length: int, limit: int = TEXT_SHOWN, lines: int = TEXT_LINES,
             slack: int = TEXT_CUT_SLACK) -> int:
    """Where the page cuts a text of ``length`` characters that begins with ``head`` (at least its first ``limit``
    characters): ``length`` when it fits, i.e. it has at most ``limit`` characters and ``lines`` lines.

    Else the cut comes after the ``lines``-th line break, or, when that is not within the first ``limit``
    characters, after the last space or line break in the ``slack`` characters before ``limit`` (a word is not cut
    in two), else at ``limit``.

    Examples
    --------
    >>> text_cut("pump leak found; seal leak too", 30, limit=12)  # after "pump leak "
    10
    >>> text_cut("x" * 30, 30, limit=10)
    10
    >>> text_cut("ok\\nok\\nok\\nok", 11, lines=2), text_cut("ok\\nok\\n", 6, lines=2)
    (6, 6)
    """
    breaks = _LINE_BREAK.finditer(head, 0, min(len(head), limit))
    nth = next((m for k, m in enumerate(breaks, 1) if k == lines), None)
    if nth is not None and nth.end() < length:
        return nth.end()
    if length <= limit:
        return length
    space = max(head.rfind(c, max(0, limit - slack), limit) for c in " \n\t\r")
    return space + 1 if space >= 0 else limit


def clip_text(head: str, length: int, spans: list[tuple[int, int, str, str]], limit: int = TEXT_SHOWN,
              lines: int = TEXT_LINES, slack: int = TEXT_CUT_SLACK) -> tuple[list[Segment], int, int]:
    """The highlighted segments of the part of a text the page draws (:func:`text_cut`), how many characters are
    left off, and how many highlighted spans are among them (not counting one the cut goes through).

    The text has ``length`` characters and begins with ``head`` (at least its first ``limit`` characters); the
    ``spans`` are offsets in the whole text. A span the cut goes through is highlighted as far as it is shown.

    Examples
    --------
    >>> text = "pump leak found; seal leak too"
    >>> clip_text(text[:12], len(text), [(5, 9, "leak", ""), (22, 26, "leak", "")], limit=12)
    ([('pump ', None, ''), ('leak', 'leak', ''), (' ', None, '')], 20, 1)
    >>> clip_text("x" * 10, 30, [(5, 15, "leak", "")], limit=10)
    ([('xxxxx', None, ''), ('xxxxx', 'leak', '')], 20, 0)
    """
    cut = text_cut(head, length, limit, lines, slack)
    hidden_marks = sum(a >= cut for a, _, _, _ in _drawn_spans(spans, length))
    return highlight_segments(head[:cut], spans), length - cut, hidden_marks


_SERIES_CACHE: dict[tuple[str, str, tuple[str, ...]], str] = {}


def pick_channels(channels: dict[str, list[float]], named: Sequence[str] = (), k: int = 6,
                  t: Sequence[float] | None = None) -> list[str]:
    """Up to ``k`` channels worth plotting: those findings name first, then the strongest trends; constants never.

    A channel's trend is the absolute Spearman correlation of its values with time (``t``, or
    the sample order): degradation shows as a channel that moves one way over the history,
    while operating settings and noise do not. Channels constant up to rounding are skipped.

    Examples
    --------
    >>> pick_channels({"setting": [0.001, -0.002, 0.001, -0.001], "temp": [500.0, 501.0, 503.0, 502.0],
    ...                "wear": [1.0, 2.0, 3.0, 4.0], "flat": [7.0] * 4})
    ['wear', 'temp', 'setting']
    >>> pick_channels({"setting": [1.0, 1.0], "temp": [5.0, 6.0]}, named=["setting", "temp"])
    ['temp']
    """
    from assetgrade.modalities.sensors.validate import nearly_constant

    def ranks(v: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return np.argsort(np.argsort(v, kind="stable"), kind="stable").astype(np.float64)

    def trend(v: list[float]) -> float:
        y = np.asarray(v, dtype=np.float64)
        x = np.asarray(t if t is not None else np.arange(len(y)), dtype=np.float64)
        ok = np.isfinite(y) & np.isfinite(x)
        if ok.sum() < 3:
            return 0.0
        ry, rx = ranks(y[ok]), ranks(x[ok])
        sy, sx = ry.std(), rx.std()
        return float(abs(np.mean((ry - ry.mean()) * (rx - rx.mean())) / (sy * sx))) if sy > 0 and sx > 0 else 0.0

    usable = [c for c, v in channels.items() if not nearly_constant(np.asarray(v, dtype=np.float64))]
    first = [c for c in dict.fromkeys(named) if c in usable]
    scores = {c: trend(channels[c]) for c in usable if c not in first}
    rest = sorted(scores, key=lambda c: (-scores[c], c))
    return (first + rest)[:k]


def series_svg(blobs: BlobStore, sha: str, windows: list[tuple[float, float, str]], title: str,
               named: Sequence[str] = ()) -> str:
    """The SVG of a stored series (Parquet) with shaded windows; cached by content, windows and named channels.

    At most six channels are drawn (:func:`pick_channels`); the title says how many there are.
    """
    key = (sha, json.dumps([list(w) for w in windows]), tuple(named))
    hit = _SERIES_CACHE.get(key)
    if hit is not None:
        return hit
    import pandas as pd

    from assetgrade.store.loading import read_series_parquet

    df = read_series_parquet(blobs.get_bytes(sha))
    idx = df.index
    if isinstance(idx, pd.DatetimeIndex):
        t = (idx.asi8 / 1e9).astype(float).tolist()
    else:
        t = pd.to_numeric(pd.Series(idx), errors="coerce").astype(float).tolist()
    cols = {str(c): df[c].astype(float).tolist() for c in df.columns if pd.api.types.is_numeric_dtype(df[c])}
    shown = pick_channels(cols, named, t=t)
    caption = f"{title} ({len(shown)} of {len(cols)} channels: named in findings first, then the strongest trends)"
    svg = series_plot(t, {c: cols[c] for c in shown}, windows=windows,
                      title=caption if len(shown) < len(cols) else title)
    if len(_SERIES_CACHE) > 512:
        _SERIES_CACHE.clear()
    _SERIES_CACHE[key] = svg
    return svg


def _numbers(value: Any, n: int, what: str, whole: bool = False) -> None:
    if value is None:
        return
    kind = int if whole else (int, float)
    if not isinstance(value, list | tuple) or len(value) != n or not all(
            isinstance(v, kind) and not isinstance(v, bool) and math.isfinite(float(v)) for v in value):
        raise ValueError(f"a finding's {what} must be {n} finite {'whole ' if whole else ''}numbers, got {value!r}")


def _result_of(pred: Prediction | None) -> tuple[GradeResult | None, str | None]:
    """The prediction's stored result, or None and why its details cannot be shown (the page still shows its grade)."""
    if pred is None or not pred.payload:
        return None, None
    try:
        result = GradeResult.from_dict(pred.payload)
        for e in result.evidence:  # the page draws these: a malformed one must not break it
            for f in e.findings:
                _numbers(f.region, 4, "box")
                _numbers(f.span, 2, "text span", whole=True)
                _numbers(f.window, 2, "time window")
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        return None, f"{type(exc).__name__}: {exc}"
    return result, None


def _stored(blobs: BlobStore, sha: str) -> bool:
    """Whether the blob is in the store (a malformed sha is not)."""
    try:
        return blobs.exists(sha)
    except ValidationError:
        return False


def _log_entry(ev: Any, head: TextHead, findings: Sequence[Any], *, whole: bool = False) -> dict[str, Any]:
    """A log entry (or a document's text) as the page draws it: its date and highlighted segments, all of it when
    ``whole`` (``head`` is then the whole text), else the part :func:`text_cut` leaves of it, with how many
    characters and highlights are left off."""
    spans: list[tuple[int, int, str, str]] = [
        (f.span[0], f.span[1], f"{f.defect or f.component or f.summary} ({f.status})", str(f.status))
        for f in findings if f.modality == "text" and f.span and f.evidence_id in (ev.id, None)]
    shown, hidden_chars, hidden_marks = ((highlight_segments(head.text, spans), 0, 0) if whole and head.whole
                                         else clip_text(head.text, head.length, spans))
    return {"ev": ev, "date": (ev.attributes or {}).get("date"), "segments": shown,
            "hidden_chars": hidden_chars, "hidden_marks": hidden_marks}


def load_log_entry(ws: Workspace, asset_id: str, evidence_id: str) -> dict[str, Any]:
    """The whole of one of the asset's log entries (or documents with text) with its highlights, as the asset page
    draws it (the "show all" of an entry cut at :data:`TEXT_SHOWN`); NotFoundError when the asset has no such
    entry."""
    with ws.session(readonly=True) as s:
        ev = get_evidence(s, evidence_id)  # NotFoundError when there is none
        if ev.asset_id != asset_id or ev.kind not in ("log", "document") or ev.text is None:
            raise NotFoundError(f"asset {asset_id!r} has no log entry or document text {evidence_id!r}")
        pred = latest_prediction(s, asset_id)
    result, _ = _result_of(pred)
    return _log_entry(ev, TextHead(ev.text, len(ev.text)), [f for e in (result.evidence if result else ())
                                                            for f in e.findings], whole=True)


def load_asset_page(ws: Workspace, asset_id: str, *, show_all: bool = False,
                    whole_text: str | None = None) -> AssetPage:
    """Read the asset, its evidence, predictions, reviews and queue neighbours (one read transaction).

    At most :data:`SHOWN` evidence items of each kind are read and drawn unless ``show_all``: those
    the latest grade's findings name first, then the newest (:func:`~assetgrade.store.evidence_sample.
    sample_evidence`, LIMIT in the query and a count per kind for the "N more" notice); an asset with
    thousands of photos or log entries would otherwise have every row loaded, every blob checked and
    every series plotted on each view. Of a log entry's text the first :data:`TEXT_SHOWN` characters and its
    length are read (SQL ``substr`` and ``length``), and at most its first :data:`TEXT_LINES` lines of them drawn
    (:func:`text_cut`); of the entry ``whole_text`` (an evidence id) all of it is read and drawn."""
    with ws.session(readonly=True) as s:
        asset = get_asset(s, asset_id)
        pred = latest_prediction(s, asset_id)  # not every prediction's payload: an asset may be graded often
        result, result_error = _result_of(pred)
        findings = [f for e in (result.evidence if result else ()) for f in e.findings]
        limits = None if show_all else SHOWN
        sample = sample_evidence(s, asset_id, limits, first={f.evidence_id for f in findings if f.evidence_id},
                                 text_head=TEXT_SHOWN, whole_text=whole_text)
        n_predictions = s.execute(select(func.count()).select_from(Prediction)
                                  .where(Prediction.asset_id == asset_id)).scalar_one() if pred else 0
        reviews = list_reviews(s, asset_id, limit=REVIEWS_SHOWN)  # an asset may be reviewed many times
        n_reviews = len(reviews) if len(reviews) < REVIEWS_SHOWN else s.execute(
            select(func.count()).select_from(Review).where(Review.asset_id == asset_id)).scalar_one()
        withdrawn, n_withdrawn = _withdrawn(s, asset_id, None if show_all else WITHDRAWN_SHOWN)
        prev_id, next_id, position, qlen = queue_neighbours(s, asset_id)
        request = get_label_request(s, asset_id)
        open_rows, n_open = list_label_requests(s, limit=2)
        next_request = next((r.asset_id for r in open_rows if r.asset_id != asset_id), None)
    images: list[dict[str, Any]] = []
    logs: list[dict[str, Any]] = []
    series: list[dict[str, Any]] = []
    unshown: list[dict[str, Any]] = []
    candidates: list[dict[str, Any]] = []
    seen: set[str] = set()
    for f in findings:
        if f.defect is None or f.status == "negated":
            continue
        cand: dict[str, Any] = {"id": f.defect, "source": f.modality}
        if f.region is not None and f.evidence_id is not None:
            cand["evidence_id"] = f.evidence_id
            cand["box"] = [float(v) for v in f.region]
        key = json.dumps(cand, sort_keys=True)
        if key not in seen:
            seen.add(key)
            candidates.append(cand)
    for ev, origin in sample.rows:
        if ev.kind == "image" and ev.blob_sha:
            mine = [f for f in findings if f.modality == "vision" and f.evidence_id == ev.id and f.region]
            heat = overlay_sha(pred, ev.id)
            # a blob lost from the store is said on the page, not left to a broken image and a 404 per view
            heat_lost = heat is not None and not _stored(ws.blobs, heat)
            images.append({"ev": ev, "origin": origin, "content_url": evidence_url(ev.id, "content"),
                           "missing": not _stored(ws.blobs, ev.blob_sha), "overlay_missing": heat_lost,
                           "overlay_url": evidence_url(ev.id, "overlay") if heat and not heat_lost else None,
                           "regions": [{"box": list(f.region or ()), "label": f.defect or f.summary} for f in mine],
                           "width": (ev.attributes or {}).get("width"), "height": (ev.attributes or {}).get("height")})
        elif ev.kind in ("log", "document") and ev.id in sample.heads:  # the text itself is not read
            logs.append({**_log_entry(ev, sample.heads[ev.id], findings, whole=ev.id == whole_text), "origin": origin,
                         "anchor": f"log-{len(logs) + 1}"})
        elif ev.kind == "series" and ev.blob_sha:
            windows = [(float(f.window[0]), float(f.window[1]), f.defect or f.summary)
                       for f in findings if f.modality == "sensors" and f.window and f.evidence_id in (ev.id, None)]
            try:
                named = [c for f in findings if f.modality == "sensors" and f.evidence_id in (ev.id, None)
                         for c in f.channels]
                svg = series_svg(ws.blobs, ev.blob_sha, windows, f"sensor series {ev.id}", named)
            except Exception as exc:  # a broken series must not break the page; say what happened
                # the details (blob paths, library messages) go to the service log, not to every reviewer
                log.warning("cannot plot series %s (blob %s): %s: %s", ev.id, ev.blob_sha, type(exc).__name__, exc)
                why = ("its stored file is missing from the blob store" if isinstance(exc, NotFoundError)
                       else "its stored file is damaged" if isinstance(exc, StoreError)
                       else "its stored file does not read as a series")
                svg = f'<p class="warn">cannot plot series {escape(ev.id)}: {why} (details in the service log)</p>'
            series.append({"ev": ev, "origin": origin, "svg": svg, "windows": windows})
        else:  # a document stored as a file, an image without one: listed, never silently left out
            unshown.append({"ev": ev, "origin": origin,
                            "content_url": evidence_url(ev.id, "content") if ev.blob_sha else None})
    dist_svg = None
    if pred is not None:
        dist_svg = distribution_bars(pred.distribution, chosen=pred.grade, conformal_set=pred.conformal_set)
    other = [f for f in findings if f.modality not in ("vision", "text", "sensors")]
    return AssetPage(asset=asset, prediction=pred, result=result, n_predictions=n_predictions, reviews=reviews,
                     n_reviews=n_reviews,
                     images=images, logs=logs, series=series, distribution_svg=dist_svg, candidate_defects=candidates,
                     prev_id=prev_id, next_id=next_id, position=position, queue_length=qlen, findings_other=other,
                     label_request=request, next_request_id=next_request, open_requests=n_open,
                     result_error=result_error, other_evidence=unshown, hidden=sample.hidden(limits),
                     show_all=show_all, withdrawn=withdrawn, n_withdrawn=n_withdrawn,
                     withdrawable=[(ev.id, ev.kind) for ev, _ in sample.rows])


def _withdrawn(s: Any, asset_id: str, limit: int | None) -> tuple[list[tuple[Withdrawal, str]], int]:
    """The asset's withdrawn items with their kind, newest withdrawal first (at most ``limit``), and how many there
    are: one query, and a count only when the list is full."""
    q = (select(EvidenceWithdrawal, Evidence.kind).join(Evidence, Evidence.id == EvidenceWithdrawal.evidence_id)
         .where(Evidence.asset_id == asset_id, withdrawal_open())
         .order_by(EvidenceWithdrawal.withdrawn_at.desc(), EvidenceWithdrawal.evidence_id).limit(limit))
    rows = [(Withdrawal(w.evidence_id, w.reason, w.withdrawn_by, _as_utc(w.withdrawn_at)), kind)
            for w, kind in s.execute(q).all()]
    if limit is None or len(rows) < limit:
        return rows, len(rows)
    n = s.execute(select(func.count()).select_from(EvidenceWithdrawal).join(
        Evidence, Evidence.id == EvidenceWithdrawal.evidence_id).where(Evidence.asset_id == asset_id,
                                                                         withdrawal_open())).scalar_one()
    return rows, int(n)

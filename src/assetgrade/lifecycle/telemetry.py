"""Per-station drift from edge telemetry: batches of posted predictions and feature summaries through DriftMonitor.

Edge stations post telemetry through the REST API (``POST /api/v1/telemetry``, stored in the
``telemetry`` table). The payloads this module reads:

* ``kind = "prediction"``: ``grade`` (str), ``confidence`` (float), optionally ``override``
  (bool: a local reviewer changed the grade) and ``embedding`` (list of floats);
* ``kind = "features"``: a flat mapping of feature name to number (``n``, a count, is ignored).

Records are grouped per station into batches by ``batch_id`` (records posted without one are
cut into chunks of ``batch_size``), in arrival order. Each station's first
``reference_batches`` batches are its reference window; every later batch is tested by the
drift library's :class:`~assetgrade.audit.drift.DriftMonitor` (effect size AND significance,
MMD² threshold calibrated at the batch size), which also says when a station asks for
retraining.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from assetgrade.audit.drift import DriftBatch, DriftDecision, DriftMonitor, DriftPolicy
from assetgrade.errors import AssetgradeError, NotFoundError
from assetgrade.store.auth_schema import TelemetryRecord

__all__ = ["IGNORED_FEATURES", "MAX_ABS", "StationDrift", "station_batches", "station_drift"]

IGNORED_FEATURES = frozenset({"n", "count", "batch_size"})


@dataclass
class _Rows:
    key: str
    predictions: list[dict[str, Any]] = field(default_factory=list)
    features: list[dict[str, Any]] = field(default_factory=list)


def _group(records: Sequence[TelemetryRecord], batch_size: int) -> list[_Rows]:
    out: list[_Rows] = []
    by_id: dict[str, _Rows] = {}
    loose: _Rows | None = None
    for r in records:
        if r.batch_id is not None:
            rows = by_id.get(r.batch_id)
            if rows is None:
                rows = by_id[r.batch_id] = _Rows(r.batch_id)
                out.append(rows)
        else:
            if loose is None or len(loose.predictions) + len(loose.features) >= batch_size:
                loose = _Rows(f"records from id {r.id}")
                out.append(loose)
            rows = loose
        (rows.predictions if r.kind == "prediction" else rows.features).append(
            r.payload if isinstance(r.payload, dict) else {})
    return out


MAX_ABS = 1e100
"""Telemetry numbers beyond this size (and NaN, infinity) are treated as missing: squared, they would overflow."""


def _num(v: Any) -> float:
    """A usable telemetry number, else NaN (missing): not a bool, finite, at most :data:`MAX_ABS` in size."""
    if isinstance(v, bool) or not isinstance(v, int | float):
        return math.nan
    try:
        x = float(v)
    except OverflowError:  # an int too large for a float
        return math.nan
    return x if math.isfinite(x) and abs(x) <= MAX_ABS else math.nan


def _to_batch(rows: Sequence[_Rows], station: str, feature_names: Sequence[str],
              notes: list[str] | None = None) -> DriftBatch:
    preds = [p for r in rows for p in r.predictions]
    feats = [f for r in rows for f in r.features]
    grades = [str(p["grade"]) for p in preds if p.get("grade") is not None] or None
    conf = np.array([_num(p.get("confidence")) for p in preds])
    confidence = conf[np.isfinite(conf)] if np.isfinite(conf).sum() >= 2 else None
    overrides = None
    if preds and all(isinstance(p.get("override"), bool) for p in preds):
        overrides = np.array([p["override"] for p in preds], bool)
    embeddings = None
    embs = [p.get("embedding") for p in preds]
    if preds and all(isinstance(e, list) and e for e in embs):
        dims = {len(e) for e in embs if isinstance(e, list)}
        if len(dims) == 1:
            mat = np.array([[_num(x) for x in e] for e in embs if isinstance(e, list)])
            usable = np.isfinite(mat).all(1)
            if not usable.any():
                if notes is not None:
                    notes.append(f"{rows[0].key}: embeddings hold non-numbers, NaN, infinity or values beyond"
                                 f" {MAX_ABS:g}; embedding tests skipped")
            else:
                embeddings = mat[usable]
                if notes is not None and not usable.all():
                    notes.append(f"{rows[0].key}: {int((~usable).sum())} of {len(usable)} embeddings hold"
                                 f" non-numbers, NaN, infinity or values beyond {MAX_ABS:g}; left out of the"
                                 " embedding tests")
        elif notes is not None:
            notes.append(f"{rows[0].key}: embeddings of mixed sizes {sorted(dims)}; embedding tests skipped")
    features = None
    if feats and feature_names:
        mat = np.array([[_num(f.get(k)) for k in feature_names] for f in feats])
        if (np.isfinite(mat).sum(0) >= 2).all():
            features = mat
    return DriftBatch(embeddings=embeddings, features=features, feature_names=tuple(feature_names),
                      grades=grades, confidence=confidence, overrides=overrides, station_id=station)


def station_batches(
    session: Session, *, batch_size: int = 200, station: str | None = None
) -> dict[str, dict[str, list[_Rows]]]:
    """Telemetry per station and kind (``prediction``, ``features``), in batches by ``batch_id`` (else chunks)."""
    q = select(TelemetryRecord).order_by(TelemetryRecord.id)
    if station is not None:
        q = q.where(TelemetryRecord.station == station)
    per: dict[str, dict[str, list[TelemetryRecord]]] = defaultdict(lambda: defaultdict(list))
    for r in session.execute(q).scalars():
        per[r.station][r.kind].append(r)
    return {st: {kind: _group(recs, batch_size) for kind, recs in sorted(kinds.items())}
            for st, kinds in sorted(per.items())}


@dataclass
class StationDrift:
    """One station's drift verdicts: the reference window, one decision per later batch, and notes."""

    station: str
    n_reference_batches: int
    batch_keys: list[str]
    decisions: list[DriftDecision]
    notes: list[str] = field(default_factory=list)

    @property
    def alarms(self) -> int:
        """How many batches alarmed."""
        return sum(d.alarm for d in self.decisions)

    @property
    def retrain(self) -> bool:
        """Whether the monitor asked for retraining on any batch."""
        return any(d.retrain for d in self.decisions)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"station": self.station, "n_reference_batches": self.n_reference_batches, "alarms": self.alarms,
                "retrain": self.retrain, "notes": self.notes,
                "batches": [{"batch": k, **d.to_dict()} for k, d in zip(self.batch_keys, self.decisions, strict=True)]}


def station_drift(
    session: Session, *, reference_batches: int = 2, batch_size: int = 200, policy: DriftPolicy | None = None,
    station: str | None = None, seed: int = 0,
) -> list[StationDrift]:
    """Drift of every station's later batches against its own first ``reference_batches`` batches.

    ``station`` limits it to one; a station with no telemetry is a NotFoundError naming the known ones.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from assetgrade.workspace import Workspace
    >>> ws = Workspace.init(Path(tempfile.mkdtemp()) / "ws")
    >>> with ws.session() as s:
    ...     s.add_all([TelemetryRecord(station="st", kind="prediction", batch_id=f"b{i // 100}",
    ...                payload={"grade": "A" if (i < 300 or i % 2) else "D", "confidence": 0.9})
    ...                for i in range(400)])
    >>> with ws.session(readonly=True) as s:
    ...     [d.alarm for d in station_drift(s, reference_batches=2)[0].decisions]
    [False, True]
    """
    out: list[StationDrift] = []
    by_station = station_batches(session, batch_size=batch_size, station=station)
    if station is not None and not by_station:
        known = list(session.scalars(select(TelemetryRecord.station).distinct().order_by(TelemetryRecord.station)
                                     .limit(20)))
        raise NotFoundError(f"no telemetry from station {station!r}; stations: {known or 'none'}")
    for st, streams in by_station.items():
        keys: list[str] = []
        decisions: list[DriftDecision] = []
        notes: list[str] = []
        for kind, batches in streams.items():
            if len(batches) <= reference_batches:
                notes.append(f"{kind}: {len(batches)} batches, need more than {reference_batches} (the reference"
                             " window) to test")
                continue
            ref_rows, cur_rows = batches[:reference_batches], batches[reference_batches:]
            names = sorted({k for r in ref_rows for f in r.features for k, v in f.items()
                            if k not in IGNORED_FEATURES and not math.isnan(_num(v))})
            ref_notes: list[str] = []
            reference = _to_batch(ref_rows, st, names, ref_notes)
            notes += [f"{kind} reference window: {n}" for n in ref_notes]
            cur_notes: list[str] = []
            current = [_to_batch([r], st, names, cur_notes) for r in cur_rows]
            notes += [f"{kind} batch {n}" for n in cur_notes]
            for r, b in zip(cur_rows, current, strict=True):
                if r.features and b.features is None and names:
                    notes.append(f"batch {r.key}: feature summaries lack reference features; feature test skipped")
            sizes = [b.n for b in current if b.n]
            size = int(np.median(sizes)) if sizes else batch_size
            if reference.embeddings is not None and len(reference.embeddings) < size + 4:
                reference.embeddings = None
                notes.append("reference window too small for the embedding test; embeddings not tested")
            try:
                monitor = DriftMonitor(policy or DriftPolicy(), seed=seed).fit(reference, batch_size=size)
            except AssetgradeError as exc:
                notes.append(f"{kind}: reference window not usable, not tested: {exc}")
                continue
            for r, b in zip(cur_rows, current, strict=True):
                try:
                    d = monitor.update(b)
                except AssetgradeError as exc:
                    notes.append(f"{kind} batch {r.key}: not tested: {exc}")
                    continue
                keys.append(f"{kind}:{r.key}")
                decisions.append(d)
                notes += [f"{kind} batch {r.key}: {n}" for n in d.notes]
        out.append(StationDrift(st, reference_batches, keys, decisions, notes))
    return out

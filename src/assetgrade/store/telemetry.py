"""Per-station telemetry summary, read safely from rows holding a NUL character (stored before the API refused one)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import ColumnElement, Text, case, cast, func, not_, select
from sqlalchemy.orm import Session

from assetgrade.store.auth_schema import TelemetryRecord

__all__ = ["telemetry_summary"]

_NUL_ESCAPE = "\\u0000"
"""How a NUL character (U+0000) is written in a stored JSON payload."""


def _holds_nul_escape() -> ColumnElement[bool]:
    """Whether a row's payload, as stored, holds ``\\u0000``: PostgreSQL's JSON operators refuse to make text of it.

    Matched on the stored text (``json::text`` is the text as written, nothing decoded), so a payload with an
    escaped backslash before ``u0000`` also matches; it is then read in Python, which gives the same answer.
    """
    return cast(TelemetryRecord.payload, Text).contains(_NUL_ESCAPE, autoescape=True)


def _grade_text(grade: Any) -> str | None:
    """A grade read in Python as the SQL path shows it: a string as is, None as no grade, others as JSON text."""
    if grade is None:
        return None
    return grade if isinstance(grade, str) else json.dumps(grade)


def telemetry_summary(session: Session) -> list[dict[str, Any]]:
    """Per station: counts by kind, first and last receipt, and the grade mix of posted predictions.

    The grade mix is grouped in SQL; the few rows whose payload holds a NUL character (the API refuses one
    since 5add322, older rows may hold one) are read whole and counted in Python, so such a row neither
    breaks the summary on PostgreSQL nor loses the characters after the NUL on SQLite: both stores count
    the grade as posted.

    Examples
    --------
    >>> from sqlalchemy import create_engine
    >>> from assetgrade.store.schema import Base
    >>> engine = create_engine("sqlite://")
    >>> Base.metadata.create_all(engine)
    >>> with Session(engine) as s:
    ...     s.add_all([TelemetryRecord(station="s-1", kind="prediction", payload={"grade": g})
    ...                for g in ("A", "B\\x00")])
    ...     s.flush()
    ...     telemetry_summary(s)[0]["grade_mix"]
    {'A': 1, 'B\\x00': 1}
    """
    counts = session.execute(
        select(TelemetryRecord.station, TelemetryRecord.kind, func.count(),
               func.min(TelemetryRecord.received_at), func.max(TelemetryRecord.received_at))
        .group_by(TelemetryRecord.station, TelemetryRecord.kind)
    ).all()
    if session.get_bind().dialect.name == "postgresql":
        grade_expr: Any = TelemetryRecord.payload.op("->>")("grade")
    else:
        grade_expr = func.json_extract(TelemetryRecord.payload, "$.grade")
    holds_nul = _holds_nul_escape()
    # CASE, not only WHERE: PostgreSQL then never applies ->> to such a row, whatever the plan.
    safe_grade = case((holds_nul, None), else_=grade_expr)
    prediction = TelemetryRecord.kind == "prediction"
    grades = session.execute(
        select(TelemetryRecord.station, safe_grade, func.count())
        .where(prediction, not_(holds_nul)).group_by(TelemetryRecord.station, safe_grade)
    ).all()
    with_nul = session.execute(
        select(TelemetryRecord.station, TelemetryRecord.payload).where(prediction, holds_nul)
    ).all()
    out: dict[str, dict[str, Any]] = {}
    for station, kind, n, first, last in counts:
        s = out.setdefault(station, {"station": station, "n_predictions": 0, "n_features": 0,
                                     "first_received": first, "last_received": last, "grade_mix": {}})
        s[f"n_{kind}s" if kind == "prediction" else "n_features"] = int(n)
        s["first_received"] = min(s["first_received"], first)
        s["last_received"] = max(s["last_received"], last)
    mixes: list[tuple[str, str | None, int]] = [
        (station, None if grade is None else str(grade), int(n)) for station, grade, n in grades]
    mixes += [(station, _grade_text(payload.get("grade") if isinstance(payload, dict) else None), 1)
              for station, payload in with_nul]
    for station, grade, n in mixes:
        if station in out and grade is not None:
            mix = out[station]["grade_mix"]
            mix[grade] = mix.get(grade, 0) + n
    return [out[k] for k in sorted(out)]

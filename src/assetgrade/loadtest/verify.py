"""Nothing lost: every write the service accepted (2xx) is in the store afterwards, whole.

A review counts as stored when its row, its ``review.add`` audit event and (with a grade) its
review grade label all exist, and its row holds the asset and grade the client sent (else it is
``wrong``); a telemetry batch when exactly the number of items the client sent (``sent``; the
server's ``accepted`` where the record has no ``sent``) carry its station and ``batch_id``, so a
batch the server accepted only in part is half-written whatever it answered; an image when its
evidence row, provenance row and blob exist. Anything less is reported as lost (missing),
half-written (some parts only) or wrong.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from assetgrade.loadtest.load import Accepted
from assetgrade.store.auth_schema import TelemetryRecord
from assetgrade.store.schema import AuditEvent, Evidence, Label, Provenance, Review

__all__ = ["verify_accepted"]


def _chunks(xs: list[str], n: int = 500) -> list[list[str]]:
    return [xs[i:i + n] for i in range(0, len(xs), n)]


def verify_accepted(ws: Any, accepted: Accepted) -> dict[str, Any]:
    """Counts of accepted, found whole, lost and half-written writes, per kind, plus a few examples."""
    out: dict[str, Any] = {}
    with ws.session(readonly=True) as s:
        rev_ids = [r["id"] for r in accepted.reviews]
        rows: dict[str, tuple[str, str | None]] = {}
        events, labels = set(), set()
        for part in _chunks(rev_ids):
            rows |= {rid: (aid, g) for rid, aid, g in
                     s.execute(select(Review.id, Review.asset_id, Review.grade).where(Review.id.in_(part)))}
            events |= set(s.scalars(select(AuditEvent.entity_id).where(AuditEvent.action == "review.add",
                                                                      AuditEvent.entity_id.in_(part))))
            labels |= set(s.scalars(select(Label.id).where(Label.id.in_([f"lb_{x}" for x in part]))))
        lost = [r for r in rev_ids if r not in rows]
        half = [r for r in rev_ids if r in rows and (r not in events or f"lb_{r}" not in labels)]
        wrong = [r["id"] for r in accepted.reviews if r["id"] in rows and r["id"] not in half
                 and (rows[r["id"]][0] != r["asset_id"] or ("grade" in r and rows[r["id"]][1] != r["grade"]))]
        out["reviews"] = {"accepted": len(rev_ids), "lost": len(lost), "half_written": len(half),
                          "wrong": len(wrong), "examples": (lost + half + wrong)[:5]}

        want = {(t["station"], t["batch_id"]): int(t.get("sent", t["accepted"])) for t in accepted.telemetry}
        have: dict[tuple[str, str], int] = {}
        stations = sorted({k[0] for k in want})
        if stations:
            q = (select(TelemetryRecord.station, TelemetryRecord.batch_id, func.count())
                 .where(TelemetryRecord.station.in_(stations))
                 .group_by(TelemetryRecord.station, TelemetryRecord.batch_id))
            have = {(st, str(b)): int(n) for st, b, n in s.execute(q)}
        t_lost = [k for k in want if k not in have]
        t_bad = [k for k in want if k in have and have[k] != want[k]]
        out["telemetry"] = {"accepted": len(want), "items": sum(want.values()), "lost": len(t_lost),
                            "half_written": len(t_bad), "examples": [list(k) for k in (t_lost + t_bad)[:5]]}

        img_ids = [i["id"] for i in accepted.images]
        ev, prov = set(), set()
        for part in _chunks(img_ids):
            ev |= set(s.scalars(select(Evidence.id).where(Evidence.id.in_(part))))
            prov |= set(s.scalars(select(Provenance.evidence_id).where(Provenance.evidence_id.in_(part))))
    i_lost = [i for i in img_ids if i not in ev]
    i_half = [i["id"] for i in accepted.images if i["id"] in ev
              and (i["id"] not in prov or not ws.blobs.exists(i["sha256"]))]
    out["images"] = {"accepted": len(img_ids), "lost": len(i_lost), "half_written": len(i_half),
                     "examples": (i_lost + i_half)[:5]}
    out["lost_total"] = sum(v["lost"] + v["half_written"] + v.get("wrong", 0) for v in out.values()
                            if isinstance(v, dict))
    return out

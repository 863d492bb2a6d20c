"""Memory and time per row of the evidence ids an ingest run keeps to refuse an id given twice (docs/ingest.md).

Feeds ``--rows`` claims in row groups of ``--group-size`` (made as a manifest read makes them: an evidence id
from the asset, kind and path, a sha256, an asset id and ``m.csv:row N``, each a string of its own) to one
layout, and prints one JSON line: the growth of the process' peak RSS per row, seconds, and for ``claims`` the
size of its temporary database per row. Layouts: ``claims`` (assetgrade.ingest.claims.Claims, what the writer
uses) and ``dict`` (what 6eeb5b8 kept: a dict from evidence id to a slotted dataclass of sha, asset and place).
Run one layout per process, so neither sees the other's memory:

    .venv/bin/python tools/measure_ingest_claims.py --rows 1000000 --layout dict
    .venv/bin/python tools/measure_ingest_claims.py --rows 1000000 --layout claims
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import time
from collections.abc import Iterator
from dataclasses import dataclass

from assetgrade.ingest.claims import Claim, Claims
from assetgrade.ingest.items import default_evidence_id

_PLACE = "/data/exports/2026-12/plant-a/manifest.csv"


@dataclass(frozen=True, slots=True)
class _OldClaim:  # 6eeb5b8's preparation._Claim
    sha: str
    asset_id: str
    where: str


def _groups(rows: int, size: int) -> Iterator[list[Claim]]:
    for start in range(0, rows, size):
        group = []
        for i in range(start, min(rows, start + size)):
            asset = f"pump-{i % 5000:05d}"
            group.append(Claim(default_evidence_id(asset, "image", f"images/{i:07d}.jpg"),
                               hashlib.sha256(i.to_bytes(8, "little")).hexdigest(), asset, f"{_PLACE}:row {i + 2}"))
        yield group


def _peak() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--group-size", type=int, default=200)
    ap.add_argument("--layout", choices=["claims", "dict"], required=True)
    args = ap.parse_args()
    next(_groups(1, 1))  # hashlib and the formatting warmed before the baseline
    before, t0 = _peak(), time.perf_counter()
    out: dict[str, object] = {"rows": args.rows, "group_size": args.group_size, "layout": args.layout}
    if args.layout == "dict":
        old: dict[str, _OldClaim] = {}
        for group in _groups(args.rows, args.group_size):
            for c in group:
                old.setdefault(c.evidence_id, _OldClaim(c.sha, c.asset_id, c.where))
        kept = len(old)
    else:
        claims = Claims()
        for group in _groups(args.rows, args.group_size):
            claims.first(group)
        kept = len(claims)
        db = claims._db
        assert db is not None
        pages = db.execute("PRAGMA page_count").fetchone()[0] * db.execute("PRAGMA page_size").fetchone()[0]
        out["temp_db_bytes_per_row"] = round(pages / args.rows, 1)
    seconds = time.perf_counter() - t0
    assert kept == args.rows, kept
    out.update(peak_rss_growth_bytes_per_row=round((_peak() - before) / args.rows, 1), seconds=round(seconds, 2),
               us_per_row=round(seconds / args.rows * 1e6, 2))
    print(json.dumps(out))


if __name__ == "__main__":
    main()

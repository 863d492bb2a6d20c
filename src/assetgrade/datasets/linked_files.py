"""The linked benchmark written as files: images, series as CSV, a manifest that ingest reads, and ``labels.csv``."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from assetgrade.datasets.linked import LinkedBenchmark

__all__ = ["write_linked"]


def write_linked(bench: LinkedBenchmark, out_dir: str | Path, *, include_grades: bool = True) -> Path:
    """Write files + a CSV manifest (one row per evidence item) + ``labels.csv``; returns the manifest path.

    Manifest columns: ``asset_id, asset_type, kind (image|log|series), path, text, date, grade,
    origin`` (all manifest columns, so ingest reads every one); paths are relative to ``out_dir``
    (``images/``, ``series/`` as CSV). Each asset's split and its per-modality labels are in
    ``labels.csv``.
    """
    out = Path(out_dir)
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "series").mkdir(parents=True, exist_ok=True)
    manifest = out / "manifest.csv"
    cols = ["asset_id", "asset_type", "kind", "path", "text", "date", "grade", "origin"]
    with manifest.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=cols)
        w.writeheader()
        for rec in bench.records:
            base = {
                "asset_id": rec.asset_id,
                "asset_type": rec.asset_type,
                "grade": rec.grade if include_grades else "",
                "origin": "real",
            }
            for img in rec.images:
                rel = f"images/{img.evidence_id}.png"
                (out / rel).write_bytes(img.load_bytes())
                w.writerow({**base, "kind": "image", "path": rel, "text": "", "date": ""})
            for ser in rec.series:
                rel = f"series/{ser.evidence_id}.csv"
                ser.load().to_csv(out / rel)
                w.writerow({**base, "kind": "series", "path": rel, "text": "", "date": ""})
            for log in rec.logs:
                date = log.date.date().isoformat() if log.date else ""
                w.writerow({**base, "kind": "log", "path": "", "text": log.text, "date": date})
    bench.frame().to_csv(out / "labels.csv", index=False)
    return manifest

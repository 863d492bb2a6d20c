"""load_records builds AssetRecords (images with boxes, logs with date/cost, series as DataFrames); stats counts."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from PIL import Image

from assetgrade.errors import NotFoundError
from assetgrade.store import add_asset, add_evidence, add_label, load_records, stats
from assetgrade.store.repository import ProvenanceInfo
from assetgrade.workspace import Workspace


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 6), (10, 20, 30)).save(buf, "PNG")
    return buf.getvalue()


def test_load_records_views(ws: Workspace) -> None:
    png = _png()
    img_sha = ws.blobs.put_bytes(png)
    frame = pd.DataFrame({"temp": [1.0, 2.0, 3.0]}, index=pd.Index([0.0, 0.5, 1.0], name="t"))
    buf = io.BytesIO()
    frame.to_parquet(buf)
    ser_sha = ws.blobs.put_bytes(buf.getvalue())
    with ws.session() as s:
        add_asset(s, "a1", asset_type="pump", value=5000.0)
        add_asset(s, "a2", asset_type="valve")
        add_evidence(s, asset_id="a1", kind="image", sha256=img_sha, blob_sha=img_sha, evidence_id="img1")
        add_evidence(s, asset_id="a1", kind="log", sha256="1" * 64, text="replaced seal",
                     attributes={"date": "2020-01-05T00:00:00+00:00", "cost": 120.0}, evidence_id="log1",
                     provenance=ProvenanceInfo(origin="synthetic"))
        add_evidence(s, asset_id="a1", kind="series", sha256=ser_sha, blob_sha=ser_sha, evidence_id="s1",
                     attributes={"sampling_rate_hz": 2.0, "units": {"temp": "degC"}})
        add_label(s, asset_id="a1", evidence_id="img1", kind="defect", value="dent", box=[1, 1, 4, 4])
        add_label(s, asset_id="a1", kind="grade", value="B")
        add_label(s, asset_id="a1", kind="grade", value="C", source="review", annotator="ana")
        add_label(s, asset_id="a2", kind="grade", value="A")
    recs = load_records(ws)
    assert [r.asset_id for r in recs] == ["a1", "a2"]
    r = recs[0]
    assert r.modalities() == ("vision", "text", "sensors")
    assert r.grade == "C"  # the review label wins over the imported one
    assert r.value == 5000.0
    assert r.images[0].load_bytes() == png
    assert r.images[0].boxes == (("dent", (1.0, 1.0, 4.0, 4.0)),)
    assert r.logs[0].cost == 120.0 and r.logs[0].date is not None and r.logs[0].date.year == 2020
    assert r.logs[0].origin == "synthetic"
    loaded = r.series[0].load()
    assert list(loaded["temp"]) == [1.0, 2.0, 3.0] and r.series[0].units == {"temp": "degC"}
    only = load_records(ws, ["a2"])
    assert [x.asset_id for x in only] == ["a2"] and only[0].grade == "A"
    with pytest.raises(NotFoundError):
        load_records(ws, ["zzz"])
    with ws.session(readonly=True) as s:
        st = stats(s)
    assert st["asset_type"] == {"pump": 1, "valve": 1}
    assert st["grade"] == {"A": 1, "C": 1}
    assert st["modality"] == {"image": 1, "log": 1, "series": 1}
    assert st["origin"] == {"real": 2, "synthetic": 1}
    assert st["defect"] == {"dent": 1} and st["class"] == {}
    assert st["totals"]["evidence"] == 3

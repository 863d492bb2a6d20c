"""``golden_copies`` counts only copies of golden evidence that are in use: a withdrawn copy is never trained on,
so it does not hold its asset out of retraining; reinstated, it does again."""

from __future__ import annotations

from collections.abc import Sequence

from assetgrade.lifecycle.golden import freeze_golden_set
from assetgrade.lifecycle.retrain import golden_copies, retrain
from assetgrade.store.records import AssetRecord
from assetgrade.store.repository import ProvenanceInfo, add_asset, add_evidence, add_label
from assetgrade.store.withdrawals import reinstate_evidence, withdraw_evidence
from assetgrade.workspace import Workspace

from .conftest import TableModel, png, seed_assets


def test_a_withdrawn_copy_of_golden_evidence_does_not_hold_its_asset_out(ws: Workspace) -> None:
    ids = seed_assets(ws, 12)
    with ws.session() as s:
        freeze_golden_set(s, ids[:4])
    with ws.session() as s:
        sha = ws.blobs.put_bytes(png(0))  # asset-00's image (golden), stored again under another asset
        add_asset(s, "copy-of-00", asset_type="pump", value=1000.0)
        add_evidence(s, asset_id="copy-of-00", kind="image", sha256=sha, blob_sha=sha, media_type="image/png",
                     evidence_id="ev-copy")
        add_evidence(s, asset_id="copy-of-00", kind="log", sha256="c" * 64, text="seal replaced",
                     evidence_id="ev-copy-log")
        add_label(s, asset_id="copy-of-00", kind="grade", value="A", annotator="expert-1")
        aug = ws.blobs.put_bytes(png(5001))  # augmented from asset-01's image (golden)
        add_asset(s, "aug-of-01", asset_type="valve", value=1000.0)
        add_evidence(s, asset_id="aug-of-01", kind="image", sha256=aug, blob_sha=aug, media_type="image/png",
                     evidence_id="ev-aug", provenance=ProvenanceInfo(origin="augmented", generator="flip",
                                                                     parent_evidence_id="ev-01"))
        add_evidence(s, asset_id="aug-of-01", kind="log", sha256="d" * 64, text="valve checked",
                     evidence_id="ev-aug-log")
        add_label(s, asset_id="aug-of-01", kind="grade", value="C", annotator="expert-1")
    with ws.session(readonly=True) as s:
        assert golden_copies(s, ids[:4]) == ["aug-of-01", "copy-of-00"]
    withdraw_evidence(ws, ["ev-copy", "ev-aug"], reason="another asset's photo", by="ana")
    with ws.session(readonly=True) as s:
        assert golden_copies(s, ids[:4]) == []  # was ["aug-of-01", "copy-of-00"]
    seen: list[str] = []

    def fit(records: Sequence[AssetRecord]) -> TableModel:
        seen.extend(r.asset_id for r in records)
        assert all(not r.images for r in records if r.asset_id in ("copy-of-00", "aug-of-01"))
        return TableModel({"pump": "A", "valve": "C"})

    res = retrain(ws, fit=fit, loader="table", version="v1")
    assert sorted(seen) == sorted([*ids[4:], "aug-of-01", "copy-of-00"])
    assert res.model.lineage is not None and res.model.lineage["golden_copies_excluded"] == []
    reinstate_evidence(ws, ["ev-copy"], reason="it is copy-of-00's after all", by="ana")
    with ws.session(readonly=True) as s:
        assert golden_copies(s, ids[:4]) == ["copy-of-00"]

"""Hostile telemetry (NaN, infinity, huge numbers, non-mapping payloads) and triggers on tiny data."""

from __future__ import annotations

import warnings

import numpy as np

from assetgrade.lifecycle.registry import ModelRegistry
from assetgrade.lifecycle.telemetry import MAX_ABS, _num, station_drift
from assetgrade.lifecycle.triggers import RetrainPolicy, check_triggers
from assetgrade.store.auth_schema import TelemetryRecord
from assetgrade.store.results import add_prediction, add_review
from assetgrade.workspace import Workspace

from .conftest import TableModel, seed_assets


def _seed(ws: Workspace) -> None:
    rng = np.random.default_rng(0)
    with ws.session() as s:
        for b in range(4):
            for i in range(60):
                feats = {"brightness": float(rng.normal()), "blur": float(rng.normal())}
                if b == 3 and i < 5:
                    feats["brightness"] = float("inf")
                if b == 3 and 5 <= i < 10:
                    feats["blur"] = 1e308
                if b == 2 and i < 3:
                    feats["brightness"] = float("nan")
                s.add(TelemetryRecord(station="cam", kind="features", batch_id=f"b{b}", payload=feats))
                emb = [float(rng.normal()), float(rng.normal())]
                if b == 3 and i < 10:
                    emb[0] = 1e308  # squared, it overflows
                if b == 2 and i == 0:
                    emb[1] = float("nan")
                s.add(TelemetryRecord(station="edge", kind="prediction", batch_id=f"b{b}", payload={
                    "grade": "AB"[i % 2], "confidence": 1e308 if i == 1 else 0.8, "embedding": emb}))
                s.add(TelemetryRecord(station="odd", kind="prediction", batch_id=f"b{b}",
                                      payload=[1, 2] if i == 0 else {"grade": "A", "confidence": 0.7}))


def test_hostile_numbers_and_payloads_are_notes_not_crashes(ws: Workspace) -> None:
    _seed(ws)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow on the way either
        with ws.session(readonly=True) as s:
            out = {d.station: d for d in station_drift(s, batch_size=60)}
    assert sorted(out) == ["cam", "edge", "odd"]
    assert all(len(d.decisions) == 2 for d in out.values())  # batches b2 and b3 of each station are tested
    edge = out["edge"]
    assert any("10 of 60 embeddings" in n for n in edge.notes), edge.notes
    assert any("1 of 60 embeddings" in n for n in edge.notes), edge.notes
    signals = {s.signal for d in edge.decisions for s in d.signals}
    assert "embedding_mmd2" in signals and "confidence_ks" in signals
    for d in out.values():
        for dec in d.decisions:
            assert all(np.isfinite(sig.effect) for sig in dec.signals), dec.to_dict()


def test_numbers_beyond_the_limit_are_missing() -> None:
    assert _num(1.5) == 1.5 and _num(-MAX_ABS) == -MAX_ABS
    for bad in (float("nan"), float("inf"), 1e308, 10**400, True, "3", None):
        assert np.isnan(_num(bad)), bad


def test_one_overridden_review_does_not_fire_the_override_trigger(ws: Workspace) -> None:
    ids = seed_assets(ws, 4)
    reg = ModelRegistry(ws)
    reg.register(TableModel({"pump": "A", "valve": "C"}), version="v1", loader="table")
    with ws.session() as s:
        pred = add_prediction(s, ids[0], model_version="v1", grade="A", distribution={"A": 0.8, "C": 0.2},
                              conformal_set=["A"], decision="accept")
        add_review(s, ids[0], reviewer="expert-2", expected_version=1, grade="C", based_on_prediction_id=pred.id)
    with ws.session(readonly=True) as s:
        rep = check_triggers(s, champion=reg.get("v1"), policy=RetrainPolicy())
    override = {t.name: t for t in rep.triggers}["override_rate"]
    assert override.value == 1.0 and not override.fired  # 1 of 1 overridden: noise, not a reason to retrain
    assert "not tested below override_min_n=30" in override.message
    with ws.session(readonly=True) as s:  # the same single review with a bar of 1 does fire
        assert check_triggers(s, champion=reg.get("v1"), policy=RetrainPolicy(override_min_n=1)).fired

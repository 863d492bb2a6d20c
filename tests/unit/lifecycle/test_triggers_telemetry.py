"""Retraining triggers (override rate, new reviewed labels, station drift) and per-station telemetry drift."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime

import numpy as np

from assetgrade.audit.drift import DriftPolicy
from assetgrade.lifecycle.golden import freeze_golden_set
from assetgrade.lifecycle.registry import ModelInfo, ModelRegistry
from assetgrade.lifecycle.retrain import retrain
from assetgrade.lifecycle.telemetry import station_drift
from assetgrade.lifecycle.triggers import RetrainPolicy, Trigger, check_triggers, labels_cutoff
from assetgrade.store.auth_schema import TelemetryRecord
from assetgrade.store.records import AssetRecord
from assetgrade.store.results import add_prediction, add_review
from assetgrade.workspace import Workspace

from .conftest import TableModel, promote_stamped_champion, seed_assets


def _post(ws: Workspace, station: str, batches: list[list[dict[str, object]]], kind: str = "prediction") -> None:
    with ws.session() as s:
        for b, items in enumerate(batches):
            s.add_all([TelemetryRecord(station=station, kind=kind, batch_id=f"{station}-{kind}-{b}", payload=p)
                       for p in items])


def _preds(rng: np.random.Generator, n: int, p_d: float, conf: float) -> list[dict[str, object]]:
    grades = rng.choice(["A", "B", "C", "D"], size=n, p=[0.4, 0.3, 0.3 - p_d, p_d])
    return [{"grade": str(g), "confidence": float(np.clip(rng.normal(conf, 0.05), 0, 1))} for g in grades]


def test_station_drift_per_station(ws: Workspace, rng: np.random.Generator) -> None:
    # station s1 stays the same for 5 batches; s2 shifts its grade mix and confidence after 2 batches
    _post(ws, "s1", [_preds(rng, 150, 0.05, 0.8) for _ in range(5)])
    _post(ws, "s2", [_preds(rng, 150, 0.05, 0.8) for _ in range(2)] + [_preds(rng, 150, 0.25, 0.6) for _ in range(3)])
    _post(ws, "s2", [[{"brightness": float(v), "n": 150} for v in rng.normal(0.5 if b < 2 else 0.8, 0.1, 50)]
                     for b in range(5)], kind="features")
    with ws.session(readonly=True) as s:
        res = {r.station: r for r in station_drift(s, reference_batches=2, policy=DriftPolicy())}
    assert res["s1"].alarms == 0 and not res["s1"].retrain and len(res["s1"].decisions) == 3
    assert res["s2"].alarms == 6 and res["s2"].retrain  # 3 prediction + 3 feature batches
    fired = {sig.signal for d in res["s2"].decisions for sig in d.signals if sig.fired}
    assert {"grade_mix_psi", "confidence_ks", "feature_ks"} <= fired
    # the trigger report names the drifting station
    with ws.session(readonly=True) as s:
        rep = check_triggers(s, champion=None, drift=list(res.values()))
    drift = next(t for t in rep.triggers if t.name == "drift")
    assert drift.fired and drift.info["stations"] == ["s2"] and rep.fired


def test_too_few_batches_is_reported_not_tested(ws: Workspace, rng: np.random.Generator) -> None:
    _post(ws, "s1", [_preds(rng, 50, 0.05, 0.8)])
    with ws.session(readonly=True) as s:
        (r,) = station_drift(s, reference_batches=2)
    assert r.decisions == [] and "prediction: 1 batches, need more than 2" in r.notes[0]


def test_override_rate_and_new_labels(ws: Workspace) -> None:
    ids = seed_assets(ws, 24)
    with ws.session() as s:
        freeze_golden_set(s, ids[:12])
    reg = ModelRegistry(ws)
    reg.register(TableModel({"pump": "A", "valve": "C"}), version="v1", loader="table")
    reg.promote("v1")
    champ = reg.champion()
    pol = RetrainPolicy(min_new_labels=5, max_override_rate=0.3, override_min_n=10)
    with ws.session(readonly=True) as s:
        rep = check_triggers(s, champion=champ, policy=pol)
    assert not rep.fired and rep.triggers[1].value is None
    # experts review 10 of v1's predictions and change 4 grades: override 40% > 30%; 10 new reviewed labels
    with ws.session() as s:
        for i, aid in enumerate(ids[12:22]):
            pred = add_prediction(s, aid, model_version="v1", grade="A", distribution={"A": 0.8, "C": 0.2},
                                  conformal_set=["A"], decision="accept")
            add_review(s, aid, reviewer="expert-2", expected_version=1, grade="C" if i < 4 else "A",
                       based_on_prediction_id=pred.id)
    with ws.session(readonly=True) as s:
        rep = check_triggers(s, champion=champ, policy=pol)
    by = {t.name: t for t in rep.triggers}
    assert by["override_rate"].fired and by["override_rate"].value == 0.4
    assert by["new_labels"].fired and by["new_labels"].value == 10.0
    assert not by["drift"].fired
    with ws.session(readonly=True) as s:
        assert not check_triggers(s, champion=champ, policy=RetrainPolicy(min_new_labels=11,
                                                                           max_override_rate=0.5)).fired


def test_override_rate_counts_predictions_stored_under_the_models_own_version_id(ws: Workspace) -> None:
    """A champion registered as ``v7`` whose model stamps its predictions ``table-7f3a``: those are its reviews."""
    ids, reg = promote_stamped_champion(ws)
    champ = reg.champion()
    assert champ is not None and champ.model_version == "table-7f3a"
    assert champ.prediction_versions == ("table-7f3a", "v7")
    with ws.session() as s:
        for i, aid in enumerate(ids[12:22]):
            own = add_prediction(s, aid, model_version="table-7f3a", grade="A", distribution={"A": 0.8, "C": 0.2},
                                 conformal_set=["A"], decision="accept")
            add_review(s, aid, reviewer="expert-2", expected_version=1, grade="C" if i < 4 else "A",
                       based_on_prediction_id=own.id)
        other = add_prediction(s, ids[22], model_version="grader-someone-else", grade="A",
                               distribution={"A": 0.8, "C": 0.2}, conformal_set=["A"], decision="accept")
        add_review(s, ids[22], reviewer="expert-2", expected_version=1, grade="C", based_on_prediction_id=other.id)
    with ws.session(readonly=True) as s:
        rep = check_triggers(s, champion=champ, policy=RetrainPolicy(max_override_rate=0.3,
                                                                     override_min_n=10))
    by = {t.name: t for t in rep.triggers}
    assert by["override_rate"].info["n_reviews"] == 10 and by["override_rate"].value == 0.4  # not the other model's
    assert by["override_rate"].fired and rep.model_version == "v7"


def _review(ws: Workspace, asset_ids: list[str], grade: str = "C") -> None:
    with ws.session() as s:
        for aid in asset_ids:
            add_review(s, aid, reviewer="expert-2", expected_version=1, grade=grade)


def _new_labels(ws: Workspace, champ: ModelInfo | None) -> Trigger:
    with ws.session(readonly=True) as s:
        rep = check_triggers(s, champion=champ, policy=RetrainPolicy(min_new_labels=3))
    return next(t for t in rep.triggers if t.name == "new_labels")


def test_new_labels_count_from_when_the_model_was_trained_not_registered(ws: Workspace) -> None:
    """A model trained before reviews came in and registered after them: the count started at registration and
    missed the reviews its training never saw."""
    ids = seed_assets(ws, 24)
    with ws.session() as s:
        freeze_golden_set(s, ids[:12])
    model = TableModel({"pump": "A", "valve": "C"})
    model.trained_at_ = datetime.now(UTC).isoformat()  # type: ignore[attr-defined]
    _review(ws, ids[12:16])  # after training, before registration: the model never saw them
    reg = ModelRegistry(ws)
    reg.register(model, version="v1", loader="table")
    reg.promote("v1")
    champ = reg.champion()
    assert champ is not None and champ.lineage is not None and champ.lineage["trained_at"] == model.trained_at_
    trig = _new_labels(ws, champ)
    assert trig.value == 4.0 and trig.fired and trig.info["since_source"] == "trained_at"
    assert "since the champion was trained" in trig.message
    _review(ws, ids[16:17])
    assert _new_labels(ws, champ).value == 5.0


def test_new_labels_read_trained_at_from_the_bundle_of_an_older_registration(ws: Workspace) -> None:
    """A version registered before the lineage kept ``trained_at``: its bundle.json still says when it was trained."""
    import json

    ids = seed_assets(ws, 24)
    with ws.session() as s:
        freeze_golden_set(s, ids[:12])
    trained = datetime.now(UTC).isoformat(timespec="seconds")
    _review(ws, ids[12:15])
    reg = ModelRegistry(ws)
    reg.register(TableModel({"pump": "A", "valve": "C"}), version="v1", loader="table")
    bundle = ws.models_dir / "v1"
    (bundle / "bundle.json").write_text(json.dumps({"trained_at": trained}))
    champ = replace(reg.get("v1"), lineage={})
    since, source = labels_cutoff(champ)
    assert source == "trained_at" and since == datetime.fromisoformat(trained)
    assert _new_labels(ws, champ).value == 3.0
    (bundle / "bundle.json").unlink()  # nothing recorded: the registration time, after the reviews
    assert labels_cutoff(champ)[1] == "registered" and _new_labels(ws, champ).value == 0.0


def test_retrain_counts_labels_added_while_it_trained(ws: Workspace) -> None:
    """Retrain records when it read the labels: a review stored while the model was fitting is a new label."""
    ids = seed_assets(ws, 24)
    with ws.session() as s:
        freeze_golden_set(s, ids[:12])

    def fit(records: Sequence[AssetRecord]) -> TableModel:
        _review(ws, ids[12:15], grade="A")  # reviewers keep working while the model trains
        return TableModel({"pump": "A", "valve": "C"})

    res = retrain(ws, fit=fit, loader="table", version="v1", promote=True)
    assert res.promoted
    champ = ModelRegistry(ws).champion()
    assert champ is not None and champ.lineage is not None and "labels_as_of" in champ.lineage
    trig = _new_labels(ws, champ)  # counted from the audit position retrain recorded with the time
    assert trig.value == 3.0 and trig.fired and trig.info["since_source"] == "labels_seq"
    assert "since the champion's training labels were read" in trig.message

"""Hostile inputs to the lifecycle pieces the audit commands use: exports, golden freeze, station drift."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from assetgrade.audit.drift import DriftPolicy
from assetgrade.errors import ValidationError
from assetgrade.lifecycle.exports import model_documentation
from assetgrade.lifecycle.golden import freeze_golden_set
from assetgrade.lifecycle.telemetry import station_drift
from assetgrade.store.auth_schema import TelemetryRecord
from assetgrade.store.results import add_prediction, add_review
from assetgrade.store.schema import Asset
from assetgrade.workspace import Workspace

from .conftest import promote_stamped_champion, seed_assets


def test_export_counts_predictions_under_the_models_own_id(ws: Workspace) -> None:
    ids, _ = promote_stamped_champion(ws)
    with ws.session() as s:
        for i, aid in enumerate(ids[12:20]):
            p = add_prediction(s, aid, model_version="table-7f3a", grade="A", distribution={"A": 0.8, "C": 0.2},
                               conformal_set=["A"], decision="review" if i < 3 else "accept")
            if i < 2:
                add_review(s, aid, reviewer="expert-2", expected_version=1, grade="C", based_on_prediction_id=p.id)
        add_prediction(s, ids[20], model_version="v7", grade="A", distribution={"A": 0.8, "C": 0.2},
                       conformal_set=["A"], decision="accept")
        add_prediction(s, ids[21], model_version="someone-else", grade="A", distribution={"A": 0.8, "C": 0.2},
                       conformal_set=["A"], decision="review")
    h = model_documentation(ws, "v7")["human_oversight"]
    assert h["prediction_versions"] == ["table-7f3a", "v7"]
    assert (h["predictions"], h["sent_to_review"], h["reviews_of_predictions"], h["overrides"]) == (9, 3, 2, 2)


@pytest.mark.parametrize("mark", ["false", 0, "no", "maybe", False])
def test_golden_freeze_refuses_an_unclear_expert_mark(ws: Workspace, mark: Any) -> None:
    ids = seed_assets(ws, 2)
    with ws.session() as s:
        s.get(Asset, ids[0]).attributes = {"expert_labelled": mark}  # type: ignore[union-attr]
    with ws.session() as s, pytest.raises(ValidationError, match="expert_labelled") as exc:
        freeze_golden_set(s, ids)
    assert repr(mark) in str(exc.value) and ids[0] in str(exc.value)


@pytest.mark.parametrize("mark", ["true", 1, "YES", True, None])
def test_golden_freeze_admits_a_clear_yes(ws: Workspace, mark: Any) -> None:
    ids = seed_assets(ws, 2)
    with ws.session() as s:
        s.get(Asset, ids[0]).attributes = {"expert_labelled": mark}  # type: ignore[union-attr]
    with ws.session() as s:
        assert len(freeze_golden_set(s, ids).items) == 2


def _pred(station: str, batch: str, emb: list[float] | None, grade: str = "A") -> TelemetryRecord:
    payload: dict[str, Any] = {"grade": grade, "confidence": 0.9}
    if emb is not None:
        payload["embedding"] = emb
    return TelemetryRecord(station=station, kind="prediction", batch_id=batch, payload=payload)


def test_station_drift_embedding_size_change_and_tiny_batch_become_notes(ws: Workspace) -> None:
    g = np.random.default_rng(0)
    rows = [_pred("yard-2", f"b{i // 100}", g.normal(size=4 if i < 200 else 6).tolist()) for i in range(300)]
    rows += [_pred("yard-4", "b0" if i < 100 else "b1" if i < 200 else "one", g.normal(size=4).tolist())
             for i in range(201)]
    rows += [_pred("yard-1", f"b{i // 100}", None, "D" if i >= 200 and i % 2 else "A") for i in range(500)]
    with ws.session() as s:
        s.add_all(rows)
    pol = DriftPolicy(calibration_splits=10, n_permutations=200)
    with ws.session(readonly=True) as s:
        res = {r.station: r for r in station_drift(s, policy=pol)}
    assert set(res) == {"yard-1", "yard-2", "yard-4"}
    assert res["yard-1"].retrain  # the healthy stations' verdicts are kept
    two, four = res["yard-2"], res["yard-4"]
    assert len(two.decisions) == 1 and any("embeddings of size 6, the reference's are 4" in n for n in two.notes)
    assert {sig.signal for sig in two.decisions[0].signals} == {"grade_mix_psi", "confidence_ks"}
    assert len(four.decisions) == 1 and any("batch one: 1 embedding row(s)" in n for n in four.notes)


def test_station_drift_mixed_embedding_sizes_in_a_batch_is_a_note(ws: Workspace) -> None:
    g = np.random.default_rng(1)
    rows = [_pred("yard-9", f"b{i // 50}", g.normal(size=3 if i % 7 else 5).tolist()) for i in range(150)]
    with ws.session() as s:
        s.add_all(rows)
    with ws.session(readonly=True) as s:
        (res,) = station_drift(s, policy=DriftPolicy(calibration_splits=10))
    assert len(res.decisions) == 1 and any("mixed sizes [3, 5]" in n for n in res.notes)

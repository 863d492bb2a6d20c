"""Math audit of the lifecycle: golden-set pairing, retraining triggers, against hand-computed values."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from assetgrade.errors import ConflictError
from assetgrade.lifecycle.golden import freeze_golden_set, get_golden_set, golden_records, verify_golden_set
from assetgrade.lifecycle.registry import ModelRegistry
from assetgrade.store.schema import Asset
from assetgrade.workspace import Workspace

from .conftest import TableModel, seed_assets


def test_changed_asset_type_stops_the_golden_set(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    """An asset stored as ``unknown`` and typed by a later ingest is graded on other inputs and falls in
    another subgroup: a champion's cached evaluation (accuracy 0.5) would be compared with a challenger
    graded on the new type (the same model scores 0.75), so the golden set must report the change."""
    from assetgrade.lifecycle import bundles

    monkeypatch.setitem(bundles._LOADERS, "grader", TableModel.load)
    ids = seed_assets(ws, 8)
    with ws.session() as s:
        s.execute(update(Asset).where(Asset.id.in_(ids[:4])).values(asset_type="unknown"))
    with ws.session() as s:
        freeze_golden_set(s, ids)
    reg = ModelRegistry(ws)
    reg.register(TableModel({"pump": "A", "valve": "C"}), version="v1")
    assert reg.promote("v1").challenger.overall["accuracy"] == 0.5  # unknown -> B: the 2 pumps, 2 valves wrong
    with ws.session() as s:  # what ingest does when a later row gives the asset's type
        s.execute(update(Asset).where(Asset.id == ids[0], Asset.asset_type == "unknown").values(asset_type="pump"))
    with ws.session(readonly=True) as s:
        check = verify_golden_set(s, get_golden_set(s))
    assert not check.ok and check.problems == ((ids[0], "asset type changed: 'unknown' -> 'pump'"),)
    with pytest.raises(ConflictError, match=ids[0]):
        golden_records(ws)
    with pytest.raises(ConflictError, match="asset type changed"):
        reg.evaluate("v1")  # not the cached 0.5 beside a challenger graded on the new type


def test_retrain_holds_out_copies_and_derivatives_of_golden_evidence(ws: Workspace) -> None:
    """A training asset holding a golden asset's image (the same blob under another asset id) or an image
    augmented from one (provenance parent) is the golden asset seen in training: held out too."""
    from collections.abc import Sequence

    from assetgrade.lifecycle.retrain import retrain
    from assetgrade.store.records import AssetRecord
    from assetgrade.store.repository import ProvenanceInfo, add_asset, add_evidence, add_label

    from .conftest import png

    ids = seed_assets(ws, 12)
    with ws.session() as s:
        freeze_golden_set(s, ids[:4])
    with ws.session() as s:
        sha = ws.blobs.put_bytes(png(0))  # asset-00's image (golden), stored again under another asset
        add_asset(s, "copy-of-00", asset_type="pump", value=1000.0)
        add_evidence(s, asset_id="copy-of-00", kind="image", sha256=sha, blob_sha=sha, media_type="image/png",
                     evidence_id="ev-copy")
        add_label(s, asset_id="copy-of-00", kind="grade", value="A", annotator="expert-1")
        aug = ws.blobs.put_bytes(png(5001))  # augmented from asset-01's image (golden)
        add_asset(s, "aug-of-01", asset_type="valve", value=1000.0)
        add_evidence(s, asset_id="aug-of-01", kind="image", sha256=aug, blob_sha=aug, media_type="image/png",
                     evidence_id="ev-aug", provenance=ProvenanceInfo(origin="augmented", generator="flip",
                                                                     parent_evidence_id="ev-01"))
        add_label(s, asset_id="aug-of-01", kind="grade", value="C", annotator="expert-1")
    seen: list[str] = []

    def fit(records: Sequence[AssetRecord]) -> TableModel:
        seen.extend(r.asset_id for r in records)
        return TableModel({"pump": "A", "valve": "C"})

    res = retrain(ws, fit=fit, loader="table", version="v1")
    assert sorted(seen) == ids[4:]
    assert res.n_train == 8 and res.model.lineage is not None
    assert res.model.lineage["golden_copies_excluded"] == ["aug-of-01", "copy-of-00"]


def _reviewed_predictions(ws: Workspace, ids: list[str], overridden: int) -> None:
    from assetgrade.store.results import add_prediction, add_review

    with ws.session() as s:
        for i, aid in enumerate(ids):
            p = add_prediction(s, aid, model_version="v1", grade="A", distribution={"A": 0.8, "C": 0.2},
                               conformal_set=["A"], decision="accept")
            add_review(s, aid, reviewer="expert-2", expected_version=1, grade="C" if i < overridden else "A",
                       based_on_prediction_id=p.id)


def test_override_trigger_with_a_nan_golden_accuracy_is_not_tested_against_it(ws: Workspace) -> None:
    """A stored golden accuracy that is NaN (a row written before NaN was stored as null) has no error rate
    to test against: the trigger reports the rate (2 of 10) and does not fail with round(NaN)."""
    from pathlib import Path

    from assetgrade.lifecycle.triggers import RetrainPolicy, check_triggers
    from assetgrade.lifecycle.versions import ModelInfo

    ids = seed_assets(ws, 10)
    _reviewed_predictions(ws, ids, overridden=2)
    champ = ModelInfo(version="v1", status="champion", bundle_dir=Path("unused"),
                      golden={"default": {"overall": {"n": 24.0, "accuracy": float("nan")}}},
                      lineage={"labels_as_of": "2000-01-01T00:00:00+00:00"})
    with ws.session(readonly=True) as s:
        rep = check_triggers(s, champion=champ, policy=RetrainPolicy(override_min_n=10))
    t = next(t for t in rep.triggers if t.name == "override_rate")
    assert t.value == 0.2 and not t.fired and t.info["golden_error_rate"] is None and "p_value" not in t.info


def test_new_reviewed_labels_reads_a_cutoff_in_any_time_zone(ws: Workspace) -> None:
    """The same instant written in UTC and in UTC+2 counts the same labels (the store keeps UTC times)."""
    from datetime import UTC, datetime, timedelta, timezone

    from assetgrade.lifecycle.triggers import new_reviewed_labels
    from assetgrade.store.repository import add_label

    ids = seed_assets(ws, 3)
    t0 = datetime(2026, 11, 1, 12, 0, 0, 123456, tzinfo=UTC)
    with ws.session() as s:
        for i, aid in enumerate(ids):
            lb = add_label(s, asset_id=aid, kind="grade", value="B", annotator="r1", source="review")
            s.flush()
            lb.created_at = t0 + timedelta(microseconds=i)  # at the cutoff, 1 and 2 microseconds after it
    with ws.session(readonly=True) as s:
        assert new_reviewed_labels(s, t0) == 2  # strictly after the cutoff; the tie counts as read
        assert new_reviewed_labels(s, t0.astimezone(timezone(timedelta(hours=2)))) == 2
        assert new_reviewed_labels(s, t0.replace(tzinfo=None)) == 2  # naive: taken as UTC
        assert new_reviewed_labels(s, None) == 3


@pytest.mark.parametrize(("annotator", "source"), [("Model", "import"), ("expert-1", "Pseudo"), (" auto ", "import")])
def test_non_expert_label_sources_are_refused_whatever_their_case(ws: Workspace, annotator: str, source: str) -> None:
    """Annotator and source are free text (manifests): 'Model' or 'Pseudo' is as little an expert as 'model'."""
    from assetgrade.errors import ValidationError
    from assetgrade.store.repository import add_label

    seed_assets(ws, 2)
    with ws.session() as s:
        add_label(s, asset_id="asset-00", kind="grade", value="B", annotator=annotator, source=source)
    with ws.session() as s, pytest.raises(ValidationError, match="not an expert"):
        freeze_golden_set(s, ["asset-00"])


def test_override_trigger_tests_a_rise_one_sided(ws: Workspace) -> None:
    """13 overrides in 60 reviews against a golden error of 20 in 200: h = 0.32, one-sided p = 0.0086 < alpha 0.01
    (the two-sided 0.0173 missed it, so the trigger tested at alpha / 2); the rate 21.7 % is under the 25 % cap."""
    from pathlib import Path

    from assetgrade.lifecycle.triggers import RetrainPolicy, check_triggers
    from assetgrade.lifecycle.versions import ModelInfo

    ids = seed_assets(ws, 60)
    _reviewed_predictions(ws, ids, overridden=13)
    champ = ModelInfo(version="v1", status="champion", bundle_dir=Path("unused"),
                      golden={"default": {"overall": {"n": 200.0, "accuracy": 0.9}}},
                      lineage={"labels_as_of": "2000-01-01T00:00:00+00:00"})
    with ws.session(readonly=True) as s:
        rep = check_triggers(s, champion=champ, policy=RetrainPolicy(override_min_n=30, max_override_rate=0.25))
    t = next(t for t in rep.triggers if t.name == "override_rate")
    assert round(t.info["p_value"], 4) == 0.0086 and t.fired


def test_two_proportion_test_one_sided_is_half_the_two_sided_for_a_rise_and_large_for_a_fall() -> None:
    from scipy.stats import fisher_exact

    from assetgrade.audit.drift_stats import two_proportion_test
    from assetgrade.errors import ValidationError

    _, _, two = two_proportion_test(20, 200, 13, 60)
    _, _, one = two_proportion_test(20, 200, 13, 60, alternative="greater")
    assert one == pytest.approx(two / 2)
    assert two_proportion_test(20, 200, 2, 60, alternative="greater")[2] > 0.9  # a fall is no evidence of a rise
    small = two_proportion_test(1, 20, 3, 4, alternative="greater")[2]  # Fisher's branch, one-sided
    assert small == pytest.approx(fisher_exact([[1, 19], [3, 1]], alternative="less").pvalue)
    with pytest.raises(ValidationError, match="alternative"):
        two_proportion_test(1, 2, 1, 2, alternative="less")

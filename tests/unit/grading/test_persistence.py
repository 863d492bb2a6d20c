"""Saving and loading the Grader; recording grades as predictions + audit events."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from assetgrade.errors import NotFoundError, ValidationError
from assetgrade.grader import Grader, record_grades
from assetgrade.store.records import AssetRecord
from assetgrade.workspace import Workspace


def test_save_load_round_trip_gives_identical_results(grader: Grader, records: list[AssetRecord],
                                                      tmp_path: Path) -> None:
    before = grader.grade_many(records[:10])
    path = grader.save(tmp_path / "g")
    info = json.loads((path / "bundle.json").read_text())
    assert info["manifest_hash"] == grader.manifest_hash_ and info["model_version"] == grader.version_
    assert info["ontology_version"] == grader.ontology_version_ and info["code_version"].startswith("0.")
    assert set(info["extractors"]) == {"vision", "text", "sensors"} and "accuracy" in info["metrics"]
    loaded = Grader.load(path)
    after = loaded.grade_many(records[:10])
    assert [a.to_dict() for a in before] == [b.to_dict() for b in after]
    assert loaded.version_ == grader.version_ and len(loaded.cache) == 10 * 3


def test_load_refuses_a_changed_pickle(grader: Grader, tmp_path: Path) -> None:
    path = grader.save(tmp_path / "g")
    data = bytearray((path / "grader.pkl").read_bytes())
    data[-2] ^= 0xFF
    (path / "grader.pkl").write_bytes(bytes(data))
    with pytest.raises(ValidationError, match="sha256"):
        Grader.load(path)
    with pytest.raises(NotFoundError):
        Grader.load(tmp_path / "nowhere")



def test_load_refuses_an_edited_bundle_description(grader: Grader, tmp_path: Path) -> None:
    import json

    path = grader.save(tmp_path / "g")
    info = json.loads((path / "bundle.json").read_text())
    assert Grader.load(path).version_ == info["model_version"]
    info["model_version"] = "grader-000000000000"
    (path / "bundle.json").write_text(json.dumps(info))
    with pytest.raises(ValidationError, match=r"bundle\.json says model_version 'grader-000000000000'"):
        Grader.load(path)


def test_record_grades_writes_predictions_and_audit_events(grader: Grader, records: list[AssetRecord],
                                                           tmp_ws: Workspace) -> None:
    from assetgrade.store.audit import list_events, verify_chain
    from assetgrade.store.repository import add_asset
    from assetgrade.store.results import latest_prediction

    results = grader.grade_many(records[:4])
    with tmp_ws.session() as s:
        for r in records[:4]:
            add_asset(s, r.asset_id, asset_type=r.asset_type)
    record_grades(tmp_ws, results, model_version=grader.version_, grader=grader, records=records[:4])
    with tmp_ws.session(readonly=True) as s:
        for res in results:
            p = latest_prediction(s, res.asset_id)
            assert p is not None and p.grade == res.grade and p.model_version == grader.version_
            assert p.payload["versions"]["inputs"] == res.versions["inputs"]
            rec = next(r for r in records if r.asset_id == res.asset_id)
            overlays = p.payload["overlays"]  # the review UI's heat maps, one per image, as PNG blobs
            assert set(overlays) == {ref.evidence_id for ref in rec.images}
            png = tmp_ws.blobs.get_bytes(next(iter(overlays.values())))
            assert png[:8] == b"\x89PNG\r\n\x1a\n"
        events = list_events(s, action="grade.decision")
        assert len(events) == 4
        ev = events[0].payload
        assert ev["inputs_sha256"] == results[0].versions["inputs"]
        assert ev["ontology_version"] == grader.ontology_version_ and ev["model_version"] == grader.version_
        assert verify_chain(s).ok


def test_a_bundle_of_classes_this_release_lacks_is_refused_naming_both_releases(tmp_path: Path) -> None:
    from assetgrade.grading.bundle import code_version, load_bundle, save_bundle

    path = save_bundle({"x": 1}, {"code_version": "0.0.1+gdeadbeef0000"}, tmp_path / "g")
    info = json.loads((path / "bundle.json").read_text())
    # a pickle naming a module an older release had (protocol 0: GLOBAL, empty args, NEWOBJ, STOP)
    old = b"cassetgrade.fusion.stacking_v0\nStackedFuser\n)\x81."
    (path / "grader.pkl").write_bytes(old)
    info["pickle_sha256"] = hashlib.sha256(old).hexdigest()
    (path / "bundle.json").write_text(json.dumps(info))
    with pytest.raises(ValidationError) as err:  # was a bare ModuleNotFoundError from pickle
        load_bundle(path)
    assert "0.0.1+gdeadbeef0000" in str(err.value) and code_version() in str(err.value)
    assert err.value.where == str(path / "grader.pkl")

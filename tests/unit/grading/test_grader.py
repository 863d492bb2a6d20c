"""The Grader end to end on tiny assets: contract per extractor, results, missing modalities, contradictions."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from assetgrade.errors import ValidationError
from assetgrade.grader import Grader
from assetgrade.grading.training import ensure_builtin_extractors
from assetgrade.store.records import AssetRecord

from .conftest import GRADES, make_records, tiny_grader


def _check_result(r, grader: Grader) -> None:  # type: ignore[no-untyped-def]
    assert set(r.probabilities) == set(GRADES)
    assert abs(sum(r.probabilities.values()) - 1.0) < 1e-6
    assert r.grade in GRADES and r.decision in ("accept", "review")
    assert r.conformal_set and set(r.conformal_set) <= set(GRADES)
    assert r.reasons, "every decision says why"
    assert r.versions["model"] == grader.version_
    assert r.versions["manifest"] == grader.manifest_hash_
    assert r.versions["ontology"] == grader.ontology_version_
    assert len(r.versions["inputs"]) == 64


@pytest.fixture(scope="module")
def text_grader(records: list[AssetRecord]) -> Grader:
    """A text-only Grader trained once for the tests below that read it (grading uses only its cache)."""
    return tiny_grader(extractors=["text"]).fit(records)


@pytest.mark.parametrize("name", ensure_builtin_extractors())
def test_every_registered_extractor_works_through_the_grader(
    name: str, records: list[AssetRecord], request: pytest.FixtureRequest
) -> None:
    assert name in ensure_builtin_extractors()
    g = request.getfixturevalue("text_grader") if name == "text" else tiny_grader(extractors=[name]).fit(records)
    assert g.modalities_ == [name]
    results = g.grade_many(records[:6])
    for r in results:
        _check_result(r, g)
        assert [e.modality for e in r.evidence] == [name] and r.evidence[0].present
    assert 0.0 <= g.metrics_["accuracy"] <= 1.0 and "per_modality" in g.metrics_
    ex = g.extractors_[name]
    assert [n for n in g.notes_ if n.startswith(f"{name}: ")] == [f"{name}: {n}" for n in getattr(ex, "fit_notes_", [])]


def test_fused_grader_learns_the_tiny_task_out_of_fold(grader: Grader) -> None:
    m = grader.metrics_
    assert grader.modalities_ == ["vision", "text", "sensors"]
    assert m["n"] == 32 and m["accuracy"] >= 0.75
    assert m["calibration"] in ("temperature", "isotonic", "none")
    assert set(m["per_modality"]) == {"vision", "text", "sensors"}
    assert 0.0 <= m["coverage"] <= 1.0 and 1.0 <= m["mean_set_size"] <= 4.0


def test_grade_many_matches_grade_and_uses_the_cache(grader: Grader, records: list[AssetRecord]) -> None:
    grader.cache.clear()
    batch = grader.grade_many(records[:8])
    hits_before = grader.cache.hits
    again = grader.grade_many(records[:8])
    assert grader.cache.hits - hits_before == 8 * 3  # one cached row per asset and modality
    assert [a.to_dict() for a in batch] == [b.to_dict() for b in again]
    assert grader.grade(records[3]).to_dict() == batch[3].to_dict()


def test_missing_modalities_at_grade_time(grader: Grader, record_factory: Callable[..., AssetRecord]) -> None:
    only_text = record_factory("m1", image_level=None, text_grade="C", series_level=None)
    nothing = record_factory("m2", image_level=None, text_grade=None, series_level=None)
    r1, r2 = grader.grade_many([only_text, nothing])
    _check_result(r1, grader)
    assert {e.modality: e.present for e in r1.evidence} == {"vision": False, "text": True, "sensors": False}
    assert r1.most_likely in ("C", "D")
    # no evidence at all: the training grade mix and a review, never a confident grade
    assert r2.decision == "review" and "no usable evidence" in r2.reasons[0]
    assert max(r2.probabilities.values()) < 0.5 and len(r2.conformal_set) >= 2


def test_image_and_log_disagreeing_is_flagged_and_reviewed(
    grader: Grader, record_factory: Callable[..., AssetRecord]
) -> None:
    clean_but_failed = record_factory("c1", image_level=0, text_grade="D", series_level=None, seed=5)
    agree = record_factory("c2", image_level=0, text_grade="A", series_level=0, seed=6)
    r, ok = grader.grade_many([clean_but_failed, agree])
    assert r.contradictions, "a clean image with a 'failed' log must be flagged"
    c = r.contradictions[0]
    assert set(c.modalities) == {"vision", "text"} and c.gap >= 2
    assert r.decision == "review" and any(x.startswith("contradiction:") for x in r.reasons)
    assert not ok.contradictions


def test_image_quality_flags_are_surfaced(grader: Grader, record_factory: Callable[..., AssetRecord]) -> None:
    dark = record_factory("q1", image_level=0, text_grade="A", series_level=0, seed=7, dark=True)
    r = grader.grade(dark)
    assert any("underexposed" in f for f in r.quality_flags)
    assert any(x.startswith("data quality:") and "underexposed" in x for x in r.reasons)
    assert r.decision == "review"


def test_a_learned_quality_flag_does_not_force_review_on_its_own(
    grader: Grader, record_factory: Callable[..., AssetRecord], monkeypatch: pytest.MonkeyPatch
) -> None:
    import assetgrade.grader as grader_module

    seen: list[list[str]] = []
    real = grader_module.decide_asset
    monkeypatch.setattr(grader_module, "decide_asset",
                        lambda *a, **k: seen.append(list(k["image_flags"])) or real(*a, **k))
    dark = record_factory("q1", image_level=0, text_grade="A", series_level=0, seed=7, dark=True)
    assert "underexposed" not in grader.accounted_flags()  # too few dark training photos to learn from
    grader.grade(dark)
    assert any("underexposed" in f for f in seen[-1])  # passed to the decision: it can send to review
    monkeypatch.setattr(grader.extractors_["vision"], "learned_flags_", ("underexposed",), raising=False)
    assert grader.accounted_flags() == frozenset({"underexposed"})
    r = grader.grade(dark)
    assert not any("underexposed" in f for f in seen[-1])  # learned: not a review reason on its own
    assert any("underexposed" in f for f in r.quality_flags)  # still listed in the result


def test_explain_names_grade_decision_and_evidence(grader: Grader, records: list[AssetRecord]) -> None:
    r = grader.grade(records[2])
    text = grader.explain(r)
    assert f"grade {r.grade}" in text and r.decision.upper() in text
    assert "vision" in text and "text" in text and "sensors" in text and "Versions:" in text
    from assetgrade.grading.report import render_report

    assert "Model figures (out-of-fold on 32 training assets)" in render_report(r, records[2], grader)


def test_grade_by_id_needs_a_workspace(grader: Grader) -> None:
    with pytest.raises(ValidationError, match="workspace"):
        grader.grade("t001")


def test_fit_refuses_too_few_labelled_assets() -> None:
    recs = make_records(8)
    unlabelled = [AssetRecord(r.asset_id, images=r.images, logs=r.logs, series=r.series) for r in recs]
    with pytest.raises(ValidationError, match="groups"):
        tiny_grader(extractors=["text"]).fit(unlabelled[:1] + recs[:1])


def test_modality_labels_by_asset_id_reach_the_extractor(records: list[AssetRecord]) -> None:
    # the text extractor learns 'A' for every asset: its own distribution then always says A
    own = {"text": {r.asset_id: "A" if i % 2 else "B" for i, r in enumerate(records)}}
    g = tiny_grader(extractors=["text"]).fit(records, modality_labels=own)
    assert g.extractor_info_["text"]["labels"] == "own modality labels"
    probs = g.grade(records[0]).evidence[0].probabilities
    assert probs is not None and set(np.flatnonzero([v > 0.01 for v in probs.values()]).tolist()) <= {0, 1}


def test_split_calibration_on_held_out_assets(records: list[AssetRecord]) -> None:
    cal = make_records(16, seed=7)
    cal = [AssetRecord(f"c{r.asset_id}", r.asset_type, images=r.images, logs=r.logs, series=r.series, grade=r.grade)
           for r in cal]
    g = tiny_grader(extractors=["text", "sensors"]).fit(records, calibration=cal)
    assert g.metrics_["evaluated_on"] == "calibration set (16 assets)" and g.metrics_["n"] == 16
    assert g.conformal_.n_calibration_ == 16 and g.n_calibration_ == 16
    assert g.oof_["asset_ids"] == [r.asset_id for r in cal]
    assert g.metrics_["accuracy"] >= 0.75
    from assetgrade.grading.report import render_report

    html = render_report(g.grade(records[0]), records[0], g)  # the report's footer says where its figures come from
    assert "Model figures (on the calibration set (16 assets))" in html and "out-of-fold on" not in html


def test_latent_fusion_from_config_settings_grades_and_survives_a_missing_modality(
    records: list[AssetRecord], record_factory: Callable[..., AssetRecord], grader: Grader, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    # the session's grader fuses with the default ("auto"), which is the latent table on modalities that all give
    # distributions: its grading is that of the latent setting; the monotone fit below reads the setting itself
    g = grader
    assert g.fuser_.model == "auto" and g.fuser_.model_ == "latent"
    assert g.fuser_.table_.rubric().shape == (4, 4, 4, 4)
    assert g.metrics_["accuracy"] >= 0.75
    for r in g.grade_many(records[:4]):
        _check_result(r, g)
    only_text = record_factory("solo", image_level=None, text_grade="C", series_level=None)
    r = g.grade(only_text)
    _check_result(r, g)
    assert {e.modality: e.present for e in r.evidence} == {"vision": False, "text": True, "sensors": False}
    assert r.most_likely in ("C", "D")
    # the joint reading names only the present modality, and travels with the result
    assert r.reading is not None and set(r.reading["levels"]) == {"text"}
    assert abs(sum(r.reading["grade_mix"].values()) - 1) < 1e-9 and 0 < r.reading["probability"] <= 1
    full = g.grade(records[5])
    assert full.reading is not None and set(full.reading["levels"]) == {"vision", "text", "sensors"}
    assert type(full).from_dict(full.to_dict()) == full
    assert "Joint reading: vision " in g.explain(full)
    again = Grader.load(g.save(tmp_path / "latent"))
    assert again.grade(records[5]).to_dict() == g.grade(records[5]).to_dict()
    info = g.fusion_info()
    assert info["model"] == "latent" and info["monotone"] is False and set(info["temperatures"]) == set(g.modalities_)
    mono = tiny_grader(fuser={"model": "latent", "monotone": True}).fit(records)
    assert mono.fuser_.model == "latent" and mono.fuser_.model_ == "latent"  # the setting reached the fit
    assert mono.fuser_.table_.rubric().shape == (4, 4, 4, 4) and mono.fusion_info()["model"] == "latent"
    assert mono.fuser_.table_.monotone and mono.fusion_info()["monotone_violations"] == 0
    with pytest.raises(ValidationError, match=r"Grader\.fuser"):
        tiny_grader(fuser={"modle": "latent"})
    with pytest.raises(ValidationError, match="'latent'"):
        tiny_grader(fuser={"model": "forest"})


def test_set_size_and_a_fixed_cost_threshold_are_decision_settings(
    records: list[AssetRecord], text_grader: Grader
) -> None:
    learned = text_grader  # tiny_grader(extractors=["text"]) with no decision settings
    assert learned.policy_.max_set_size == 1
    assert learned.metrics_["review_threshold_source"] == "learned (Learn-then-Test)"
    strict = tiny_grader(extractors=("text",), max_set_size=2, max_expected_cost=0.0).fit(records)
    assert strict.policy_.max_set_size == 2 and strict.policy_.threshold() == 0.0
    assert strict.metrics_["review_threshold_source"] == "fixed (max_expected_cost)"
    assert strict.version_ != learned.version_  # the decision settings are part of the model's identity
    r = strict.grade(records[1])  # a B asset: some expected cost, above a zero threshold
    assert r.decision == "review" and any("above the threshold 0" in why for why in r.reasons)
    assert learned.metrics_["auto_accept_rate"] >= strict.metrics_["auto_accept_rate"] == 0.0


def test_the_same_ontology_read_from_another_file_gives_the_same_model_version(
    records: list[AssetRecord], text_grader: Grader
) -> None:
    from importlib import resources

    from assetgrade.ontology import loads_ontology

    text = resources.files("assetgrade.ontology").joinpath("default.yaml").read_text(encoding="utf-8")
    # the module's text grader read the same text from the package's default.yaml
    assert text_grader.ontology_.source != "/copy/of/plant-a/ontology.yaml"
    fitted = [text_grader, tiny_grader(extractors=["text"], ontology=loads_ontology(
        text, source="/copy/of/plant-a/ontology.yaml")).fit(records)]
    assert fitted[0].version_ == fitted[1].version_  # a copied workspace retrains to the same model identity
    recorded = fitted[0].extractor_info_["text"]["settings"]["ontology"]
    assert recorded == f"Ontology(name='industrial-default', version='{fitted[0].ontology_version_}')"
    changed = loads_ontology(text.replace("Like new", "As new"), source="/plant-a/ontology.yaml")
    assert tiny_grader(extractors=["text"], ontology=changed).fit(records).version_ != fitted[0].version_


def test_what_an_extractor_could_not_learn_reaches_the_graders_notes() -> None:
    g = tiny_grader(extractors=["vision"]).fit(make_records(8, 0))  # two photos of grade A assets: too few
    assert g.extractors_["vision"].anomaly_ is None  # type: ignore[attr-defined]
    assert g.notes_ == ["vision: no anomaly model: 2 distinct photo(s) of grade A assets, it needs 4; anomaly_ratio "
                        "and anomaly_alarm_share read 0 (not measured) and no anomalous-region findings are made",
                        "conformal: 8 calibration assets, fewer than the 9 a 90% set needs: every prediction set "
                        "holds all grades (coverage 100% says nothing); label more assets"]

"""The sensors extractor honours the Extractor contract: fixed width, absent assets, findings, RUL."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from assetgrade.errors import NotFoundError
from assetgrade.modalities.base import EvidenceBlock, Extractor, get_extractor
from assetgrade.modalities.sensors import SensorExtractor
from assetgrade.store.loading import read_series_parquet
from assetgrade.store.records import AssetRecord, SeriesRef

from .test_health import synthetic_fleet


def record(asset: str, df: pd.DataFrame | None, rate: float | None = None) -> AssetRecord:
    if df is None:
        return AssetRecord(asset)
    # a distinct content hash per series: assets with one hash hold one file, and Grader.fit keeps
    # them in one fold group (training.linked_groups)
    return AssetRecord(asset, series=(SeriesRef(f"{asset}-s", f"sha-{asset}", load=lambda: df,
                                                sampling_rate_hz=rate),))


def test_registered_and_contract() -> None:
    ex = get_extractor("sensors")
    assert isinstance(ex, SensorExtractor)
    assert isinstance(ex, Extractor)


def test_block_fixed_width_absent_and_bad_assets(rng: np.random.Generator) -> None:
    fs = 200.0
    t = np.arange(400) / fs
    good = pd.DataFrame({"vib": np.sin(2 * np.pi * 30 * t) + rng.normal(0, 0.1, 400), "temp": 40 + t}, index=t)
    bad = good.copy()
    bad.iloc[10:200, 0] = np.nan
    recs = [record("a", good, fs), record("b", None), record("c", bad, fs), record("d", good.iloc[:3], fs)]
    ex = SensorExtractor().fit(recs[:1])
    block = ex.extract(recs)
    assert isinstance(block, EvidenceBlock)
    assert block.present.tolist() == [True, False, False, False]
    assert block.features.shape == (4, len(ex.feature_names_))
    assert np.isnan(block.features[1:]).all()
    assert "channel vib" in block.quality_flags["c"][0]
    assert "too short" in block.quality_flags["d"][0]
    row = dict(zip(block.feature_names, block.features[0], strict=True))
    assert abs(row["vib__dominant_hz"] - 30.0) < 1.0
    assert abs(row["temp__slope30"] - 1.0) < 1e-6  # 1 degree per second
    assert np.isnan(row["rul"])  # no RUL model fitted
    assert block.grade_proba is None
    assert block.unreadable == frozenset()  # bad data is a finding about the asset, kept in the evidence store

    def gone() -> pd.DataFrame:
        raise NotFoundError("blob 14ac is not in the blob store")

    damaged = SeriesRef("e-dmg", "1", load=lambda: read_series_parquet(b"PAR1 truncated"), sampling_rate_hz=fs)
    lost = ex.extract([AssetRecord("g", series=(SeriesRef("e-gone", "2", load=gone, sampling_rate_hz=fs),)),
                       AssetRecord("h", series=(damaged,))])
    assert lost.present.tolist() == [False, False] and lost.unreadable == {"g", "h"}
    assert lost.quality_flags["g"] == ["series e-gone: blob 14ac is not in the blob store"]
    assert lost.quality_flags["h"][0].startswith("series e-dmg: the stored series does not read as Parquet")


def test_rul_findings_and_grade_proba(rng: np.random.Generator) -> None:
    ex = SensorExtractor(window=10, slope_windows=(5, 10), rul_settings={"cap": 40, "n_estimators": 40})
    ex.fit_rul(synthetic_fleet(rng, 30))
    fresh, worn = synthetic_fleet(rng, 2)
    recs = [record("fresh", fresh.iloc[:15]), record("worn", worn), record("none", None)]
    block = ex.extract(recs)
    assert block.present.tolist() == [True, True, False]
    assert block.grade_proba is not None
    assert np.isnan(block.grade_proba[2]).all()
    assert np.allclose(block.grade_proba[:2].sum(axis=1), 1.0)
    col = list(block.feature_names).index("rul")
    assert block.features[0, col] > block.features[1, col]
    rul_finding = [f for f in block.findings["worn"] if f.summary.startswith("remaining useful life")]
    assert len(rul_finding) == 1 and rul_finding[0].grade_hint == "D"
    end = float(worn.index[-1])  # the estimate is as of the last reading; the whole series is no anomaly window
    assert rul_finding[0].window == (end, end)
    lo, hi = block.features[1, col + 1], block.features[1, col + 2]
    assert lo <= block.features[1, col] <= hi


def test_rul_predicted_for_the_batch_at_once_equals_one_by_one(rng: np.random.Generator) -> None:
    """The RUL columns and findings do not depend on which assets share an extract call; they equal predict()."""
    ex = SensorExtractor(window=10, slope_windows=(5, 10), rul_settings={"cap": 40, "n_estimators": 40})
    ex.fit_rul(synthetic_fleet(rng, 30))
    live = [h.iloc[: int(rng.integers(12, len(h)))] for h in synthetic_fleet(rng, 5)]
    recs = [record(f"u{i}", h) for i, h in enumerate(live)]
    recs.insert(2, record("none", None))
    block = ex.extract(recs)
    for i, r in enumerate(recs):
        one = ex.extract([r])
        assert np.array_equal(one.features[0], block.features[i], equal_nan=True)
        assert one.findings.get(r.asset_id) == block.findings.get(r.asset_id)
    col = list(block.feature_names).index("rul")
    direct = ex.rul_model_.predict(live)
    rows = [i for i, r in enumerate(recs) if r.asset_id != "none"]
    assert np.allclose(block.features[rows, col], direct.rul)
    assert np.allclose(block.features[rows, col + 1], direct.lower)
    # the model's own check is skipped only for a frame the extractor checked: same features either way
    m = ex.rul_model_
    assert np.array_equal(m.features(live[0], checked=True).to_numpy(), m.features(live[0]).to_numpy())


def test_grade_classifier_from_labels(rng: np.random.Generator) -> None:
    recs, grades = [], []
    for i in range(30):
        level = i % 2
        df = pd.DataFrame({"x": rng.normal(3.0 * level, 1.0, 60)}, index=np.arange(60.0))
        recs.append(record(f"u{i}", df))
        grades.append("A" if level == 0 else "D")
    ex = SensorExtractor().fit(recs, grades)
    block = ex.extract(recs)
    assert block.grade_proba is not None
    pred = np.where(block.grade_proba[:, 0] > block.grade_proba[:, 3], "A", "D")
    assert np.mean(pred == np.array(grades)) > 0.9


def _records_with_rul_labels(
    rng: np.random.Generator, n: int, threshold: float
) -> tuple[list[AssetRecord], list[str | None]]:
    """Live assets cut at random cycles; grade A while more than ``threshold`` cycles are left, else D."""
    recs: list[AssetRecord] = []
    grades: list[str | None] = []
    for i, h in enumerate(synthetic_fleet(rng, n)):
        cut = int(rng.integers(12, len(h)))
        recs.append(record(f"a{i}", h.iloc[:cut]))
        grades.append("A" if len(h) - cut > threshold else "D")
    return recs, grades


def test_pretrained_rul_model_is_reused_and_its_bands_learned_from_labels(rng: np.random.Generator) -> None:
    """With ``rul_model=`` the grade model reads the RUL and learns the labels' band, not the default map's."""
    from assetgrade.errors import ValidationError
    from assetgrade.modalities.sensors.health import RulModel

    with pytest.raises(ValidationError, match="rul_model is not fitted"):
        SensorExtractor(rul_model=RulModel()).fit([])
    rul = RulModel(cap=60, n_estimators=60, learning_rate=0.1, window=10, slope_windows=(5, 10))
    rul.fit(synthetic_fleet(rng, 40))
    recs, grades = _records_with_rul_labels(rng, 80, threshold=10.0)  # the default map would put 10..25 in C
    ex = SensorExtractor(window=10, slope_windows=(5, 10), rul_model=rul).fit(recs, grades)
    assert ex.rul_model_ is rul and ex.classifier_reads_rul_
    test, truth = _records_with_rul_labels(rng, 60, threshold=10.0)
    block = ex.extract(test)
    assert block.grade_proba is not None
    pred = np.where(block.grade_proba[:, 0] > block.grade_proba[:, 3], "A", "D")
    learned = float(np.mean(pred == np.array(truth)))
    col = list(block.feature_names).index("rul")
    by_map = float(np.mean([(ex._grade_map().grade_for(v) == "A") == (t == "A")
                            for v, t in zip(block.features[:, col], truth, strict=True)]))
    assert learned >= 0.85
    assert learned > by_map + 0.1  # the default RUL thresholds (100/60/25) do not match these labels
    # the RUL finding (explanations, contradictions) names the learned grade, not the default thresholds' grade
    hints = [next(f for f in block.findings[r.asset_id] if f.summary.startswith("remaining useful life"))
             for r in test]
    assert [f.grade_hint for f in hints] == [["A", "B", "C", "D"][k] for k in block.grade_proba.argmax(axis=1)]
    assert all(f.summary.endswith(f": grade {f.grade_hint}") for f in hints)


def test_grade_model_fitted_before_fit_rul_gives_way_to_the_rul_interval(rng: np.random.Generator) -> None:
    recs, grades = _records_with_rul_labels(rng, 30, threshold=20.0)
    # 40 trees, not the default 600: what is checked is which model grades, not how well the RUL is learned
    ex = SensorExtractor(window=10, slope_windows=(5, 10), rul_settings={"n_estimators": 40}).fit(recs, grades)
    assert not ex.classifier_reads_rul_
    ex.fit_rul(synthetic_fleet(rng, 20), end_rul=[0.0] * 20)
    block = ex.extract(recs[:3])
    assert block.grade_proba is not None and np.allclose(block.grade_proba.sum(axis=1), 1.0)
    col = list(block.feature_names).index("rul")
    expected = ex._grade_map().proba(block.features[:, col], block.features[:, col + 1], block.features[:, col + 2],
                                     coverage=ex.rul_model_.coverage)
    assert np.allclose(block.grade_proba, expected)


def test_extractor_saved_before_the_rul_grade_model_still_grades(rng: np.random.Generator) -> None:
    """A pickled extractor from before ``classifier_reads_rul_`` existed keeps its window-feature grade model."""
    import pickle

    recs, grades = _records_with_rul_labels(rng, 30, threshold=20.0)
    ex = SensorExtractor(window=10, slope_windows=(5, 10)).fit(recs, grades)
    expected = ex.extract(recs[:4]).grade_proba
    del ex.classifier_reads_rul_
    old = pickle.loads(pickle.dumps(ex))
    got = old.extract(recs[:4]).grade_proba
    assert got is not None and expected is not None and np.allclose(got, expected)


def _leaky_fleet(n_groups: int = 24, per: int = 4) -> tuple[list[AssetRecord], list[str | None], list[str]]:
    """Assets of one site share one noise series and a grade; across sites the series say nothing."""
    rng = np.random.default_rng(3)
    recs: list[AssetRecord] = []
    grades: list[str | None] = []
    groups: list[str] = []
    for g in range(n_groups):
        df = pd.DataFrame(rng.normal(size=(60, 4)), columns=["p", "q", "r", "s"], index=np.arange(60.0))
        grade = "A" if g % 2 else "D"
        for k in range(per):
            recs.append(record(f"s{g}-{k}", df))
            grades.append(grade)
            groups.append(f"site-{g}")
    return recs, grades, groups


def test_window_feature_penalty_chosen_per_fit_with_the_groups_given() -> None:
    from assetgrade.errors import ValidationError
    from assetgrade.modalities.base import fit_extractor
    from assetgrade.modalities.sensors.extractor import SENSOR_C_GRID

    recs, grades, groups = _leaky_fleet()
    grouped = SensorExtractor().fit(recs, grades, groups=groups)
    assert set(grouped.C_losses_) == set(SENSOR_C_GRID)
    assert min(SENSOR_C_GRID) == grouped.C_  # nothing carries across sites: the strongest penalty
    by_asset = SensorExtractor().fit(recs, grades)  # copies on both sides of a fold favour a weak penalty
    assert by_asset.C_ is not None and by_asset.C_ > grouped.C_
    assert fit_extractor(SensorExtractor(), recs, grades, groups).C_ == grouped.C_  # type: ignore[attr-defined]
    fixed = SensorExtractor(C=0.5).fit(recs, grades, groups=groups)
    assert fixed.C_ == 0.5 and fixed.C_losses_ == {}
    few = SensorExtractor().fit(recs[:20], grades[:20])  # below 30 labelled assets nothing is measured
    assert few.C_ == 1.0 and few.C_losses_ == {}
    for bad in (0, -2.0, "big", True):
        with pytest.raises(ValidationError, match=r"SensorExtractor\.C"):
            SensorExtractor(C=bad)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="groups"):
        SensorExtractor().fit(recs, grades, groups=groups[:3])


def test_rul_grade_model_keeps_its_fixed_penalty(rng: np.random.Generator) -> None:
    from assetgrade.modalities.sensors.health import RulModel

    rul = RulModel(cap=60, n_estimators=40, learning_rate=0.1, window=10, slope_windows=(5, 10))
    rul.fit(synthetic_fleet(rng, 20))
    recs, grades = _records_with_rul_labels(rng, 40, threshold=10.0)
    ex = SensorExtractor(window=10, slope_windows=(5, 10), rul_model=rul).fit(recs, grades)
    assert ex.classifier_reads_rul_ and ex.C_ == 1.0 and ex.C_losses_ == {}


def _graded_by_level(rng: np.random.Generator, scale: tuple[str, ...], per: int) -> tuple[list[AssetRecord],
                                                                                          list[str]]:
    """Assets whose one channel sits at a level that says their grade (worse grade, higher level)."""
    recs, grades = [], []
    for g, name in enumerate(scale):
        for k in range(per):
            df = pd.DataFrame({"vib": rng.normal(2.0 * g, 0.3, 60)}, index=np.arange(60.0))
            recs.append(record(f"{name}-{k}", df))
            grades.append(name)
    return recs, grades


def test_grade_distribution_on_the_scale_given(rng: np.random.Generator) -> None:
    # a label off the default scale was dropped without a word: on a three-grade scale of other
    # names the grade model learned nothing and the block had no grade distribution at all
    from assetgrade.errors import ValidationError
    from assetgrade.modalities.sensors import RulGradeMap

    scale = ("good", "fair", "poor")
    recs, grades = _graded_by_level(rng, scale, 12)
    ex = SensorExtractor(grades=scale).fit(recs, grades)
    block = ex.extract(recs)
    assert block.grade_proba is not None and block.grade_proba.shape == (len(recs), 3)
    assert [scale[j] for j in block.grade_proba.argmax(axis=1)] == grades
    with pytest.raises(ValidationError, match=r"asset 'good-0' has grade 'good', not on the scale \['A'"):
        SensorExtractor().fit(recs, grades)
    for bad in (("A",), ("A", "A"), "AB", ("A", "")):
        with pytest.raises(ValidationError, match=r"SensorExtractor\.grades"):
            SensorExtractor(grades=bad)
    with pytest.raises(ValidationError, match=r"SensorExtractor\.grade_map"):
        SensorExtractor(grades=scale, grade_map=RulGradeMap())


def test_a_grader_on_a_five_grade_scale_gets_sensor_distributions_on_it(rng: np.random.Generator,
                                                                        tmp_path: Path) -> None:
    # the Grader gave the vision extractor its scale but not the sensors one, whose five-grade
    # labels were then off the default four-grade scale
    from assetgrade.grader import Grader
    from assetgrade.ontology import load_ontology

    text = Path(load_ontology.__code__.co_filename).with_name("default.yaml").read_text(encoding="utf-8")
    extra = "  - id: E\n    name: Scrap\n    description: Only the metal is worth anything.\n\n"
    (tmp_path / "five.yaml").write_text(text.replace("severities:", extra + "severities:", 1), encoding="utf-8")
    five = load_ontology(tmp_path / "five.yaml")
    assert tuple(five.grades.names) == ("A", "B", "C", "D", "E")
    recs, grades = _graded_by_level(rng, tuple(five.grades.names), 8)
    recs = [AssetRecord(r.asset_id, series=r.series, grade=g) for r, g in zip(recs, grades, strict=True)]
    grader = Grader(extractors=["sensors"], ontology=five, folds=2, min_group_size=10).fit(recs)
    assert "sensors" in grader.extractors_, grader.notes_
    block = grader.extractors_["sensors"].extract(recs[:5])
    assert block.grade_proba is not None and block.grade_proba.shape == (5, 5)

"""TextExtractor follows the extractor contract: registry, fixed width, NaN for absent assets, grade distribution."""

from __future__ import annotations

import numpy as np
import pytest

from assetgrade.errors import ValidationError
from assetgrade.modalities.base import Extractor, fit_extractor, get_extractor
from assetgrade.modalities.text.extractor import TextExtractor
from assetgrade.store.records import AssetRecord, LogEntry


def rec(asset: str, *texts: str, grade: str | None = None) -> AssetRecord:
    return AssetRecord(asset, logs=tuple(LogEntry(f"{asset}-{i}", t) for i, t in enumerate(texts)), grade=grade)


RECORDS = [
    rec("a", "service done", "grease boom", grade="A"),
    rec("b", "replace filter", "service", grade="A"),
    rec("c", "hose leaking", "boom cracked", "pump leaking", grade="D"),
    rec("d", "cylinder leaking", "bucket broken", grade="D"),
    rec("e"),
]


def test_registry_and_protocol() -> None:
    ext = get_extractor("text", embedder="none")
    assert isinstance(ext, Extractor) and isinstance(ext, TextExtractor)


def test_block_shape_absent_rows_and_proba() -> None:
    ext = TextExtractor(embedder="none").fit(RECORDS)
    block = ext.extract(RECORDS)
    assert block.features.shape == (5, len(block.feature_names))
    assert block.present.tolist() == [True, True, True, True, False]
    assert np.isnan(block.features[4]).all()
    assert block.grade_proba is not None and block.grade_proba.shape == (5, 4)
    assert np.allclose(block.grade_proba[:4].sum(axis=1), 1.0) and np.isnan(block.grade_proba[4]).all()
    # the leaky assets lean to D, the clean ones to A
    d_col = ext.grade_names_.index("D")
    assert block.grade_proba[2, d_col] > block.grade_proba[0, d_col]
    assert {x.defect for x in block.findings["c"]} >= {"leak", "crack"}



def test_logs_without_a_readable_word_are_no_evidence() -> None:
    ext = TextExtractor(embedder="none").fit(RECORDS)
    odd = [rec("empty", ""), rec("punct", "!!!", "-"), rec("na", "n/a"), rec("zh", "泵密封泄漏"),
           rec("tags", "<br/>", "<span></span>"), rec("mixed", "!!!", "hose leaking")]
    block = ext.extract(odd)
    assert block.present.tolist() == [False, False, False, False, False, True]
    assert block.grade_proba is not None and np.isnan(block.grade_proba[:5]).all()  # not "like new" at p = 1
    for aid in ("empty", "punct", "na", "zh", "tags"):
        assert any(f.startswith("no_words:") for f in block.quality_flags[aid]), aid
    assert not any(f.startswith("no_words:") for f in block.quality_flags.get("mixed", []))


def test_no_grades_means_no_proba_and_bad_grade_rejected() -> None:
    block = TextExtractor(embedder="none").fit([r for r in RECORDS if r.logs], None).extract(RECORDS[:1])
    assert block.grade_proba is not None  # record grades were used
    ungraded = [AssetRecord(r.asset_id, logs=r.logs) for r in RECORDS]
    assert TextExtractor(embedder="none").fit(ungraded).extract(ungraded).grade_proba is None
    with pytest.raises(ValidationError, match="grade"):
        TextExtractor(embedder="none").fit(RECORDS, ["Z"] * 5)
    with pytest.raises(ValidationError, match="embedder"):
        TextExtractor(embedder="bert")
    with pytest.raises(ValidationError, match="fit"):
        TextExtractor(embedder="none").extract(RECORDS)


def leaky_records(n_groups: int = 16, per: int = 4) -> tuple[list[AssetRecord], list[str]]:
    """Assets of one group repeat the same work orders and share a grade; across groups the text says nothing."""
    rng = np.random.default_rng(0)
    words = ["zorp", "quib", "flen", "marv", "tosk", "brel", "wisp", "gand", "yolt", "crum", "pell", "snid"]
    recs, groups = [], []
    for g in range(n_groups):
        grade = ["A", "D"][int(rng.integers(0, 2))]
        text = " ".join(rng.choice(words, size=4)) + f" unit{g}x{g}"
        for k in range(per):
            recs.append(rec(f"g{g}-{k}", text, grade=grade))
            groups.append(f"site-{g}")
    return recs, groups


def test_penalty_chosen_per_fit_with_the_groups_given() -> None:
    recs, groups = leaky_records()
    grouped = TextExtractor().fit(recs, groups=groups)
    assert grouped.C_ in grouped.C_losses_ and grouped.C_losses_[grouped.C_] == min(grouped.C_losses_.values())
    assert min(grouped.C_losses_) == grouped.C_  # nothing carries across sites: the strongest penalty
    by_asset = TextExtractor().fit(recs)  # each asset its own group: copies on both sides favour a weak penalty
    assert by_asset.C_ is not None and by_asset.C_ > grouped.C_
    fixed = TextExtractor(C=0.5).fit(recs, groups=groups)
    assert fixed.C_ == 0.5 and fixed.C_losses_ == {}
    small = TextExtractor().fit(RECORDS)  # too few assets to measure anything
    assert small.C_ == 1.0 and small.C_losses_ == {}
    assert fit_extractor(TextExtractor(), recs, None, groups).C_ == grouped.C_  # type: ignore[attr-defined]


def test_bad_penalty_and_groups_rejected() -> None:
    for bad in (0, -1.0, "big", True):
        with pytest.raises(ValidationError, match=r"TextExtractor\.C"):
            TextExtractor(C=bad)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="groups"):
        TextExtractor(embedder="none").fit(RECORDS, groups=["x"])


def test_out_of_fold_fits_choose_their_penalty_like_the_deployed_fit() -> None:
    """Three groups, three folds: each out-of-fold fit sees two groups and must still measure C
    (a fallback there would train the fuser on one recipe and deploy another)."""
    from assetgrade.grading.training import out_of_fold_block

    recs, groups = leaky_records(n_groups=12, per=5)
    grade_of = {h: r.grade for r, h in zip(recs, groups, strict=True)}
    order = sorted(grade_of, key=lambda g: (str(grade_of[g]), g))
    site_of = {g: f"region-{i % 3}" for i, g in enumerate(order)}  # every region holds both grades
    sites = [site_of[g] for g in groups]
    tables: list[dict[float, float]] = []

    class Recording(TextExtractor):
        def fit(self, records, grades=None, *, groups=None):  # type: ignore[no-untyped-def, override]
            super().fit(records, grades, groups=groups)
            tables.append(self.C_losses_)
            return self

    full = fit_extractor(Recording(), recs, None, sites)
    out_of_fold_block(Recording, recs, [r.grade for r in recs], sites, names=full.feature_names,  # type: ignore[attr-defined]
                      n_classes=4, n_splits=3, seed=0)
    assert len(tables) == 4 and all(tables)


@pytest.mark.parametrize(("kw", "where"), [({"max_chars": -5}, "max_chars"), ({"max_chars": 2.5}, "max_chars"),
                                           ({"max_chars": True}, "max_chars"),
                                           ({"recurrence_window_days": "90"}, "recurrence_window_days"),
                                           ({"recurrence_window_days": float("nan")}, "recurrence_window_days")])
def test_bad_limits_from_a_settings_file_are_named(kw: dict, where: str) -> None:
    from assetgrade.modalities.text.summary import LogSummarizer
    from assetgrade.ontology import default_ontology

    with pytest.raises(ValidationError, match=f"TextExtractor.{where}"):
        TextExtractor(**kw)
    with pytest.raises(ValidationError, match=f"LogSummarizer.{where}"):
        LogSummarizer(default_ontology(), **kw)
    TextExtractor(max_chars=np.int64(100), recurrence_window_days=np.float64(30.0))  # numpy numbers are numbers


def test_full_width_letters_are_read_like_ascii() -> None:
    full = "".join(chr(ord(c) + 0xFEE0) if c != " " else "\u3000" for c in "HYD HOSE LEAKING")  # ＨＹＤ ＨＯＳＥ ...
    recs = [rec("w", full), rec("a", "HYD HOSE LEAKING")]
    ext = TextExtractor(embedder="hashing").fit(recs)
    block = ext.extract(recs)
    assert block.present.tolist() == [True, True] and "w" not in block.quality_flags  # used to be "no_words"
    assert block.findings["w"][0].defect == "leak"
    emb = ext._embed(recs)
    assert np.allclose(emb[0], emb[1])  # the same vector as the ASCII text

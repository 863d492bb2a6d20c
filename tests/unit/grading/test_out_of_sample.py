"""Out-of-sample grade distributions for label-noise audits: out-of-fold for learned assets, graded for the rest."""

from __future__ import annotations

import numpy as np

from assetgrade.grader import Grader
from assetgrade.grading.out_of_sample import label_noise_caveat, out_of_sample_proba
from assetgrade.store.records import AssetRecord

from .conftest import make_records, tiny_grader


def _unseen(n: int, prefix: str = "new") -> list[AssetRecord]:
    return [AssetRecord(f"{prefix}{r.asset_id}", r.asset_type, images=r.images, logs=r.logs, series=r.series,
                        grade=r.grade) for r in make_records(n, seed=5)]


def test_learned_assets_get_their_out_of_fold_row_and_new_ones_their_grade(grader: Grader,
                                                                           records: list[AssetRecord]) -> None:
    new = _unseen(4)
    probs, sources = out_of_sample_proba(grader, [*new[:2], *records, *new[2:]], batch=3)
    assert sources == ["graded"] * 2 + ["out-of-fold"] * len(records) + ["graded"] * 2
    oof = grader.oof_["proba"]
    assert np.allclose(probs[2:2 + len(records)], oof)  # not the in-sample grade, which saw the labels
    in_sample = np.array([[r.probabilities[g] for g in grader.grades_] for r in grader.grade_many(records)])
    assert not np.allclose(in_sample, oof)
    graded = grader.grade_many(new)
    assert np.allclose(probs[[0, 1, -2, -1]], [[r.probabilities[g] for g in grader.grades_] for r in graded])
    assert np.allclose(probs.sum(axis=1), 1.0)


def test_without_an_out_of_fold_row_a_learned_asset_has_none(records: list[AssetRecord]) -> None:
    cal = _unseen(16)
    g = tiny_grader(extractors=["text"]).fit(records, calibration=cal)  # oof_ covers the calibration set only
    probs, sources = out_of_sample_proba(g, [records[0], cal[0]])
    assert sources == ["none", "out-of-fold"] and np.isnan(probs[0]).all() and np.isfinite(probs[1]).all()
    del g.train_ids_  # a bundle saved before train_ids_ was kept: an asset outside oof_ is not known to be unseen
    assert out_of_sample_proba(g, _unseen(1, prefix="later"))[1] == ["none"]


def test_a_weak_grader_comes_with_a_caveat() -> None:
    assert label_noise_caveat(None) is None and label_noise_caveat(0.95) is None
    said = label_noise_caveat(0.627)
    assert said is not None and "wrong on 37% of its out-of-fold assets" in said and "upper bound" in said

"""An asset the grader never learned from but holding a training asset's file is not out of sample."""

from __future__ import annotations

from datetime import datetime

import numpy as np

from assetgrade.grader import Grader
from assetgrade.grading.out_of_sample import out_of_sample_proba
from assetgrade.store.records import AssetRecord, LogEntry

from .conftest import make_record


def _twin(aid: str, of: AssetRecord, *, images: bool = True, series: bool = True, logs: bool = False) -> AssetRecord:
    """A new asset (unseen id, opposite grade) holding some of ``of``'s stored files, and a log of its own."""
    own = (LogEntry(f"{aid}-log", "gearbox broken, unit failed", datetime(2025, 3, 1)),)
    return AssetRecord(aid, of.asset_type, images=of.images if images else (), series=of.series if series else (),
                       logs=of.logs if logs else own, grade="D" if of.grade != "D" else "A")


def test_an_unseen_asset_holding_a_training_file_is_not_counted_as_out_of_sample(
        grader: Grader, records: list[AssetRecord]) -> None:
    unseen = [make_record(f"new{i}", image_level=i, text_grade="ABCD"[i], series_level=i, grade="ABCD"[i],
                          seed=7000 + i) for i in range(3)]
    photo = _twin("copy-photo", records[0], series=False)  # the same stored photo (same sha256)
    series = _twin("copy-series", records[1], images=False)  # the same series file
    text = _twin("copy-text", records[2], images=False, series=False, logs=True)  # log texts do not link
    probs, sources = out_of_sample_proba(grader, [*records, photo, unseen[0], series, text, *unseen[1:]])
    n = len(records)
    assert sources == ["out-of-fold"] * n + ["shares-training-file", "graded", "shares-training-file", "graded",
                                             "graded", "graded"]
    assert np.isnan(probs[[n, n + 2]]).all()  # no out-of-sample distribution: its label's file was trained on
    assert np.isfinite(probs[[n + 1, n + 3, n + 4, n + 5]]).all()


def test_training_files_may_come_from_records_that_are_not_scored(grader: Grader,
                                                                  records: list[AssetRecord]) -> None:
    photo = _twin("copy-photo", records[5], series=False)
    fresh = make_record("fresh", image_level=1, text_grade="B", series_level=1, grade="B", seed=4242)
    _, sources = out_of_sample_proba(grader, [photo, fresh], training=records)
    assert sources == ["shares-training-file", "graded"]
    # a file shared only with another unseen asset is no training file (the grader never saw it)
    _, sources = out_of_sample_proba(grader, [fresh, AssetRecord("c2", "pump", images=fresh.images)],
                                     training=records)
    assert sources == ["graded", "graded"]

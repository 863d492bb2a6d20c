"""TextExtractor follows the extractor contract: registry, fixed width, NaN for absent assets, grade distribution."""

from __future__ import annotations

import numpy as np
import pytest

from assetgrade.errors import ValidationError
from assetgrade.modalities.base import Extractor, get_extractor
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

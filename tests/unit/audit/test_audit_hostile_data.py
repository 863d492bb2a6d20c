"""Audit data from hostile records: synthetic logs and series without images, and odd expert_labelled marks."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from assetgrade.audit.data import AuditData, audit_data_from_records
from assetgrade.store.records import AssetRecord, LogEntry, SeriesRef


def _log(i: int, origin: str = "real") -> LogEntry:
    return LogEntry(f"ev{i}", f"note {i}", origin=origin)  # type: ignore[arg-type]


def _series(i: int, origin: str) -> SeriesRef:
    return SeriesRef(f"s{i}", "0" * 64, lambda: None, origin=origin)  # type: ignore[arg-type]


def test_records_without_images_take_their_evidence_origin() -> None:
    recs = [
        AssetRecord("real", grade="A", logs=(_log(1),)),
        AssetRecord("syn-log", grade="A", logs=(_log(2, "synthetic"),)),
        AssetRecord("aug-series", grade="B", series=(_series(3, "augmented"),)),
        AssetRecord("mixed", grade="B", logs=(_log(4), _log(5, "synthetic")), series=(_series(6, "augmented"),)),
        AssetRecord("bare", grade="B"),
    ]
    data = audit_data_from_records(recs)
    assert dict(zip(data.table["asset_id"], data.table["origin"], strict=True)) == {
        "real": "real", "syn-log": "synthetic", "aug-series": "augmented", "mixed": "synthetic", "bare": "real"}
    assert list(data.is_real) == [True, False, False, False, True]


MARKS: list[tuple[Any, bool]] = [
    (True, True), (1, True), ("true", True), ("TRUE", True), (" Yes ", True), ("1", True),
    (False, False), (0, False), ("false", False), ("False", False), ("0", False), ("no", False),
    ("maybe", False), (2, False), ([], False), ({}, False), ("", False),
]


@pytest.mark.parametrize(("mark", "expected"), MARKS)
def test_expert_labelled_mark_is_read_strictly(mark: Any, expected: bool) -> None:
    data = audit_data_from_records([AssetRecord("a", grade="A", attributes={"expert_labelled": mark})])
    assert bool(data.table["expert_labelled"].iloc[0]) is expected


def test_expert_labelled_absent_or_null_is_expert_and_table_values_are_read_the_same() -> None:
    data = audit_data_from_records([AssetRecord("a", grade="A"),
                                    AssetRecord("b", grade="A", attributes={"expert_labelled": None})])
    assert list(data.table["expert_labelled"]) == [True, True]
    t = pd.DataFrame({"item_id": list("abcd"), "asset_id": list("abcd"), "label": ["x"] * 4,
                      "expert_labelled": ["false", "yes", 0, True]})
    assert list(AuditData(t).table["expert_labelled"]) == [False, True, False, True]

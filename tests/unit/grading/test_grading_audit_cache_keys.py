"""Audit of the evidence cache's keys: every input an extractor reads is part of its row's key."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Self

import numpy as np

from assetgrade.grading.cache import EvidenceCache, asset_input_hash, extract_cached, modality_input_hash
from assetgrade.modalities.base import EvidenceBlock, Modality
from assetgrade.store.records import AssetRecord, SeriesRef


class _RateReader:
    """A sensors extractor whose only feature is the series' sampling rate (as spectral features read it)."""

    modality: Modality = "sensors"

    def __init__(self) -> None:
        self.calls = 0

    def fit(self, records: Sequence[AssetRecord], grades: Sequence[str | None] | None = None) -> Self:
        return self

    def extract(self, records: Sequence[AssetRecord]) -> EvidenceBlock:
        self.calls += 1
        rates = [[float(r.series[0].sampling_rate_hz or 0.0)] for r in records]
        return EvidenceBlock("sensors", [r.asset_id for r in records], ("rate",), np.array(rates),
                             np.ones(len(records), dtype=bool))


def test_a_corrected_sampling_rate_is_a_new_input_not_a_cache_hit() -> None:
    ref = SeriesRef("s1", "same-bytes", load=dict, sampling_rate_hz=10.0)
    rec = AssetRecord("pump-1", series=(ref,))
    fixed = replace(rec, series=(replace(ref, sampling_rate_hz=100.0),))
    # the sensors extractor's band powers and dominant frequency are computed at the series' sampling rate
    assert modality_input_hash(fixed, "sensors") != modality_input_hash(rec, "sensors")
    assert asset_input_hash(fixed) != asset_input_hash(rec)
    cache, ex = EvidenceCache(), _RateReader()
    first = extract_cached(ex, [rec], key="m", feature_names=("rate",), n_classes=4, cache=cache)
    again = extract_cached(ex, [fixed], key="m", feature_names=("rate",), n_classes=4, cache=cache)
    assert first.features.tolist() == [[10.0]] and again.features.tolist() == [[100.0]] and ex.calls == 2
    # series without a recorded rate keep the hash they had
    bare = AssetRecord("pump-1", series=(replace(ref, sampling_rate_hz=None),))
    assert modality_input_hash(bare, "sensors") == modality_input_hash(
        AssetRecord("pump-1", series=(SeriesRef("s1", "same-bytes", load=dict),)), "sensors")

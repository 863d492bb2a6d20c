"""The text and sensor extractors' final grade-model fit runs on one BLAS thread, as their C search does."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from assetgrade.modalities.sensors.extractor import SensorExtractor
from assetgrade.modalities.text.extractor import TextExtractor
from assetgrade.store.records import AssetRecord, LogEntry, SeriesRef

GRADES = ["A", "B", "C", "D"] * 3


def _blas_threads() -> set[int]:
    from threadpoolctl import threadpool_info

    return {int(i["num_threads"]) for i in threadpool_info() if i.get("user_api") == "blas"}


@pytest.fixture
def fits(monkeypatch: pytest.MonkeyPatch, machine_threads: None) -> list[set[int]]:
    """The BLAS thread counts seen by every LogisticRegression fit from now on (the real fit runs as it is)."""
    from sklearn.linear_model import LogisticRegression

    if _blas_threads() == {1}:
        pytest.skip("one core: the default BLAS is one thread already, so the limit cannot be seen")
    seen: list[set[int]] = []
    real = LogisticRegression.fit

    def fit(self: LogisticRegression, *args: Any, **kwargs: Any) -> LogisticRegression:
        seen.append(_blas_threads())
        return real(self, *args, **kwargs)

    monkeypatch.setattr(LogisticRegression, "fit", fit)
    return seen


def test_the_text_extractors_final_fit_runs_on_one_blas_thread(fits: list[set[int]]) -> None:
    # it ran on OpenBLAS's default threads (two on the 2-core machine), slower than one (docs/performance.md)
    before = _blas_threads()
    words = {"A": "inspected ok", "B": "minor wear noted", "C": "hyd hose leaking", "D": "cracked housing seized"}
    recs = [AssetRecord(f"a{i}", logs=(LogEntry(f"e{i}", f"{words[g]} unit {i}"),), grade=g)
            for i, g in enumerate(GRADES)]
    ex = TextExtractor(embedder="hashing", C=1.0).fit(recs)
    assert ex.classifier_ is not None and fits == [{1}], fits  # C given: the final fit only
    assert _blas_threads() == before


def test_the_sensor_extractors_final_fit_runs_on_one_blas_thread(fits: list[set[int]]) -> None:
    before = _blas_threads()
    rng = np.random.default_rng(0)

    def frame(level: float) -> pd.DataFrame:
        return pd.DataFrame({"vib": level + rng.normal(size=100)}, index=np.arange(100.0))

    recs = [AssetRecord(f"p{i}", series=(SeriesRef(f"s{i}", "0", load=lambda f=frame("ABCD".index(g)): f),))
            for i, g in enumerate(GRADES)]
    ex = SensorExtractor().fit(recs, GRADES)  # C="auto" below 30 assets: C = 1, no search
    assert ex.classifier_ is not None and fits == [{1}], fits
    assert _blas_threads() == before

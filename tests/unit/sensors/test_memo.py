"""The sensors memo: what fold extractors of one training run share, and that it changes no value."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from assetgrade.errors import ValidationError
from assetgrade.modalities.sensors import SensorExtractor
from assetgrade.modalities.sensors.health import RulModel
from assetgrade.modalities.sensors.memo import SeriesMemo
from assetgrade.store.records import AssetRecord, SeriesRef

from .test_health import synthetic_fleet


def test_memo_computes_once_remembers_chosen_errors_and_keeps_its_byte_budget() -> None:
    memo = SeriesMemo(max_bytes=2500)
    calls: list[str] = []

    def frame(tag: str, rows: int) -> pd.DataFrame:
        calls.append(tag)
        return pd.DataFrame({"x": np.zeros(rows)})

    a = memo.get("a", lambda: frame("a", 100))  # 932 bytes with its index
    assert memo.get("a", lambda: frame("again", 100)) is a and calls == ["a"] and (memo.hits, memo.misses) == (1, 1)

    def bad() -> pd.DataFrame:
        calls.append("bad")
        raise ValidationError("series e9 too short", where="e9")

    for _ in range(2):
        with pytest.raises(ValidationError, match="e9 too short"):
            memo.get("bad", bad, remember=(ValidationError,))
    assert calls.count("bad") == 1  # a remembered error is raised again without computing
    with pytest.raises(KeyError):
        memo.get("other", lambda: {}["missing"], remember=(ValidationError,))
    assert "other" not in memo._items  # an error not asked for is not stored

    memo.get("b", lambda: frame("b", 100))
    memo.get("c", lambda: frame("c", 100))  # over 2500 bytes: the least recently used ("a") goes
    assert "a" not in memo._items and memo.nbytes <= memo.max_bytes
    memo.get("huge", lambda: frame("huge", 10_000))  # larger than the whole budget: returned, not kept
    assert "huge" not in memo._items and "c" in memo._items
    memo.clear()
    assert len(memo) == 0 and memo.nbytes == 0


class _Counting:
    """A series loader that counts its calls."""

    def __init__(self, df: pd.DataFrame) -> None:
        self.df, self.calls = df, 0

    def __call__(self) -> pd.DataFrame:
        self.calls += 1
        return self.df


def _fleet_records(rng: np.random.Generator, n: int) -> tuple[list[AssetRecord], list[str], list[_Counting]]:
    recs, grades, loaders = [], [], []
    for i, h in enumerate(synthetic_fleet(rng, n)):
        cut = int(rng.integers(12, len(h)))
        live = h.iloc[:cut].copy()
        live.insert(0, "setting1", rng.normal(0, 1e-3, cut))  # an operating setting: a per-fit regime normaliser
        if i == 3:
            live = live.iloc[:3]  # too short for the extractor: flagged, absent
        loader = _Counting(live)
        loaders.append(loader)
        recs.append(AssetRecord(f"u{i}", series=(SeriesRef(f"s{i}", f"sha{i}", load=loader),)))
        grades.append("A" if len(h) - cut > 15 else "D")
    return recs, grades, loaders


def _same(a: object, b: object) -> None:
    from assetgrade.modalities.base import EvidenceBlock

    assert isinstance(a, EvidenceBlock) and isinstance(b, EvidenceBlock)
    assert a.feature_names == b.feature_names
    assert np.array_equal(a.features, b.features, equal_nan=True)
    assert np.array_equal(a.present, b.present)
    assert a.findings == b.findings and a.quality_flags == b.quality_flags
    assert (a.grade_proba is None) == (b.grade_proba is None)
    if a.grade_proba is not None:
        assert np.array_equal(a.grade_proba, b.grade_proba, equal_nan=True)


def test_fold_extractors_sharing_a_memo_give_the_values_they_give_alone(rng: np.random.Generator) -> None:
    """As the Grader's training uses it: a fit on everything, then fits on folds, all with one memo."""
    rul = RulModel(cap=40, n_estimators=20, window=10, slope_windows=(5, 10)).fit(synthetic_fleet(rng, 15))
    recs, grades, loaders = _fleet_records(rng, 15)
    folds = [np.arange(15) % 3 != k for k in range(3)]

    def run(memo: SeriesMemo | None) -> list[object]:
        out = []
        for keep in [np.ones(15, bool), *folds]:
            ex = SensorExtractor(window=10, slope_windows=(5, 10), rul_model=rul).use_memo(memo)
            tr = [r for r, k in zip(recs, keep, strict=True) if k]
            ex.fit(tr, [g for g, k in zip(grades, keep, strict=True) if k])
            assert ex.normalizer_ is not None  # the part that differs per fit is still fitted per fit
            out.append(ex.extract([r for r, k in zip(recs, keep, strict=True) if not k] or recs))
        return out

    alone = run(None)
    loads_alone = sum(ld.calls for ld in loaders)
    memo = SeriesMemo()
    shared = run(memo)
    for a, b in zip(alone, shared, strict=True):
        _same(a, b)
    assert "too short" in shared[0].quality_flags["u3"][0]  # a bad series is reported by every fit, as alone
    # with the memo each series is loaded once for fit's channel survey and once for extraction
    assert sum(ld.calls for ld in loaders) - loads_alone == 2 * len(recs) < loads_alone
    assert memo.hits > 0


def test_memo_keys_hold_what_the_values_depend_on(rng: np.random.Generator) -> None:
    """Extractors with other settings or another RUL model sharing one memo never read each other's values."""
    recs, grades, _ = _fleet_records(rng, 12)
    memo = SeriesMemo()
    rul_a = RulModel(cap=40, n_estimators=10, window=10, slope_windows=(5, 10)).fit(synthetic_fleet(rng, 12))
    rul_b = RulModel(cap=40, n_estimators=10, window=10, slope_windows=(5, 10), seed=1).fit(synthetic_fleet(rng, 12))
    for kw in ({"rul_model": rul_a}, {"rul_model": rul_b}, {"min_length": 40}, {}):
        with_memo = SensorExtractor(window=10, slope_windows=(5, 10), **kw).use_memo(memo).fit(recs, grades)
        alone = SensorExtractor(window=10, slope_windows=(5, 10), **kw).fit(recs, grades)
        _same(with_memo.extract(recs), alone.extract(recs))


def test_a_rul_model_refitted_in_place_is_not_served_its_old_inputs(rng: np.random.Generator) -> None:
    recs, grades, _ = _fleet_records(rng, 12)
    memo = SeriesMemo()
    rul = RulModel(cap=40, n_estimators=10, window=10, slope_windows=(5, 10)).fit(synthetic_fleet(rng, 12))
    SensorExtractor(window=10, slope_windows=(5, 10), rul_model=rul).use_memo(memo).fit(recs, grades).extract(recs)
    rul.fit(synthetic_fleet(np.random.default_rng(7), 12))  # the same object (same id), another fleet
    with_memo = SensorExtractor(window=10, slope_windows=(5, 10), rul_model=rul).use_memo(memo).fit(recs, grades)
    alone = SensorExtractor(window=10, slope_windows=(5, 10), rul_model=rul).fit(recs, grades)
    _same(with_memo.extract(recs), alone.extract(recs))


def test_a_kept_extractor_holds_no_memo(rng: np.random.Generator) -> None:
    from assetgrade.grading.cache import share_memos, unshare_memos

    recs, grades, _ = _fleet_records(rng, 8)
    shared: dict[str, object] = {}
    ex, other = SensorExtractor(window=10, slope_windows=(5, 10)), SensorExtractor(window=10, slope_windows=(5, 10))
    share_memos(ex, shared)
    share_memos(other, shared)
    assert isinstance(shared["sensors:series"], SeriesMemo) and ex._memo is other._memo
    ex.fit(recs, grades)
    assert len(shared["sensors:series"]) > 0
    unshare_memos(ex)
    assert ex._memo is None and b"SeriesMemo" not in pickle.dumps(ex)

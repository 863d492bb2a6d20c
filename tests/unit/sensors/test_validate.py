"""Bad series give clear errors naming the evidence id and channel, or a repair with a flag."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from assetgrade.errors import ValidationError
from assetgrade.modalities.sensors.validate import check_series, longest_nan_run


def frame(n: int = 50, **cols: np.ndarray) -> pd.DataFrame:
    data = cols or {"a": np.arange(n, dtype=float)}
    return pd.DataFrame(data, index=np.arange(len(next(iter(data.values()))), dtype=float))


def test_long_nan_run_names_evidence_and_channel() -> None:
    a = np.arange(100.0)
    a[20:35] = np.nan
    with pytest.raises(ValidationError, match=r"series ev-7:channel a") as exc:
        check_series(frame(a=a, b=np.ones(100)), evidence_id="ev-7")
    assert "15 missing values in a row from row 20" in exc.value.reason


def test_short_gap_is_repaired_and_flagged() -> None:
    a = np.arange(100.0)
    a[[10, 11, 50]] = np.nan
    c = check_series(frame(a=a), evidence_id="ev-1")
    assert c.frame["a"].to_numpy() == pytest.approx(np.arange(100.0))
    assert c.flags == ["ev-1:a: 3 missing value(s) filled by interpolation"]


def test_mostly_missing_channel_is_misaligned() -> None:
    b = np.arange(100.0)
    b[::2] = np.nan  # sampled on every other time stamp: misaligned with channel a
    with pytest.raises(ValidationError, match=r"channel b.*misaligned"):
        check_series(frame(a=np.arange(100.0), b=b), evidence_id="e")


def test_constant_channel_is_flagged_not_fatal() -> None:
    c = check_series(frame(a=np.arange(20.0), k=np.full(20, 4.0)), evidence_id="e")
    assert "e:k: constant channel" in c.flags


def test_several_constant_channels_are_one_flag() -> None:
    c = check_series(frame(a=np.arange(20.0), k=np.full(20, 4.0), m=np.full(20, -1.0), z=np.zeros(20)),
                     evidence_id="e")
    assert c.flags == ["e: 3 constant channels: k, m, z"]  # a reviewer read eight near-identical flags per series


def test_too_short_series() -> None:
    with pytest.raises(ValidationError, match="too short: 3 rows"):
        check_series(frame(a=np.ones(3)), evidence_id="e", min_length=5)


def test_non_monotonic_and_duplicated_time() -> None:
    df = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0, 5.0]}, index=[0.0, 1.0, 3.0, 2.0, 4.0])
    with pytest.raises(ValidationError, match="not increasing at row 3"):
        check_series(df, evidence_id="e", min_length=2)
    df.index = [0.0, 1.0, 1.0, 2.0, 3.0]
    with pytest.raises(ValidationError, match="duplicated time stamp at row 2"):
        check_series(df, evidence_id="e", min_length=2)


def test_missing_required_channel_and_not_a_frame() -> None:
    with pytest.raises(ValidationError, match=r"channel\(s\) \['vib'\] missing"):
        check_series(frame(), evidence_id="e", channels=["vib"])
    with pytest.raises(ValidationError, match="expected a pandas DataFrame"):
        check_series(np.ones(10), evidence_id="e")


def test_datetime_index_becomes_seconds() -> None:
    idx = pd.date_range("2024-01-01", periods=10, freq="1min")
    c = check_series(pd.DataFrame({"a": np.arange(10.0)}, index=idx), evidence_id="e")
    assert c.frame.index[-1] == 540.0


def test_longest_nan_run() -> None:
    assert longest_nan_run(np.array([1, np.nan, np.nan, 1, np.nan])) == (2, 1)
    assert longest_nan_run(np.ones(3)) == (0, -1)


def test_a_value_whose_square_overflows_is_refused_naming_channel_and_row() -> None:
    x = np.sin(np.arange(40.0))
    x[17] = 1e300  # finite, but its square is inf: every window statistic over it would be inf or NaN
    with pytest.raises(ValidationError, match=r"series e9:channel vib.*value 1e\+300 at row 17"):
        check_series(pd.DataFrame({"vib": x, "ok": np.cos(np.arange(40.0))}), evidence_id="e9")


def test_a_huge_sample_leaves_only_its_asset_out_and_features_stay_finite() -> None:
    from assetgrade.modalities.sensors import SensorExtractor
    from assetgrade.store.records import AssetRecord, SeriesRef

    t = np.arange(100.0)
    bad = np.sin(t)
    bad[50] = -1e200
    frames = {"bad": pd.DataFrame({"vib": bad}, index=t), "good": pd.DataFrame({"vib": np.sin(t)}, index=t)}
    recs = [AssetRecord(k, series=(SeriesRef(f"e-{k}", "0", load=lambda f=f: f),)) for k, f in frames.items()]
    block = SensorExtractor().fit(recs).extract(recs)
    assert block.present.tolist() == [False, True] and "beyond" in block.quality_flags["bad"][0]
    window_cols = [k for k, name in enumerate(block.feature_names) if name.startswith("vib__")]
    assert np.isfinite(block.features[1, window_cols]).all()


def test_the_one_lookup_path_reads_the_same_values_as_the_channel_by_channel_one() -> None:
    from assetgrade.modalities.sensors.validate import _float_block

    rng = np.random.default_rng(0)
    a, b = rng.normal(size=40), rng.normal(size=40)
    b[5:8] = np.nan
    plain = frame(a=a, b=b, k=np.full(40, 2.0))
    mixed = plain.astype({"a": "Float64"})  # a nullable column: the block is refused, each channel read alone
    assert _float_block(plain, ["a", "b", "k"]) is not None and _float_block(mixed, ["a", "b", "k"]) is None
    fast, slow = check_series(plain, evidence_id="e"), check_series(mixed, evidence_id="e")
    assert fast.flags == slow.flags and fast.frame.equals(slow.frame)

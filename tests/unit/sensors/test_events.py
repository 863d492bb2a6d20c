"""Change points, exceedances and RMS growth found with the right windows and channels."""

from __future__ import annotations

import numpy as np
import pandas as pd

from assetgrade.modalities.sensors.events import change_points, detect_events, exceedance_windows


def test_known_spike_found_with_its_window(rng: np.random.Generator) -> None:
    t = np.arange(300.0)
    vib = rng.normal(0, 1, 300)
    vib[200:206] += 15.0
    temp = rng.normal(50, 1, 300)
    df = pd.DataFrame({"vib": vib, "temp": temp}, index=t)
    ev = detect_events(df, evidence_id="e9", rms_ratio=100.0)
    spikes = [f for f in ev if "exceeded" in f.summary]
    assert len(spikes) == 1
    assert spikes[0].window == (200.0, 205.0)
    assert spikes[0].channels == ("vib",)
    assert spikes[0].evidence_id == "e9"
    assert spikes[0].modality == "sensors"


def test_change_point_position_and_none_on_noise(rng: np.random.Generator) -> None:
    x = np.r_[rng.normal(0, 1, 120), rng.normal(4, 1, 80)]
    cps = change_points(x)
    assert len(cps) == 1 and abs(cps[0] - 120) <= 2
    assert change_points(rng.normal(0, 1, 300)) == []


def test_two_level_shifts(rng: np.random.Generator) -> None:
    x = np.r_[rng.normal(0, 1, 100), rng.normal(5, 1, 100), rng.normal(-3, 1, 100)]
    cps = change_points(x)
    assert len(cps) == 2
    assert abs(cps[0] - 100) <= 2 and abs(cps[1] - 200) <= 2


def test_rms_growth_summary(rng: np.random.Generator) -> None:
    n = 200
    amp = np.r_[np.ones(160), np.full(40, 3.1)]
    vib = amp * np.sin(np.arange(n) * 0.9)
    df = pd.DataFrame({"vibration": vib}, index=np.arange(n, dtype=float))
    ev = detect_events(df, recent_window=40, baseline_window=30, z_threshold=50.0)
    rms = [f for f in ev if "RMS" in f.summary]
    assert len(rms) == 1
    assert "vibration RMS rose 3.1× over the last 40 cycles" in rms[0].summary
    assert rms[0].window == (160.0, 199.0)


def test_exceedance_windows_min_run() -> None:
    assert exceedance_windows([True, False, True, True, True], min_run=2) == [(2, 4)]
    assert exceedance_windows([False, False]) == []


def test_a_channel_constant_up_to_rounding_has_no_events_and_is_flagged() -> None:
    """C-MAPSS s6 within one unit: 21.61 everywhere, with float noise of 1e-14 after normalisation."""
    from assetgrade.modalities.sensors.validate import check_series

    rng = np.random.default_rng(0)
    x = np.full(60, 21.61) + rng.normal(0, 1e-14, 60)
    frame = pd.DataFrame({"s6": x, "s2": np.linspace(640, 645, 60) + rng.normal(0, 0.3, 60)},
                         index=np.arange(60.0))
    found = detect_events(frame)
    assert not [f for f in found if "s6" in f.channels]
    assert "e:s6: constant channel" in check_series(frame, evidence_id="e").flags


def test_each_channel_is_searched_alone(rng: np.random.Generator) -> None:
    """Events of several channels at once are each channel's own events, in channel order."""
    n = 200
    x = pd.DataFrame({"a": rng.normal(0, 1, n), "b": rng.normal(0, 1, n).cumsum(), "c": rng.normal(5, 1, n)},
                     index=np.arange(n, dtype=float))
    x.loc[100:, "a"] += 6.0
    x.loc[150:152, "c"] += 30.0
    raw = x * 2.0 + np.r_[np.ones(160), np.full(40, 3.0)][:, None]
    together = detect_events(x, channels=["c", "a", "b"], raw=raw, evidence_id="s1")
    alone = [f for c in ("c", "a", "b") for f in detect_events(x[[c]], channels=[c], raw=raw[[c]], evidence_id="s1")]
    assert together == alone and {f.channels[0] for f in together} >= {"a", "c"}

"""RUL model, conformal intervals and grade mapping on synthetic run-to-failure histories."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from assetgrade.errors import ValidationError
from assetgrade.modalities.sensors.grading import RulGradeMap
from assetgrade.modalities.sensors.health import RulModel, conformal_correction, rul_targets


def synthetic_fleet(rng: np.random.Generator, n_units: int) -> list[pd.DataFrame]:
    """Units whose wear grows exponentially to failure, seen through two noisy channels."""
    out = []
    for _ in range(n_units):
        life = int(rng.integers(60, 140))
        wear = np.exp((np.arange(life) - life) / 25.0)
        out.append(
            pd.DataFrame(
                {
                    "temp": 500 + 20 * wear + rng.normal(0, 0.8, life),
                    "vib": 1 + 3 * wear + rng.normal(0, 0.15, life),
                    "flat": np.full(life, 7.0),
                },
                index=np.arange(1.0, life + 1),
            )
        )
    return out


def test_rul_targets_capped() -> None:
    assert rul_targets(5, cap=3).tolist() == [3.0, 3.0, 2.0, 1.0, 0.0]
    assert rul_targets(3, cap=6, end=4).tolist() == [6.0, 5.0, 4.0]


def test_histories_stopped_before_failure_learn_from_their_end_rul(rng: np.random.Generator) -> None:
    """Histories cut before failure, with the life left at the cut, teach the same RUL as full runs."""
    fleet = synthetic_fleet(rng, 60)
    cut = [int(rng.integers(len(h) // 2, len(h) - 5)) for h in fleet]
    stopped = [h.iloc[:c] for h, c in zip(fleet, cut, strict=True)]
    left = [float(len(h) - c) for h, c in zip(fleet, cut, strict=True)]
    test = synthetic_fleet(rng, 60)
    at = [int(rng.integers(10, len(h))) for h in test]
    true = np.minimum(np.array([len(h) - c for h, c in zip(test, at, strict=True)], dtype=float), 40.0)
    live = [h.iloc[:c] for h, c in zip(test, at, strict=True)]
    kw = {"cap": 40, "n_estimators": 60, "learning_rate": 0.1, "window": 10, "slope_windows": (5, 10)}
    told = RulModel(**kw).fit(stopped, end_rul=left).predict(live)
    naive = RulModel(**kw).fit(stopped).predict(live)  # the same histories taken as runs to failure
    rmse_told = float(np.sqrt(np.mean((told.rul - true) ** 2)))
    rmse_naive = float(np.sqrt(np.mean((naive.rul - true) ** 2)))
    assert rmse_told < 8.0
    assert rmse_naive > rmse_told + 3.0
    assert float(np.mean(naive.rul - true)) < -3.0  # taken as failures, the cuts make every asset look worn


def test_end_rul_is_checked(rng: np.random.Generator) -> None:
    fleet = synthetic_fleet(rng, 5)
    with pytest.raises(ValidationError, match="4 values for 5 histories"):
        RulModel(n_estimators=5).fit(fleet, end_rul=[0, 0, 0, 0])
    with pytest.raises(ValidationError, match=r"end_rul\[2\]"):
        RulModel(n_estimators=5).fit(fleet, end_rul=[0, 0, -3, 0, 0])
    with pytest.raises(ValidationError, match=r"end_rul\[4\]"):
        RulModel(n_estimators=5).fit(fleet, end_rul=[0, 0, 0, 0, float("nan")])


def test_repr_names_the_training_data_and_is_stable(rng: np.random.Generator) -> None:
    """Model versions hash the repr: the same fit gives the same text, other data another."""
    fleet = synthetic_fleet(rng, 6)
    kw = {"cap": 40, "n_estimators": 5, "window": 10, "slope_windows": (5,)}
    assert "fingerprint" not in repr(RulModel(**kw))
    a, b = RulModel(**kw).fit(fleet), RulModel(**kw).fit(fleet)
    assert repr(a) == repr(b) and "histories=6" in repr(a) and " at 0x" not in repr(a)
    assert repr(RulModel(**kw).fit(fleet, end_rul=[1.0] * 6)) != repr(a)


def test_conformal_correction_reaches_coverage(rng: np.random.Generator) -> None:
    y = rng.normal(0, 1, 2000)
    # a too-narrow interval gets widened until 90% of calibration points are inside
    c = conformal_correction(y, np.full(2000, -0.5), np.full(2000, 0.5), 0.9)
    assert c > 0
    assert np.mean((y >= -0.5 - c) & (y <= 0.5 + c)) >= 0.9


def test_interval_covers_on_new_units(rng: np.random.Generator) -> None:
    train = synthetic_fleet(rng, 60)
    test = synthetic_fleet(rng, 80)
    cuts = [int(rng.integers(10, len(h))) for h in test]
    true = np.minimum(np.array([len(h) - c for h, c in zip(test, cuts, strict=True)], dtype=float), 40.0)
    m = RulModel(cap=40, coverage=0.8, n_estimators=60, learning_rate=0.1, window=10, slope_windows=(5, 10))
    m.fit(train)
    assert m.dropped_channels_ == ["flat"]
    p = m.predict([h.iloc[:c] for h, c in zip(test, cuts, strict=True)])
    cover = np.mean((true >= p.lower) & (true <= p.upper))
    assert cover >= 0.7
    assert np.sqrt(np.mean((p.rul - true) ** 2)) < 8.0  # vs 40-cycle cap: the model learned something
    assert np.all((p.health_index >= 0) & (p.health_index <= 1))
    # health index falls as the unit wears
    early, late = m.predict([test[0].iloc[:10]]), m.predict([test[0]])
    assert early.health_index[0] > late.health_index[0]


def test_fit_needs_enough_histories_and_predict_needs_fit(rng: np.random.Generator) -> None:
    with pytest.raises(ValidationError, match="at least 4"):
        RulModel().fit(synthetic_fleet(rng, 2))
    with pytest.raises(ValidationError, match="not fitted"):
        RulModel().predict(synthetic_fleet(rng, 1))


def test_bad_history_is_named(rng: np.random.Generator) -> None:
    fleet = synthetic_fleet(rng, 5)
    fleet[3].iloc[5:30, 0] = np.nan
    with pytest.raises(ValidationError, match="history 3:channel temp"):
        RulModel(n_estimators=5).fit(fleet)


def test_grade_map_thresholds_and_proba() -> None:
    m = RulGradeMap()
    assert [m.grade_for(r) for r in (125, 100, 99, 60, 30, 24, 0)] == ["A", "A", "B", "B", "C", "D", "D"]
    p = m.proba([110.0, 5.0], [100.0, 0.0], [120.0, 12.0], coverage=0.9)
    assert p.shape == (2, 4)
    assert p[0].argmax() == 0 and p[1].argmax() == 3
    assert np.allclose(p.sum(axis=1), 1.0)
    assert RulGradeMap.for_grades(["good", "fair", "poor"], cap=90).thresholds == (60.0, 30.0)
    with pytest.raises(ValidationError, match="decrease"):
        RulGradeMap(thresholds=(10.0, 20.0, 5.0))

"""DriftPolicy cross-field validation and DriftMonitor on batches it cannot fully test."""

from __future__ import annotations

import numpy as np
import pydantic
import pytest

from assetgrade.audit.drift import DriftBatch, DriftMonitor, DriftPolicy


def test_retrain_after_more_than_window_is_refused_naming_both() -> None:
    with pytest.raises(pydantic.ValidationError, match=r"retrain_after=5 is more than window=3"):
        DriftPolicy(retrain_after=5, window=3)
    assert DriftPolicy(retrain_after=3, window=3).retrain_after == 3


def test_monitor_skips_untestable_embeddings_with_a_note_and_keeps_other_signals() -> None:
    g = np.random.default_rng(0)
    ref = DriftBatch(embeddings=g.normal(size=(200, 4)), grades=["A"] * 200)
    mon = DriftMonitor(DriftPolicy(calibration_splits=10)).fit(ref, batch_size=50)
    for emb, why in ((g.normal(size=(50, 6)), "size 6, the reference's are 4"), (g.normal(size=(1, 4)), "1 embedding"),
                     (np.full((50, 4), np.nan), "non-finite")):
        d = mon.update(DriftBatch(embeddings=emb, grades=["D"] * len(emb)))
        assert [s.signal for s in d.signals] == ["grade_mix_psi"] and why in d.notes[0]
        assert d.to_dict()["notes"] == d.notes
        assert [s.signal for s in mon.check(DriftBatch(embeddings=emb, grades=["A"]))] == ["grade_mix_psi"]


def test_monitor_calibrated_at_batch_size_one_does_not_divide_by_zero() -> None:
    g = np.random.default_rng(0)
    with np.errstate(all="raise"):
        mon = DriftMonitor(DriftPolicy(calibration_splits=10)).fit(DriftBatch(embeddings=g.normal(size=(20, 3))),
                                                                   batch_size=1)
    assert np.isfinite(mon.mmd_threshold_)


@pytest.mark.parametrize(("settings", "field"), [
    ({"alpah": 0.05}, "alpah"),  # a misspelt key left alpha at 0.01 without a word
    ({"psi_threshold": -1.0}, "psi_threshold"),  # every significant batch fired
    ({"ks_threshold": 1.5}, "ks_threshold"),  # a KS D never exceeds 1: the feature and confidence tests never fired
    ({"override_min_h": float("nan")}, "override_min_h"),  # h > nan is False: the override test never fired
    ({"psi_threshold": float("inf")}, "psi_threshold"),
])
def test_policy_refuses_unknown_keys_and_thresholds_no_effect_can_cross(settings: dict[str, float],
                                                                        field: str) -> None:
    with pytest.raises(pydantic.ValidationError, match=field):
        DriftPolicy(**settings)


def test_check_before_fit_is_a_validation_error_like_update() -> None:
    from assetgrade.errors import ValidationError

    mon = DriftMonitor(DriftPolicy())
    for call in (mon.check, mon.update):
        with pytest.raises(ValidationError, match="before fit"):
            call(DriftBatch(grades=["A", "B"]))


def test_a_signal_the_reference_lacks_is_said_not_skipped_without_a_word() -> None:
    g = np.random.default_rng(1)
    mon = DriftMonitor(DriftPolicy(calibration_splits=10)).fit(DriftBatch(grades=["A", "B"] * 50), batch_size=20)
    d = mon.update(DriftBatch(grades=["A", "B"] * 10, confidence=g.uniform(size=20), features=g.normal(size=(20, 3)),
                              overrides=np.zeros(20, bool)))
    assert [s.signal for s in d.signals] == ["grade_mix_psi"]
    assert len(d.notes) == 3 and all("the reference has none" in n for n in d.notes)
    assert any("confidences" in n and "confidence test not run" in n for n in d.notes)
    assert any("override flags" in n for n in d.notes) and any("feature block" in n for n in d.notes)
    plain = mon.update(DriftBatch(grades=["A", "B"] * 10))
    assert plain.notes == []

"""FusionModel: calibrated output, sets near nominal coverage, split and out-of-fold calibration, contradictions."""

from __future__ import annotations

import numpy as np
import pytest

from assetgrade.errors import ValidationError
from assetgrade.fusion.combine import Fuser
from assetgrade.fusion.pipeline import FusionModel
from assetgrade.modalities.base import EvidenceBlock


def _blocks(rng: np.random.Generator, y: np.ndarray, start: int = 0) -> list[EvidenceBlock]:
    n = len(y)
    ids = [f"a{start + i}" for i in range(n)]
    v = (y + rng.normal(0, 0.7, n))[:, None]
    s = (y + rng.normal(0, 0.9, n))[:, None]
    present = rng.random(n) > 0.2
    s[~present] = np.nan
    return [
        EvidenceBlock("vision", ids, ("v",), v, np.ones(n, bool)),
        EvidenceBlock("sensors", ids, ("s",), s, present),
    ]


def test_cross_mode_coverage_and_types(rng: np.random.Generator) -> None:
    y = rng.integers(0, 4, 900)
    blocks = _blocks(rng, y)
    types = ["pump" if i % 3 else "valve" for i in range(900)]
    fm = FusionModel(fuser=Fuser(dropout_copies=1), alpha=0.1).fit(
        blocks, y, groups=[str(i // 3) for i in range(900)], asset_types=types
    )
    assert fm.calibration_mode_ == "cross"
    assert set(fm.conformal_.group_quantiles_) == {"pump", "valve"}
    y_new = rng.integers(0, 4, 600)
    out = fm.predict(_blocks(rng, y_new, 10_000), asset_types=["pump"] * 600)
    assert np.allclose(out.proba.sum(1), 1)
    assert out.conformal is not None and 0.86 <= out.conformal.coverage(y_new) <= 0.95
    assert not out.conformal.used_fallback.any()
    import pickle

    new_types = ["valve"] * 600
    again = pickle.loads(pickle.dumps(fm)).predict(_blocks(np.random.default_rng(5), y_new, 10_000),
                                                   asset_types=new_types)
    ref = fm.predict(_blocks(np.random.default_rng(5), y_new, 10_000), asset_types=new_types)
    assert np.array_equal(again.proba, ref.proba)
    assert again.conformal is not None and ref.conformal is not None
    assert np.array_equal(again.conformal.membership, ref.conformal.membership)
    # fitted per asset type, so predicting without types is refused (it used the pooled threshold silently)
    with pytest.raises(ValidationError, match=r"FusionModel.predict asset_types: .*calibrated per asset type"):
        fm.predict(_blocks(np.random.default_rng(5), y_new, 10_000))


def test_split_mode_and_contradiction(rng: np.random.Generator) -> None:
    y = rng.integers(0, 4, 400)
    blocks = _blocks(rng, y)
    yc = rng.integers(0, 4, 300)
    fm = FusionModel(calibration="isotonic").fit(blocks, y, calibration=(_blocks(rng, yc, 5000), yc, None))
    assert fm.calibration_mode_ == "split" and len(fm.calibration_y_) == 300
    ids = ["x"]
    gp_v = np.array([[0.05, 0.9, 0.05, 0.0]])
    gp_s = np.array([[0.0, 0.05, 0.05, 0.9]])
    b = [
        EvidenceBlock("vision", ids, ("v",), np.array([[1.0]]), np.ones(1, bool), grade_proba=gp_v),
        EvidenceBlock("sensors", ids, ("s",), np.array([[3.0]]), np.ones(1, bool), grade_proba=gp_s),
    ]
    fm2 = FusionModel(fuser=Fuser(use_features=True)).fit(
        [
            EvidenceBlock(
                "vision", blk.asset_ids, ("v",), blk.features, blk.present, grade_proba=np.eye(4)[y] * 0.7 + 0.075
            )
            for blk in blocks[:1]
        ]
        + [
            EvidenceBlock(
                "sensors",
                blocks[1].asset_ids,
                ("s",),
                blocks[1].features,
                blocks[1].present,
                grade_proba=np.eye(4)[y] * 0.7 + 0.075,
            )
        ],
        y,
    )
    out = fm2.predict(b)
    assert "x" in out.contradictions
    assert out.contradictions["x"][0].grades == ("B", "D")


def test_monotone_setting_reaches_the_fitted_fuser(rng: np.random.Generator) -> None:
    y = rng.integers(0, 3, 120)
    ids = [f"a{i}" for i in range(120)]
    gp = np.clip(np.eye(3)[y] * 0.6 + rng.dirichlet([1, 1, 1], 120) * 0.4, 1e-3, None)
    gp /= gp.sum(1, keepdims=True)
    b = EvidenceBlock("text", ids, (), np.zeros((120, 0)), np.ones(120, bool), grade_proba=gp)
    fm = FusionModel(grades=("A", "B", "C"), fuser=Fuser(model="latent", monotone=True), n_splits=3).fit([b], y)
    assert fm.fuser_.monotone and fm.fuser_.table_.monotone  # the clone dropped it: an unconstrained table


def test_conformal_scores_come_from_calibrators_that_did_not_see_the_asset(rng: np.random.Generator) -> None:
    # isotonic maps fitted on the 60 calibration assets themselves made their scores look better
    # than new assets' (sets held the grade about 82% of the time at a nominal 90%)
    y = rng.integers(0, 4, 300)
    blocks = _blocks(rng, y)
    yc = rng.integers(0, 4, 60)
    cal_blocks = _blocks(rng, yc, 5000)
    fm = FusionModel(calibration="isotonic", fuser=Fuser(dropout_copies=0), n_splits=5).fit(
        blocks, y, calibration=(cal_blocks, yc, None))
    raw = fm.fuser_.predict_proba(cal_blocks)
    assert fm.calibrator_ is not None
    assert not np.allclose(fm.calibration_proba_, fm.calibrator_.transform(raw))
    from assetgrade.fusion import IsotonicCalibrator
    from assetgrade.fusion.combine import grouped_folds

    expected = np.full_like(raw, np.nan)
    for tr, te in grouped_folds(cal_blocks[0].asset_ids, 5, fm.seed + 2):
        expected[te] = IsotonicCalibrator().fit(raw[tr], yc[tr]).transform(raw[te])
    assert np.allclose(fm.calibration_proba_, expected)
    import pytest

    from assetgrade.errors import ValidationError

    one = [EvidenceBlock(b.modality, b.asset_ids[:1], b.feature_names, b.features[:1], b.present[:1])
           for b in cal_blocks]
    with pytest.raises(ValidationError, match=r"FusionModel.calibration: the calibration assets form 1 group"):
        FusionModel(fuser=Fuser(dropout_copies=0)).fit(blocks, y, calibration=(one, yc[:1], None))


def test_settings_are_checked_before_the_fusers_are_fitted(rng: np.random.Generator) -> None:
    import pytest

    from assetgrade.errors import ValidationError

    y = rng.integers(0, 4, 40)
    blocks = _blocks(rng, y)
    for kw, where in (({"alpha": 1.5}, "SplitConformal.alpha"),
                      ({"conformal_method": "raps"}, "SplitConformal.method"),
                      ({"n_splits": 1}, "FusionModel.n_splits"),
                      ({"contradiction_gap": 0}, "FusionModel.contradiction_gap"),
                      ({"contradiction_gap": "2"}, "FusionModel.contradiction_gap"),  # was a TypeError
                      ({"contradiction_gap": 1.5}, "FusionModel.contradiction_gap"),
                      ({"grades": ("A", "A", "B", "C")}, "FusionModel.grades"),
                      ({"fuser": Fuser(C=0)}, "Fuser.C")):
        fm = FusionModel(**kw)  # type: ignore[arg-type]
        with pytest.raises(ValidationError, match=where):
            fm.fit(blocks, y)
        assert not hasattr(fm, "fuser_")  # nothing was fitted first

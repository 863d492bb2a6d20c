"""FusionModel: calibrated output, sets near nominal coverage, split and out-of-fold calibration, contradictions."""

from __future__ import annotations

import numpy as np

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

    again = pickle.loads(pickle.dumps(fm)).predict(_blocks(np.random.default_rng(5), y_new, 10_000))
    ref = fm.predict(_blocks(np.random.default_rng(5), y_new, 10_000))
    assert np.array_equal(again.proba, ref.proba)


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

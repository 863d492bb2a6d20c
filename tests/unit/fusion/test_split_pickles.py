"""A fuser pickled before fusion/combine.py was split (its constant ordinal cuts named
``assetgrade.fusion.combine._Constant``) still loads and predicts the same."""

from __future__ import annotations

import pickle

import numpy as np

from assetgrade.fusion import Fuser
from assetgrade.fusion.ordinal import ConstantCut
from assetgrade.modalities.base import EvidenceBlock


def _ordinal_fuser() -> tuple[Fuser, list[EvidenceBlock]]:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 60)  # grade 3 of 4 never seen: the last cut has one side empty
    feat = y[:, None] + rng.normal(0, 0.5, (60, 2))
    blocks = [EvidenceBlock("vision", [f"a{i}" for i in range(60)], ("f0", "f1"), feat, np.ones(60, bool))]
    return Fuser(ordinal=True, dropout_copies=1).fit(blocks, y, n_classes=4), blocks


def test_a_constant_cut_pickled_under_its_old_path_loads() -> None:
    fuser, blocks = _ordinal_fuser()
    assert isinstance(fuser.estimators_[-1], ConstantCut)
    module, name = ConstantCut.__module__, ConstantCut.__qualname__
    ConstantCut.__module__, ConstantCut.__qualname__ = "assetgrade.fusion.combine", "_Constant"
    try:
        old = pickle.dumps(fuser)  # the bytes the code before the split wrote
    finally:
        ConstantCut.__module__, ConstantCut.__qualname__ = module, name
    assert b"_Constant" in old and b"assetgrade.fusion.ordinal" not in old
    again = pickle.loads(old)
    assert isinstance(again.estimators_[-1], ConstantCut)
    np.testing.assert_array_equal(again.predict_proba(blocks), fuser.predict_proba(blocks))


def test_a_fuser_pickled_now_round_trips() -> None:
    fuser, blocks = _ordinal_fuser()
    again = pickle.loads(pickle.dumps(fuser))
    np.testing.assert_array_equal(again.predict_proba(blocks), fuser.predict_proba(blocks))
    assert again.predict_proba(blocks)[:, 3].max() < 0.01  # the unseen grade stays (nearly) impossible

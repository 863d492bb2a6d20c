"""OMP_WAIT_POLICY=PASSIVE reaches onnxruntime's thread pool: its idle threads sleep instead of spinning."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assetgrade.modalities.vision.backbone import Backbone

KEY = "session.intra_op.allow_spinning"


def _spinning(cache: Path) -> str:
    bb = Backbone("lite0", image_size=64, cache_dir=cache)
    out = bb.run(np.zeros((1, 3, 64, 64), np.float32), maps=False)  # a real session, really run
    assert out.pooled.shape == (1, bb.feature_dim)
    opts = bb._ort_session().get_session_options()
    try:
        return str(opts.get_session_config_entry(KEY))
    except RuntimeError:  # onnxruntime: "does not have configuration with key"
        return "default (spins)"


def test_passive_wait_policy_turns_off_onnxruntime_spinning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMP_WAIT_POLICY", "passive")  # any case, as libgomp reads it
    assert _spinning(tmp_path) == "0"
    for unset_or_other in (None, "ACTIVE"):
        if unset_or_other is None:
            monkeypatch.delenv("OMP_WAIT_POLICY")
        else:
            monkeypatch.setenv("OMP_WAIT_POLICY", unset_or_other)
        assert _spinning(tmp_path) == "default (spins)"  # onnxruntime's own default is kept

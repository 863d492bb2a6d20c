"""The audit's probe helpers: ``fit_probe`` fits the probe with BLAS on one thread and gives the threads back."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from assetgrade.audit import _cv

_PROBE = _cv.probe  # the real one, before a test swaps in the recording one


def _blas_threads() -> list[int]:
    from threadpoolctl import threadpool_info

    return [int(i["num_threads"]) for i in threadpool_info() if i.get("user_api") == "blas"]


class _RecordingProbe:
    """The real probe; its ``fit`` notes BLAS's thread counts at the moment it runs."""

    seen: list[set[int]]

    def __init__(self, c: float = 1.0, seed: int = 0) -> None:
        self.model = _PROBE(c, seed)

    def fit(self, x: Any, y: Any) -> Any:
        type(self).seen.append(set(_blas_threads()))
        return self.model.fit(x, y)


def _data(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = rng.normal(size=(40, 30))
    y = (np.arange(40) % 2).astype(np.int64)
    x[y == 1, :3] += 1.5
    return x, y, np.arange(40) // 2  # pairs of items share an asset


@pytest.mark.usefixtures("machine_threads")  # the default thread counts, also under xdist (tests/conftest.py)
def test_fit_probe_fits_on_one_blas_thread_and_gives_the_threads_back(
    rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    _PROBE()  # loads scikit-learn and scipy, and scipy's own BLAS with them, before the threads are counted
    before = _blas_threads()
    assert before, "numpy's BLAS is not visible to threadpoolctl"
    _RecordingProbe.seen = []
    monkeypatch.setattr(_cv, "probe", _RecordingProbe)
    x, y, _ = _data(rng)
    model = _cv.fit_probe(x, y, 0.5, 3)
    assert _RecordingProbe.seen == [{1}]
    assert _blas_threads() == before
    lr = model[-1]
    assert (lr.C, lr.tol, lr.max_iter, lr.random_state) == (0.5, 1e-3, 300, 3)
    assert np.mean(model.predict(x) == y) > 0.8


@pytest.mark.usefixtures("machine_threads")  # the default thread counts, also under xdist (tests/conftest.py)
def test_every_fold_of_oof_proba_is_fitted_on_one_blas_thread(
    rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The adversarial check's permutation test re-runs oof_proba up to 99 times: each fold fit on one thread."""
    before = _blas_threads()
    _RecordingProbe.seen = []
    x, y, groups = _data(rng)
    expected = _cv.oof_proba(x, y, groups, n_splits=4, seed=0)
    monkeypatch.setattr(_cv, "probe", _RecordingProbe)
    p = _cv.oof_proba(x, y, groups, n_splits=4, seed=0)
    assert _RecordingProbe.seen == [{1}] * 4
    assert _blas_threads() == before
    np.testing.assert_array_equal(p, expected)
    assert np.isfinite(p).all()

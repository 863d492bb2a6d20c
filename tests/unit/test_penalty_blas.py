"""``choose_penalty`` runs its many small fits on one BLAS thread and gives the threads back (as the vision heads)."""

from __future__ import annotations

import numpy as np
import pytest

from assetgrade.modalities.penalty import choose_penalty


def _blas_threads() -> list[int]:
    from threadpoolctl import threadpool_info

    return [int(i["num_threads"]) for i in threadpool_info() if i.get("user_api") == "blas"]


@pytest.mark.usefixtures("machine_threads")  # the default thread counts, also under xdist (tests/conftest.py)
def test_every_fit_of_the_search_runs_on_one_blas_thread_and_the_threads_come_back() -> None:
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    x = rng.normal(size=(90, 12))
    y = (x[:, 0] + 0.5 * rng.normal(size=90) > 0).astype(np.int64)
    before = _blas_threads()
    assert before, "numpy's BLAS is not visible to threadpoolctl"
    seen: list[set[int]] = []

    def fit_predict(tr: np.ndarray, te: np.ndarray, C: float) -> np.ndarray:
        seen.append(set(_blas_threads()))
        return np.asarray(LogisticRegression(C=C).fit(x[tr], y[tr]).predict_proba(x[te]))

    C, losses = choose_penalty(fit_predict, y, groups=np.arange(90) // 3, grid=(0.1, 1.0), fallback=1.0)
    assert len(seen) == 2 * 3 and all(s == {1} for s in seen), seen  # two strengths x three folds
    assert _blas_threads() == before
    assert set(losses) == {0.1, 1.0} and losses[C] == min(losses.values())

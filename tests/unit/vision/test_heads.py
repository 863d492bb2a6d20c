"""Heads: the ordinal head respects the order of levels; probabilities are valid; multi-label works."""

from __future__ import annotations

import numpy as np
import pytest

from assetgrade.errors import ValidationError
from assetgrade.modalities.vision.heads import (
    C_GRID,
    HeadChoice,
    LinearProbe,
    MultiLabelProbe,
    OrdinalLogistic,
    select_head,
    select_ordinal_penalty,
    select_penalty,
)


def _ordinal_data(rng: np.random.Generator, n: int = 400) -> tuple[np.ndarray, np.ndarray]:
    X = rng.normal(size=(n, 5))
    latent = 2.0 * X[:, 0] - 1.0 * X[:, 1]
    y = np.digitize(latent, [-2.0, 0.0, 2.0])
    return X, y


def test_ordinal_head_respects_order(rng: np.random.Generator) -> None:
    X, y = _ordinal_data(rng)
    m = OrdinalLogistic(n_classes=4, C=10.0).fit(X, y)
    assert np.all(np.diff(m.thresholds_) > 0)
    assert np.mean(m.predict(X) == y) > 0.85
    # moving along the latent direction never lowers the expected level
    line = np.outer(np.linspace(-4, 4, 50), [2.0, -1.0, 0, 0, 0]) / 5.0
    expected = m.predict_proba(line) @ np.arange(4)
    assert np.all(np.diff(expected) >= -1e-9)
    p = m.predict_proba(X)
    assert np.allclose(p.sum(axis=1), 1.0) and (p >= 0).all()


def test_ordinal_beats_chance_on_order_but_not_on_shuffled_labels(rng: np.random.Generator) -> None:
    X, y = _ordinal_data(rng)
    shuffled = rng.permutation(y)
    good = OrdinalLogistic(n_classes=4).fit(X[:300], y[:300])
    bad = OrdinalLogistic(n_classes=4).fit(X[:300], shuffled[:300])
    assert np.mean(good.predict(X[300:]) == y[300:]) > np.mean(bad.predict(X[300:]) == shuffled[300:]) + 0.2


def test_linear_probe_raw_coefficients_match_probabilities(rng: np.random.Generator) -> None:
    X = np.r_[rng.normal(-1, 1, (50, 4)), rng.normal(1, 1, (50, 4)), rng.normal(0, 1, (50, 4)) + np.array([0, 3, 0, 0])]
    y = np.repeat([0, 1, 2], 50)
    m = LinearProbe(n_classes=3).fit(X, y)
    assert np.allclose(m.predict_proba(X), m.model_.predict_proba(m.scaler_.transform(X)), atol=1e-5)
    assert np.mean(m.predict(X) == y) > 0.8


def test_linear_probe_missing_class_gets_zero_probability(rng: np.random.Generator) -> None:
    X = rng.normal(size=(40, 3))
    y = (X[:, 0] > 0).astype(int)
    p = LinearProbe(n_classes=3).fit(X, y).predict_proba(X)
    assert p.shape == (40, 3) and p[:, 2].max() < 1e-6


def test_multilabel_probe(rng: np.random.Generator) -> None:
    X = rng.normal(size=(200, 4))
    Y = np.c_[X[:, 0] > 0, X[:, 1] > 0, np.zeros(200)].astype(int)
    p = MultiLabelProbe().fit(X, Y).predict_proba(X)
    assert p.shape == (200, 3)
    assert np.mean((p[:, :2] > 0.5) == Y[:, :2]) > 0.9
    assert np.all(p[:, 2] == 0.0)


def test_heads_reject_nan_and_bad_labels(rng: np.random.Generator) -> None:
    X = rng.normal(size=(10, 2))
    X[3, 1] = np.nan
    with pytest.raises(ValidationError, match=r"rows \[3\]"):
        LinearProbe(n_classes=2).fit(X, np.r_[np.zeros(5, int), np.ones(5, int)])
    with pytest.raises(ValidationError, match=r"0\.\.2"):
        OrdinalLogistic(n_classes=3).fit(rng.normal(size=(4, 2)), np.array([0, 1, 2, 5]))


def _noisy_ordinal(
    rng: np.random.Generator, n: int, noise_dims: int, label_noise: float
) -> tuple[np.ndarray, np.ndarray]:
    signal = rng.normal(size=n)
    X = np.c_[signal, rng.normal(size=(n, noise_dims))]
    y = np.digitize(signal + label_noise * rng.normal(size=n), [-0.6, 0.0, 0.6])
    return X, y


def test_select_penalty_prefers_a_strong_penalty_when_features_outnumber_images(rng: np.random.Generator) -> None:
    X, y = _noisy_ordinal(rng, 90, noise_dims=400, label_noise=0.5)
    C, losses = select_ordinal_penalty(X, y, n_classes=4, grid=(0.003, 0.1, 10.0))
    assert C == 0.003 and losses[0.003] < losses[10.0]


def test_select_penalty_prefers_a_weak_penalty_on_clean_low_dimensional_data(rng: np.random.Generator) -> None:
    X, y = _noisy_ordinal(rng, 300, noise_dims=1, label_noise=0.05)
    C, losses = select_ordinal_penalty(X, y, n_classes=4, grid=(0.003, 0.1, 10.0))
    assert C == 10.0 and losses[10.0] < losses[0.003]


def test_select_penalty_falls_back_on_tiny_sets(rng: np.random.Generator) -> None:
    X, y = _noisy_ordinal(rng, 20, noise_dims=3, label_noise=0.1)
    assert select_ordinal_penalty(X, y, n_classes=4, fallback=0.7) == (0.7, {})


def test_select_penalty_keeps_groups_on_one_side() -> None:
    # every image twice (two photos of one asset): split apart, the copies leak and a weak penalty looks best
    X, y = _noisy_ordinal(np.random.default_rng(1), 60, noise_dims=300, label_noise=0.8)
    X2, y2, assets = np.r_[X, X], np.r_[y, y], np.r_[np.arange(60), np.arange(60)]
    grid = (0.003, 0.1, 10.0)
    assert select_ordinal_penalty(X2, y2, n_classes=4, groups=assets, grid=grid)[0] == 0.003
    assert select_ordinal_penalty(X2, y2, n_classes=4, grid=grid)[0] > 0.003


def test_select_penalty_with_fewer_groups_than_folds_holds_out_one_group_at_a_time(rng: np.random.Generator) -> None:
    X, y = _noisy_ordinal(rng, 120, noise_dims=2, label_noise=0.05)
    two_sites = np.arange(120) % 2
    C, losses = select_ordinal_penalty(X, y, n_classes=4, groups=two_sites, grid=(0.003, 10.0))
    assert sorted(losses) == [0.003, 10.0] and C == 10.0  # measured on two folds, not refused
    assert select_ordinal_penalty(X, y, n_classes=4, groups=np.zeros(120), fallback=0.5) == (0.5, {})


def test_ordinal_warm_start_reaches_the_same_solution(rng: np.random.Generator) -> None:
    X, y = _noisy_ordinal(rng, 200, noise_dims=20, label_noise=0.3)
    a = OrdinalLogistic(n_classes=4, C=0.1).fit(X, y)
    start = OrdinalLogistic(n_classes=4, C=0.01).fit(X, y).params_
    b = OrdinalLogistic(n_classes=4, C=0.1).fit(X, y, warm_start=start)
    assert np.allclose(a.predict_proba(X), b.predict_proba(X), atol=1e-3)


def test_select_penalty_for_the_logistic_probe(rng: np.random.Generator) -> None:
    from assetgrade.errors import ValidationError
    from assetgrade.modalities.vision.heads import select_penalty

    noisy, y = _noisy_ordinal(rng, 120, noise_dims=400, label_noise=0.5)
    assert select_penalty(noisy, y, n_classes=4, head="logistic", grid=(0.003, 0.1, 10.0))[0] == 0.003
    clean, y2 = _noisy_ordinal(rng, 300, noise_dims=1, label_noise=0.05)
    assert select_penalty(clean, y2, n_classes=4, head="logistic", grid=(0.003, 0.1, 10.0))[0] == 10.0
    with pytest.raises(ValidationError, match="head"):
        select_penalty(clean, y2, n_classes=4, head="svm")


def test_bench_probe_chooses_its_penalty_inside_each_training_fold(rng: np.random.Generator) -> None:
    from sklearn.model_selection import StratifiedKFold

    from assetgrade.bench.vision_steps import probe_probas

    X, y = _noisy_ordinal(rng, 150, noise_dims=300, label_noise=0.5)
    feats = {"id": X.astype(np.float32)}
    folds = list(StratifiedKFold(3, shuffle=True, random_state=0).split(X, y))
    ok = np.ones(len(y), bool)
    p_auto, used = probe_probas(feats, y, ok, folds, "logistic", 4, None, views=("id",))
    p_fixed, fixed = probe_probas(feats, y, ok, folds, "logistic", 4, 10.0, views=("id",))
    assert fixed == [10.0] * 3 and len(used) == 3 and set(used) <= set(C_GRID)
    nll = [float(-np.log(np.clip(p[np.arange(len(y)), y], 1e-12, 1)).mean()) for p in (p_auto, p_fixed)]
    assert nll[0] < nll[1]  # a too-weak fixed penalty over-fits 300 noise dimensions


def test_bench_probe_trains_on_every_view_of_an_image(rng: np.random.Generator) -> None:
    from sklearn.model_selection import StratifiedKFold

    from assetgrade.bench.vision_steps import probe_probas

    X, y = _noisy_ordinal(rng, 120, noise_dims=4, label_noise=0.2)
    feats = {"id": X.astype(np.float32), "hflip": X.astype(np.float32)}  # a view identical to the image
    folds = list(StratifiedKFold(3, shuffle=True, random_state=0).split(X, y))
    ok = np.ones(len(y), bool)
    both, _ = probe_probas(feats, y, ok, folds, "logistic", 4, 0.05, views=("id", "hflip"),
                           train_views=("id", "hflip"))
    doubled, _ = probe_probas(feats, y, ok, folds, "logistic", 4, 0.1, views=("id",))
    # two identical copies of every row weigh the data twice: the same fit as one copy at twice C
    assert np.abs(both - doubled).max() < 1e-3  # (up to the solver's tolerance)
    single, _ = probe_probas(feats, y, ok, folds, "logistic", 4, 0.05, views=("id",))
    assert np.abs(both - single).max() > 1e-2
    _, used = probe_probas(feats, y, ok, folds, "logistic", 4, None, views=("id", "hflip"),
                           train_views=("id", "hflip"))
    assert len(used) == 3 and set(used) <= set(C_GRID)  # the nested choice runs on the views too


def test_penalty_selection_says_nothing_about_a_rare_level() -> None:
    import warnings

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 5))
    y = np.r_[np.zeros(30, dtype=int), np.ones(28, dtype=int), np.full(2, 2)]  # level 2: fewer rows than folds
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # sklearn's "least populated class" warning would fail this
        C, losses = select_penalty(X, y, n_classes=3)
    assert C in C_GRID and len(losses) == len(C_GRID)


def test_select_head_takes_the_multinomial_head_when_levels_are_not_ordered_along_the_features(
    rng: np.random.Generator,
) -> None:
    # the worst level sits in the middle of the feature: one weight vector with ordered thresholds cannot say so
    x = rng.normal(size=(240, 1))
    y = np.digitize(x[:, 0], [-0.5, 0.5])
    y = np.where(y == 2, 1, np.where(y == 1, 2, 0))
    choice = select_head(x, y, n_classes=3, grid=(0.1, 10.0))
    tables = choice.losses
    assert choice.head == "logistic" and set(tables) == {"ordinal", "logistic"}
    assert tables["logistic"][choice.C] < min(tables["ordinal"].values()) - 0.1
    # its out-of-fold predictions are those the loss was computed from
    assert choice.oof is not None and choice.oof.shape == (240, 3)
    held_out_loss = -np.log(np.clip(choice.oof[np.arange(240), y], 1e-12, 1)).mean()
    assert held_out_loss == pytest.approx(tables["logistic"][choice.C])


def test_select_head_keeps_the_ordinal_head_when_one_latent_severity_orders_the_levels(
    rng: np.random.Generator,
) -> None:
    # the multinomial head spends a weight vector per level on what one vector says (margin 0.12-0.19 over seeds)
    X, y = _noisy_ordinal(rng, 200, noise_dims=5, label_noise=0.3)
    choice = select_head(X, y, n_classes=4)
    assert choice.head == "ordinal"
    assert choice.losses["ordinal"][choice.C] < min(choice.losses["logistic"].values()) - 0.05


def test_select_head_falls_back_to_the_first_head_without_measuring(rng: np.random.Generator) -> None:
    X, y = _noisy_ordinal(rng, 20, noise_dims=3, label_noise=0.1)
    assert select_head(X, y, n_classes=4, heads=("logistic", "ordinal"), fallback=0.7) == HeadChoice(
        "logistic", 0.7, {"logistic": {}, "ordinal": {}}, None)
    with pytest.raises(ValidationError, match="no head"):
        select_head(X, y, n_classes=4, heads=())


def test_severity_direction_points_to_worse_levels(rng: np.random.Generator) -> None:
    X, y = _noisy_ordinal(rng, 300, noise_dims=2, label_noise=0.1)
    for head in (OrdinalLogistic(n_classes=4, C=1.0), LinearProbe(n_classes=4, C=1.0)):
        w = head.fit(X, y).severity_direction()
        assert w.shape == (3,) and w[0] > 5 * np.abs(w[1:]).max()  # along the signal, towards higher levels


def test_linear_probe_weights_rows_in_its_scaler_too() -> None:
    X = np.array([[0.0], [0.0], [10.0], [1.0]])
    probe = LinearProbe(n_classes=2, C=1.0).fit(X, [0, 0, 1, 1], sample_weight=[1.0, 1.0, 0.0, 2.0])
    assert probe.scaler_.mean_[0] == pytest.approx(0.5)  # the weight-0 row does not move the mean


def test_select_head_scores_each_photo_once_by_the_mean_of_its_views(rng: np.random.Generator) -> None:
    X, y = _noisy_ordinal(rng, 90, noise_dims=3, label_noise=0.1)
    views = 3
    Xv = np.vstack([X + rng.normal(0, 0.05, X.shape) for _ in range(views)])  # three slightly different views
    groups = [f"p{i}" for i in range(90)] * views
    choice = select_head(Xv, np.tile(y, views), n_classes=4, heads=("logistic",), groups=groups, views=views)
    assert choice.oof is not None and choice.oof.shape == (90, 4)  # one row per photo, not per view
    held_out_loss = -np.log(np.clip(choice.oof[np.arange(90), y], 1e-12, 1)).mean()
    assert held_out_loss == pytest.approx(choice.losses["logistic"][choice.C])
    # the size rules count photos: 20 photos in 3 views (60 rows) are still too few to measure
    small = select_head(Xv[:60], np.tile(y[:20], 3), n_classes=4, groups=[f"p{i}" for i in range(20)] * 3,
                        views=3, fallback=0.7)
    assert small.losses == {"ordinal": {}, "logistic": {}} and small.C == 0.7
    with pytest.raises(ValidationError, match="different levels"):
        select_head(Xv, np.concatenate([y, y, (y + 1) % 4]), n_classes=4, groups=groups, views=views)
    with pytest.raises(ValidationError, match="not 4 view"):
        select_head(Xv, np.tile(y, views), n_classes=4, groups=groups, views=4)
    with pytest.raises(ValidationError, match="groups"):
        select_head(Xv, np.tile(y, views), n_classes=4, views=views)  # views must stay in one fold


def _blas_threads() -> list[int]:
    from threadpoolctl import threadpool_info

    return [int(i["num_threads"]) for i in threadpool_info() if i.get("user_api") == "blas"]


@pytest.mark.usefixtures("machine_threads")  # the default thread counts, also under xdist (tests/conftest.py)
def test_heads_run_blas_on_one_thread_and_give_it_back() -> None:
    from assetgrade.modalities.vision.heads import serial_blas

    before = _blas_threads()
    assert before, "numpy's BLAS is not visible to threadpoolctl"
    with serial_blas():
        assert set(_blas_threads()) == {1}
        with serial_blas():  # nested (a head fitted inside a search): still one, still released once
            assert set(_blas_threads()) == {1}
        assert set(_blas_threads()) == {1}
    assert _blas_threads() == before


@pytest.mark.usefixtures("machine_threads")  # the default thread counts, also under xdist (tests/conftest.py)
def test_threads_share_the_one_thread_limit_without_waiting_for_each_other() -> None:
    """A prediction in one thread must not wait for a long fit in another (a server during a label round)."""
    import threading

    from assetgrade.modalities.vision.heads import serial_blas

    before = _blas_threads()
    both_inside = threading.Barrier(2, timeout=10)  # a lock between the threads would break it
    first_left, second_may_leave = threading.Event(), threading.Event()
    seen: dict[str, set[int]] = {}

    def worker(name: str, leave_after: threading.Event | None) -> None:
        with serial_blas():
            both_inside.wait()
            seen[name] = set(_blas_threads())
            if leave_after is not None:
                assert leave_after.wait(10)
        if leave_after is None:
            first_left.set()

    fit = threading.Thread(target=worker, args=("fit", second_may_leave))
    predict = threading.Thread(target=worker, args=("predict", None))
    fit.start()
    predict.start()
    assert first_left.wait(15), "the threads did not get inside together"
    predict.join(10)
    assert set(_blas_threads()) == {1}  # the fit is still inside: the limit holds
    second_may_leave.set()
    fit.join(10)
    assert seen == {"fit": {1}, "predict": {1}}
    assert _blas_threads() == before  # the last one out gave the threads back


def test_heads_fitted_in_parallel_threads_equal_heads_fitted_alone(rng: np.random.Generator) -> None:
    """The thread limit is process-wide and shared: fits in parallel threads all run on one BLAS thread."""
    from concurrent.futures import ThreadPoolExecutor

    X = rng.normal(size=(300, 120)).astype(np.float32)
    y = np.digitize(X[:, :3].sum(axis=1) + rng.normal(size=300), [-1.5, 0.0, 1.5])

    def fit(k: int) -> np.ndarray:
        head = OrdinalLogistic(n_classes=4, C=0.01 * (k + 1)) if k % 2 else LinearProbe(n_classes=4, C=0.01 * (k + 1))
        head.fit(X, y)
        return head.predict_proba(X)

    alone = [fit(k) for k in range(6)]
    with ThreadPoolExecutor(max_workers=3) as pool:
        together = list(pool.map(fit, range(6)))
    assert all(np.array_equal(a, b) for a, b in zip(alone, together, strict=True))

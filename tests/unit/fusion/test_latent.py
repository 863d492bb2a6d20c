"""Latent-level fusion: learns a points rubric from noisy modality readings, marginalises a missing one."""

from __future__ import annotations

import itertools
import pickle

import numpy as np
import pytest

from assetgrade.errors import ValidationError
from assetgrade.fusion.combine import Fuser
from assetgrade.fusion.latent import LatentLevelTable, plot_latent_table
from assetgrade.modalities.base import EvidenceBlock


def _rubric(a: int, b: int, c: int) -> int:
    pts = a + b + c
    return 0 if pts <= 1 else 1 if pts <= 3 else 2 if pts <= 5 else 3


def _readings(levels: np.ndarray, acc: float, rng: np.random.Generator, k: int = 4) -> np.ndarray:
    """Calibrated noisy readings: right with probability ``acc``, else a neighbouring level; q = P(level | read)."""
    confusion = np.zeros((k, k))  # P(read | level)
    for lv in range(k):
        confusion[lv, lv] = acc
        nbrs = [j for j in (lv - 1, lv + 1) if 0 <= j < k]
        confusion[lv, nbrs] += (1 - acc) / len(nbrs)
    read = np.array([rng.choice(k, p=confusion[lv]) for lv in levels])
    q = confusion[:, read].T  # uniform prior over levels: posterior ∝ likelihood
    return np.asarray(q / q.sum(axis=1, keepdims=True))


def _data(rng: np.random.Generator, n: int) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    lv = rng.integers(0, 4, (n, 3))
    y = np.array([_rubric(*row) for row in lv])
    qs = [_readings(lv[:, j], acc, rng) for j, acc in enumerate((0.95, 0.9, 0.85))]
    return qs, y, lv


def test_the_table_learns_the_rubric_where_the_data_is(rng: np.random.Generator) -> None:
    qs, y, _ = _data(rng, 3000)
    t = LatentLevelTable().fit(qs, y, n_classes=4)
    rub = t.rubric()
    assert rub.shape == (4, 4, 4, 4) and np.allclose(rub.sum(axis=-1), 1)
    weights = t.state_weights()
    right = [rub[s].argmax() == _rubric(*s) for s in itertools.product(range(4), repeat=3) if weights[s] > 0.005]
    assert len(right) >= 50 and np.mean(right) >= 0.95
    assert t.states()[1] == (0, 0, 1) and t.n_iter_ >= 2 and np.isfinite(t.loglik_)


def test_latent_fusion_beats_logistic_on_a_points_rubric(rng: np.random.Generator) -> None:
    qs, y, _ = _data(rng, 3000)
    ids = [f"a{i}" for i in range(len(y))]
    blocks = [EvidenceBlock(m, ids, (), np.zeros((len(y), 0)), np.ones(len(y), bool), grade_proba=q)
              for m, q in zip(("vision", "sensors", "text"), qs, strict=True)]
    from assetgrade.fusion.combine import _take

    tr, te = np.arange(2000), np.arange(2000, 3000)
    nll = {}
    for model in ("logistic", "latent"):
        fz = Fuser(model=model, use_features=False, seed=0).fit([_take(b, tr) for b in blocks], y[tr], n_classes=4)
        p = fz.predict_proba([_take(b, te) for b in blocks])
        assert np.allclose(p.sum(axis=1), 1) and np.all(p > 0)
        nll[model] = float(-np.mean(np.log(p[np.arange(len(te)), y[te]])))
    assert nll["latent"] < nll["logistic"] - 0.02
    assert fz.table_.rubric().shape == (4, 4, 4, 4)
    reads = fz.readings([_take(b, te) for b in blocks], "ABCD")
    assert reads is not None and len(reads) == len(te)
    # a confident reading names each modality's level; the table's grade mix for it follows the rubric
    sure = [r for r in reads if r["probability"] > 0.5]
    assert len(sure) > 300
    follows = [max(r["grade_mix"], key=r["grade_mix"].get)
               == "ABCD"[_rubric(*("ABCD".index(r["levels"][m]) for m in ("vision", "sensors", "text")))]
               for r in sure]
    assert np.mean(follows) >= 0.9
    logistic = Fuser(model="logistic", use_features=False).fit(blocks, y, n_classes=4)
    assert logistic.readings(blocks, "ABCD") is None and logistic.model_ == "logistic"
    assert Fuser(model="auto").fit(blocks, y, n_classes=4).model_ == "latent"
    again = pickle.loads(pickle.dumps(fz))
    assert np.array_equal(again.predict_proba(blocks), fz.predict_proba(blocks))


def test_a_missing_modality_is_marginalised(rng: np.random.Generator) -> None:
    qs, y, _ = _data(rng, 2000)
    t = LatentLevelTable().fit(qs, y, n_classes=4)
    absent = np.full_like(qs[2], np.nan)
    p_missing = t.predict_proba([qs[0], qs[1], absent])
    # marginalising by hand: the average reading in place of the missing one gives the same answer
    avg = np.broadcast_to(t.prior_[2], qs[2].shape)
    assert np.allclose(p_missing, t.predict_proba([qs[0], qs[1], avg]))
    # and the table trained on two modalities does about as well as this marginal (it learns the same)
    two = LatentLevelTable().fit(qs[:2], y, n_classes=4).predict_proba(qs[:2])
    ll = [float(np.mean(np.log(p[np.arange(len(y)), y]))) for p in (p_missing, two)]
    assert abs(ll[0] - ll[1]) < 0.05
    # a Fuser asked without a fitted modality treats it as absent
    ids = [f"a{i}" for i in range(len(y))]
    blocks = [EvidenceBlock(m, ids, (), np.zeros((len(y), 0)), np.ones(len(y), bool), grade_proba=q)
              for m, q in zip(("vision", "sensors", "text"), qs, strict=True)]
    fz = Fuser(model="latent").fit(blocks, y, n_classes=4)
    assert np.allclose(fz.predict_proba(blocks[:2]), fz.table_.predict_proba([qs[0], qs[1], absent]))


@pytest.mark.parametrize("n_modalities", [1, 2, 3, 4])
def test_the_table_plots_for_any_number_of_modalities(
    rng: np.random.Generator, tmp_path, n_modalities: int
) -> None:  # type: ignore[no-untyped-def]
    qs, y, _ = _data(rng, 600)
    qs = [*qs, qs[0]][:n_modalities]
    t = LatentLevelTable().fit(qs, y, n_classes=4)
    out = plot_latent_table(t, ["vision", "sensors", "text", "extra"][:n_modalities], "ABCD", tmp_path / "t.png")
    assert out.read_bytes()[:4] == b"\x89PNG" and out.stat().st_size > 5000
    with pytest.raises(ValidationError, match="modalities"):
        plot_latent_table(t, ["vision", "sensors", "text", "extra", "more"], "ABCD", tmp_path / "u.png")
    with pytest.raises(ValidationError, match="not fitted"):
        plot_latent_table(LatentLevelTable(), ["vision"], "ABCD", tmp_path / "v.png")


def test_bad_input_is_named() -> None:
    q = np.full((4, 2), 0.5)
    y = np.array([0, 1, 0, 1])
    with pytest.raises(ValidationError, match="rows"):
        LatentLevelTable().fit([q, q[:3]], y, n_classes=2)
    with pytest.raises(ValidationError, match="exceed"):
        LatentLevelTable().fit([np.full((4, 10), 0.1)] * 4, y, n_classes=2)
    with pytest.raises(ValidationError, match="every training row"):
        LatentLevelTable().fit([q, np.full((4, 2), np.nan)], y, n_classes=2)
    with pytest.raises(ValidationError, match="not fitted"):
        LatentLevelTable().predict_proba([q])
    t = LatentLevelTable().fit([q], y, n_classes=2)
    with pytest.raises(ValidationError, match="fitted with 2"):
        t.predict_proba([np.full((4, 3), 1 / 3)])
    ids = ["a", "b", "c", "d"]
    blocks = [EvidenceBlock("vision", ids, ("f",), np.zeros((4, 1)), np.ones(4, bool))]
    with pytest.raises(ValidationError, match=r"EvidenceBlock\[vision\].grade_proba"):
        Fuser(model="latent").fit(blocks, y, n_classes=2)
    with pytest.raises(ValidationError, match="'latent'"):
        Fuser(model="tree").fit(blocks, y, n_classes=2)  # type: ignore[arg-type]


def test_temperatures_undo_an_extractor_that_is_too_unsure(rng: np.random.Generator) -> None:
    qs, y, _ = _data(rng, 4000)
    flat = np.sqrt(qs[0])
    flat /= flat.sum(axis=1, keepdims=True)  # vision's readings flattened: squaring them restores them
    shown = [flat, qs[1], qs[2]]
    tr, te = slice(0, 3000), slice(3000, 4000)
    plain = LatentLevelTable().fit([q[tr] for q in shown], y[tr], n_classes=4)
    tempered = LatentLevelTable(temper=True).fit([q[tr] for q in shown], y[tr], n_classes=4)
    assert plain.temperatures_ == [1.0, 1.0, 1.0]
    assert tempered.temperatures_[0] < 1.0 and np.isfinite(tempered.cv_nll_)

    def nll(t: LatentLevelTable, readings: list[np.ndarray]) -> float:
        p = t.predict_proba([q[te] for q in readings])
        return float(-np.mean(np.log(p[np.arange(1000), y[te]])))

    assert nll(tempered, shown) < nll(plain, shown) - 0.005
    # calibrated readings: the cross-validated choice does not sharpen them into over-fitting
    fair_plain = LatentLevelTable().fit([q[tr] for q in qs], y[tr], n_classes=4)
    fair = LatentLevelTable(temper=True).fit([q[tr] for q in qs], y[tr], n_classes=4)
    assert nll(fair, qs) < nll(fair_plain, qs) + 0.005
    with pytest.raises(ValidationError, match="positive"):
        LatentLevelTable(temper=True, temperatures=(0.0, 1.0)).fit(shown, y, n_classes=4)
    with pytest.raises(ValidationError, match="cv=1"):
        LatentLevelTable(temper=True, cv=1).fit(shown, y, n_classes=4)


def test_temperatures_reach_past_the_old_grid(rng: np.random.Generator) -> None:
    from assetgrade.fusion.latent import TEMPERATURE_GRID

    qs, y, _ = _data(rng, 3000)
    flat = qs[0] ** 0.25
    flat /= flat.sum(axis=1, keepdims=True)  # vision's readings flattened four-fold: τ = 1/4 restores them
    sharp = qs[2] ** 3.0
    sharp /= sharp.sum(axis=1, keepdims=True)  # text's readings three times too sure: τ ≈ 3
    t = LatentLevelTable(temper=True).fit([flat, qs[1], sharp], y, n_classes=4)
    assert t.temperatures_[0] <= 0.354  # beyond the old grid's lower edge, 0.5
    assert t.temperatures_[2] >= 2.0 and t.temperatures_[1] == 1.0  # the fair modality keeps τ = 1
    assert all(tau in TEMPERATURE_GRID for tau in t.temperatures_)
    old = LatentLevelTable(temper=True, temperatures=(0.5, 0.71, 1.0, 1.41, 2.0)).fit(
        [flat, qs[1], sharp], y, n_classes=4)
    assert old.temperatures_[0] == 0.5  # a given grid bounds the walk: stuck on its edge
    assert t.cv_nll_ < old.cv_nll_ - 0.002


def test_isotonic_grid_is_the_weighted_projection() -> None:
    from sklearn.isotonic import IsotonicRegression

    from assetgrade.fusion.latent import isotonic_grid

    rng = np.random.default_rng(3)
    x, w = rng.random(7), rng.random(7) + 0.1
    want = IsotonicRegression().fit_transform(np.arange(7), x, sample_weight=w)
    assert np.allclose(isotonic_grid(x, w), want)
    # 2-D: the three cells above the corner pool to their mean, the corner stays
    fit = isotonic_grid(np.array([[0.0, 0.6], [0.5, 0.2]]), np.ones((2, 2)), max_iter=5000)
    assert np.allclose(fit, [[0.0, 1.3 / 3], [1.3 / 3, 1.3 / 3]], atol=1e-6)
    grid = isotonic_grid(rng.random((3, 4, 5)), rng.random((3, 4, 5)) + 0.1)
    assert all(np.all(np.diff(grid, axis=a) >= 0) for a in range(3))


def test_monotone_table_removes_inversions_and_helps_on_small_data() -> None:
    nll: dict[bool, list[float]] = {True: [], False: []}
    for seed in range(4):
        qs, y, _ = _data(np.random.default_rng(seed), 2150)
        tr, te = slice(0, 150), slice(150, None)  # a workspace of 150 graded assets, 64 cells
        for mono in (False, True):
            t = LatentLevelTable(temper=True, monotone=mono).fit([q[tr] for q in qs], y[tr], n_classes=4)
            assert (t.monotone_violations() == 0) == mono
            assert np.allclose(t.rubric().sum(axis=-1), 1) and np.allclose(t.joint_.sum(), 1)
            p = t.predict_proba([q[te] for q in qs])
            nll[mono].append(float(-np.mean(np.log(p[np.arange(2000), y[te]]))))
        # the rubric is monotone, so the constraint never costs held-out likelihood here
        assert nll[True][-1] <= nll[False][-1] + 1e-9
    assert np.mean(nll[True]) < np.mean(nll[False]) - 0.003
    tail = np.cumsum(t.rubric()[..., ::-1], axis=-1)[..., ::-1]
    assert all(np.all(np.diff(tail, axis=a) >= -1e-12) for a in range(3))  # P(grade >= g) never falls


def test_fuser_passes_monotone_to_the_table(rng: np.random.Generator) -> None:
    qs, y, _ = _data(rng, 200)
    ids = [f"a{i}" for i in range(len(y))]
    blocks = [EvidenceBlock(m, ids, (), np.zeros((len(y), 0)), np.ones(len(y), bool), grade_proba=q)
              for m, q in zip(("vision", "sensors", "text"), qs, strict=True)]
    fz = Fuser(model="latent", monotone=True).fit(blocks, y, n_classes=4)
    assert fz.table_.monotone and fz.table_.monotone_violations() == 0
    assert Fuser(model="latent").fit(blocks, y, n_classes=4).table_.monotone_violations() > 0


def test_top_readings_match_a_row_by_row_reading(rng: np.random.Generator) -> None:
    qs, y, _ = _data(rng, 400)
    t = LatentLevelTable().fit(qs, y, n_classes=4)
    test = [q[:40].copy() for q in qs]
    test[0][::3] = np.nan  # vision absent on every third row
    test[2][::4] = np.nan  # text absent on every fourth; rows 0, 12, 24, 36 lack both
    test[1][0] = np.nan  # row 0 lacks all three
    got = t.top_readings(test)
    for i, (levels, prob, mix) in enumerate(got):
        absent = [j for j in range(3) if np.isnan(test[j][i]).any()]
        post = (t._ratios([q[i : i + 1] for q in test])[0][:, None] * t.joint_).reshape(4, 4, 4, 4)
        cell = post.sum(axis=tuple(absent)) if absent else post
        by = cell.sum(axis=-1)
        idx = np.unravel_index(int(np.argmax(by)), by.shape)
        want = iter(idx)
        assert levels == tuple(None if j in absent else int(next(want)) for j in range(3))
        assert prob == pytest.approx(float(by[idx] / by.sum()))
        assert np.allclose(mix, cell[idx] / cell[idx].sum())
    assert got[0][0] == (None, None, None) and got[12][0][0] is None and got[12][0][1] is not None


@pytest.mark.parametrize("monotone", [False, True])
def test_the_fit_does_not_depend_on_the_order_of_the_rows(rng: np.random.Generator, monotone: bool) -> None:
    qs, y, _ = _data(rng, 400)
    flat = np.sqrt(qs[0])
    flat /= flat.sum(axis=1, keepdims=True)
    shown = [flat, qs[1].copy(), qs[2]]
    shown[1][rng.random(400) < 0.2] = np.nan  # sensors absent on a fifth of the assets
    shown[1][:3] = np.inf  # absent written another way: the same reading
    perm = rng.permutation(400)

    def fit(rows: np.ndarray) -> LatentLevelTable:
        return LatentLevelTable(temper=True, monotone=monotone).fit([q[rows] for q in shown], y[rows], n_classes=4)

    a, b = fit(np.arange(400)), fit(perm)
    # the temperature folds followed the row order: another order, other temperatures and another table
    assert a.temperatures_ == b.temperatures_ and a.cv_nll_ == b.cv_nll_
    np.testing.assert_array_equal(a.joint_, b.joint_)
    assert (a.loglik_, a.cond_loglik_, a.n_iter_) == (b.loglik_, b.cond_loglik_, b.n_iter_)
    for pa, pb in zip(a.prior_, b.prior_, strict=True):
        np.testing.assert_array_equal(pa, pb)
    np.testing.assert_array_equal(a.predict_proba(shown), b.predict_proba(shown))

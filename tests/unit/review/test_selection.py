"""Every active-learning strategy keeps the contract; uncertainty and diversity behave as designed."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from assetgrade.errors import ValidationError
from assetgrade.review.selection import (
    STRATEGIES,
    SelectionContext,
    SelectionStrategy,
    available_strategies,
    get_strategy,
    register_strategy,
    uncertainty,
)


def _ctx(rng: np.random.Generator, n: int = 60, k: int = 4) -> SelectionContext:
    probs = rng.dirichlet(np.ones(k), size=n)
    labeled = np.zeros(n, bool)
    labeled[rng.choice(n, 10, replace=False)] = True
    return SelectionContext(probs=probs, labeled=labeled, embeddings=rng.normal(size=(n, 3)), ordinal=True)


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_contract_k_distinct_unlabeled_deterministic(name: str, rng: np.random.Generator) -> None:
    ctx = _ctx(rng)
    strat = get_strategy(name)
    assert isinstance(strat, SelectionStrategy) and strat.name == name
    picked = strat.select(ctx, 7, np.random.default_rng(3))
    assert len(picked) == 7 and len(set(picked.tolist())) == 7
    assert not ctx.labeled[picked].any()
    assert picked.tolist() == strat.select(ctx, 7, np.random.default_rng(3)).tolist()
    # asking for more than the pool returns the whole pool; zero returns nothing
    assert sorted(strat.select(ctx, 1000, np.random.default_rng(0)).tolist()) == ctx.unlabeled.tolist()
    assert len(strat.select(ctx, 0, np.random.default_rng(0))) == 0


def test_registry() -> None:
    assert {
        "random",
        "least_confidence",
        "margin",
        "entropy",
        "expected_cost",
        "coreset",
        "uncertain_coreset",
        "badge",
        "typiclust",
        "budget_switch",
    } <= set(available_strategies())
    with pytest.raises(ValidationError, match="known"):
        get_strategy("nope")

    @register_strategy("_first_unlabeled")
    class First:
        name = "_first_unlabeled"

        def select(self, ctx: SelectionContext, k: int, rng: np.random.Generator) -> np.ndarray:
            out: np.ndarray = ctx.unlabeled[:k]
            return out

    try:
        assert get_strategy("_first_unlabeled").select(
            _ctx(np.random.default_rng(0)), 2, np.random.default_rng(0)
        ).shape == (2,)
    finally:
        del STRATEGIES["_first_unlabeled"]


def test_uncertainty_scores_by_hand() -> None:
    p = np.array([[0.6, 0.3, 0.1], [1 / 3, 1 / 3, 1 / 3]])
    assert uncertainty(p, "least_confidence") == pytest.approx([0.4, 2 / 3])
    assert uncertainty(p, "margin") == pytest.approx([0.7, 1.0])
    assert uncertainty(p, "entropy")[1] == pytest.approx(np.log(3))


def test_uncertainty_strategies_pick_the_uncertain(rng: np.random.Generator) -> None:
    probs = np.tile([0.97, 0.01, 0.01, 0.01], (50, 1))
    probs[[5, 17, 33]] = [0.3, 0.3, 0.2, 0.2]
    ctx = SelectionContext(probs=probs, labeled=np.zeros(50, bool))
    for name in ("least_confidence", "margin", "entropy", "expected_cost"):
        assert sorted(get_strategy(name).select(ctx, 3, rng).tolist()) == [5, 17, 33], name


def test_expected_cost_uses_the_cost_matrix() -> None:
    probs = np.array([[0.6, 0.4, 0.0, 0.0], [0.6, 0.0, 0.0, 0.4]])
    flat = SelectionContext(probs=probs, labeled=np.zeros(2, bool))
    ordinal = SelectionContext(probs=probs, labeled=np.zeros(2, bool), ordinal=True)
    # 0/1 costs: both items equally risky; ordinal |i-j| costs: the A-or-D item costs 3x as much
    strat = get_strategy("expected_cost")
    assert strat.score(flat)[0] == pytest.approx(strat.score(flat)[1])  # type: ignore[attr-defined]
    assert strat.score(ordinal).tolist() == pytest.approx([0.4, 1.2])  # type: ignore[attr-defined]
    # a custom matrix where missing a D is expensive
    cost = np.ones((4, 4)) - np.eye(4)
    cost[3, :3] = 10.0
    custom = SelectionContext(probs=probs, labeled=np.zeros(2, bool), cost=cost)
    assert strat.select(custom, 1, np.random.default_rng(0)).tolist() == [1]


def _mean_pairwise(x: np.ndarray) -> float:
    d = np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1))
    return float(d[np.triu_indices(len(x), 1)].mean())


def test_diversity_batch_spreads_more_than_top_k(rng: np.random.Generator) -> None:
    # one tight cluster holds the most uncertain items; four other clusters are almost as uncertain
    centers = np.array([[0, 0], [20, 0], [0, 20], [20, 20], [10, 40]], float)
    emb = np.concatenate([c + rng.normal(0, 0.5, (40, 2)) for c in centers])
    probs = np.tile([0.7, 0.3], (200, 1))
    probs[:40] = [0.5, 0.5]
    ctx = SelectionContext(probs=probs, labeled=np.zeros(200, bool), embeddings=emb)
    top = get_strategy("margin").select(ctx, 10, np.random.default_rng(0))
    div = get_strategy("uncertain_coreset", pool_factor=20).select(ctx, 10, np.random.default_rng(0))
    core = get_strategy("coreset").select(ctx, 10, np.random.default_rng(0))
    assert _mean_pairwise(emb[div]) > 3 * _mean_pairwise(emb[top])
    assert len({int(i) // 40 for i in div}) == 5 and len({int(i) // 40 for i in core}) == 5
    assert {int(i) // 40 for i in top} == {0}


def test_diversity_needs_embeddings(rng: np.random.Generator) -> None:
    ctx = SelectionContext(probs=rng.dirichlet([1, 1], 5), labeled=np.zeros(5, bool))
    for name in ("coreset", "uncertain_coreset", "badge"):
        with pytest.raises(ValidationError, match="embeddings"):
            get_strategy(name).select(ctx, 2, rng)


def test_context_validation() -> None:
    with pytest.raises(ValidationError, match="do not match"):
        SelectionContext(probs=np.zeros((3, 2)), labeled=np.zeros(2, bool))
    with pytest.raises(ValidationError, match="cost matrix"):
        SelectionContext(probs=np.zeros((3, 2)), labeled=np.zeros(3, bool), cost=np.zeros((3, 3)))


@pytest.mark.parametrize(("row", "said"), [([0.0, 0.0, 0.0], "sums to 0"), ([60.0, 30.0, 10.0], "sums to 100"),
                                           ([0.5, 0.3, 0.0], "sums to 0.8")])
def test_context_refuses_a_probability_row_that_is_not_a_distribution(row: list[float], said: str) -> None:
    # the uncertainty formulas assume distributions: an all-zero row (no prediction) ranked first by least
    # confidence (1 - max p = 1) and last by entropy (0); a row of percentages got 1 - max p = -59
    probs = np.tile([0.6, 0.3, 0.1], (4, 1))
    probs[2] = row
    with pytest.raises(ValidationError, match=said) as err:
        SelectionContext(probs=probs, labeled=np.zeros(4, bool))
    assert err.value.where == "selection context probs row 2"
    probs[2] = [0.33, 0.33, 0.33]  # rounded to two decimals: within the tolerance of label_noise.SUM_TOLERANCE
    assert SelectionContext(probs=probs, labeled=np.zeros(4, bool)).probs.shape == (4, 3)

def test_typiclust_takes_the_most_typical_item_of_each_uncovered_cluster() -> None:
    from assetgrade.review.selection import TypiClust

    rng = np.random.default_rng(5)
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    emb = np.vstack([c + rng.normal(0, 0.5, (30, 2)) for c in centres])
    labeled = np.zeros(90, bool)
    labeled[0] = True  # blob A is covered; 1 label + 2 picks = 3 clusters, one per blob
    ctx = SelectionContext(probs=np.full((90, 3), 1 / 3), labeled=labeled, embeddings=emb)
    picked = TypiClust(knn=10).select(ctx, 2, np.random.default_rng(0))
    blobs = sorted(int(i) // 30 for i in picked)
    assert blobs == [1, 2]  # one from each blob without a label, none from A
    for b in (1, 2):  # in each, the densest item: least mean distance to its 10 nearest neighbours
        x = emb[30 * b:30 * (b + 1)]
        d = np.sort(np.linalg.norm(x[:, None] - x[None], axis=2), axis=1)[:, 1:11].mean(axis=1)
        assert 30 * b + int(np.argmin(d)) in picked.tolist()
        assert np.linalg.norm(emb[30 * b + int(np.argmin(d))] - centres[b]) < 0.5


def test_budget_switch_covers_first_then_follows_uncertainty(rng: np.random.Generator) -> None:
    """Below per_class x classes labels it picks what typiclust picks, from there on what uncertain_coreset picks."""
    ctx = _ctx(rng)  # 10 labels, 4 classes
    below, above = get_strategy("budget_switch", per_class=3), get_strategy("budget_switch", per_class=2.5)
    for strat, part in ((below, "typiclust"), (above, "uncertain_coreset")):
        assert strat.phase(ctx) == part  # type: ignore[attr-defined]
        expected = get_strategy(part).select(ctx, 6, np.random.default_rng(1))
        assert strat.select(ctx, 6, np.random.default_rng(1)).tolist() == expected.tolist()
    with pytest.raises(ValidationError, match="per_class"):
        get_strategy("budget_switch", per_class=-1)


@pytest.mark.parametrize("name", ["margin", "uncertain_coreset"])
def test_one_grade_only_margin_strategies_still_select(name: str, rng: np.random.Generator) -> None:
    """With a single grade column there is no second-best grade: margin uncertainty is 0, not an IndexError."""
    ctx = SelectionContext(probs=np.ones((6, 1)), labeled=np.zeros(6, bool), embeddings=rng.normal(size=(6, 2)))
    assert uncertainty(ctx.probs, "margin").tolist() == [0.0] * 6
    picked = get_strategy(name).select(ctx, 3, np.random.default_rng(0))
    assert len(set(picked.tolist())) == 3


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_every_asset_labelled_or_no_assets_selects_nothing(name: str) -> None:
    """An empty pool (all labelled, or no items at all) is an empty answer for every strategy, badge included."""
    all_labelled = SelectionContext(probs=np.full((4, 3), 1 / 3), labeled=np.ones(4, bool), embeddings=np.eye(4, 2))
    empty = SelectionContext(probs=np.zeros((0, 3)), labeled=np.zeros(0, bool), embeddings=np.zeros((0, 2)))
    for ctx in (all_labelled, empty):
        picked = get_strategy(name).select(ctx, 5, np.random.default_rng(0))
        assert picked.tolist() == [] and picked.dtype == np.int64


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [("probs", np.nan, "probs row 2"), ("probs", np.inf, "probs row 2"), ("probs", -0.5, "probs row 2"),
     ("embeddings", np.nan, "embeddings row 2"), ("cost", np.inf, "cost row 2")],
)  # fmt: skip
def test_context_refuses_non_finite_inputs_naming_the_row(field: str, value: float, match: str) -> None:
    """A nan probability used to make uncertain_coreset's weights all nan (argmax then takes whatever comes first)."""
    arrays = {"probs": np.full((4, 3), 1 / 3), "embeddings": np.eye(4, 2), "cost": 1.0 - np.eye(3)}
    arrays[field][2, 1] = value
    with pytest.raises(ValidationError, match=match):
        SelectionContext(labeled=np.zeros(4, bool), **arrays)
    with pytest.raises(ValidationError, match="no class column"):
        SelectionContext(probs=np.zeros((3, 0)), labeled=np.zeros(3, bool))


@pytest.mark.parametrize("k", [2.5, float("nan"), "3", True, -1])
def test_select_refuses_a_budget_that_is_not_a_count(k: object) -> None:
    """k = 2.5 used to fail deep inside with 'slice indices must be integers'; nan slipped past k < 0."""
    ctx = SelectionContext(probs=np.full((4, 3), 1 / 3), labeled=np.zeros(4, bool))
    with pytest.raises(ValidationError, match="k must be an integer >= 0"):
        get_strategy("margin").select(ctx, k, np.random.default_rng(0))  # type: ignore[arg-type]
    assert len(get_strategy("margin").select(ctx, np.int64(2), np.random.default_rng(0))) == 2  # type: ignore[arg-type]


@pytest.mark.parametrize("per_class", [float("nan"), float("inf"), -1.0])
def test_budget_switch_refuses_per_class_that_is_not_a_finite_count(per_class: float) -> None:
    """per_class=nan compared False with every count, so the strategy silently never ran typiclust."""
    with pytest.raises(ValidationError, match="per_class must be a finite number >= 0"):
        get_strategy("budget_switch", per_class=per_class)


def _peak_bytes(fn: Callable[[], object]) -> int:
    import tracemalloc

    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_coreset_distances_to_many_labelled_items_use_bounded_memory(rng: np.random.Generator) -> None:
    """The first k-center step built a (candidates, 512 centres, dims) array: 13 GB for 100,000 assets with 512
    labels. It is now done in blocks of rows, with the same distances."""
    emb = rng.normal(size=(4600, 16))
    labeled = np.zeros(4600, bool)
    labeled[:600] = True
    ctx = SelectionContext(probs=np.full((4600, 2), 0.5), labeled=labeled, embeddings=emb)
    picked: list[int] = []
    peak = _peak_bytes(lambda: picked.extend(get_strategy("coreset").select(ctx, 3, np.random.default_rng(0)).tolist()))
    assert peak < 120 * 2**20  # the unblocked step held 2 x 4,000 x 512 x 16 floats (525 MB)
    # the first pick is the pool item farthest from every labelled one (an independent computation)
    from scipy.spatial.distance import cdist

    far = cdist(emb[600:], emb[:600]).min(axis=1)
    assert picked[0] == 600 + int(np.argmax(far))


def test_typicality_of_a_large_cluster_uses_bounded_memory(rng: np.random.Generator) -> None:
    """Typicality built the cluster's full (n, n, dims) distance array: 6 GB for a cluster of 5,000 items in 32
    dims, so typiclust (budget_switch's first phase) ran out of memory on 100,000 assets. Now blocks of rows."""
    from scipy.spatial.distance import cdist

    from assetgrade.review.selection import TypiClust

    x = rng.normal(size=(1200, 16))
    x[10:15] = x[3]  # duplicates: distance 0 to several items besides itself
    out: list[np.ndarray] = []
    peak = _peak_bytes(lambda: out.append(TypiClust(knn=20)._typicality(x)))
    assert peak < 120 * 2**20  # unblocked: 2 x 1,200 x 1,200 x 16 floats (368 MB)
    expected = 1.0 / (np.sort(cdist(x, x), axis=1)[:, 1:21].mean(axis=1) + 1e-12)
    np.testing.assert_allclose(out[0], expected, rtol=1e-12)


def _typicality_by_definition(x: np.ndarray, knn: int) -> np.ndarray:
    """Typicality measured the plain way, every pair at once (the code before the BLAS screen, unblocked)."""
    m = min(knn, len(x) - 1)
    d = np.sqrt(np.maximum(((x[:, None, :] - x[None, :, :]) ** 2).sum(axis=2), 0.0))
    return 1.0 / (np.sort(np.partition(d, m, axis=1)[:, : m + 1], axis=1)[:, 1:].mean(axis=1) + 1e-12)


@pytest.mark.parametrize("data", ["gaussian", "far_from_origin", "duplicates", "integer_grid", "tiny_scale", "wide"])
@pytest.mark.parametrize("knn", [1, 20])
def test_screened_typicality_is_bit_for_bit_the_definition(data: str, knn: int) -> None:
    """The BLAS screen (|b|² − 2a·b) only picks candidates; the values are the exact formula's, so every
    typicality is identical, also where ties sit at the screen's edge (duplicates, an integer grid: those rows
    measure every item) and where |a|² dwarfs the distances (far from the origin, a tiny scale)."""
    from assetgrade.review.strategies.typiclust import TypiClust, _nearest_candidates

    rng = np.random.default_rng(7)
    x = {"gaussian": lambda: rng.normal(size=(700, 24)),
         "far_from_origin": lambda: rng.normal(size=(500, 8)) + 1e5,
         "duplicates": lambda: np.repeat(rng.normal(size=(90, 6)), 7, axis=0),
         "integer_grid": lambda: rng.integers(0, 3, size=(600, 3)).astype(np.float64),
         "tiny_scale": lambda: rng.normal(size=(400, 5)) * 1e-9,
         "wide": lambda: rng.normal(size=(150, 400))}[data]()
    expected = _typicality_by_definition(x, knn)
    got = TypiClust(knn=knn)._typicality(x)
    assert np.array_equal(got, expected)
    rows = rng.choice(len(x), size=len(x) // 3, replace=False)
    assert np.array_equal(TypiClust(knn=knn)._typicality(x, rows), expected[rows])
    if data == "integer_grid":  # the fallback is exercised: many rows have ties at the screen's edge
        xc = x - x.mean(axis=0)
        _, ok = _nearest_candidates(xc, np.einsum("ij,ij->i", xc, xc), np.arange(len(x)), knn, knn + 9)
        assert not ok.all()


@pytest.mark.parametrize("labelled", [0, 15])
def test_typiclust_selects_what_the_definition_selects(labelled: int) -> None:
    """The same picks, in the same order, as typiclust with typicality measured pair by pair (seeded)."""
    from assetgrade.review.strategies import typiclust as mod

    class ByDefinition(mod.TypiClust):
        def _typicality(self, x: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
            full = _typicality_by_definition(x, self.knn) if len(x) > 1 else np.ones(1)
            return full if rows is None else full[rows]

    rng = np.random.default_rng(11)
    centers = rng.normal(0, 3, (12, 10))
    emb = centers[rng.integers(0, 12, 3000)] + rng.normal(0, 1, (3000, 10))
    labeled = np.zeros(3000, bool)
    labeled[rng.choice(3000, labelled, replace=False)] = True
    ctx = SelectionContext(probs=np.full((3000, 3), 1 / 3), labeled=labeled, embeddings=emb)
    got = mod.TypiClust().select(ctx, 12, np.random.default_rng(5)).tolist()
    assert got == ByDefinition().select(ctx, 12, np.random.default_rng(5)).tolist()


@pytest.mark.parametrize(("name", "params", "where"), [
    ("typiclust", {"knn": 0}, "typiclust.knn"),
    ("typiclust", {"knn": "20"}, "typiclust.knn"),
    ("typiclust", {"max_clusters": 2.5}, "typiclust.max_clusters"),
    ("uncertain_coreset", {"uncertainty_kind": "margins"}, "uncertain_coreset.uncertainty_kind"),
    ("uncertain_coreset", {"pool_factor": 0}, "uncertain_coreset.pool_factor"),
    ("budget_switch", {"knn": True}, "typiclust.knn"),
])
def test_strategy_settings_are_judged_when_it_is_built_not_inside_select(name: str, params: dict[str, object],
                                                                        where: str) -> None:
    from assetgrade.errors import ValidationError
    from assetgrade.review.selection import get_strategy

    with pytest.raises(ValidationError) as refused:
        get_strategy(name, **params)
    assert refused.value.where == where


def test_out_of_fold_probs_refuses_bad_fold_counts_naming_the_setting() -> None:
    from assetgrade.errors import ValidationError
    from assetgrade.review.label_noise import out_of_fold_probs

    x, y = np.random.default_rng(0).normal(size=(12, 2)), np.array([0, 1] * 6)
    for n in (1, 2.0, True):
        with pytest.raises(ValidationError, match="integer >= 2"):
            out_of_fold_probs(x, y, n_splits=n)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="more than the 3 groups") as refused:
        out_of_fold_probs(x, y, n_splits=4, groups=[f"g{i % 3}" for i in range(12)])
    assert refused.value.where == "out_of_fold_probs.n_splits"
    assert out_of_fold_probs(x, y, n_splits=3, groups=[f"g{i % 3}" for i in range(12)]).shape == (12, 2)

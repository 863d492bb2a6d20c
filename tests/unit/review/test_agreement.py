"""Agreement statistics against published worked examples, hand computation and scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from assetgrade.errors import ValidationError
from assetgrade.review.agreement import (
    MISSING,
    adjudication_queue,
    agreement_report,
    cohen_kappa,
    encode_ratings,
    fleiss_kappa,
    krippendorff_alpha,
    per_class_alpha,
    per_reviewer_kappa,
    rating_counts,
)

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: 4 observers,
# 12 units, values 1..5, missing shown as '.'; published alpha: nominal 0.743, ordinal 0.815,
# interval 0.849.
_M = None
_OBS = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, _M, _M, _M],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, _M, 3],
    [_M, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, _M],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, _M],
]
KRIPP_C = np.array([[MISSING if v is None else v - 1 for v in row] for row in _OBS]).T  # item-major


@pytest.mark.parametrize(("level", "published"), [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849)])
def test_krippendorff_published_example(level: str, published: float) -> None:
    assert krippendorff_alpha(KRIPP_C, level=level, n_categories=5) == pytest.approx(published, abs=5e-4)  # type: ignore[arg-type]


def test_krippendorff_binary_two_observers() -> None:
    # Krippendorff (2011) section A: 2 observers, 10 units, binary data, alpha = 0.095.
    a = [0, 1, 0, 0, 0, 0, 0, 0, 1, 0]
    b = [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]
    assert krippendorff_alpha(np.column_stack([a, b]), level="nominal") == pytest.approx(0.095, abs=5e-4)


def test_krippendorff_nan_is_missing_and_singletons_are_ignored() -> None:
    with_nan = np.where(KRIPP_C == MISSING, np.nan, KRIPP_C.astype(float))
    assert krippendorff_alpha(with_nan, level="ordinal", n_categories=5) == pytest.approx(0.815, abs=5e-4)
    # unit 12 has one rating; dropping it changes nothing
    assert krippendorff_alpha(KRIPP_C[:11], level="ordinal", n_categories=5) == pytest.approx(
        krippendorff_alpha(KRIPP_C, level="ordinal", n_categories=5)
    )


def test_perfect_agreement_and_degenerate_cases() -> None:
    r = np.array([[0, 0], [1, 1], [3, 3]])
    assert krippendorff_alpha(r, level="ordinal") == pytest.approx(1.0)
    assert np.isnan(krippendorff_alpha([[2, 2], [2, 2]]))  # no variation: undefined
    assert np.isnan(krippendorff_alpha([[1, MISSING], [MISSING, 2]]))  # nothing pairable


@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
def test_cohen_matches_sklearn(weights: str | None, rng: np.random.Generator) -> None:
    truth = rng.integers(0, 4, 200)
    a = np.clip(truth + rng.integers(-1, 2, 200), 0, 3)
    b = np.clip(truth + rng.integers(-1, 2, 200), 0, 3)
    ours = cohen_kappa(a, b, n_categories=4, weights=weights)  # type: ignore[arg-type]
    assert ours == pytest.approx(cohen_kappa_score(a, b, weights=weights, labels=[0, 1, 2, 3]), abs=1e-12)


@pytest.mark.parametrize("weights", ["linear", "quadratic"])
def test_weighted_cohen_counts_a_grade_nobody_gave_as_a_step(weights: str) -> None:
    # grade C (2) is never used: B and D are two steps apart (Cohen 1968 weights the category pairs); sklearn
    # without labels= weights by rank among the grades present (one step), so it equals ours only with labels=
    a, b = [0, 0, 1, 3, 3, 1, 0, 3], [0, 1, 1, 3, 1, 0, 0, 3]
    ours = cohen_kappa(a, b, weights=weights)  # type: ignore[arg-type]
    assert ours == pytest.approx(cohen_kappa_score(a, b, weights=weights, labels=[0, 1, 2, 3]), abs=1e-12)
    assert ours != pytest.approx(cohen_kappa_score(a, b, weights=weights), abs=1e-3)
    assert ours == pytest.approx(27 / 43 if weights == "linear" else 77 / 101, abs=1e-12)

def test_cohen_hand_computed_and_skips_missing() -> None:
    # 2x2 table [[20, 5], [10, 15]]: po = 0.7, pe = 0.5*0.6 + 0.5*0.4 = 0.5 -> kappa 0.4
    a = [0] * 25 + [1] * 25
    b = [0] * 20 + [1] * 5 + [0] * 10 + [1] * 15
    assert cohen_kappa(a, b) == pytest.approx(0.4)
    assert cohen_kappa([*a, 0, MISSING], [*b, MISSING, 1]) == pytest.approx(0.4)


def test_weighted_kappa_punishes_far_disagreement_more() -> None:
    a = [0, 1, 2, 3] * 10
    near = [1, 1, 2, 3] * 10  # one item per block one grade off
    far = [3, 1, 2, 3] * 10  # the same item three grades off
    assert cohen_kappa(a, near, weights="quadratic") > cohen_kappa(a, far, weights="quadratic")
    assert cohen_kappa(a, near) == pytest.approx(cohen_kappa(a, far))  # unweighted cannot tell


def test_fleiss_hand_example() -> None:
    # p_i = 1, 1, 1/3 -> P = 7/9; p_j = 5/9, 4/9 -> Pe = 41/81; kappa = (7/9 - 41/81) / (40/81) = 0.55
    assert fleiss_kappa([[3, 0], [0, 3], [2, 1]]) == pytest.approx(0.55)


def test_fleiss_wikipedia_example() -> None:
    # Fleiss (1971) style example from Wikipedia: 10 items, 14 raters, 5 categories, kappa = 0.210
    table = [
        [0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7],
    ]  # fmt: skip
    assert fleiss_kappa(table) == pytest.approx(0.210, abs=5e-4)


def test_fleiss_rejects_unequal_rater_counts() -> None:
    with pytest.raises(ValidationError, match="same number"):
        fleiss_kappa([[2, 0], [1, 0]])


def test_rating_counts_and_encoding() -> None:
    r = encode_ratings([["A", "B", None], ["D", "D", "C"]], ["A", "B", "C", "D"])
    assert r.tolist() == [[0, 1, MISSING], [3, 3, 2]]
    assert rating_counts(r, 4).tolist() == [[1, 1, 0, 0], [0, 0, 1, 2]]
    with pytest.raises(ValidationError, match="row 1, reviewer 0"):
        encode_ratings([["A"], ["E"]], ["A", "B"])
    with pytest.raises(ValidationError, match="outside"):
        krippendorff_alpha([[0, 5]], n_categories=4)


def test_per_class_alpha_finds_the_confused_class() -> None:
    # reviewers agree on classes 0 and 1, but mix up 2 and 3
    r = np.array([[0, 0], [1, 1], [0, 0], [1, 1], [2, 3], [3, 2], [2, 2], [3, 3], [2, 3], [0, 0]])
    pc = per_class_alpha(r, n_categories=4)
    assert pc[0] == pytest.approx(1.0) and pc[1] == pytest.approx(1.0)
    assert pc[2] < 0.5 and pc[3] < 0.5


def test_per_reviewer_kappa_singles_out_the_outlier(rng: np.random.Generator) -> None:
    truth = rng.integers(0, 4, 120)
    good = [np.clip(truth + (rng.random(120) < 0.1) * rng.choice([-1, 1], 120), 0, 3) for _ in range(3)]
    sloppy = rng.integers(0, 4, 120)
    r = np.column_stack([*good, sloppy])
    r[::7, 1] = MISSING
    out = per_reviewer_kappa(r, n_categories=4)
    assert out[3][0] < 0.3 < min(out[j][0] for j in range(3))
    assert out[1][1] == 120 - len(range(0, 120, 7))


def test_adjudication_rules() -> None:
    r = [[0, 0, 1], [0, 2, 0], [0, 1, MISSING], [3, 3, 3], [1, MISSING, MISSING], [0, 1, 2]]
    q = adjudication_queue(r)
    assert [d.item for d in q] == [1, 5, 2]  # widest spread first
    assert q[0].reasons == ("ratings 2 grades apart",) and q[0].majority == 0
    assert q[2].reasons == ("no majority",)
    assert [d.item for d in adjudication_queue(r, max_spread=2, require_majority=False)] == []


def test_agreement_report_shapes_and_values() -> None:
    rep = agreement_report(KRIPP_C, categories=["1", "2", "3", "4", "5"])
    assert rep.alpha == pytest.approx(0.815, abs=5e-4) and rep.alpha_nominal == pytest.approx(0.743, abs=5e-4)
    assert rep.fleiss is not None  # items 2-9 and 11 are rated by all four
    assert set(rep.pairwise_kappa) == {(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)}
    assert set(rep.per_class) == {"1", "2", "3", "4", "5"}
    assert 5 in [d.item for d in rep.adjudicate]  # unit 6 was rated 1, 2, 3, 4
    d = rep.to_dict()
    assert d["n_items"] == 12 and d["level"] == "ordinal"


def test_no_ratings_at_all_is_nan_or_empty_not_a_crash() -> None:
    """Zero items (or zero reviewers) used to raise numpy's 'zero-size array to reduction operation maximum'."""
    assert np.isnan(cohen_kappa([], []))
    assert np.isnan(krippendorff_alpha(np.zeros((0, 3))))
    assert np.isnan(krippendorff_alpha(np.zeros((4, 0))))
    assert adjudication_queue(np.zeros((0, 3))) == []
    per_reviewer = per_reviewer_kappa(np.zeros((0, 2)))
    assert sorted(per_reviewer) == [0, 1] and all(np.isnan(v) and n == 0 for v, n in per_reviewer.values())
    rep = agreement_report(np.zeros((0, 2)), categories=["A", "B"])
    assert rep.n_items == 0 and rep.fleiss is None and rep.adjudicate == [] and np.isnan(rep.alpha)


def test_cohen_refuses_reviewers_with_different_item_counts() -> None:
    """Two rating lists of unequal length used to fail in numpy's column_stack with a shape message."""
    with pytest.raises(ValidationError, match="2 ratings from the first reviewer, 3 from the second"):
        cohen_kappa([0, 1], [0, 1, 1])


@pytest.mark.parametrize("value", [np.inf, -np.inf])
def test_infinite_rating_is_named_as_it_was_given(value: float) -> None:
    """inf used to be cast to int64 first and reported as 'negative category -9223372036854775808'."""
    with pytest.raises(ValidationError, match=r"ratings row 1, reviewer 0: rating -?inf is not a category index"):
        krippendorff_alpha([[0, 1], [value, 1]])


@pytest.mark.parametrize("bad", [np.nan, -1.0, 1.5, np.inf])
def test_fleiss_refuses_counts_that_are_not_whole_numbers(bad: float) -> None:
    """Negative counts passed the equal-total check and gave nan, fractions gave a kappa (-0.87), nan crashed."""
    counts = np.array([[1.0, 1.0], [2.0, 0.0], [0.0, 2.0]])
    counts[1, 1] = bad
    if np.isfinite(bad):
        counts[1, 0] = 2.0 - bad  # the row total stays equal: [3, -1], [0.5, 1.5]
    with pytest.raises(ValidationError, match=r"fleiss counts row 1, category \d: count"):
        fleiss_kappa(counts)


def _loop_per_reviewer(r: np.ndarray, k: int, ordinal: bool) -> dict[int, tuple[float, int]]:
    """Per-reviewer kappa written the plain way: one item at a time (an independent computation)."""
    out = {}
    for j in range(r.shape[1]):
        mine, cons = [], []
        for i in range(r.shape[0]):
            others = [int(v) for c, v in enumerate(r[i]) if c != j and v != MISSING]
            if r[i, j] == MISSING or not others:
                continue
            mine.append(int(r[i, j]))
            cons.append(sorted(others)[(len(others) - 1) // 2] if ordinal else max(range(k), key=others.count))
        w = "quadratic" if ordinal else None
        out[j] = (cohen_kappa(mine, cons, n_categories=k, weights=w) if mine else float("nan"), len(mine))
    return out


def test_agreement_on_many_items_is_vectorised_and_matches_item_by_item(rng: np.random.Generator) -> None:
    """per_reviewer_kappa, adjudication_queue and the coincidence matrix looped in Python per item: agreement_report
    on 100,000 items took 21 s. They now work on whole arrays; the results are those of an item-by-item loop."""
    small = rng.integers(0, 4, size=(60, 4))
    small[rng.random(small.shape) < 0.3] = MISSING
    for ordinal in (True, False):
        got = per_reviewer_kappa(small, n_categories=4, weights="quadratic" if ordinal else None)
        want = _loop_per_reviewer(small, 4, ordinal)
        assert [n for _, n in got.values()] == [n for _, n in want.values()]
        assert [v for v, _ in got.values()] == pytest.approx([v for v, _ in want.values()], nan_ok=True)
    assert per_reviewer_kappa([[0], [1]]) == {0: (pytest.approx(np.nan, nan_ok=True), 0)}
    queue = adjudication_queue(small)
    expected = [i for i, row in enumerate(small) if (v := row[row != MISSING]).size >= 2
                and (v.max() - v.min() > 1 or np.bincount(v).max() * 2 <= v.size)]  # fmt: skip
    assert sorted(d.item for d in queue) == expected
    truth = rng.integers(0, 4, 50_000)
    big = np.repeat(truth[:, None], 3, axis=1)
    noisy = rng.random(big.shape) < 0.05
    big[noisy] = rng.integers(0, 4, noisy.sum())
    # whole arrays at 50,000 items (how long it takes is a benchmark's business, not a test's): 5 % of the
    # answers redrawn, so each reviewer agrees with the others far above chance and few items need adjudication
    kappas = per_reviewer_kappa(big)
    assert all(v > 0.9 and n == truth.size for v, n in kappas.values()), kappas
    want = [i for i, row in enumerate(big) if row.max() - row.min() > 1 or np.bincount(row).max() * 2 <= row.size]
    assert sorted(d.item for d in adjudication_queue(big)) == want and 0 < len(want) < 0.1 * truth.size
    assert 0.9 < krippendorff_alpha(big) < 1.0


@pytest.mark.parametrize("categories", [[], ["A"]])
def test_report_refuses_fewer_than_two_grades(categories: list[str]) -> None:
    """categories=[] raised IndexError from the per-class table; one grade gave a report of nan everywhere."""
    with pytest.raises(ValidationError, match=r"agreement_report: categories: got .*at least 2 grades"):
        agreement_report(np.zeros((0, 2)), categories=categories)
    with pytest.raises(ValidationError, match="at least 2 grades"):
        agreement_report([[-1, -1]], categories=categories)


def test_report_and_encoding_refuse_a_grade_listed_twice() -> None:
    """Two 'B's folded into one per-class entry (report) or sent every 'B' to the second index (encoding)."""
    with pytest.raises(ValidationError, match=r"categories\[2\]: grade 'B' is listed twice \(first at 1\)"):
        agreement_report([[0, 1], [2, 2]], categories=["A", "B", "B"])
    with pytest.raises(ValidationError, match=r"encode_ratings: categories\[2\]: grade 'B' is listed twice"):
        encode_ratings([["A", "B"]], ["A", "B", "B"])
    with pytest.raises(ValidationError, match="the string 'ABC'"):
        agreement_report([[0, 1]], categories="ABC")


def test_report_with_one_reviewer_or_no_item_rated_twice_is_nan_not_an_error() -> None:
    one = agreement_report([[0], [1], [2]], categories=["A", "B", "C"])
    assert one.n_reviewers == 1 and np.isnan(one.alpha) and one.fleiss is None and one.pairwise_kappa == {}
    kappa, items = one.per_reviewer[0]
    assert np.isnan(kappa) and items == 0 and one.adjudicate == []
    sparse = agreement_report([[0, -1], [-1, 1]], categories=["A", "B"])
    assert np.isnan(sparse.alpha) and np.isnan(sparse.pairwise_kappa[(0, 1)]) and sparse.adjudicate == []


@pytest.mark.parametrize("n", [0, -2, 1.5, True])
def test_a_category_count_below_one_is_named(n: object) -> None:
    """n_categories=0 said 'category 0 outside 0..-1' about the first rating."""
    with pytest.raises(ValidationError, match=r"n_categories: n_categories .*allowed: a whole number >= 1"):
        krippendorff_alpha([[0, 0]], n_categories=n)  # type: ignore[arg-type]


@pytest.mark.parametrize("spread", [-1, 0.5])
def test_adjudication_refuses_a_negative_or_fractional_spread(spread: float) -> None:
    """max_spread=-1 flagged every item, agreeing ones included, as 'ratings 0 grades apart'."""
    with pytest.raises(ValidationError, match="max_spread"):
        adjudication_queue([[0, 0], [1, 1]], max_spread=spread)  # type: ignore[arg-type]

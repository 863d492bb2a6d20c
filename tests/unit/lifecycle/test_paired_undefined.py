"""Paired bootstrap vs point figure: a metric undefined on the figures (or a resample) is undefined in the interval."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from assetgrade.cli.console import console
from assetgrade.cli.models import _print_paired
from assetgrade.lifecycle.evaluate import GoldenEvaluation, PromotionPolicy, compare, evaluate_on_golden
from assetgrade.lifecycle.paired import (
    PAIRED_METRICS,
    envelope_interval,
    paired_draws,
    percentile_interval,
)
from assetgrade.result import GradeResult
from assetgrade.store.records import AssetRecord

G3 = ("A", "B", "C")


class _Model:
    """Grades asset ``i`` as ``grade(i, true grade)``, with 0.8 on that grade."""

    def __init__(self, grade: dict[int, str]) -> None:
        self.grade = grade

    def grade_many(self, records: Sequence[AssetRecord]) -> list[GradeResult]:
        out = []
        for i, r in enumerate(records):
            g = self.grade.get(i, str(r.grade))
            out.append(GradeResult(r.asset_id, {x: 0.8 if x == g else 0.1 for x in G3}, g, (g,), 0.8, 1.0, "accept"))
        return out


def _evals(labels: Sequence[str], wrong: dict[int, str]) -> tuple[GoldenEvaluation, GoldenEvaluation]:
    """A champion right on every asset and a challenger wrong on ``wrong``, both evaluated on ``labels``."""
    records = [AssetRecord(f"x{i:03d}", "pump", grade=lab) for i, lab in enumerate(labels)]
    kw = {"grades": G3, "golden": "g", "content_hash": "h"}
    return (evaluate_on_golden(_Model({}), records, model_version="v1", **kw),  # type: ignore[arg-type]
            evaluate_on_golden(_Model(wrong), records, model_version="v2", **kw))  # type: ignore[arg-type]


def test_a_resample_of_one_true_grade_has_no_qwk_as_the_point_figure_has_none() -> None:
    """Each resample's figures are defined exactly where grade_set_metrics' are (they said QWK 1.0 or 0.0)."""
    champ, chall = _evals(["A"] * 29 + ["B"], {3: "C"})
    assert np.isfinite(champ.overall["qwk"])
    assert champ.assets is not None and chall.assets is not None
    ids = sorted(champ.assets)
    counts = np.ones((4, 30))
    counts[1, 29] = 0.0  # the one B not drawn: one true grade
    counts[1, 0] = 2.0
    counts[2, :29], counts[2, 29] = 0.0, 30.0  # only the B
    counts[3, 29], counts[3, 3] = 0.0, 2.0  # no B, and the asset the challenger gets wrong twice
    draws = paired_draws([champ.assets[i] for i in ids], [chall.assets[i] for i in ids], G3, PAIRED_METRICS,
                         counts=counts)
    for who in (0, 1):
        qwk = draws["qwk"][who]
        assert np.isfinite(qwk[0]) and np.isnan(qwk[1:]).all(), qwk  # was 1.0, 1.0, 1.0 / 0.0
        for m in ("accuracy", "ece", "expected_cost", "realised_cost"):  # defined on every resample
            assert np.isfinite(draws[m][who]).all(), m
    assert draws["qwk"][0][0] == pytest.approx(champ.overall["qwk"])


def test_undefined_at_the_point_is_undefined_on_every_resample_and_said() -> None:
    """One true grade in the golden set: no QWK figure, so no QWK interval (it said 'perfect'), and a note says why."""
    champ, chall = _evals(["A"] * 30, {3: "C", 7: "B"})
    assert np.isnan(champ.overall["qwk"]) and np.isnan(chall.overall["qwk"])
    assert champ.assets is not None
    outs = list(champ.assets.values())
    qwk = paired_draws(outs, outs, G3, ["qwk"], n_resamples=200)["qwk"][0]
    assert np.isnan(qwk).all()
    cmp = compare(champ, chall, PromotionPolicy(gate="paired"))
    assert "qwk" not in cmp.intervals and "qwk" not in cmp.deltas
    assert any(n.startswith("qwk: undefined on this golden set for the champion (QWK needs two true grades")
               for n in cmp.notes), cmp.notes
    assert "accuracy" in cmp.intervals  # the other metrics are compared as before


def test_an_interval_mostly_over_undefined_resamples_is_undefined_and_the_point_rule_decides() -> None:
    """One B of 30: about a third of the resamples miss it; they said QWK 1.0 (champion) vs 0.0 (challenger)."""
    champ, chall = _evals(["A"] * 29 + ["B"], {3: "C"})
    for gate in ("point", "paired", "non_inferiority"):
        cmp = compare(champ, chall, PromotionPolicy(gate=gate))  # type: ignore[arg-type]
        lo, hi = cmp.intervals["qwk"]
        assert np.isnan(lo) and np.isnan(hi)  # was [-1.0, 0.0]: the -1.0 came from the undefined resamples
        assert 500 < cmp.undefined["qwk"] < 900 and set(cmp.undefined) == {"qwk"}
        note = next(n for n in cmp.notes if n.startswith("qwk:"))
        assert f"undefined on {cmp.undefined['qwk']} of 2000 resamples (QWK needs two" in note
        assert note.endswith("so no paired interval; the point rule decides")
        assert any(r.startswith("qwk ") for r in cmp.regressions)  # the point rule refuses its 0.11 vs 1.0
        assert cmp.to_dict()["undefined"] == {"qwk": cmp.undefined["qwk"]}
    with console.capture() as cap:
        _print_paired(cmp)
    row = next(line for line in cap.get().splitlines() if line.lstrip("│ ").startswith("qwk "))
    assert "undefined" in row and "nan" not in row


def test_a_few_undefined_resamples_widen_the_interval_to_whatever_they_would_take() -> None:
    """Five Bs of 300: about 0.7 % of the resamples miss them all; the interval holds whatever figure they take."""
    labels = ["A"] * 295 + ["B"] * 5
    champ, chall = _evals(labels, {3: "C", 296: "A", 120: "B"})
    cmp = compare(champ, chall, PromotionPolicy())
    assert cmp.undefined["qwk"] > 0
    lo, hi = cmp.intervals["qwk"]
    assert np.isfinite(lo) and np.isfinite(hi) and lo <= cmp.deltas["qwk"] <= hi
    assert any(n.startswith("qwk: undefined on") and n.endswith("whatever figure they would take")
               for n in cmp.notes)
    assert set(cmp.intervals) == set(PAIRED_METRICS)


def test_the_envelope_is_the_percentile_interval_with_undefined_draws_at_either_end() -> None:
    rng = np.random.default_rng(5)
    defined = []
    for n_nan in (0, 1, 5, 24, 25, 26, 60):
        x = rng.normal(size=1000)
        x[rng.choice(1000, n_nan, replace=False)] = np.nan
        lo, hi = envelope_interval(x, 0.95)
        low = percentile_interval(np.where(np.isnan(x), -1e12, x), 0.95)[0]  # NaN draws below every other
        high = percentile_interval(np.where(np.isnan(x), 1e12, x), 0.95)[1]  # ... or above
        if abs(low) < 1e3 and abs(high) < 1e3:  # no NaN draw reached a bound
            assert (lo, hi) == pytest.approx((low, high), abs=1e-12), n_nan
            defined.append(n_nan)
        else:
            assert np.isnan(lo) and np.isnan(hi), n_nan
    assert defined == [0, 1, 5, 24]  # 2.5 % of 1000 draws in each tail: 25 NaN draws reach a bound
    assert np.isnan(envelope_interval([np.nan, np.nan], 0.9)).all()
    assert envelope_interval([1.0, 2.0, 3.0], 0.5) == percentile_interval([1.0, 2.0, 3.0], 0.5)


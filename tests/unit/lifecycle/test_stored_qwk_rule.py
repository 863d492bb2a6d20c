"""A champion's QWK stored before QWK was undefined on one true grade (0.0 or 1.0) is judged by the current rule."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest

from assetgrade.lifecycle.evaluate import GoldenEvaluation, PromotionPolicy, compare, evaluate_on_golden
from assetgrade.result import GradeResult
from assetgrade.store.records import AssetRecord

G3 = ("A", "B", "C")
ONE_GRADE = "QWK needs two true grades or more; it was stored before that rule"


class _Model:
    """Grades asset ``i`` as ``wrong[i]`` when given, else right, with 0.8 on that grade."""

    def __init__(self, wrong: dict[int, str]) -> None:
        self.wrong = wrong

    def grade_many(self, records: Sequence[AssetRecord]) -> list[GradeResult]:
        out = []
        for i, r in enumerate(records):
            g = self.wrong.get(i, str(r.grade))
            out.append(GradeResult(r.asset_id, {x: 0.8 if x == g else 0.1 for x in G3}, g, (g,), 0.8, 1.0, "accept"))
        return out


def _stored(ev: GoldenEvaluation, *, qwk: float | None = None, outcomes: bool = True) -> GoldenEvaluation:
    """``ev`` through the registry's JSON (NaN stored as null), as an older version stored it: ``qwk`` in place of
    its QWK and, without ``outcomes``, no per-asset outcomes."""
    d: dict[str, Any] = json.loads(json.dumps(ev.to_dict()).replace("NaN", "null"))
    if qwk is not None:
        d["overall"]["qwk"] = qwk
    if not outcomes:
        d.pop("assets"), d.pop("grades")
    return GoldenEvaluation.from_dict(d)


def _evals(labels: Sequence[str], wrong: dict[int, str]) -> tuple[GoldenEvaluation, GoldenEvaluation]:
    """A champion right on every asset and a challenger wrong on ``wrong``, both evaluated now on ``labels``."""
    records = [AssetRecord(f"x{i:03d}", "pump", grade=lab) for i, lab in enumerate(labels)]
    kw: dict[str, Any] = {"grades": G3, "golden": "g", "content_hash": "h"}
    return (evaluate_on_golden(_Model({}), records, model_version="v1", **kw),
            evaluate_on_golden(_Model(wrong), records, model_version="v2", **kw))


@pytest.mark.parametrize("old_qwk", [1.0, 0.0])
@pytest.mark.parametrize("champion_outcomes, challenger_outcomes, how", [
    (True, True, "recomputed from its 40 per-asset outcomes"),
    (False, True, "the challenger's per-asset outcomes on this golden set hold grade A only"),
    (False, False, "the challenger's QWK on this golden set is undefined, which only one true grade makes"),
])
@pytest.mark.parametrize("gate", ["point", "paired"])
def test_an_old_champion_qwk_on_one_true_grade_is_no_figure_to_regress_from(
        old_qwk: float, champion_outcomes: bool, challenger_outcomes: bool, how: str, gate: str) -> None:
    # the challenger's undefined QWK was a regression ("qwk None vs champion 1.0000: the challenger has no finite
    # figure"), so no challenger could replace a champion evaluated on a one-grade golden set before c6a6832
    champ, chall = _evals(["A"] * 40, {})
    champion = _stored(champ, qwk=old_qwk, outcomes=champion_outcomes)
    challenger = _stored(chall, outcomes=challenger_outcomes)
    assert challenger.overall["qwk"] is None
    cmp = compare(champion, challenger, PromotionPolicy(gate=gate))
    assert cmp.ok and cmp.regressions == [], cmp.regressions
    assert "qwk" not in cmp.deltas and "qwk" not in cmp.intervals
    said = [n for n in cmp.notes if n.startswith("qwk:")]
    assert said == [f"qwk: the champion's stored figure {old_qwk:.4f} is undefined under the current rule"
                    f" ({ONE_GRADE}): {how}; not compared"], cmp.notes
    assert "accuracy" in cmp.deltas


def test_the_other_metrics_of_such_a_champion_still_gate() -> None:
    champ, chall = _evals(["A"] * 40, {i: "B" for i in range(6)})
    cmp = compare(_stored(champ, qwk=1.0), _stored(chall), PromotionPolicy())
    assert [r.split(" ")[0] for r in cmp.regressions] == ["accuracy", "realised_cost"], cmp.regressions


@pytest.mark.parametrize("champion_outcomes", [True, False])
def test_a_stored_qwk_on_two_true_grades_is_compared_as_before(champion_outcomes: bool) -> None:
    champ, chall = _evals(["A"] * 20 + ["B"] * 20, {i: "C" for i in range(20, 26)})
    assert champ.overall["qwk"] == 1.0
    cmp = compare(_stored(champ, outcomes=champion_outcomes), _stored(chall), PromotionPolicy())
    assert any(r.startswith("qwk ") for r in cmp.regressions), cmp.regressions
    assert not any(n.startswith("qwk:") for n in cmp.notes), cmp.notes


def test_a_broken_challenger_without_a_qwk_on_two_true_grades_is_still_a_regression() -> None:
    champ, chall = _evals(["A"] * 20 + ["B"] * 20, {})
    broken = _stored(chall, outcomes=False)
    broken.overall["qwk"] = None  # type: ignore[assignment]
    cmp = compare(_stored(champ), broken, PromotionPolicy())
    assert cmp.regressions == ["qwk None vs champion 1.0000: the challenger has no finite figure"]

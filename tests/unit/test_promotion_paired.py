"""Paired champion/challenger comparison: per-asset outcomes, the paired bootstrap interval and the promotion gates."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError as PydanticValidationError
from tests.unit.lifecycle.conftest import TableModel, seed_assets, ws  # noqa: F401  (ws: fixture)
from typer.testing import CliRunner

from assetgrade.cli.app import build_app
from assetgrade.errors import ConflictError
from assetgrade.lifecycle.evaluate import (
    GoldenEvaluation,
    PromotionPolicy,
    compare,
    evaluate_on_golden,
    grade_set_metrics,
)
from assetgrade.lifecycle.paired import (
    PAIRED_METRICS,
    AssetOutcome,
    mcnemar_exact,
    paired_draws,
    percentile_interval,
)
from assetgrade.lifecycle.registry import ModelRegistry
from assetgrade.lifecycle.sections import check_sections
from assetgrade.result import GradeResult
from assetgrade.store.lifecycle_schema import ModelVersion
from assetgrade.store.records import AssetRecord
from assetgrade.workspace import Workspace

G2 = ("A", "B")


def _outcomes(label: Sequence[str], grade: Sequence[str], conf: float = 0.8, cost: Sequence[float] | None = None,
              ) -> dict[str, AssetOutcome]:
    costs = cost if cost is not None else [0.0 if g == y else 10.0 for y, g in zip(label, grade, strict=True)]
    return {f"a{i:04d}": AssetOutcome(y, g, g, conf, 5.0, float(c))
            for i, (y, g, c) in enumerate(zip(label, grade, costs, strict=True))}


def _eval(version: str, assets: dict[str, AssetOutcome], grades: Sequence[str] = G2,
          metrics: Sequence[str] = PAIRED_METRICS) -> GoldenEvaluation:
    """An evaluation whose figures are those of its per-asset outcomes (every asset drawn once); an undefined one
    (the QWK of one true grade) is None, as the registry stores it."""
    out = list(assets.values())
    ones = np.ones((1, len(out)))
    figures = {m: float(paired_draws(out, out, grades, [m], counts=ones)[m][0][0]) for m in metrics}
    overall: dict[str, float | None] = {m: v if np.isfinite(v) else None for m, v in figures.items()}
    return GoldenEvaluation("g", "h", version, {"n": float(len(out)), **overall}, {}, tuple(grades), assets)


# -- the interval --------------------------------------------------------------------------------------------


def test_paired_interval_matches_a_hand_computed_case() -> None:
    """Four assets, five resamples given by hand: champion right on a1, a2; challenger on a1, a3, a4."""
    champ = list(_outcomes("AAAA", "AABB").values())
    chall = list(_outcomes("AAAA", "ABAA").values())
    counts = [[1, 1, 1, 1], [2, 2, 0, 0], [0, 0, 2, 2], [0, 4, 0, 0], [1, 0, 3, 0]]
    a, b = paired_draws(champ, chall, G2, ["accuracy"], counts=counts)["accuracy"]
    assert a.tolist() == [0.5, 1.0, 0.0, 1.0, 0.25]
    assert b.tolist() == [0.75, 0.5, 1.0, 0.0, 1.0]
    # deltas sorted: -1, -0.5, 0.25, 0.75, 1; quantiles 0.1 / 0.9 at positions 0.4 and 3.6 (linear)
    lo, hi = percentile_interval(b - a, 0.8)
    assert (lo, hi) == pytest.approx((-1 + 0.4 * 0.5, 0.75 + 0.6 * 0.25))
    assert percentile_interval(b - a, 0.5) == pytest.approx((-0.5, 0.75))
    # McNemar: b = 1 (a2: only the champion), c = 2 (a3, a4): p = 2 * P(X <= 1), X ~ Bin(3, 1/2) = 2 * 4/8
    assert mcnemar_exact([o.correct for o in champ], [o.correct for o in chall]) == (1, 2, 1.0)
    assert mcnemar_exact([1] * 8, [0] * 8)[2] == pytest.approx(2 / 2**8)


class FixedModel:
    """Returns the given results."""

    def __init__(self, results: list[GradeResult]) -> None:
        self.results = results

    def grade_many(self, records: Sequence[AssetRecord]) -> list[GradeResult]:
        return self.results


def test_every_metric_on_a_resample_is_grade_set_metrics_of_the_drawn_assets() -> None:
    """The vectorised metrics equal the reference ones on the assets a resample draws (duplicates included)."""
    rng = np.random.default_rng(3)
    grades = ("A", "B", "C", "D")
    n = 40
    records = [AssetRecord(f"x{i:02d}", "pump" if i % 3 else "valve", grade=grades[int(rng.integers(4))],
                           value=float(rng.uniform(100, 5000))) for i in range(n)]
    results = []
    for r in records:
        p = rng.dirichlet(np.ones(4))
        decided = grades[int(rng.integers(4))]  # a cost-aware decision need not be the top grade
        results.append(GradeResult(r.asset_id, dict(zip(grades, p.tolist(), strict=True)), decided, (decided,),
                                   float(p.max()), float(rng.uniform(0, 50)), "accept"))
    ev = evaluate_on_golden(FixedModel(results), records, grades=grades, golden="g", content_hash="h")
    assert ev.assets is not None and set(ev.assets) == {r.asset_id for r in records}
    outs = [ev.assets[r.asset_id] for r in records]
    counts = rng.multinomial(n, np.ones(n) / n, size=5).astype(float)
    counts[0] = 1.0  # every asset once: the point figures
    draws = paired_draws(outs, outs, grades, PAIRED_METRICS, counts=counts)
    for row, w in enumerate(counts):
        idx = np.repeat(np.arange(n), w.astype(int))
        ref = grade_set_metrics([results[i] for i in idx], [str(records[i].grade) for i in idx], grades,
                                values=[records[i].value for i in idx])
        for m in PAIRED_METRICS:
            assert draws[m][0][row] == pytest.approx(ref[m], abs=1e-9), (m, row)
    for m in PAIRED_METRICS:
        assert draws[m][0][0] == pytest.approx(ev.overall[m], abs=1e-9)


def test_the_interval_is_deterministic_and_follows_the_seed() -> None:
    rng = np.random.default_rng(0)
    label = rng.choice(list(G2), 150).tolist()
    champ = _eval("v1", _outcomes(label, [y if rng.random() < 0.8 else "AB"[y == "A"] for y in label]))
    chall = _eval("v2", _outcomes(label, [y if rng.random() < 0.8 else "AB"[y == "A"] for y in label]))
    one, two = compare(champ, chall, PromotionPolicy()), compare(champ, chall, PromotionPolicy())
    assert one.intervals == two.intervals and set(one.intervals) == set(PAIRED_METRICS)
    assert one.confidence == 0.95 and one.n_resamples == 2000
    other = compare(champ, chall, PromotionPolicy(seed=1)).intervals
    assert other != one.intervals and other["accuracy"] == pytest.approx(one.intervals["accuracy"], abs=0.02)
    lo, hi = one.intervals["accuracy"]
    assert lo < one.deltas["accuracy"] < hi


# -- the gates, per kind of metric ----------------------------------------------------------------------------


def _pair(n: int, champ_wrong: int, chall_wrong: int, *, cost_scale: float = 1.0,
          conf: tuple[float, float] = (0.8, 0.8)) -> tuple[GoldenEvaluation, GoldenEvaluation]:
    """``n`` assets labelled A; the champion wrong on the first ``champ_wrong``, the challenger on the last ones."""
    label = ["A"] * n
    g1 = ["B" if i < champ_wrong else "A" for i in range(n)]
    g2 = ["B" if i >= n - chall_wrong else "A" for i in range(n)]
    c1 = [cost_scale * (10.0 if g == "B" else 1.0) for g in g1]
    c2 = [cost_scale * (10.0 if g == "B" else 1.0) for g in g2]
    return (_eval("v1", _outcomes(label, g1, conf[0], c1)), _eval("v2", _outcomes(label, g2, conf[1], c2)))


def _refused(cmp_gate: str, champ: GoldenEvaluation, chall: GoldenEvaluation, metric: str, tol: float) -> bool:
    cmp = compare(champ, chall, PromotionPolicy(gate=cmp_gate, tolerance={metric: tol}))  # type: ignore[arg-type]
    return any(r.startswith(metric) for r in cmp.regressions)


@pytest.mark.parametrize("metric", ["accuracy", "realised_cost"])
def test_gate_direction_for_higher_and_lower_is_better(metric: str) -> None:
    """Accuracy (higher is better, absolute tolerance) and realised cost (lower is better, relative tolerance)."""
    tol = 0.01 if metric == "accuracy" else 0.05
    clearly_worse = _pair(400, 20, 80)  # accuracy 0.95 -> 0.80, cost 1.45 -> 2.8
    slightly_worse = _pair(400, 20, 26)  # 6 more wrong: point refuses, the interval does not confirm
    better = _pair(400, 80, 20)
    for gate in ("point", "paired", "non_inferiority"):
        assert _refused(gate, *clearly_worse, metric, tol), gate
        assert not _refused(gate, *better, metric, tol), gate
    assert _refused("point", *slightly_worse, metric, tol)
    assert not _refused("paired", *slightly_worse, metric, tol)
    assert _refused("non_inferiority", *slightly_worse, metric, tol)
    # equal models: within the tolerance on the point figures, but a 0.01 slack is not shown on 400 assets
    same = _pair(400, 40, 40)
    assert not _refused("point", *same, metric, tol) and not _refused("paired", *same, metric, tol)
    assert _refused("non_inferiority", *same, metric, tol)
    # ... and with a wide enough slack it is
    assert not _refused("non_inferiority", *same, metric, 0.2 if metric == "accuracy" else 1.0)


def test_interval_sides_by_direction() -> None:
    """The interval is of challenger - champion: below 0 for a worse accuracy, above 0 for a worse cost or ECE."""
    champ, chall = _pair(400, 20, 80, conf=(0.95, 0.6))
    cmp = compare(champ, chall, PromotionPolicy(gate="paired"))
    assert cmp.intervals["accuracy"][1] < 0
    assert "qwk" not in cmp.intervals  # every label A: QWK is undefined, on the figures and on every resample
    assert cmp.intervals["realised_cost"][0] > 0
    assert cmp.intervals["ece"][0] > 0  # 0.6 confidence on a 0.8 accuracy: worse calibrated
    assert not cmp.ok and {r.split()[0] for r in cmp.regressions} >= {"accuracy", "realised_cost", "ece"}
    assert all("paired interval of challenger - champion" in r for r in cmp.regressions)


def test_a_relative_cost_tolerance_does_not_depend_on_the_currency() -> None:
    small, big = _pair(400, 20, 26), _pair(400, 20, 26, cost_scale=1000.0)
    a = compare(*small, PromotionPolicy(gate="non_inferiority"))
    b = compare(*big, PromotionPolicy(gate="non_inferiority"))
    assert np.allclose(np.array(b.intervals["realised_cost"]), 1000 * np.array(a.intervals["realised_cost"]))
    assert [r.split()[0] for r in a.regressions] == [r.split()[0] for r in b.regressions]


def test_subgroup_accuracy_gets_a_paired_interval() -> None:
    champ, chall = _pair(400, 20, 26)
    for ev in (champ, chall):
        assert ev.assets is not None
        ev.assets = {a: dataclasses.replace(o, groups={"asset_type": "pump"}) for a, o in ev.assets.items()}
        ev.subgroups = {"asset_type": {"pump": {"n": 400.0, "accuracy": ev.overall["accuracy"]},
                                       "valve": {"n": 0.0}}}
    point = compare(champ, chall, PromotionPolicy(subgroup_tolerance=0.01))
    assert "asset_type=pump:accuracy" in point.intervals and "asset_type=pump:accuracy" in point.p_values
    assert any(r.startswith("accuracy on asset_type=pump") for r in point.regressions)
    paired = compare(champ, chall, PromotionPolicy(subgroup_tolerance=0.01, gate="paired"))
    assert not any(r.startswith("accuracy on asset_type=pump") for r in paired.regressions)
    assert any(d.startswith("asset_type=pump:accuracy: the point rule refuses") for d in paired.disagreements)


def test_an_infinite_tolerance_is_not_gated_by_any_gate() -> None:
    champ, chall = _pair(400, 20, 200)
    for gate in ("point", "paired", "non_inferiority"):
        assert not _refused(gate, champ, chall, "accuracy", float("inf")), gate


# -- the change that matters ----------------------------------------------------------------------------------


def _simulated_sets(n_sets: int, n: int, p_only_champ: float, p_only_chall: float, seed: int,
                    ) -> list[tuple[GoldenEvaluation, GoldenEvaluation]]:
    """Golden sets of ``n`` assets; the champion 0.85 accurate, only it right on a share ``p_only_champ``, only
    the challenger right on ``p_only_chall`` (the challenger's accuracy: 0.85 - p_only_champ + p_only_chall)."""
    both = 0.85 - p_only_champ
    u = np.random.default_rng(seed).random((n_sets, n))
    champ_right = u < both + p_only_champ
    chall_right = (u < both) | ((u >= both + p_only_champ) & (u < both + p_only_champ + p_only_chall))
    right, wrong = AssetOutcome("A", "A", "A", 0.8, 5.0, 0.0), AssetOutcome("A", "B", "B", 0.8, 5.0, 10.0)
    ids = [f"a{i:04d}" for i in range(n)]

    def ev(version: str, ok: np.ndarray) -> GoldenEvaluation:  # outcomes shared: the simulation stays fast
        return GoldenEvaluation("g", "h", version, {"n": float(n), "accuracy": float(ok.mean())}, {}, G2,
                                {a: right if r else wrong for a, r in zip(ids, ok.tolist(), strict=True)})

    return [(ev("v1", champ_right[s]), ev("v2", chall_right[s])) for s in range(n_sets)]


def test_equally_good_challengers_are_refused_by_the_point_gate_not_the_paired_one() -> None:
    """200 golden sets of 200 assets; the models are equally accurate (0.85) and disagree on 10 % of assets.

    The point rule (delta < -0.01) refuses about a third (SD of the delta sqrt(0.10 / 200) = 0.022);
    the paired gate refuses only when the 95 % interval lies below -0.01: about 1 %.
    """
    sets = _simulated_sets(200, 200, 0.05, 0.05, seed=11)
    accs = np.array([[a.overall["accuracy"], b.overall["accuracy"]] for a, b in sets])
    assert abs(accs.mean(0)[0] - accs.mean(0)[1]) < 0.005 and abs(accs.mean() - 0.85) < 0.01
    point = np.mean([not compare(a, b, PromotionPolicy()).ok for a, b in sets])
    paired = np.mean([not compare(a, b, PromotionPolicy(gate="paired")).ok for a, b in sets])
    assert point > 0.2, point
    assert paired <= 0.05, paired


def test_a_truly_worse_challenger_passes_the_paired_gate_often_and_non_inferiority_rarely() -> None:
    """The other side of the trade-off: 5 points worse (0.80 vs 0.85), beyond the 0.01 tolerance."""
    sets = _simulated_sets(100, 200, 0.075, 0.025, seed=12)
    refused = {g: np.mean([not compare(a, b, PromotionPolicy(gate=g)).ok for a, b in sets])  # type: ignore[arg-type]
               for g in ("point", "paired", "non_inferiority")}
    assert refused["point"] > 0.85 and refused["non_inferiority"] > 0.95
    assert refused["paired"] < 0.8  # the lenient gate lets many worse models through


def test_the_worked_example_of_the_docs() -> None:
    """docs/lifecycle.md: 200 assets, both right on 157, only the champion on 13, only the challenger on 10."""
    kinds = [(True, True)] * 157 + [(True, False)] * 13 + [(False, True)] * 10 + [(False, False)] * 20
    right, wrong = AssetOutcome("A", "A", "A", 0.8, 5.0, 0.0), AssetOutcome("A", "B", "B", 0.8, 5.0, 10.0)

    def ev(version: str, col: int) -> GoldenEvaluation:
        ok = [k[col] for k in kinds]
        return GoldenEvaluation("g", "h", version, {"n": 200.0, "accuracy": sum(ok) / 200}, {}, G2,
                                {f"a{i:03d}": right if o else wrong for i, o in enumerate(ok)})

    champ, chall = ev("v1", 0), ev("v2", 1)
    verdicts = {g: compare(champ, chall, PromotionPolicy(gate=g)) for g in ("point", "paired", "non_inferiority")}
    point = verdicts["point"]
    assert point.deltas["accuracy"] == pytest.approx(-0.015)
    assert point.intervals["accuracy"] == pytest.approx((-0.060, 0.030))
    assert point.p_values["accuracy"] == pytest.approx(0.678, abs=5e-4)
    assert point.regressions == ["accuracy 0.8350 vs champion 0.8500 (tolerance 0.01)"]
    assert verdicts["paired"].ok and verdicts["paired"].disagreements == point.disagreements != []
    assert verdicts["non_inferiority"].regressions == [
        "accuracy 0.8350 vs champion 0.8500 (tolerance 0.01): the 95% paired interval of challenger - champion"
        " [-0.0600, +0.0300] does not show it within the tolerance"]


# -- stored evaluations, old and new --------------------------------------------------------------------------


def test_old_stored_evaluations_still_load_and_compare_on_their_figures() -> None:
    champ, chall = _pair(400, 20, 26)
    old = GoldenEvaluation.from_dict({k: v for k, v in champ.to_dict().items() if k not in ("assets", "grades")})
    assert old.assets is None and old.grades is None and old.overall == champ.overall
    assert GoldenEvaluation.from_dict(json.loads(json.dumps(chall.to_dict()))) == chall
    for gate in ("point", "paired", "non_inferiority"):
        cmp = compare(old, chall, PromotionPolicy(gate=gate))  # type: ignore[arg-type]
        assert cmp.regressions == compare(old, chall, PromotionPolicy()).regressions  # the point rule
        assert cmp.intervals == {} and cmp.confidence is None and cmp.disagreements == []
        assert cmp.notes[0].startswith("no paired interval: the champion evaluation holds no per-asset outcomes")
    assert "the point rule decides" in compare(old, chall, PromotionPolicy(gate="paired")).notes[0]
    assert compare(old, chall, PromotionPolicy()).to_dict()["intervals"] == {}


def test_the_gate_is_a_checked_setting() -> None:
    with pytest.raises(PydanticValidationError, match="'point', 'paired' or 'non_inferiority'"):
        PromotionPolicy(gate="pairwise")  # type: ignore[arg-type]
    with pytest.raises(PydanticValidationError):
        PromotionPolicy(confidence=1.0)
    from assetgrade.config import WorkspaceConfig

    cfg = WorkspaceConfig.model_validate({"lifecycle": {"promotion": {"gate": "paired", "confidence": 0.9}}})
    assert check_sections(cfg) == []
    bad = WorkspaceConfig.model_validate({"lifecycle": {"promotion": {"gate": "exact"}}})
    assert check_sections(bad)[0].startswith("assetgrade.yaml:lifecycle.promotion.gate: Input should be 'point'")


def _golden_registry(ws: Workspace) -> ModelRegistry:  # noqa: F811
    from assetgrade.lifecycle.golden import freeze_golden_set

    ids = seed_assets(ws, 24)
    with ws.session() as s:
        freeze_golden_set(s, ids)
    return ModelRegistry(ws)


def test_registry_keeps_outcomes_and_reevaluates_an_old_cached_evaluation(ws: Workspace) -> None:  # noqa: F811
    reg = _golden_registry(ws)
    reg.register(TableModel({"pump": "A", "valve": "C"}), version="v1", loader="table")
    reg.promote("v1")
    stored = reg.get("v1").golden["default"]  # type: ignore[index]
    assert len(stored["assets"]) == 24 and stored["grades"] == ["A", "B", "C", "D"]
    assert stored["assets"]["asset-01"]["label"] == "C" and stored["assets"]["asset-01"]["grade"] == "C"
    with ws.session() as s:  # as stored before per-asset outcomes were kept
        row = s.get(ModelVersion, "v1")
        assert row is not None
        row.golden = {"default": {k: v for k, v in stored.items() if k not in ("assets", "grades")}}
    ev = reg.evaluate("v1")
    assert ev.assets is not None and len(ev.assets) == 24 and ev.overall == stored["overall"]
    assert "assets" in reg.get("v1").golden["default"]  # type: ignore[index]


def test_promotion_under_the_paired_gate_and_its_audit_record(ws: Workspace) -> None:  # noqa: F811
    reg = _golden_registry(ws)
    reg.register(TableModel({"pump": "A", "valve": "C"}), version="v1", loader="table")
    reg.promote("v1")
    reg.register(TableModel({"pump": "A", "valve": "C"}, overrides={"asset-03": "D"}), version="v2",
                 loader="table")  # one of 24 wrong: accuracy 1.0 -> 0.958, beyond 0.01 on the figures alone
    with pytest.raises(ConflictError, match=r"accuracy 0\.9583 vs champion 1\.0000 \(tolerance 0\.01\);.*--force.*"
                                            r"Point and paired rules disagree: accuracy: the point rule refuses"):
        reg.promote("v2")
    res = reg.promote("v2", policy=PromotionPolicy(gate="paired"))
    assert res.comparison is not None and res.comparison.ok and res.comparison.gate == "paired"
    lo, hi = res.comparison.intervals["accuracy"]
    assert lo < -0.01 <= hi == 0.0
    assert res.comparison.disagreements[0].startswith("accuracy: the point rule refuses")
    from assetgrade.store.audit import list_events

    with ws.session(readonly=True) as s:
        refused, promoted = (list_events(s, action=a, entity="model", entity_id="v2")[-1].payload
                             for a in ("model.promotion_refused", "model.promote"))
    assert refused["gate"] == "point" and refused["intervals"]["accuracy"][0] == pytest.approx(lo)
    assert promoted["gate"] == "paired" and promoted["disagreements"]


def test_cli_promote_prints_the_paired_intervals(ws: Workspace) -> None:  # noqa: F811
    reg = _golden_registry(ws)
    reg.register(TableModel({"pump": "A", "valve": "C"}), version="v1", loader="table")
    reg.promote("v1")
    reg.register(TableModel({"pump": "A", "valve": "C"}, overrides={"asset-03": "D"}), version="v2", loader="table")
    cfg = ws.path / "assetgrade.yaml"
    cfg.write_text(cfg.read_text() + "lifecycle:\n  promotion: {gate: paired}\n")
    r = CliRunner().invoke(build_app(), ["models", "promote", "v2", "-w", str(ws.path)], terminal_width=200)
    assert r.exit_code == 0, r.output
    assert "gate paired: paired bootstrap over the golden assets (2000 resamples)" in r.output
    assert "95% paired interval" in r.output and "point and paired rules disagree: accuracy" in r.output


def test_cli_json_carries_the_intervals(ws: Workspace, tmp_path: Path) -> None:  # noqa: F811
    reg = _golden_registry(ws)
    reg.register(TableModel({"pump": "A", "valve": "C"}), version="v1", loader="table")
    reg.promote("v1")
    reg.register(TableModel({"pump": "A", "valve": "C"}, overrides={"asset-05": "D"}), version="v2", loader="table")
    r = CliRunner().invoke(build_app(), ["models", "promote", "v2", "-w", str(ws.path), "--json", "--force",
                                         "--reason", "test"])
    assert r.exit_code == 0, r.output
    cmp = json.loads(r.output)["comparison"]
    assert cmp["gate"] == "point" and not cmp["ok"] and len(cmp["intervals"]["accuracy"]) == 2

"""Golden evaluation per subgroup, the promotion rule, and the regulator documents' numbers."""

from __future__ import annotations

import json
from pathlib import Path

from assetgrade.lifecycle.evaluate import GoldenEvaluation, PromotionPolicy, compare
from assetgrade.lifecycle.exports import (
    DATASHEET_SECTIONS,
    MODEL_DOC_SECTIONS,
    datasheet,
    model_documentation,
    write_documents,
)
from assetgrade.lifecycle.golden import freeze_golden_set
from assetgrade.lifecycle.registry import ModelRegistry
from assetgrade.store.loading import stats
from assetgrade.workspace import Workspace

from .conftest import TableModel, seed_assets


def _ev(acc: float, sub: dict[str, tuple[float, float]], ece: float = 0.05) -> GoldenEvaluation:
    return GoldenEvaluation("g", "h", None, {"accuracy": acc, "qwk": acc, "ece": ece, "realised_cost": 100.0},
                            {"asset_type": {k: {"n": n, "accuracy": a} for k, (n, a) in sub.items()}})


def test_subgroup_regression_refuses_even_when_overall_is_better() -> None:
    champ = _ev(0.80, {"pump": (40, 0.90), "valve": (40, 0.70), "tank": (5, 0.9)})
    chall = _ev(0.82, {"pump": (40, 0.80), "valve": (40, 0.84), "tank": (5, 0.2)})
    cmp = compare(champ, chall, PromotionPolicy())
    assert not cmp.ok and len(cmp.regressions) == 1 and "asset_type=pump" in cmp.regressions[0]
    # tank is too small to enforce; a wider subgroup tolerance lets it through
    assert compare(champ, chall, PromotionPolicy(subgroup_tolerance=0.15)).ok
    # worse calibration alone refuses
    assert not compare(champ, _ev(0.80, {}, ece=0.2), PromotionPolicy()).ok


def test_documents_match_the_store(ws: Workspace, tmp_path: Path) -> None:
    ids = seed_assets(ws, 20, synthetic=[11, 13])
    with ws.session() as s:
        freeze_golden_set(s, ids[:10])
    reg = ModelRegistry(ws)
    reg.register(TableModel({"pump": "A", "valve": "C"}), version="v1", loader="table")
    reg.promote("v1")
    doc = model_documentation(ws, "v1")
    sheet = datasheet(ws)
    assert set(MODEL_DOC_SECTIONS) <= set(doc) and set(DATASHEET_SECTIONS) <= set(sheet)
    with ws.session(readonly=True) as s:
        st = stats(s)
    comp = doc["data_composition"]["store"]
    assert comp["origin"] == st["origin"] == {"real": 20, "synthetic": 2}
    assert comp["origin_by_modality"] == {"image": {"real": 20, "synthetic": 2}}
    assert abs(comp["synthetic_share"] - 2 / 22) < 1e-12 and sheet["composition"]["totals"] == st["totals"]
    assert sheet["synthetic_data"]["generators"] == [{"origin": "synthetic", "generator": "test.scratch", "count": 2}]
    assert doc["metrics"]["golden_sets"]["default"]["overall"]["n"] == 10
    assert any("synthetic" in lim for lim in doc["limitations"])
    assert any("subgroups too small" in lim for lim in doc["limitations"])  # 5 pumps / 5 valves < 20
    assert doc["audit_trail"]["chain_ok"] and doc["human_oversight"]["model_history"][-1]["action"] == "model.promote"
    paths = write_documents(ws, "v1", tmp_path / "out")
    assert sorted(p.name for p in paths) == ["datasheet.html", "datasheet.json", "model_documentation.html",
                                             "model_documentation.json"]
    html = (tmp_path / "out" / "datasheet.html").read_text()
    assert "Synthetic data" in html and "test.scratch" in html and "<script" not in html
    assert json.loads((tmp_path / "out" / "datasheet.json").read_text())["composition"]["origin"]["synthetic"] == 2

"""Cost matrix: shape, zero diagonal, over-grading costs more than under-grading, config validation."""

from __future__ import annotations

import numpy as np
import pytest

from assetgrade.decision.costs import CostConfig, cost_matrix, expected_costs
from assetgrade.errors import ValidationError


def test_default_matrix_shape_and_asymmetry() -> None:
    C = cost_matrix()
    assert C.shape == (4, 4)
    assert np.all(np.diag(C) == 0)
    assert np.all(C[~np.eye(4, dtype=bool)] > 0)
    for t in range(4):
        for g in range(t + 1, 4):
            assert C[g, t] > C[t, g]  # selling a worse asset as better (dispute) costs more
    # costs grow with the distance from the true grade
    assert C[0, 1] < C[0, 2] < C[0, 3]
    assert C[3, 2] < C[3, 1] < C[3, 0]


def test_values_scale_and_explicit_matrix() -> None:
    cfg = CostConfig(dispute_cost=0.0)
    assert np.allclose(cost_matrix(cfg, value=20_000), 2 * cost_matrix(cfg))
    m = [[0, 1], [5, 0]]
    cfg2 = CostConfig(grades=("ok", "bad"), price={}, matrix=m, asset_value=100)
    assert cost_matrix(cfg2).tolist() == [[0, 1], [5, 0]]
    assert expected_costs(np.array([[0.5, 0.5]]), cost_matrix(cfg2)).tolist() == [[2.5, 0.5]]


def test_from_dict_names_bad_field() -> None:
    cfg = CostConfig.from_dict({"review_cost": 80, "price": {"A": 1, "B": 0.7, "C": 0.4, "D": 0.1}})
    assert cfg.review_cost == 80
    with pytest.raises(ValidationError, match=r"config:costs\.review_cost"):
        CostConfig.from_dict({"review_cost": -1})
    with pytest.raises(ValidationError, match="unknown grades"):
        CostConfig.from_dict({"price": {"A": 1, "B": 0.7, "C": 0.4, "D": 0.1, "E": 0}})
    with pytest.raises(ValidationError, match="bogus"):
        CostConfig.from_dict({"bogus": 1})


def test_default_prices_follow_any_grade_scale() -> None:
    from assetgrade.decision.costs import default_prices

    assert default_prices(("A", "B", "C", "D")) == {"A": 1.0, "B": 0.8, "C": 0.55, "D": 0.25}
    five = default_prices(("A", "B", "C", "D", "E"))
    assert list(five) == ["A", "B", "C", "D", "E"] and five["A"] == 1.0 and five["E"] == 0.25
    assert all(a > b for a, b in zip(list(five.values()), list(five.values())[1:], strict=False))
    cfg = CostConfig(grades=("A", "B", "C", "D", "E"))
    assert cost_matrix(cfg).shape == (5, 5)
    three = CostConfig.from_dict({"dispute_cost": 10}, grades=("good", "fair", "poor"))
    assert three.grades == ("good", "fair", "poor") and three.dispute_cost == 10 and three.price["poor"] == 0.25
    named = CostConfig.from_dict({"grades": ["A", "B"], "price": {"A": 1.0, "B": 0.5}}, grades=("X", "Y"))
    assert named.grades == ("A", "B")  # a section that names its grades keeps them (train then says they differ)


def test_a_matrix_on_another_scale_needs_no_prices() -> None:
    cfg = CostConfig.from_dict({"matrix": [[0, 1, 2], [1, 0, 1], [2, 1, 0]]}, grades=("good", "fair", "poor"))
    assert cfg.grades == ("good", "fair", "poor") and float(cost_matrix(cfg)[0, 2]) == 2.0


def test_the_workspace_costs_sit_on_its_ontologys_scale(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from importlib import resources

    import yaml

    from assetgrade.config import CONFIG_NAME
    from assetgrade.workspace import Workspace

    doc = yaml.safe_load(resources.files("assetgrade.ontology").joinpath("default.yaml").read_text(encoding="utf-8"))
    doc["grades"].append({"id": "E", "name": "Scrap"})
    (tmp_path / "ws").mkdir()
    Workspace.init(tmp_path / "ws").close()
    (tmp_path / "ws" / "five.yaml").write_text(yaml.safe_dump(doc))
    cfg_path = tmp_path / "ws" / CONFIG_NAME
    text = cfg_path.read_text().replace("ontology: null", "ontology: five.yaml")
    assert "five.yaml" in text
    cfg_path.write_text(text + "costs:\n  review_cost: 50\n")
    with Workspace.open(tmp_path / "ws") as ws:
        costs = ws.costs()  # what train, retrain and golden evaluations use
    assert costs.grades == ("A", "B", "C", "D", "E") and costs.review_cost == 50 and costs.price["E"] == 0.25


@pytest.mark.parametrize(("section", "where", "says"), [
    ({"price": {"A": float("nan"), "B": 0.8, "C": 0.55, "D": 0.25}}, "costs.price.A", "finite number"),
    ({"review_cost": float("inf")}, "costs.review_cost", "finite number"),
    ({"asset_value": float("inf")}, "costs.asset_value", "finite number"),
    ({"dispute_cost": float("nan")}, "costs.dispute_cost", "finite number"),
    ({"matrix": [[0, 1, 2, float("nan")], [1, 0, 1, 2], [2, 1, 0, 1], [3, 2, 1, 0]]}, "costs.matrix.0.3",
     "finite number"),
])
def test_non_finite_costs_are_refused_naming_the_field(section: dict, where: str, says: str) -> None:  # type: ignore[type-arg]
    # a NaN cost made every expected cost NaN: the policy then accepted every asset (NaN > threshold is false)
    with pytest.raises(ValidationError, match=rf"{where}: .*{says}"):
        CostConfig.from_dict(section)


def test_prices_must_not_rise_from_the_best_grade_to_the_worst() -> None:
    # a scale listed worst first with its prices: selling the worst grade as the best came out free
    with pytest.raises(ValidationError, match=r"price\['C'\] = 0.55 is above price\['D'\] = 0.25.*best first"):
        CostConfig.from_dict({"grades": ["D", "C", "B", "A"], "price": {"D": 0.25, "C": 0.55, "B": 0.8, "A": 1.0}})
    same = CostConfig.from_dict({"grades": ["A", "B"], "price": {"A": 0.5, "B": 0.5}})  # equal prices: disputes cost
    assert cost_matrix(same).tolist() == [[0.0, 0.0], [500.0, 0.0]]


def test_degenerate_matrices_are_refused() -> None:
    with pytest.raises(ValidationError, match=r"matrix\[0\]\[0\] = 5.0 is above matrix\[0\]\[1\] = 0.0"):
        CostConfig.from_dict({"grades": ["A", "B"], "matrix": [[5, 0], [0, 5]]})
    with pytest.raises(ValidationError, match="every misgrade costs 0"):
        CostConfig.from_dict({"matrix": [[0] * 4] * 4})
    with pytest.raises(ValidationError, match="every misgrade costs 0"):
        CostConfig.from_dict({"grades": ["A", "B"], "price": {"A": 0.5, "B": 0.5}, "dispute_cost": 0})
    with pytest.raises(ValidationError, match=r"entry \[0\]\[1\] is nan"):
        expected_costs(np.array([[0.5, 0.5]]), np.array([[0.0, np.nan], [1.0, 0.0]]))
    # a constant cost of handling every sale on the diagonal is allowed
    assert cost_matrix(CostConfig.from_dict({"grades": ["A", "B"], "matrix": [[1, 3], [4, 1]]}))[0, 0] == 1.0


def test_unknown_cost_key_lists_the_known_ones() -> None:
    with pytest.raises(ValidationError, match=r"config:costs.revew_cost: unknown key; known: \['grades', 'price', "
                                              r"'asset_value', 'dispute_cost', 'over_grade_factor', 'review_cost', "
                                              r"'matrix', 'currency'\]"):
        CostConfig.from_dict({"revew_cost": 100})


def test_a_section_that_is_no_mapping_is_named() -> None:
    with pytest.raises(ValidationError, match=r"config:costs: must be a mapping of cost settings, got list"):
        CostConfig.from_dict([["review_cost", 5]])  # type: ignore[arg-type]  # dict() made it a setting
    with pytest.raises(ValidationError, match=r"config:costs: must be a mapping of cost settings, got str"):
        CostConfig.from_dict("review_cost: 5")  # type: ignore[arg-type]  # was dict()'s ValueError

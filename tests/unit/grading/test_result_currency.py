"""A GradeResult says what its expected costs are in: ``currency`` in ``to_dict()`` and ``assetgrade grade --json``.

Machine-readable output carried expected costs without a unit (the text outputs name it since 298b66c). The
field is the cost settings' ``currency`` the grader decided with, null when they name none ("cost units" is
words for people, not a currency, so it is never written there); a payload stored before it existed reads as null.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from assetgrade.cli.app import build_app
from assetgrade.decision.costs import CostConfig
from assetgrade.decision.policy import DecisionPolicy
from assetgrade.grading.assemble import build_result
from assetgrade.result import GradeResult
from assetgrade.workspace import Workspace


def _result(currency: str | None) -> GradeResult:
    d = DecisionPolicy(CostConfig(currency=currency)).decide(np.array([0.1, 0.2, 0.6, 0.1]))
    return build_result(asset_id="pump-7", asset_type="pump", grades="ABCD", proba=np.array([0.1, 0.2, 0.6, 0.1]),
                        conformal_set=("B", "C"), coverage=0.9, decision=d, evidence=(), contradictions=(),
                        versions={})


def test_to_dict_names_the_currency_next_to_the_expected_cost() -> None:
    eur = _result("EUR")
    assert eur.currency == "EUR"
    d = eur.to_dict()
    assert d["currency"] == "EUR" and list(d)[list(d).index("expected_costs") + 1] == "currency"
    assert GradeResult.from_dict(d) == eur


def test_without_a_currency_it_is_null_not_cost_units() -> None:
    bare = _result(None)
    d = bare.to_dict()
    assert "currency" in d and d["currency"] is None
    assert "cost units" not in json.dumps(d)
    assert GradeResult.from_dict(d) == bare


def test_a_payload_stored_before_the_field_reads_as_no_currency() -> None:
    d = _result("EUR").to_dict()
    del d["currency"]
    assert GradeResult.from_dict(d).currency is None


def test_grade_json_carries_the_currency_the_grader_was_trained_with(
    tmp_path: Path, text_workspace_copy: Callable[..., Path]
) -> None:
    """A real text Grader trained by ``assetgrade train`` on a workspace whose costs say CHF (16 labelled assets and
    4 unlabelled: the copy the review tests read too)."""
    path = text_workspace_copy(tmp_path / "ws", unlabelled=4)
    res = CliRunner().invoke(build_app(), ["grade", "--all", "-w", str(path), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert len(out) == 20 and {r["currency"] for r in out} == {"CHF"}, out[0]
    assert any(" CHF" in why for r in out for why in r["reasons"]), [r["reasons"] for r in out]
    with Workspace.open(path) as ws, ws.session(readonly=True) as s:  # stored as the prediction's payload
        from assetgrade.store.results import list_predictions

        assert list_predictions(s, "asset-00")[0].payload["currency"] == "CHF"

"""``review suggest --json`` and the ``grade.decision`` audit event name the currency of their ``expected_cost``.

5f0f9dd put ``currency`` beside the expected cost in ``grade --json`` and the REST API; the label suggestions and
the audit event still carried the amount alone. Both now carry the ``currency`` of the cost settings the grader
decided with (null without one). Audit events written before the field existed lack it and still verify: the
chain hashes each payload as it was written.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assetgrade.cli.app import build_app
from assetgrade.grading.recording import decision_event_payload
from assetgrade.result import GradeResult
from assetgrade.review.suggest import LabelRound, LabelSuggestion
from assetgrade.store.audit import append_event, list_events, verify_chain
from assetgrade.workspace import Workspace


@pytest.fixture(scope="module")
def chf_workspace(tmp_path_factory: pytest.TempPathFactory, text_workspace_copy: Callable[..., Path]) -> Path:
    """A workspace whose costs say CHF, a text grader trained by ``assetgrade train``, and four unlabelled assets
    (this module's copy: its tests record decisions in it)."""
    return text_workspace_copy(tmp_path_factory.mktemp("chf") / "ws", unlabelled=4)


def test_review_suggest_json_names_the_currency_beside_each_expected_cost(chf_workspace: Path) -> None:
    res = CliRunner().invoke(build_app(), ["review", "suggest", "-w", str(chf_workspace), "--k", "3", "--json", "-"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)["suggestions"]
    assert len(rows) == 3 and {r["currency"] for r in rows} == {"CHF"}, rows
    keys = list(rows[0])
    assert keys[keys.index("expected_cost") + 1] == "currency"


def test_a_suggestion_without_a_currency_says_null() -> None:
    row = LabelSuggestion(rank=1, asset_id="pump-01", predicted_grade="B", confidence=0.5, margin=0.1,
                          expected_cost=100.0, chosen_by="typiclust")  # as callers built it before the field
    rnd = LabelRound(strategy="typiclust", seed=0, model_version="g", labelled=1, assets=2, suggestions=[row])
    (out,) = rnd.as_dict()["suggestions"]
    assert "currency" in out and out["currency"] is None
    assert LabelSuggestion(**{**out, "currency": "EUR"}).as_dict()["currency"] == "EUR"


def test_grade_decision_events_carry_the_currency_and_old_events_still_verify(chf_workspace: Path) -> None:
    with Workspace.open(chf_workspace) as ws, ws.session() as s:
        # an event as record_grades wrote it before the field existed: no currency key
        old = decision_event_payload(GradeResult(asset_id="asset-00", asset_type="pump", probabilities={"A": 1.0},
                                                 grade="A", conformal_set=("A",), coverage=0.9, expected_cost=0.0,
                                                 expected_costs={"A": 0.0}, decision="accept", reasons=()), "g0")
        assert old["currency"] is None  # a result whose costs name none
        del old["currency"]
        append_event(s, actor="grader", action="grade.decision", entity="prediction", entity_id="p-old", payload=old)
    res = CliRunner().invoke(build_app(), ["grade", "--all", "-w", str(chf_workspace), "--json"])
    assert res.exit_code == 0, res.output
    with Workspace.open(chf_workspace) as ws, ws.session(readonly=True) as s:
        events = list_events(s, action="grade.decision", limit=1000)
        assert "currency" not in events[0].payload
        new = [e.payload for e in events[1:]]
        assert len(new) == 20 and {p["currency"] for p in new} == {"CHF"}
        assert all(p["expected_cost"] is not None for p in new) and verify_chain(s).ok

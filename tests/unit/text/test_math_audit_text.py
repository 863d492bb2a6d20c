"""Correctness audit of the text modality against its sources: NegEx scope, plural linking, recurrence window."""

from __future__ import annotations

from datetime import datetime

import pytest

from assetgrade.modalities.text.linking import OntologyLinker
from assetgrade.modalities.text.negation import NegationDetector
from assetgrade.modalities.text.summary import LogSummarizer
from assetgrade.ontology import default_ontology
from assetgrade.store.records import LogEntry


def _status(text: str, target: str, det: NegationDetector | None = None) -> str:
    i = text.find(target)
    assert i >= 0
    return (det or NegationDetector()).status(text, (i, i + len(target)))


@pytest.mark.parametrize("adapted", [True, False])
def test_negation_scope_ends_at_a_line_break(adapted: bool) -> None:
    # NegEx (Chapman et al. 2001) scopes a trigger within its sentence; a log line is one
    det = NegationDetector(adapted=adapted)
    assert _status("no leak.\ncrack on boom", "crack", det) == "confirmed"  # the full stop ends it already
    assert _status("no leak\ncrack on boom", "crack", det) == "confirmed"
    assert _status("crack on boom\nleak ok", "crack", det) == "confirmed"
    assert _status("no leak\ncrack on boom", "leak", det) == "negated"


def test_hedges_and_requests_stay_on_their_line() -> None:
    assert _status("crack on boom\ncheck hoses", "crack") == "confirmed"
    assert _status("possible\nleak on hose", "leak") == "confirmed"
    assert _status("crack on boom\nleak ?", "crack") == "confirmed"
    assert _status("crack on boom\nleak ?", "leak") == "uncertain"
    assert _status("check for crack on boom", "crack") == "uncertain"  # same line: still a request


def test_typographic_dashes_end_a_clause_like_a_hyphen() -> None:
    for dash in ("-", "\u2013", "\u2014"):
        assert _status(f"pump leak {dash} ok to run", "leak") == "confirmed", dash
        assert _status(f"leak checked {dash} ok", "leak") == "negated", dash


def test_negex_pseudo_negations_do_not_negate() -> None:
    # NegEx's pseudo-negation list: "no increase", "no change" do not deny the finding after them
    assert _status("no increase in leak since last service", "leak") == "confirmed"
    assert _status("no change in crack length", "crack") == "confirmed"
    assert _status("no significant change in leak", "leak") == "confirmed"
    assert _status("no leak", "leak") == "negated"


def test_plural_terms_link_to_their_singular() -> None:
    linker = OntologyLinker(default_ontology(), embedder=None)
    assert linker.link("gearbox").id == "gearbox"
    for term in ("gearboxes", "gearbox", "hoses", "hyd hoses"):
        assert linker.link(term).method == "synonym", term
    assert linker.link("gearboxes").id == "gearbox"
    assert linker.link("hoses").id == linker.link("hose").id
    assert linker.link("worn gearboxes").id == "gearbox"


def test_recurrence_window_is_measured_in_elapsed_time() -> None:
    summ = LogSummarizer(default_ontology(), recurrence_window_days=1.2)
    logs = [LogEntry("e1", "bucket cyl leaking", date=datetime(2010, 1, 1, 0, 0)),
            LogEntry("e2", "bucket cyl leaking", date=datetime(2010, 1, 2, 12, 0))]  # 1.5 days later
    assert summ.summarize(logs).features["n_recurring"] == 0
    summ = LogSummarizer(default_ontology(), recurrence_window_days=90)
    logs = [LogEntry("e1", "bucket cyl leaking", date=datetime(2010, 1, 1, 8, 0)),
            LogEntry("e2", "bucket cyl leaking", date=datetime(2010, 4, 1, 20, 0))]  # 90.5 days later
    assert summ.summarize(logs).features["n_recurring"] == 0
    logs = [LogEntry("e1", "bucket cyl leaking", date=datetime(2010, 1, 1)),
            LogEntry("e2", "bucket cyl leaking", date=datetime(2010, 4, 1))]  # exactly 90 days: within
    assert summ.summarize(logs).features["n_recurring"] == 1

"""Negation and uncertainty: NegEx scopes adapted to maintenance text, and the labelled real-log sample."""

from __future__ import annotations

import pytest

from assetgrade.bench.text import NEGATION_FIXTURE, bench_negation, read_negation_sample
from assetgrade.modalities.text.negation import NegationDetector


def status(text: str, target: str, **kw: object) -> str:
    i = text.lower().find(target.lower())
    assert i >= 0
    return NegationDetector(**kw).status(text, (i, i + len(target)))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "target", "expected"),
    [
        ("no leak found", "leak", "negated"),
        ("nil cracks on boom welds", "cracks", "negated"),
        ("boom inspected, cracks not found", "cracks", "negated"),
        ("bearing noise checked ok", "noise", "negated"),
        ("check for crack on stick", "crack", "uncertain"),
        ("suspected bearing noise", "noise", "uncertain"),
        ("possible leak at pump", "leak", "uncertain"),
        ("oil leak at pump?", "oil leak", "uncertain"),
        ("inspect hoses", "hoses", "uncertain"),
        ("engine will not start", "will not start", "confirmed"),
        ("no power to fuel solenoid", "no power", "confirmed"),
        ("investigate and repair oil leak", "oil leak", "confirmed"),
        ("replace leaking check valve", "leaking", "confirmed"),
        ("check hoses - oil leak at pump", "oil leak", "confirmed"),
        ("no 4 slew motor overheating", "overheating", "confirmed"),
        ("hydraulic hose leaking", "leaking", "confirmed"),
    ],
)
def test_scopes(text: str, target: str, expected: str) -> None:
    assert status(text, target) == expected


def test_scope_window_limits_reach() -> None:
    far = "check " + "x " * 10 + "leak"
    assert status(far, "leak") == "confirmed"


def test_plain_negex_differs_where_maintenance_differs() -> None:
    assert status("engine no power", "power", adapted=False) == "negated"
    assert status("engine no power", "power") == "confirmed"


def test_empty_and_odd_spans() -> None:
    det = NegationDetector()
    assert det.status("", (0, 0)) == "confirmed"
    assert det.status("leak", (10, 20)) == "confirmed"
    assert det.status("油漏れ no leak", (7, 11)) == "negated"


def test_fixture_is_well_formed_and_real_sized() -> None:
    rows = read_negation_sample(NEGATION_FIXTURE)
    assert 150 <= len(rows) <= 300
    assert {r[3] for r in rows} == {"confirmed", "negated", "uncertain"}


def test_fixture_accuracy_floor() -> None:
    m = bench_negation().metrics
    assert m["accuracy"] >= 90.0
    assert m["f1_uncertain"] >= 85.0
    assert m["f1_confirmed"] >= 90.0


@pytest.mark.parametrize(
    ("text", "target", "expected"),
    [
        ("not able to find leak", "leak", "negated"),
        ("unable to find leak on boom", "leak", "negated"),
        ("could not find any leak", "leak", "negated"),
        ("couldn't find the leak", "leak", "negated"),
        ("negative for leak", "leak", "negated"),
        ("leak ruled out", "leak", "negated"),
        ("crack not evident on boom", "crack", "negated"),
        ("leak (not confirmed)", "leak", "uncertain"),
        ("no further leak", "leak", "negated"),
        ("leak not repaired", "leak", "confirmed"),
        ("leak not fixed", "leak", "confirmed"),
        ("engine unable to start", "start", "confirmed"),
        ("leak checked - ok", "leak", "negated"),
        ("crack inspected - ok", "crack", "negated"),
        ("leak checked - not ok", "leak", "confirmed"),
    ],
)
def test_looked_and_found_nothing_is_negated(text: str, target: str, expected: str) -> None:
    assert status(text, target) == expected


def test_a_pickled_detector_holds_no_log_text_and_old_pickles_still_work() -> None:
    import pickle

    det = NegationDetector()
    assert det.status("secret pump leak", (12, 16)) == "confirmed"
    blob = pickle.dumps(det)
    assert b"secret" not in blob
    old = pickle.loads(blob)
    del old.__dict__["_memo"]  # as pickled before the memo existed
    assert old.status("no leak", (3, 7)) == "negated"


@pytest.mark.parametrize(
    ("text", "target", "expected"),
    [
        ("hose isn't leaking", "leaking", "negated"),
        ("HOSE DOESN'T LEAK", "leak", "negated"),
        ("boom wasn\u2019t cracked", "cracked", "negated"),  # typographic apostrophe
        ("couldn't find leak", "leak", "negated"),
        ("pump doesn't work, leaking", "leaking", "confirmed"),  # the contraction is in another clause
        ("engine won't start", "won't start", "confirmed"),  # a trigger inside the finding describes it
    ],
)
def test_contractions_negate_like_not(text: str, target: str, expected: str) -> None:
    assert status(text, target) == expected

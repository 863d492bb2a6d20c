"""Negation and uncertainty: NegEx scopes adapted to maintenance text, and the labelled real-log sample."""

from __future__ import annotations

from pathlib import Path

import pytest

from assetgrade.bench.text import NEGATION_FIXTURE, bench_negation, read_negation_sample
from assetgrade.errors import ValidationError
from assetgrade.modalities.text.negation import FAULT_WORDS, NegationDetector


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
        ("cracks not sighted on boom", "cracks", "negated"),
        ("oil leak not noted at last service", "leak", "negated"),
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


@pytest.mark.parametrize(
    ("text", "target"),
    [
        ("Leak: No", "Leak"),
        ("Leaks - none", "Leaks"),
        ("Crack: N", "Crack"),
        ("cracks: nil", "cracks"),
        ("Noise: NO", "Noise"),
        ("Oil leak? no", "Oil leak"),
        ("Corrosion: not found", "Corrosion"),
        ("Damage \u2014 none observed", "Damage"),
        ("Leak: No.", "Leak"),
        ("LEAK:NO", "LEAK"),
        ("Leak = N", "Leak"),
        ("Oil leaks (Y/N): N", "leaks"),
        ("Boom pin play: N/A", "play"),
        ("Tyres - cuts/damage: N", "damage"),
        ("Leak: No, Crack: Yes", "Leak"),
        ("Leak: No Crack: Yes", "Leak"),
    ],
)
def test_a_checklist_item_answered_no_is_negated(text: str, target: str) -> None:
    assert status(text, target) == "negated"


@pytest.mark.parametrize(
    ("text", "target", "expected"),
    [
        ("Leak: Yes", "Leak", "confirmed"),
        ("Crack: Y", "Crack", "confirmed"),
        ("Leak: minor", "Leak", "confirmed"),
        ("Leak: present", "Leak", "confirmed"),
        ("no. 3 bearing: cracked", "cracked", "confirmed"),
        ("Oil leak? yes", "Oil leak", "confirmed"),
        ("Lights working: No", "working", "confirmed"),  # the item names what works, so "no" is the fault
        ("leak: no oil on floor", "leak", "confirmed"),  # the "no" does not end the item
        ("Leak? no idea", "Leak", "uncertain"),
        ("Oil leak?", "Oil leak", "uncertain"),
        ("check no. 3 bearing noise", "noise", "uncertain"),  # a numbered part, not an answer
        ("Hydraulics: no leaks", "leaks", "negated"),  # a label, then "no <fault>"
        # an answer ends its item: it negates, and its "?" hedges, nothing after it
        ("Leak: No, Crack: Yes", "Crack", "confirmed"),
        ("Leak: No Crack: Yes", "Crack", "confirmed"),
        ("Leak: No\nCrack: Yes", "Crack", "confirmed"),
        ("Oil leak? no\nNoise: yes", "Noise", "confirmed"),
        ("Oil leak? no. Noise: yes", "Noise", "confirmed"),
        ("Abnormal noise: no - vibration at idle", "vibration", "confirmed"),
    ],
)
def test_checklist_answers_that_do_not_negate(text: str, target: str, expected: str) -> None:
    assert status(text, target) == expected


def test_a_line_break_ends_a_checklist_answer() -> None:
    # without the line break "no" does not end the item ("Leak: no crack ..."): only the break makes it an answer
    assert status("Leak: no\ncrack on boom", "Leak") == "negated"
    assert status("Leak: no crack on boom", "Leak") == "confirmed"


def test_hand_added_rows_are_scored_apart_from_the_real_ones(tmp_path: Path) -> None:
    rows = read_negation_sample(NEGATION_FIXTURE)
    real = [r for r in rows if r[0] != "hand"]
    res = bench_negation()
    assert res.extra["n_texts"] == len(real) and res.extra["hand_added"]["n_texts"] == len(rows) - len(real) > 0
    assert res.extra["hand_added"]["metrics"]["f1_negated"] >= 90.0
    only_hand = tmp_path / "hand.tsv"
    only_hand.write_text("hand\tLeak: No\tLeak\tnegated\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="only rows whose source is 'hand'"):
        bench_negation(only_hand)


@pytest.mark.parametrize(
    ("text", "target"),
    [
        ("no damages found on boom", "damages"),  # the summariser finds these through their singular
        ("no fractures found", "fractures"),
        ("Fractures: no", "Fractures"),
        ("no gouges on boom", "gouges"),
    ],
)
def test_the_plural_of_a_fault_word_is_a_fault_word(text: str, target: str) -> None:
    words = {"damage", "fracture", "gouge"}
    assert status(text, target, fault_words=words) == "negated"
    assert status("no bushes on boom", "bushes", fault_words=words) == "confirmed"  # bush is no fault word


@pytest.mark.parametrize(
    ("text", "target"),
    [
        ("no crkd found", "crkd"),  # crkd: cracked, and "cracked" is a fault word
        ("CRKD: no", "CRKD"),
        ("no spld areas on boom", "spld"),  # spld: spalled, a fault word of the ontology's (given here)
        ("no o/l found at pump", "o/l"),  # o/l: oil leak, a phrase that holds the fault word "leak"
        ("no hs on casing", "hs"),  # hs: hot spot, a fault word of two words
    ],
)
def test_an_abbreviation_of_a_fault_word_is_a_fault_word(text: str, target: str) -> None:
    abbreviations = {"crkd": "cracked", "spld": "spalled", "o/l": "oil leak", "hs": "hot spot", "bkt": "bucket"}
    words = FAULT_WORDS | {"spalled", "hot spot"}
    assert status(text, target, fault_words=words, abbreviations=abbreviations) == "negated"
    assert status(text, target, fault_words=words) == "confirmed"  # without the list it is no fault word
    # an abbreviation of no fault word stays none: "no bkt" describes, as "no power" does
    assert status("no bkt teeth", "bkt", fault_words=words, abbreviations=abbreviations) == "confirmed"


def test_a_fault_word_with_a_slash_counts_whole() -> None:
    """'u/s' (unserviceable) was split into 'u' and 's' and never matched as itself."""
    assert status("no u/s parts found", "u/s", fault_words={"u/s"}) == "negated"
    assert status("no u/s parts found", "u/s", fault_words={"u"}) == "negated"  # a part still counts


@pytest.mark.parametrize(
    ("text", "target"),
    [
        ("no hot spots on casing", "hot spots"),
        ("Hot spots: no", "Hot spots"),
        ("no hairline cracks found", "hairline cracks"),
    ],
)
def test_the_plural_of_a_multi_word_fault_word_is_a_fault_word(text: str, target: str) -> None:
    words = {"hot spot", "hairline crack"}  # neither "spots" nor "cracks" is a fault word alone here
    assert status(text, target, fault_words=words) == "negated"
    assert status("no hot spotty water", "hot spotty", fault_words=words) == "confirmed"

"""Asset summary: failure modes, repairs, recurring faults, time since repair, cost, findings, bad input."""

from __future__ import annotations

import math
from datetime import datetime

import pytest

from assetgrade.modalities.text.summary import LogSummarizer, clean_text
from assetgrade.ontology import default_ontology
from assetgrade.store.records import LogEntry


@pytest.fixture(scope="module")
def summarizer() -> LogSummarizer:
    return LogSummarizer(default_ontology(), recurrence_window_days=60)


def entry(i: int, text: str, day: str, cost: float | None = None) -> LogEntry:
    return LogEntry(f"e{i}", text, date=datetime.fromisoformat(day), cost=cost)


def test_recurring_faults_time_and_cost(summarizer: LogSummarizer) -> None:
    logs = [
        entry(1, "L/H BUCKET CYL LEAKING", "2010-01-01", 400.0),
        entry(2, "bucket cyl leaking again", "2010-02-01", 100.0),
        entry(3, "replace bucket cylinder", "2010-02-10", 2500.0),
        entry(4, "cylinder leak", "2010-09-01"),  # outside the 60-day window of the last leak
        entry(5, "check for crack on boom", "2010-09-20"),
    ]
    s = summarizer.summarize(logs)
    f = s.features
    assert f["fm_leak"] == 3 and f["n_recurring"] == 1 and f["n_recurring_components"] == 1
    assert f["total_cost"] == 3000.0 and f["max_cost"] == 2500.0
    assert f["n_replacements"] == 1
    assert f["days_since_last_repair"] == (datetime(2010, 9, 20) - datetime(2010, 2, 10)).days
    assert f["n_uncertain"] == 1 and f["fm_crack"] == 0
    assert summarizer.failure_modes(s) == {"leak": 3}


def test_findings_carry_spans_and_status(summarizer: LogSummarizer) -> None:
    s = summarizer.summarize([LogEntry("e9", "no leak found, hose worn")])
    by_defect = {x.defect: x for x in s.findings}
    leak, wear = by_defect["leak"], by_defect["wear"]
    assert leak.status == "negated" and wear.status == "confirmed"
    assert "no leak found, hose worn"[slice(*wear.span)] == "worn"  # type: ignore[misc]
    assert wear.component == "hydraulic_hose" and wear.evidence_id == "e9"


def test_feature_block_is_fixed_width(summarizer: LogSummarizer) -> None:
    a = summarizer.summarize([LogEntry("x", "pump leaking")])
    b = summarizer.summarize([])
    assert tuple(a.features) == tuple(b.features) == summarizer.feature_names
    assert math.isnan(b.features["mean_cost"]) and b.features["n_entries"] == 0


def test_bad_input_empty_bytes_huge_mixed(summarizer: LogSummarizer) -> None:
    huge = "hose leaking " + "x" * 1_000_000
    logs = [
        LogEntry("empty", ""),
        LogEntry("bytes", b"pump leaking \xff\xfe"),  # type: ignore[arg-type]
        LogEntry("huge", huge),
        LogEntry("mixed", "Hydraulikschlauch undicht, hose leaking 油漏れ"),
    ]
    s = summarizer.summarize(logs)
    assert "empty:empty" in s.flags and "not_utf8:bytes" in s.flags and "truncated:huge" in s.flags
    assert sum(1 for x in s.findings if x.defect == "leak") == 3
    text, flags = clean_text(huge, 5000)
    assert len(text) == 5000 and flags == ["truncated"]


def test_html_tags_and_invisible_characters_do_not_hide_words(summarizer: LogSummarizer) -> None:
    for i, text in enumerate(["<b>cracked</b> &amp; leaking", "pump\u00a0cracked\u200b leaking"]):
        s = summarizer.summarize([entry(i, text, "2011-01-01")])
        assert s.features["fm_crack"] == 1 and s.features["fm_leak"] == 1, text
        crack = next(f for f in s.findings if f.defect == "crack")
        assert crack.span is not None and text[crack.span[0]:crack.span[1]] == "cracked"  # spans index the stored text
    assert clean_text("check <id> <br/>x", 100)[0] == "check <id>      x"  # <br/> blanked, <id> kept


def test_naive_and_aware_dates_of_one_asset_mix(summarizer: LogSummarizer) -> None:
    from datetime import UTC

    from assetgrade.modalities.text.extractor import TextExtractor
    from assetgrade.store.records import AssetRecord

    logs = [entry(1, "hyd hose leaking", "2010-01-01"),  # naive, as load_work_orders reads it
            entry(2, "replace hyd hose", "2010-01-31T00:00:00+00:00")]  # aware, as the store loads it
    s = summarizer.summarize(logs, as_of=datetime(2010, 3, 2))
    assert s.features["days_since_last_repair"] == 30.0 and s.features["n_recurring"] == 0.0
    assert summarizer.summarize(logs, as_of=datetime(2010, 3, 2, tzinfo=UTC)).features["days_since_last_entry"] == 30.0
    recs = [AssetRecord("a", logs=tuple(logs))]
    assert TextExtractor(embedder="none").fit(recs).extract(recs).present.tolist() == [True]


def test_a_date_after_the_assessment_is_flagged(summarizer: LogSummarizer) -> None:
    logs = [entry(1, "hose leaking", "2010-01-01"), entry(2, "hose leaking", "2011-06-01")]
    assert summarizer.summarize(logs, as_of=datetime(2010, 6, 1)).flags == ["future_date:e2"]
    assert summarizer.summarize(logs).flags == []  # without as_of: after today
    assert summarizer.summarize([entry(3, "leak", "2999-01-01")]).flags == ["future_date:e3"]


@pytest.mark.parametrize("text", ["hose\x00leak", "hose \x07leak\x1b", "hose leak\x7f",
                                  "\u202b\u062a\u0633\u0631\u0628\u202c\u200fhose\u200eleak",  # RTL marks
                                  "hose\u2066leak\u2069", "hose\u061cleak"])
def test_control_characters_separate_words(summarizer: LogSummarizer, text: str) -> None:
    (f,), _ = summarizer.entry_findings(LogEntry("e", text))
    assert f.defect == "leak" and text[f.span[0]:f.span[1]] == "leak"


def test_a_long_note_with_many_findings_is_tokenised_once(summarizer: LogSummarizer,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from assetgrade.modalities.text import negation

    calls = []
    real = negation.tokenize_spans
    monkeypatch.setattr(negation, "tokenize_spans", lambda text: calls.append(1) or real(text))
    note = "hose leak, no crack on boom; " * 2000  # cut to max_chars (5,000): about 340 findings
    s = summarizer.summarize([LogEntry("e1", note)])
    assert s.flags == ["truncated:e1"] and len(s.findings) > 300
    assert s.features["n_negated"] > 100 and s.features["n_confirmed"] > 100
    assert len(calls) == 1  # once per text, not once per finding (35 s for such a note before)


def test_lone_surrogates_are_replaced_and_flagged() -> None:
    text, flags = clean_text("bad \udcff leak", 100)  # bytes decoded with surrogateescape
    assert text == "bad \ufffd leak" and flags == ["not_utf8"]
    text.encode("utf-8")  # what a sentence embedder's tokenizer needs


def test_a_normaliser_is_called_once_per_asset_not_once_per_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    from assetgrade.datasets.maintnorm import NormText
    from assetgrade.modalities.text.normalize import Normalizer

    pairs = [NormText(("REPL", "HYD", "HOSE"), ("replace", "hydraulic", "hose")),
             NormText(("FRAME", "CRACKED"), ("frame", "cracked")),
             NormText(("BOOM", "LEAKING"), ("boom", "leaking"))] * 4
    norm = Normalizer(abbreviations=default_ontology().abbreviations, n_folds=2, lexicon=(),
                      word_frequency=False).fit(pairs)
    summ = LogSummarizer(default_ontology(), normalizer=norm)
    # unseen tokens (zork<i>) go to the ranker, which costs ~0.1 s a call: 300 entries took 48 s
    logs = [LogEntry(f"e{i}", f"REPL HYD HOSE zork{i} boom {'cracked' if i % 2 else 'leaking'}") for i in range(40)]
    one_by_one = [f for e in logs for f in summ.entry_findings(e)[0]]
    calls = []
    real = norm._rank_unseen
    monkeypatch.setattr(norm, "_rank_unseen", lambda texts, pending: calls.append(1) or real(texts, pending))
    s = summ.summarize(logs)
    assert len(calls) == 1
    assert s.findings == one_by_one and len(one_by_one) == 40  # the same findings, spans and statuses
    assert s.features["fm_crack"] == 20 and s.features["fm_leak"] == 20


def test_repairs_are_read_from_the_cleaned_text(summarizer: LogSummarizer) -> None:
    as_of = datetime(2010, 3, 1)
    f = summarizer.summarize([entry(1, "hose leaking", "2010-01-01"),
                              LogEntry("b", b"replaced hyd hose \xff", date=datetime(2010, 2, 1))],  # type: ignore[arg-type]
                             as_of=as_of).features
    assert f["n_replacements"] == 1 and f["days_since_last_repair"] == 28.0  # bytes used to count no action
    # a pasted document is cut to max_chars before anything reads it: the action words past the cut are not read
    long = summarizer.summarize([entry(2, "hose leaking " + "x " * 3000 + "repaired", "2010-01-01")]).features
    assert long["n_repairs"] == 0


@pytest.mark.parametrize("text", ["not replaced, still leaking", "hose wasn't replaced", "did not replace hose",
                                  "no repair required", "repair not needed", "seat won't adjust", "nothing replaced",
                                  "new leak on boom", "NEW OIL LEAK"])
def test_an_action_that_did_not_happen_is_not_counted(summarizer: LogSummarizer, text: str) -> None:
    f = summarizer.summarize([entry(1, text, "2010-01-01")], as_of=datetime(2010, 2, 1)).features
    assert f["n_replacements"] == f["n_repairs"] == 0 and math.isnan(f["days_since_last_repair"])


def test_an_action_beside_a_negated_fault_still_counts(summarizer: LogSummarizer) -> None:
    f = summarizer.summarize([entry(1, "no leak, replaced hose; repaired boom", "2010-01-01")],
                             as_of=datetime(2010, 2, 1)).features
    assert f["n_replacements"] == 1 and f["days_since_last_repair"] == 31.0


@pytest.mark.parametrize(("text", "status"), [("no&nbsp;leak", "negated"), ("pump&#160;leaking", "confirmed"),
                                              ("hose&nbsp;&amp;&nbsp;pump leaking", "confirmed")])
def test_html_character_references_separate_words(summarizer: LogSummarizer, text: str, status: str) -> None:
    (f,), flags = summarizer.entry_findings(LogEntry("e", text))
    assert flags == [] and f.defect == "leak" and f.status == status
    assert text[f.span[0]:f.span[1]] in ("leak", "leaking")
    assert clean_text("a&amp;b&bogus;", 100)[0] == "a&b&bogus;"  # decoded; unknown references stay


@pytest.mark.parametrize("text", ["hose\U0001f44dleaking", "hose leaking\U0001f44d\U0001f3fd",
                                  "\u26a0\ufe0fhose leaking", "hose\u2192leaking"])
def test_pictographs_and_arrows_separate_words(summarizer: LogSummarizer, text: str) -> None:
    (f,), _ = summarizer.entry_findings(LogEntry("e", text))
    assert f.defect == "leak" and f.component == "hydraulic_hose" and text[f.span[0]:f.span[1]] == "leaking"


def test_only_the_kept_characters_are_cleaned(monkeypatch: pytest.MonkeyPatch) -> None:
    from assetgrade.modalities.text import clean

    seen: list[int] = []
    real = clean._TAG

    class Recorder:
        def search(self, text: str) -> object:
            seen.append(len(text))
            return real.search(text)

        def sub(self, repl: object, text: str) -> str:
            seen.append(len(text))
            return real.sub(repl, text)  # type: ignore[call-overload,no-any-return]

    monkeypatch.setattr(clean, "_TAG", Recorder())
    page = "<td>hose leaking</td>" + "<p>x</p>" * 100_000  # a pasted HTML page of 800 kB
    text, flags = clean_text(page, 100)
    assert text.startswith("    hose leaking     ") and len(text) == 100 and flags == ["truncated"]
    assert seen and max(seen) == 100  # the tag pass read 800 kB, then threw all but 100 characters away


def test_a_checklist_note_counts_only_the_faults_answered_yes(summarizer: LogSummarizer) -> None:
    note = "Prestart\nHyd leaks: No\nBoom crack: nil\nSwing noise? N\nTrack damage: Yes"
    s = summarizer.summarize([entry(1, note, "2011-01-01")])
    by_status = {(f.summary, f.status) for f in s.findings}
    assert by_status == {("leaks", "negated"), ("crack", "negated"), ("noise", "negated"), ("damage", "confirmed")}
    assert s.features["fm_leak"] == s.features["fm_crack"] == s.features["fm_vibration"] == 0
    assert s.features["n_negated"] == 3 and s.features["fm_breakage"] == 1 and s.features["fm_unlinked_fault"] == 0


@pytest.mark.parametrize(
    ("text", "component", "defect", "status"),
    [
        ("Boom cracks found", "boom", "crack", "confirmed"),  # the ontology lists crack, cracked, cracking only
        ("frame cracks", "frame", "crack", "confirmed"),
        ("Boom cracks: nil", "boom", "crack", "negated"),
        ("cracks on frame", "frame", "crack", "confirmed"),
    ],
)
def test_a_plural_defect_word_is_found_through_its_singular(
    summarizer: LogSummarizer, text: str, component: str, defect: str, status: str
) -> None:
    findings, _ = summarizer.entry_findings(LogEntry("e1", text))
    assert [(f.component, f.defect, f.status) for f in findings] == [(component, defect, status)]


def test_a_plural_guess_counts_only_when_the_ontology_knows_the_singular(summarizer: LogSummarizer) -> None:
    # "glass" and "gas" are not plurals; "bushes" -> "bush" is not an ontology term: none becomes a finding
    findings, _ = summarizer.entry_findings(LogEntry("e1", "glass gas bushes"))
    assert findings == []


@pytest.mark.parametrize(
    ("text", "component", "status"),
    [
        ("dmg to bucket", "bucket", "confirmed"),  # the abbreviation dmg: damage named no defect
        ("DMG TO BUCKET", "bucket", "confirmed"),
        ("bucket damage", "bucket", "confirmed"),
        ("bucket dmg", "bucket", "confirmed"),
        ("damages to boom", "boom", "confirmed"),  # through its singular
        ("no damage found", None, "negated"),
        ("no dmg found", None, "negated"),  # dmg was no fault word, so "no" did not negate it
        ("no damages found on boom", "boom", "negated"),
        ("possible damage to bucket", "bucket", "uncertain"),
        ("check bucket for dmg", "bucket", "uncertain"),
    ],
)
def test_damage_and_its_abbreviation_name_breakage(
    summarizer: LogSummarizer, text: str, component: str | None, status: str
) -> None:
    s = summarizer.summarize([entry(1, text, "2011-01-01")])
    assert [(f.component, f.defect, f.status) for f in s.findings] == [(component, "breakage", status)]
    assert s.features["fm_breakage"] == (status == "confirmed") and s.features["fm_unlinked_fault"] == 0


_ABBREVIATED = (
    "name: u\ngrades: [A, B]\ndefects:\n  crack: {kind: functional, synonyms: [cracked]}\n"
    "  spalling: {kind: cosmetic, synonyms: [spalled]}\n  overheat: {kind: functional, synonyms: [hot spot]}\n"
    "components:\n  boom: {}\nabbreviations:\n  crkd: cracked\n  spld: spalled\n  hs: hot spot\n"
    "rubric:\n  rules: [{defect: crack, grade: B}]\n"
)


@pytest.mark.parametrize(
    ("text", "defect", "status"),
    [
        ("no crkd found", "crack", "negated"),  # crkd was no fault word, so "no" did not negate it
        ("Crkd: No", "crack", "negated"),
        ("boom crkd", "crack", "confirmed"),
        ("no spld areas on boom", "spalling", "negated"),
        ("no hs on boom", "overheat", "negated"),
        ("no hot spots on boom", "overheat", "negated"),  # the plural of a two-word synonym
        ("hot spots on boom", "overheat", "confirmed"),
    ],
)
def test_an_abbreviated_or_plural_fault_is_negated(text: str, defect: str, status: str) -> None:
    from assetgrade.ontology import loads_ontology

    found, _ = LogSummarizer(loads_ontology(_ABBREVIATED)).entry_findings(LogEntry("e1", text))
    assert [(f.defect, f.status) for f in found] == [(defect, status)]

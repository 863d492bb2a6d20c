"""NegationDetector: log text compared with fault and trigger words in NFKC, lower-case form (offsets kept in
the original text), and multi-word fault words (ontology synonyms such as "hairline crack") matched as a sequence."""

from __future__ import annotations

import pickle

import pytest

from assetgrade.modalities.text.negation import FAULT_WORDS, NegationDetector, tokenize_spans
from assetgrade.ontology import loads_ontology

NFD_UPPER = "FISSURE\u0301"  # 'FISSURÉ' as macOS stores typed text: E + combining acute accent
FULL_WIDTH_CRACK = "\uff23\uff32\uff21\uff23\uff2b"  # 'ＣＲＡＣＫ'
FULL_WIDTH_NO = "\uff2e\uff4f"  # 'Ｎｏ'


def _span(text: str, target: str) -> tuple[int, int]:
    i = text.index(target)
    return i, i + len(target)


# -- Unicode forms of the log text --------------------------------------------------------------------------


def test_tokens_are_nfkc_lower_case_with_offsets_into_the_original_text() -> None:
    text = f"no \ufb01ssure; {NFD_UPPER} {FULL_WIDTH_CRACK}\uff1a{FULL_WIDTH_NO}"
    toks = tokenize_spans(text)
    assert [t for t, _, _ in toks] == ["no", "fissure", ";", "fissur\u00e9", "crack", ":", "no"]
    # each token's offsets select what was typed, though 'ﬁ' became two letters and E + U+0301 one
    assert [text[s:e] for _, s, e in toks] == [
        "no", "\ufb01ssure", ";", NFD_UPPER, FULL_WIDTH_CRACK, "\uff1a", FULL_WIDTH_NO,
    ]


def test_ascii_tokens_are_unchanged() -> None:
    assert tokenize_spans("No leak, L/H.") == [("no", 0, 2), ("leak", 3, 7), (",", 7, 8), ("l/h", 9, 12), (".", 12, 13)]


@pytest.mark.parametrize("text", [f"{FULL_WIDTH_CRACK}: No", f"{FULL_WIDTH_CRACK}\uff1a{FULL_WIDTH_NO}",
                                  f"{FULL_WIDTH_NO} {FULL_WIDTH_CRACK} on boom"])
def test_a_full_width_fault_word_or_answer_is_read(text: str) -> None:
    assert NegationDetector().status(text, _span(text, FULL_WIDTH_CRACK)) == "negated"


def test_an_nfd_fault_word_answered_no_is_negated() -> None:
    """'fissuré' is the ontology's synonym (NFC, as LogSummarizer passes it); the log holds it decomposed."""
    det = NegationDetector(fault_words={"fissur\u00e9"})
    text = f"{NFD_UPPER}: No"
    assert det.status(text, _span(text, NFD_UPPER)) == "negated"
    assert det.status(f"{NFD_UPPER}: Yes", _span(text, NFD_UPPER)) == "confirmed"


def test_fault_words_given_in_another_unicode_form_are_normalised() -> None:
    det = NegationDetector(fault_words={"FISSURE\u0301", "\uff28\uff4f\uff4c\uff45"})  # NFD upper, 'Ｈｏｌｅ'
    assert {"fissur\u00e9", "hole"} <= det.fault_words
    assert det.status("fissur\u00e9: no", (0, 7)) == "negated"


def test_spans_after_a_ligature_still_point_at_their_finding() -> None:
    """'ﬃ' is one character in the text and three after NFKC: a span after it must not shift onto a neighbour."""
    det = NegationDetector()
    text = "o\ufb03ce pump: ok\ncrack on boom; no leak at seal"
    assert det.status(text, _span(text, "crack")) == "confirmed"
    assert det.status(text, _span(text, "leak")) == "negated"
    assert det.status(text, _span(text, "seal")) == "confirmed"


# -- multi-word fault words ---------------------------------------------------------------------------------


def test_a_multi_word_fault_word_answered_no_is_negated() -> None:
    det = NegationDetector(fault_words={"hairline crack"})
    text = "Hairline crack: No"
    assert det.status(text, _span(text, "Hairline crack")) == "negated"
    assert det.status("Hairline crack: Yes", _span(text, "Hairline crack")) == "confirmed"


def test_only_the_whole_sequence_makes_a_fault() -> None:
    """Neither 'crack' alone nor 'hairline' alone is the fault word 'hairline crack'."""
    det = NegationDetector(fault_words={"hairline crack"})
    assert det.status("Crack: No", (0, 5)) == "confirmed"
    assert det.status("hairline: no", (0, 8)) == "confirmed"
    assert det.status("crack hairline: no", (0, 14)) == "confirmed"


def test_no_before_a_multi_word_fault_word_negates_it() -> None:
    """'no' describes a failure ('no hot water') unless what follows is a fault word, one or several words long."""
    det = NegationDetector(fault_words=FAULT_WORDS | {"hot spot"})
    text = "no hot spot on casing"
    assert det.status(text, _span(text, "hot spot")) == "negated"
    text = "no hot water at tap"
    assert det.status(text, _span(text, "hot water")) == "confirmed"


def test_a_finding_wider_than_the_multi_word_fault_word_counts() -> None:
    det = NegationDetector(fault_words={"hot spot"})
    text = "Minor hot spot: N"
    assert det.status(text, _span(text, "Minor hot spot")) == "negated"


def test_a_multi_word_fault_word_in_another_unicode_form() -> None:
    det = NegationDetector(fault_words={"Hot Spot"})
    text = "\uff28\uff4f\uff54 \uff53\uff50\uff4f\uff54: no"  # 'Ｈｏｔ ｓｐｏｔ'
    assert det.status(text, (0, 8)) == "negated"


def test_a_pickled_detector_keeps_its_multi_word_fault_words() -> None:
    det = pickle.loads(pickle.dumps(NegationDetector(fault_words={"hot spot"})))
    assert det.status("hot spot: no", (0, 8)) == "negated"
    del det.__dict__["_fault_phrases"]  # as a detector pickled before multi-word fault words were matched
    assert det.status("hot spot: no", (0, 8)) == "negated"


def test_summary_negates_a_multi_word_synonym_answered_no() -> None:
    """An ontology synonym of two words, neither of them a fault word on its own, labels a checklist item."""
    from assetgrade.modalities.text.summary import LogSummarizer
    from assetgrade.store.records import LogEntry

    ont = loads_ontology("name: u\ngrades: [A, B]\ndefects:\n  overheat: {kind: functional, synonyms: [hot spot]}\n"
                         "rubric:\n  rules: [{defect: overheat, grade: B}]\n")
    summ = LogSummarizer(ont)
    for text, status in (("Hot spot: No", "negated"), ("no hot spot", "negated"), ("Hot spot: Yes", "confirmed")):
        found = summ.entry_findings(LogEntry("e1", text))[0]
        assert [(f.defect, f.status) for f in found] == [("overheat", status)], text

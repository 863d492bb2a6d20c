"""NegationDetector: log text compared with fault and trigger words in NFKC, lower-case form (offsets kept in
the original text)."""

from __future__ import annotations

import pytest

from assetgrade.modalities.text.negation import NegationDetector, tokenize_spans

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

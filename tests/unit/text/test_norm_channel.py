"""Normaliser: the learned noisy-channel error model (Brill & Moore 2000) and its candidates and features."""

from __future__ import annotations

from collections import Counter

import pytest

from assetgrade.datasets.maintnorm import NormText
from assetgrade.modalities.text.candidates import CandidateGenerator
from assetgrade.modalities.text.norm_channel import ErrorModel, align
from assetgrade.modalities.text.normalize import Normalizer

PAIRS = [("repl", "replace"), ("assy", "assembly"), ("cieling", "ceiling"), ("brkt", "bracket"),
         ("hyd", "hydraulic"), ("hose", "hose"), ("pmp", "pump"), ("filtr", "filter")]


def _edits(word: str, raw: str) -> list[tuple[str, str, str]]:
    return [op for op in align(word, raw) if op[0] != "keep"]


def test_align_names_cuts_swaps_and_deletions() -> None:
    assert _edits("replace", "repl") == [("cut", "l", "3")]
    assert _edits("ceiling", "cieling") == [("swap", "c", "ei")]
    assert _edits("pump", "pmp") == [("del", "p", "u")]
    assert _edits("oil", "iol") == [("swap", "^", "oi")]  # the first two letters swapped
    assert _edits("oil", "ail") == [("sub", "^", "oa")]
    assert _edits("hose", "hose") == []


def test_learned_edits_beat_unseen_ones() -> None:
    em = ErrorModel().fit(PAIRS * 2)
    assert em.log_prob("hose", "hose") == 0.0
    # vowels dropped after a consonant were learned (pmp, brkt, filtr); a changed consonant was not
    assert em.log_prob("crnr", "corner") > em.log_prob("crnr", "carrier")
    assert em.log_prob("valv", "valve") > em.log_prob("valv", "salve")
    # a cut-off word is one event, so a long cut costs little more than a short one
    assert em.log_prob("ctrl", "controller") - em.log_prob("ctrl", "control") > -3.0
    assert em.log_prob("ctrl", "controller") < 0.0


def test_non_letter_pairs_are_left_out() -> None:
    em = ErrorModel().fit([("#4", "number <num>"), ("A/C", "air conditioner"), ("pmp", "pump")])
    assert em.n_pairs_ == 1


def _gen(channel: ErrorModel | None) -> CandidateGenerator:
    vocab = Counter({"oil": 40, "corner": 5, "controller": 3, "control": 9, "hose": 7})
    return CandidateGenerator(vocab, lambda t: None, channel=channel)


def test_channel_adds_words_with_another_first_letter() -> None:
    em = ErrorModel().fit(PAIRS)
    assert "oil" not in {c.form for c in _gen(None).generate("iol")}
    assert "oil" in {c.form for c in _gen(em).generate("iol")}


def test_channel_features_have_one_length_and_rank_the_closest_word_first() -> None:
    em = ErrorModel().fit(PAIRS)
    cands = _gen(em).generate("controler")
    assert len({len(c.features) for c in cands}) == 1
    assert len(cands[0].features) == len(_gen(None).generate("controler")[0].features) + 3
    by_form = {c.form: c.features for c in cands}
    # last feature: the candidate's channel-plus-frequency score against the token's best one (0 = best)
    assert by_form["controller"][-1] == 0.0
    assert by_form["control"][-1] < 0.0


@pytest.mark.parametrize("noisy_channel", [True, False])
def test_normalizer_fits_and_normalises_with_or_without_the_channel(noisy_channel: bool) -> None:
    texts = [NormText(("REPL", "HYD", "HOSE"), ("replace", "hydraulic", "hose")),
             NormText(("chk", "oil", "levl"), ("check", "oil", "level")),
             NormText(("PMP", "LEAKING"), ("pump", "leaking"))] * 4
    norm = Normalizer(n_folds=2, noisy_channel=noisy_channel, word_frequency=False).fit(texts)
    assert norm.normalize("repl hyd hose").text == "replace hydraulic hose"
    assert (norm.generator_.channel is not None) == noisy_channel

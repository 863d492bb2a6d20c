"""Normaliser: Brill & Moore's substring edits in the noisy-channel error model (counting, scoring, proposing)."""

from __future__ import annotations

import math
from collections import Counter

import pytest

from assetgrade.datasets.maintnorm import NormText
from assetgrade.modalities.text.candidates import CandidateGenerator
from assetgrade.modalities.text.norm_channel import ErrorModel, substring_edits
from assetgrade.modalities.text.normalize import Normalizer

PUMPS = [("pmp", "pump"), ("pump", "pump"), ("hmp", "hump")]
NIGHT = [("nite", "night"), ("nite", "nite"), ("rite", "rite")]


def test_substring_edits_take_the_matches_around_each_edit() -> None:
    # the dropped u alone, with the letter before or after it, and with both (three letters at most a side)
    assert substring_edits("pump", "pmp") == {
        ("pu", "p", 0), ("pum", "pm", 0), ("u", "", 1), ("um", "m", 1), ("ump", "mp", 2),
    }
    assert substring_edits("pump", "pmp", longest=1) == {("u", "", 1)}
    # the position is that of the intended side: start (0) wins over end (2) for a whole word
    assert substring_edits("oil", "ail") == {("o", "a", 0), ("oi", "ai", 0), ("oil", "ail", 0)}
    # two edits inside one window become one edit (``ght`` written ``te`` at the end of the word)
    assert ("ght", "te", 2) in substring_edits("night", "nite")
    assert ("igh", "i", 1) in substring_edits("night", "nite")


def test_cuts_and_identical_pairs_give_no_substring_edit() -> None:
    assert substring_edits("replace", "repl") == set()  # a cut-off word is the cut event's
    assert substring_edits("hose", "hose") == set()


def test_substring_probability_is_its_pair_count_over_its_intended_side() -> None:
    em = ErrorModel(longest=3).fit(PUMPS)
    # ``u`` dropped mid-word in 2 pairs (pmp, hmp); ``u`` stands mid-word in 3 pair words (pump twice, hump)
    assert em.substrings_[("u", "", 1)] == pytest.approx(-math.log(2 / (3 + 1)))
    # ``pu`` at the start of a word: 1 dropped u over 2 words
    assert em.substrings_[("pu", "p", 0)] == pytest.approx(-math.log(1 / (2 + 1)))
    assert ("pu", "p", 1) not in em.substrings_  # position matters
    twice = ErrorModel(longest=3, min_count=2).fit(PUMPS)
    assert twice.substrings_.keys() == {("u", "", 1), ("um", "m", 1), ("ump", "mp", 2)}
    assert ErrorModel(longest=0).fit(PUMPS).substrings_ == {}


def test_score_is_the_best_partition_over_substring_and_single_edits() -> None:
    with_subs, without = ErrorModel(longest=3).fit(PUMPS), ErrorModel(longest=0).fit(PUMPS)
    # the cheapest partition drops u as one learned edit, log 1/2, cheaper than the single-character model
    assert with_subs.log_prob("pmp", "pump") == pytest.approx(math.log(0.5))
    assert without.log_prob("pmp", "pump") < math.log(0.5) - 1.0
    # an unseen edit still scores through the single-character model, the same with or without substrings
    assert with_subs.log_prob("pimp", "pump") == pytest.approx(without.log_prob("pimp", "pump"))
    # two learned edits in one word add up (``ght`` → ``te`` at the end)
    em = ErrorModel(longest=3).fit(NIGHT)
    assert em.log_prob("lite", "light") == pytest.approx(-em.substrings_[("ght", "te", 2)])
    assert em.log_prob("lite", "light") > ErrorModel(longest=0).fit(NIGHT).log_prob("lite", "light") + 3.0


def test_sources_undo_learned_edits() -> None:
    em = ErrorModel(longest=3).fit(NIGHT)
    sources = em.sources("lite")
    assert sources["light"] == pytest.approx(em.substrings_[("ght", "te", 2)])
    assert "lite" not in sources
    assert all(cost <= 7.0 for cost in sources.values())
    assert ErrorModel(longest=0).fit(NIGHT).sources("lite") == {}


def test_generator_proposes_words_the_substring_edits_reach() -> None:
    vocab = Counter({"light": 20, "lit": 3, "hose": 5})
    gen = CandidateGenerator(vocab, lambda t: None, channel=ErrorModel(longest=3).fit(NIGHT))
    forms = {c.form for c in gen.generate("lite")}
    plain = CandidateGenerator(vocab, lambda t: None, channel=ErrorModel(longest=0).fit(NIGHT)).generate("lite")
    assert "light" in forms  # three single-character edits away, not a prefix, subsequence or DL <= 2 look-alike
    assert "light" not in {c.form for c in plain}


@pytest.mark.parametrize("substring_edits", [False, True])
def test_normalizer_learns_substring_edits_only_when_asked(substring_edits: bool) -> None:
    texts = [NormText(("CHK", "nite", "LITE"), ("check", "night", "light")),
             NormText(("PMP", "LEAKING"), ("pump", "leaking"))] * 4
    norm = Normalizer(n_folds=2, word_frequency=False, substring_edits=substring_edits).fit(texts)
    channel = norm.memory_.channel
    assert (("ght", "te", 2) in channel.substrings_) == substring_edits
    assert bool(channel.sources("bite")) == substring_edits
    assert norm.normalize("chk nite pmp").text == "check night pump"

"""Normaliser additions: English lexicon, id/dash/segmentation candidates, context classifiers."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from assetgrade.datasets.maintnorm import NormText
from assetgrade.modalities.text.candidates import CandidateGenerator
from assetgrade.modalities.text.norm_context import ContextDisambiguator, context_features
from assetgrade.modalities.text.norm_lexicon import load_lexicon, load_word_frequency, read_wordpiece_words
from assetgrade.modalities.text.normalize import Normalizer

LOOKUP = {"a/c": "air conditioner", "fan": "fan", "cab": "cabin", "hose": "hose"}


def _gen(lexicon: frozenset[str] = frozenset()) -> CandidateGenerator:
    vocab = Counter({"ceiling": 3, "fan": 4, "cabin": 5, "hose": 9, "air": 2, "conditioner": 2})
    known = {"a/c": 6, "fan": 4, "cab": 5, "hose": 9}
    return CandidateGenerator(vocab, lambda t: LOOKUP.get(t.lower()), lexicon=lexicon, known=known)


def test_read_wordpiece_words(tmp_path: Path) -> None:
    p = tmp_path / "vocab.txt"
    p.write_text("[CLS]\n##ing\nceiling\nHose\n42\na\nvalve\n", encoding="utf-8")
    assert read_wordpiece_words(p) == frozenset({"ceiling", "valve"})


def test_bundled_lexicon_has_english_words() -> None:
    lex = load_lexicon()
    if lex:  # the bundled model package is a dependency; empty only on a stripped install
        assert {"ceiling", "filter", "bonnet"} <= lex
        assert "cieling" not in lex and "##ing" not in lex


def test_lexicon_correction_candidate() -> None:
    forms = {c.form: c for c in _gen(frozenset({"ceiling", "cooling"})).generate("cieling")}
    assert forms["ceiling"].kind in {"lex", "vocab"}
    # without the lexicon "ceiling" (distance 1) still comes from the vocabulary, but as vocab
    assert "ceiling" in {c.form for c in _gen().generate("cieling")}
    # a real word is not "corrected" from the lexicon
    assert all(c.kind != "lex" for c in _gen(frozenset({"ceiling", "cooling"})).generate("cooling"))


def test_id_and_trailing_dash_candidates() -> None:
    gen = _gen()
    assert "<id> -" in {c.form for c in gen.generate("BT0391-")}
    assert {"<num>", "<id>"} <= {c.form for c in gen.generate("433")}
    assert "<id>" in {c.form for c in gen.generate("TJH")}
    assert "<id>" not in {c.form for c in gen.generate("7")}


def test_segmentation_of_run_together_tokens() -> None:
    gen = _gen()
    assert "air conditioner fan" in {c.form for c in gen.generate("A/Cfan")}
    assert "<id> cabin" in {c.form for c in gen.generate("BC4051Cab")}
    assert gen._segment("zzzzqq") is None  # nothing known inside


def test_feature_vectors_have_one_width() -> None:
    gen = _gen(frozenset({"ceiling"}))
    widths = {len(c.features) for tok in ("cieling", "A/Cfan", "433", "BT0391-", "HOSE") for c in gen.generate(tok)}
    assert len(widths) == 1


REP_TEXTS = [
    NormText(("REP", "BRAKE", "FAULT"), ("repair", "brake", "fault")),
    NormText(("REP", "LEAK", "DAMAGE"), ("repair", "leak", "damage")),
    NormText(("REP", "FULL", "SET"), ("replace", "full", "set")),
    NormText(("REP", "WINDOW", "SET"), ("replace", "window", "set")),
    NormText(("CHECK", "BRAKE", "FAULT"), ("check", "brake", "fault")),
] * 3


def test_context_features_and_classifier() -> None:
    f = context_features(["REP", "FULL", "SET"], 0)
    assert f["p1=<s>"] == 1.0 and f["n1=full"] == 1.0 and f["bow=set"] == 0.5 and "bow=rep" not in f
    ctx = ContextDisambiguator(min_count=2).fit(REP_TEXTS)
    assert set(ctx.models_) == {"rep"}
    assert ctx.predict(["REP", "GLASS", "SET"], 0) == "replace"
    assert ctx.predict(["REP", "HORN", "FAULT"], 0) == "repair"
    assert ctx.predict(["BRAKE"], 0) is None


def test_normalizer_uses_context_classifier() -> None:
    with_ctx = Normalizer(n_folds=2, lexicon=()).fit(REP_TEXTS)
    assert with_ctx.context_ is not None
    assert with_ctx.normalize_tokens(["REP", "DOOR", "SET"])[0] == "replace"
    assert with_ctx.normalize_tokens(["REP", "DOOR", "FAULT"])[0] == "repair"
    without = Normalizer(n_folds=2, lexicon=(), context_classifier=False).fit(REP_TEXTS)
    assert without.context_ is None
    assert without.normalize_tokens(["REP", "DOOR", "FAULT"])[0] in {"repair", "replace"}


def test_bundled_word_frequency_ranks_words_over_misspellings() -> None:
    freq = load_word_frequency()
    if freq:  # pyspellchecker is a dependency; empty only on a stripped install
        assert freq["ceiling"] > 1000 and freq["controller"] > 100
        assert freq.get("cieling", 0) == 0 and freq.get("controler", 0) == 0


def test_rank_features_carry_english_counts() -> None:
    import math

    from assetgrade.modalities.text.candidates import Candidate
    from assetgrade.modalities.text.normalize import _Memory, _rank_features

    mem = _Memory(REP_TEXTS)
    freq = {"ceiling": 99, "light": 9}
    tokens = ["cieling", "light"]
    word = _rank_features(mem, Candidate("ceiling", "lex", (0.0,)), "<s>", "light", tokens, 0, freq)
    mask = _rank_features(mem, Candidate("<id>", "mask", (0.0,)), "<s>", "light", tokens, 0, freq)
    plain = _rank_features(mem, Candidate("ceiling", "lex", (0.0,)), "<s>", "light", tokens, 0)
    assert len(word) == len(plain) + 3
    assert word[-3:] == [0.0, math.log1p(99), math.log1p(99)]  # the raw token is no English word
    assert mask[-3:] == [0.0, -1.0, -1.0]  # a mask has no English count


def test_word_frequency_switch_and_older_models() -> None:
    once = [("CIELING", "ceiling"), ("FLITER", "filter"), ("VLAVE", "valve"), ("BONET", "bonnet"), ("strop", "strop")]
    texts = [*REP_TEXTS, *(NormText((r,), (g,)) for r, g in once)]  # each seen once: unseen in the other fold
    on = Normalizer(n_folds=2, lexicon=()).fit(texts)
    off = Normalizer(n_folds=2, lexicon=(), word_frequency=False).fit(texts)
    assert on.ranker_ is not None and off.ranker_ is not None
    assert on.ranker_.n_features_in_ == off.ranker_.n_features_in_ + 3
    # a model pickled before the switch existed ranks without the counts
    del off.__dict__["word_frequency"]
    assert off._frequency() is None
    assert len(off.normalize_tokens(["REP", "CIELNG"])) == 2

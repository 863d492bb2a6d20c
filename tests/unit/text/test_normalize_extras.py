"""Normaliser additions: English lexicon, id/dash/segmentation candidates, context classifiers."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from assetgrade.datasets.maintnorm import NormText
from assetgrade.modalities.text.candidates import CandidateGenerator
from assetgrade.modalities.text.norm_context import ContextDisambiguator, context_features
from assetgrade.modalities.text.norm_lexicon import load_lexicon, read_wordpiece_words
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

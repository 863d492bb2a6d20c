"""Normaliser: digit shapes, compounds, completion of cut-off words, truncation features, noisy annotations."""

from __future__ import annotations

from collections import Counter

from assetgrade.datasets.maintnorm import NormText
from assetgrade.modalities.text.candidates import Candidate, CandidateGenerator, digit_shape
from assetgrade.modalities.text.norm_context import ContextDisambiguator
from assetgrade.modalities.text.normalize import TRUNCATED_TEXT_CHARS, Normalizer, _Memory, _rank_features


def _gen(shapes: dict[str, Counter[str]] | None) -> CandidateGenerator:
    vocab = Counter({"auto-lube": 4, "auto": 3, "lube": 9, "inline": 2, "repairs": 5, "inspection": 7,
                     "inspect": 1, "attachment": 2})
    known = {"auto": 3, "lube": 9, "repairs": 5}
    lookup = {"repairs": "repairs"}
    return CandidateGenerator(vocab, lambda t: lookup.get(t.lower()), known=known, shapes=shapes)


def test_digit_shape() -> None:
    assert digit_shape("#12") == "#99"
    assert digit_shape("Pos4") == digit_shape("POS7") == "pos9"
    assert digit_shape("pump") is None


def test_shape_candidates_come_only_with_shapes() -> None:
    shapes = {"#9": Counter({"number <num>": 5, "<num>": 1})}
    with_shapes = {c.form: c for c in _gen(shapes).generate("#7")}
    assert "number <num>" in with_shapes
    assert "number <num>" not in {c.form for c in _gen(None).generate("#7")}
    # the shape's support is a feature: seen 5 of 6 times for this shape
    f = with_shapes["number <num>"].features
    assert f[-4] > 1.5 and abs(f[-3] - 5 / 6) < 1e-9  # log1p(5), share; then the two rank slots


def test_compounds_and_completion() -> None:
    gen = _gen({})
    assert "auto-lube" in {c.form for c in gen.generate("Autolube")}  # segment 'auto lube', hyphenated form known
    assert "inline" in {c.form for c in gen.generate("in-line")}  # split 'in - line', closed form known
    assert "repairs / inspection" in {c.form for c in gen.generate("REPAIRS/INSPECTI")}
    assert "- attachment" in {c.form for c in gen.generate("-Attac")}
    # a real word in the vocabulary is not 'completed' into a longer one
    assert "repairs / inspection" not in {c.form for c in gen.generate("REPAIRS/INSPECT")}
    old = _gen(None)  # a generator without shapes (pickled before them) adds none of these
    assert "auto-lube" not in {c.form for c in old.generate("Autolube")}
    widths = {len(c.features) for w in ("Autolube", "#7", "REPAIRS/INSPECTI", "hose") for c in gen.generate(w)}
    assert len(widths) == 1
    assert next(iter(widths)) == len(old.generate("hose")[0].features) + 2


def test_truncation_features() -> None:
    mem = _Memory([NormText(("REPL", "HOSE"), ("replace", "hose"))])
    cut = ["REPL", "HYD", "HOSE", "ON", "LH", "BOOM", "CYLINDER", "ASSEMBL"]  # 38+ characters, last word cut
    assert len(" ".join(cut)) >= TRUNCATED_TEXT_CHARS
    cand = Candidate("assembly", "vocab", (0.0,))
    last = _rank_features(mem, cand, "cylinder", "</s>", cut, len(cut) - 1, truncation=True)
    short = _rank_features(mem, cand, "boom", "</s>", ["REPL", "ASSEMBL"], 1, truncation=True)
    inner = _rank_features(mem, Candidate("hose", "vocab", (0.0,)), "replace", "hose", cut, 1, truncation=True)
    plain = _rank_features(mem, cand, "cylinder", "</s>", cut, len(cut) - 1)
    assert len(last) == len(plain) + 2
    assert last[-2:] == [1.0, 1.0]  # ends a text at the limit; the candidate begins with the token
    assert short[-2:] == [0.0, 1.0]
    assert inner[-2:] == [0.0, 0.0]


def test_one_odd_trigram_does_not_overrule_the_usual_reading() -> None:
    texts = [NormText(("C/O", "BLOWN", "HOSE"), ("change out", "blown", "hose"))] * 5
    texts.append(NormText(("C/O", "BLOWN", "O"), ("change", "out", "blown")))  # misaligned annotation
    mem = _Memory(texts)
    assert mem.best("c/o", "BLOWN", "o") == "blown"
    # twice in the same context is evidence, and wins
    mem = _Memory([*texts, NormText(("C/O", "BLOWN", "O"), ("change", "out", "blown"))])
    assert mem.best("c/o", "BLOWN", "o") == "out"


def test_token_absorbed_by_previous_merge() -> None:
    texts = [NormText(("O", "RING"), ("o-ring", ""))] * 2 + [NormText(("RING", "MAIN"), ("ring", "main"))] * 5
    norm = Normalizer(n_folds=2, lexicon=(), word_frequency=False, context_classifier=False).fit(texts)
    assert norm.normalize_tokens(["BLOWN", "O", "RING"])[1:] == ["o-ring", ""]
    assert norm.normalize_tokens(["RING", "MAIN"]) == ["ring", "main"]  # not absorbed: keeps its form


def test_context_classifier_leaves_out_one_off_readings() -> None:
    texts = [NormText(("REP", "fault"), ("repair", "fault")), NormText(("REP", "set"), ("replace", "set"))] * 3
    texts.append(NormText(("REP", "x"), ("repaint", "x")))
    ctx = ContextDisambiguator(min_count=2, min_minority=2).fit(texts)
    assert set(ctx.models_["rep"].classes) == {"repair", "replace"}


def test_context_tie_goes_to_the_usual_reading() -> None:
    texts = [NormText(("PUMP", "1"), ("pump", "<num>"))] * 5 + [
        NormText(("REPLACE", "1", "BOLT"), ("replace", "<id>", "bolt")),  # odd: once an id after REPLACE
        NormText(("FIT", "1", "X"), ("fit", "<num>", "x")),
    ]
    mem = _Memory(texts)
    # left context says <id> once, right context says <num> once: the tie goes to <num> (6 of 7)
    assert mem.best("replace", "1", "x") == "<num>"


def test_merges_over_several_tokens_and_abbreviated_partners() -> None:
    texts = [NormText(("G", "E", "T"), ("GET", "", ""))] * 3 + [
        NormText(("T", "BOLT"), ("tested", "bolt")),
        NormText(("Cam", "SFT"), ("camshaft", "")),
        NormText(("Cam", "SFT"), ("camshaft", "")),
        NormText(("DRIVE", "SFT"), ("drive", "shaft")),
        NormText(("SFT", "SEAL"), ("shaft", "seal")),
        NormText(("SFT", "SEAL"), ("shaft", "seal")),
    ]
    norm = Normalizer(n_folds=2, lexicon=(), word_frequency=False).fit(texts)
    # T follows a merged-away E: the last form written (GET) took it in
    assert norm.normalize_tokens(["RZ1", "G", "E", "T"])[1:] == ["GET", "", ""]
    # SFT's letters are spread through camshaft (an abbreviation of its end), so its '' reading stands
    assert norm.normalize_tokens(["Insp", "Cam", "SFT"])[1:] == ["camshaft", ""]
    assert norm.normalize_tokens(["SFT", "SEAL"]) == ["shaft", "seal"]

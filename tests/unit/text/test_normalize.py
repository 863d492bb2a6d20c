"""Normaliser: masks, abbreviations, learned replacements in context, unseen tokens, metrics, bad input."""

from __future__ import annotations

import pytest

from assetgrade.datasets.maintnorm import NormText, read_norm_file
from assetgrade.errors import IngestError, ValidationError
from assetgrade.modalities.text.candidates import damerau_levenshtein, is_subsequence, mask_token
from assetgrade.modalities.text.normalize import Normalizer, normalization_scores
from assetgrade.ontology import default_ontology

PAIRS = [
    NormText(
        ("CR871", "REPL", "DAMAGED", "POS", "7", "TYRE"), ("<id>", "replace", "damaged", "position", "<num>", "tyre")
    ),
    NormText(("REPL", "HYD", "HOSE"), ("replace", "hydraulic", "hose")),
    NormText(("repair", "A", "Frame"), ("repair", "A-frame", "")),
    NormText(("REP", "front", "light"), ("replace", "front", "light")),
    NormText(("A", "LIGHT", "OUT"), ("a", "light", "out")),
    NormText(("INSPECT", "BEARING", "NOISE"), ("inspect", "bearing", "noise")),
    NormText(("REPLACE", "CORNER", "TOOTH"), ("replace", "corner", "tooth")),
    NormText(("ASSEMBLY", "LEAKING", "PURCHASE"), ("assembly", "leaking", "purchase")),
    NormText(("FRAME", "CRACKED"), ("frame", "cracked")),
] * 4


@pytest.fixture(scope="module")
def norm() -> Normalizer:
    return Normalizer(abbreviations=default_ontology().abbreviations, n_folds=2, rule_masks=True).fit(PAIRS)


def test_masks() -> None:
    assert mask_token("EX1793") == "<id>"
    assert mask_token("3484") == "<num>"
    assert mask_token("1.5") == "<num>"
    assert mask_token("28/01/2012") == "<date>"
    assert mask_token("hose") is None


def test_seen_tokens_and_masking(norm: Normalizer) -> None:
    out = norm.normalize("REPL HYD HOSE PH639 pos 12")
    assert out.text == "replace hydraulic hose <id> position <num>"
    assert len(out.output) == len(out.raw)


def test_ontology_abbreviation_for_unseen_token(norm: Normalizer) -> None:
    # "cyl" never appears in the pairs; the ontology's abbreviation list expands it
    assert norm.normalize_tokens(["REPL", "cyl"]) == ["replace", "cylinder"]


def test_merge_only_after_its_partner(norm: Normalizer) -> None:
    assert norm.normalize_tokens(["repair", "A", "Frame"]) == ["repair", "A-frame", ""]
    # "Frame" alone is not merged away
    assert norm.normalize_tokens(["Frame"])[0] != ""


def test_unseen_candidates(norm: Normalizer) -> None:
    gen = norm.generator_
    assert "hose / tyre" in {c.form for c in gen.generate("HOSE/TYRE")}
    assert "<num> tyre" in {c.form for c in gen.generate("12TYRE")}
    vocab = {c.form: c for c in gen.generate("PUCHASE") if c.kind == "vocab"}
    assert "purchase" in vocab
    assert "corner" in {c.form for c in gen.generate("CRNR")}
    # the ranker picks one of the candidates
    assert norm.normalize_tokens(["HOSE/TYRE"])[0] in {c.form for c in gen.generate("HOSE/TYRE")}


def test_empty_and_mixed_language_input(norm: Normalizer) -> None:
    assert norm.normalize("").text == ""
    assert norm.normalize("   ").output == ()
    out = norm.normalize("REPL Hydraulikschlauch 油漏れ")
    assert out.output[0] == "replace" and len(out.output) == 3


def test_scores_definition() -> None:
    s = normalization_scores(["REPL", "hose", "X"], ["replace", "hose", "y"], ["replace", "HOSE", "X"])
    assert (s["tp"], s["fp"], s["fn"]) == (1.0, 1.0, 1.0)
    assert s["precision"] == 50.0 and s["recall"] == 50.0 and s["err"] == 0.0


def test_edit_distance_helpers() -> None:
    assert damerau_levenshtein("puchase", "purchase") == 1
    assert damerau_levenshtein("teh", "the") == 1
    assert damerau_levenshtein("abc", "xyzabc", limit=2) == 3
    assert is_subsequence("crnr", "corner") and not is_subsequence("rcnr", "corner")


def test_fit_rejects_empty() -> None:
    with pytest.raises(ValidationError):
        Normalizer().fit([])


def test_norm_file_errors_name_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "bad.norm"
    f.write_text("REPL\treplace\nno tab here\n", encoding="utf-8")
    with pytest.raises(IngestError, match=r"bad.norm:2"):
        read_norm_file(f)
    g = tmp_path / "bytes.norm"
    g.write_bytes(b"REPL\treplace\xff\n")
    with pytest.raises(IngestError, match="UTF-8"):
        read_norm_file(g)
    ok = tmp_path / "ok.norm"
    ok.write_text("REPL\treplace\nHOSE\those\n\nPH1\t<id>\n", encoding="utf-8")
    texts = read_norm_file(ok)
    assert [t.raw for t in texts] == [("REPL", "HOSE"), ("PH1",)]


@pytest.mark.parametrize(("kw", "where"), [({"n_folds": 1}, "n_folds"), ({"n_folds": 0}, "n_folds"),
                                           ({"n_folds": 2.5}, "n_folds"), ({"seed": -1}, "seed")])
def test_bad_fold_settings_are_named(kw: dict, where: str) -> None:
    from assetgrade.errors import ValidationError
    from assetgrade.modalities.text.normalize import Normalizer

    with pytest.raises(ValidationError, match=f"Normalizer.{where}"):
        Normalizer(lexicon=(), **kw)


def test_an_unfitted_normaliser_is_named_not_an_attribute_error() -> None:
    from assetgrade.errors import ValidationError
    from assetgrade.modalities.text.extractor import TextExtractor
    from assetgrade.store.records import AssetRecord, LogEntry

    with pytest.raises(ValidationError, match="fit the normaliser"):
        Normalizer(lexicon=()).normalize("repl hyd hose")
    recs = [AssetRecord("a", logs=(LogEntry("e1", "hose leak"),))]
    with pytest.raises(ValidationError, match="fit the normaliser"):
        TextExtractor(embedder="none", normalizer=Normalizer(lexicon=())).fit(recs).extract(recs)
    with pytest.raises(ValidationError, match=r"TextExtractor\.normalizer"):
        TextExtractor(normalizer="maintnorm")  # type: ignore[arg-type]

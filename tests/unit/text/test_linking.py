"""Ontology linking: exact synonyms, sub-phrases, the unlinked-term report, and embedding similarity."""

from __future__ import annotations

from collections import Counter

import pytest

from assetgrade.modalities.text.linking import OntologyLinker, format_unlinked_report
from assetgrade.ontology import default_ontology


@pytest.fixture(scope="module")
def linker() -> OntologyLinker:
    return OntologyLinker(default_ontology(), embedder=None)


@pytest.mark.parametrize(
    ("term", "kind", "id_"),
    [
        ("hyd hose", "component", "hydraulic_hose"),
        ("Leaking", "defect", "leak"),
        ("bearings", "component", "bearing"),
        ("cracked", "defect", "crack"),
        ("worn out", "defect", "wear"),
        ("damage", "defect", "breakage"),
        ("dmg", "defect", "breakage"),
        ("Damages", "defect", "breakage"),
    ],
)
def test_exact_synonyms(linker: OntologyLinker, term: str, kind: str, id_: str) -> None:
    link = linker.link(term)
    assert (link.kind, link.id, link.method, link.score) == (kind, id_, "synonym", 1.0)


def test_subphrase_and_kind_filter(linker: OntologyLinker) -> None:
    link = linker.link("left hand bucket cylinder", kind="component")
    assert link.id == "hydraulic_cylinder" and link.method == "subphrase" and link.score < 1.0
    assert linker.link("leaking", kind="component").id is None
    for term in ("dmg to bucket", "bucket damage"):
        assert (linker.link(term, kind="defect").id, linker.link(term, kind="component").id) == ("breakage", "bucket")


def test_unlinked_counts_and_report(linker: OntologyLinker) -> None:
    counts = linker.unlinked(["grouser bolt", "Grouser  bolt", "hose", "", "fire ring"])
    assert counts == Counter({"grouser bolt": 2, "fire ring": 1})
    report = format_unlinked_report(counts)
    assert report.splitlines()[1].split() == ["2", "grouser", "bolt"]


class _CharTrigramEmbedder:
    """A real (if crude) embedder: hashed character trigrams, L2-normalised."""

    def encode(self, texts):  # type: ignore[no-untyped-def]
        import zlib

        import numpy as np

        out = np.zeros((len(texts), 512), dtype=np.float32)
        for i, t in enumerate(texts):
            s = f"  {t.lower()} "
            for j in range(len(s) - 2):
                out[i, zlib.crc32(s[j : j + 3].encode()) % 512] += 1.0
            n = np.linalg.norm(out[i])
            out[i] /= n if n else 1.0
        return out


def test_embedding_fallback_with_threshold() -> None:
    linker = OntologyLinker(default_ontology(), embedder=_CharTrigramEmbedder(), threshold=0.6)
    link = linker.link("hydraulic hozes")
    assert link.method == "embedding" and link.id == "hydraulic_hose" and 0.6 <= link.score <= 1.0
    far = linker.link("quarterly safety meeting")
    assert far.id is None and far.method == "none"


@pytest.mark.slow
def test_minilm_links_a_paraphrase() -> None:
    from assetgrade.modalities.text.embed import MiniLMEmbedder

    linker = OntologyLinker(default_ontology(), embedder=MiniLMEmbedder(), threshold=0.6)
    link = linker.link("oil seeping out")
    assert link.kind == "defect" and link.id == "leak" and link.method in ("embedding", "subphrase")


@pytest.mark.parametrize("threshold", [float("nan"), 2.0, -1.5, "0.7"])
def test_a_threshold_that_would_link_nothing_is_refused(threshold: object) -> None:
    from assetgrade.errors import ValidationError

    with pytest.raises(ValidationError, match=r"OntologyLinker\.threshold"):
        OntologyLinker(default_ontology(), threshold=threshold)  # type: ignore[arg-type]


_ABBREVIATED = (
    "name: u\ngrades: [A, B]\ndefects:\n  crack: {kind: functional, synonyms: [cracked]}\n"
    "  overheat: {kind: functional, synonyms: [hot spot]}\n"
    "components:\n  hose: {}\n  hydraulic_hose: {name: hydraulic hose}\n  bucket: {}\n"
    "abbreviations:\n  crkd: cracked\n  hs: hot spot\n  hyd: hydraulic\n  bkt: bucket\n"
    "rubric:\n  rules: [{defect: crack, grade: B}]\n"
)


@pytest.mark.parametrize(
    ("term", "kind", "id_", "score", "method", "expansion"),
    [
        ("crkd", "defect", "crack", 1.0, "synonym", "cracked"),  # no synonym: linked through the abbreviation
        ("CRKD", "defect", "crack", 1.0, "synonym", "cracked"),
        ("HS", "defect", "overheat", 1.0, "synonym", "hot spot"),
        ("hyd hoses", "component", "hydraulic_hose", 1.0, "synonym", "hydraulic hoses"),  # not "hose", 0.9
        ("bkt crkd", "defect", "crack", 0.9, "subphrase", "bucket cracked"),
        ("bkt crkd", "component", "bucket", 0.9, "subphrase", "bucket cracked"),
        ("cracked", "defect", "crack", 1.0, "synonym", None),  # linked as written: no expansion
        ("hose", "component", "hose", 1.0, "synonym", None),
    ],
)
def test_an_abbreviation_links_through_its_expansion(
    term: str, kind: str, id_: str, score: float, method: str, expansion: str | None
) -> None:
    from assetgrade.ontology import loads_ontology

    link = OntologyLinker(loads_ontology(_ABBREVIATED)).link(term, kind=kind)  # type: ignore[arg-type]
    assert (link.id, link.score, link.method, link.expansion) == (id_, score, method, expansion)


def test_an_unlinked_abbreviation_is_reported_as_written() -> None:
    from assetgrade.ontology import loads_ontology

    linker = OntologyLinker(loads_ontology(_ABBREVIATED))
    assert linker.unlinked(["crkd", "bkt teeth", "bkt teeth"], ["defect", "defect", "defect"]) == Counter(
        {"bkt teeth": 2})
    assert linker.link("crkd").id == "crack" and linker.link("crkd").term == "crkd"


def test_the_embedder_reads_the_expansion() -> None:
    from assetgrade.ontology import loads_ontology

    linker = OntologyLinker(loads_ontology(_ABBREVIATED), embedder=_CharTrigramEmbedder(), threshold=0.6)
    link = linker.link("hyd hozes", kind="component")  # a typo: no synonym, expanded, then embedded
    assert (link.method, link.id, link.expansion) == ("embedding", "hydraulic_hose", "hydraulic hozes")

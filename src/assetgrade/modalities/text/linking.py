"""Entity linking: maintenance-text terms to ontology components and defects, with a score.

First the ontology's own names and synonyms (``ont.lookup``) on the term and its singular forms,
then on its expansion (each whole word the ontology's abbreviation list names replaced, as the
normaliser expands it: "crkd" → "cracked"), then on the sub-phrases of each, longest first (score
1.0, or 0.9 for a sub-phrase); then cosine similarity of MiniLM sentence embeddings (:mod:`.embed`)
between the term (its expansion where it has one) and every name and synonym, accepted above a
threshold — dense retrieval in the manner of Sentence-BERT (Reimers & Gurevych 2019). Terms that
link to nothing are counted for the ontology owner.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal, Protocol

import numpy as np

from assetgrade.errors import ValidationError
from assetgrade.modalities.text.normalize import abbreviation_key, abbreviation_table
from assetgrade.ontology import Ontology, normalise_term, singular_forms

__all__ = ["Link", "OntologyLinker", "TextEmbedder", "format_unlinked_report", "singular_forms"]

Kind = Literal["defect", "component"]


class TextEmbedder(Protocol):
    """Anything that turns texts into L2-normalised vectors."""

    def encode(self, texts: Sequence[str]) -> Any: ...


@dataclass(frozen=True)
class Link:
    """Where a term points in the ontology (``id`` None when unlinked) and how sure the linker is."""

    term: str
    kind: Kind | None
    id: str | None
    score: float
    method: Literal["synonym", "subphrase", "embedding", "none"]
    expansion: str | None = None
    """The term with the ontology's abbreviations expanded, normalised (``crkd`` → ``cracked``), when the
    link went through that expansion; None when the term linked as written or linked to nothing."""


def _singulars(words: Sequence[str]) -> list[str]:
    """The phrase with its plural words singular: each form of :func:`singular_forms`, likeliest first.

    ``gearboxes`` → ``gearbox``, then ``gearboxe``; ``valves`` → ``valv``, then ``valve`` (one
    form alone missed one of the two kinds: the last one linked ``valves`` but not ``gearboxes``).

    >>> _singulars(["worn", "bushes"])
    ['worn bush', 'worn bushe']
    """
    forms = [singular_forms(w) or (w,) for w in words]
    out: list[str] = []
    for k in range(max((len(f) for f in forms), default=1)):
        text = " ".join(f[min(k, len(f) - 1)] for f in forms)
        if text not in out:
            out.append(text)
    return out


class OntologyLinker:
    """Link free-text terms to ontology components and defects.

    Parameters
    ----------
    ontology
        The ontology (names, synonyms and ``lookup``).
    embedder
        Sentence embedder for terms the synonyms miss; None links by synonyms only.
    threshold
        Lowest cosine similarity accepted for an embedding link.

    Examples
    --------
    >>> from assetgrade.ontology import default_ontology
    >>> linker = OntologyLinker(default_ontology(), embedder=None)
    >>> link = linker.link("hyd hose")
    >>> (link.kind, link.id, link.method)
    ('component', 'hydraulic_hose', 'synonym')
    >>> link = linker.link("mtr")  # no synonym, but the abbreviation of "motor", which is one
    >>> (link.id, link.method, link.expansion)
    ('engine', 'synonym', 'motor')
    """

    def __init__(self, ontology: Ontology, *, embedder: TextEmbedder | None = None, threshold: float = 0.72) -> None:
        if not isinstance(threshold, int | float) or isinstance(threshold, bool) or not -1.0 <= threshold <= 1.0:
            raise ValidationError(f"threshold={threshold!r}; a cosine similarity between -1 and 1 (default 0.72)",
                                  where="OntologyLinker.threshold")  # NaN or 2 would silently link nothing
        self.ontology = ontology
        self.embedder = embedder
        self.threshold = float(threshold)
        self._labels: list[tuple[Kind, str]] = []
        self._names: list[str] = []
        for kind, table in (("component", ontology.components), ("defect", ontology.defects)):
            for item_id, item in table.items():
                for name in (item.name, *item.synonyms):
                    self._labels.append((kind, item_id))  # type: ignore[arg-type]
                    self._names.append(name)
        self._matrix: Any = None
        self._cache: dict[tuple[str, str | None], Link] = {}
        self._abbreviations = abbreviation_table(ontology.abbreviations)  # keyed as a token is looked up

    def _expansion(self, term: str) -> str | None:
        """The term, normalised, with each whitespace-separated word the abbreviation list names replaced by
        its expansion (whole words only, as :class:`.Normalizer` expands them); None when no word is one."""
        words = term.split()
        out = [self._abbreviations.get(abbreviation_key(w), w) for w in words]
        expanded = normalise_term(" ".join(out))
        return expanded if out != words and expanded != normalise_term(term) else None

    def _synonym(self, term: str, kind: Kind | None) -> Link | None:
        """Exact names and synonyms of the term, then of its expansion; then sub-phrases of each.

        A whole-phrase match of the expansion ("hyd hoses" → "hydraulic hoses") beats a sub-phrase of
        the term as written ("hoses"), as the summariser, which reads expanded words, would find it.
        """
        expansion = self._expansion(term)
        tries: list[tuple[list[str], str | None]] = [(normalise_term(term).split(), None)]
        if expansion is not None:
            tries.append((expansion.split(), expansion))
        for words, via in tries:
            for text in (" ".join(words), *_singulars(words)):
                m = self.ontology.lookup(text)
                if m is not None and (kind is None or m.kind == kind):
                    return Link(term, m.kind, m.id, 1.0, "synonym", via)
        for words, via in tries:
            for n in range(len(words) - 1, 0, -1):
                # components: the head noun is usually last, so prefer later sub-phrases
                for i in range(len(words) - n, -1, -1):
                    sub = words[i : i + n]
                    for text in (" ".join(sub), *_singulars(sub)):
                        m = self.ontology.lookup(text)
                        if m is not None and (kind is None or m.kind == kind):
                            return Link(term, m.kind, m.id, 0.9, "subphrase", via)
        return None

    def _embedding(self, terms: Sequence[str], kinds: Sequence[Kind | None]) -> list[Link]:
        assert self.embedder is not None
        if self._matrix is None:
            self._matrix = np.asarray(self.embedder.encode(self._names), dtype=np.float32)
        q = np.asarray(self.embedder.encode(list(terms)), dtype=np.float32)
        sims = q @ self._matrix.T
        out: list[Link] = []
        allowed = {k: np.array([lab[0] == k for lab in self._labels]) for k in ("component", "defect")}
        for row, term, kind in zip(sims, terms, kinds, strict=True):
            if kind is not None:
                row = np.where(allowed[kind], row, -1.0)
            j = int(np.argmax(row))
            score = float(row[j])
            if score >= self.threshold:
                lab_kind, lab_id = self._labels[j]
                out.append(Link(term, lab_kind, lab_id, round(score, 4), "embedding"))
            else:
                out.append(Link(term, None, None, round(max(score, 0.0), 4), "none"))
        return out

    def link_many(self, terms: Sequence[str], kinds: Sequence[Kind | None] | None = None) -> list[Link]:
        """Links for many terms (``kinds`` restricts each to components or defects)."""
        kinds = list(kinds) if kinds is not None else [None] * len(terms)
        out: list[Link | None] = []
        pending: list[int] = []
        for i, (term, kind) in enumerate(zip(terms, kinds, strict=True)):
            key = (normalise_term(term), kind)
            hit = self._cache.get(key)
            if hit is None:
                hit = self._synonym(term, kind) if key[0] else Link(term, None, None, 0.0, "none")
            if hit is None and self.embedder is None:
                hit = Link(term, None, None, 0.0, "none")
            if hit is not None:
                self._cache[key] = hit
                out.append(replace(hit, term=term))
            else:
                out.append(None)
                pending.append(i)
        if pending:
            # the expansion is embedded where there is one: the embedder knows "cracked", not "crkd"
            expanded = [self._expansion(terms[i]) for i in pending]
            found = self._embedding([e or terms[i] for i, e in zip(pending, expanded, strict=True)],
                                    [kinds[i] for i in pending])
            for i, exp, link in zip(pending, expanded, found, strict=True):
                link = replace(link, term=terms[i], expansion=exp if link.id is not None else None)
                self._cache[(normalise_term(terms[i]), kinds[i])] = link
                out[i] = link
        return [link for link in out if link is not None]

    def link(self, term: str, kind: Kind | None = None) -> Link:
        """The best link for one term."""
        return self.link_many([term], [kind])[0]

    def unlinked(self, terms: Iterable[str], kinds: Sequence[Kind | None] | None = None) -> Counter[str]:
        """Normalised terms that link to nothing, with how often they occur (for the ontology owner)."""
        terms = list(terms)
        counts: Counter[str] = Counter()
        for term, link in zip(terms, self.link_many(terms, kinds), strict=True):
            if link.id is None and normalise_term(term):
                counts[normalise_term(term)] += 1
        return counts


def format_unlinked_report(counts: Counter[str], top: int = 50) -> str:
    """A plain-text table of the most frequent unlinked terms.

    >>> print(format_unlinked_report(Counter({"grouser bolt": 3})))
    count  term
        3  grouser bolt
    """
    lines = ["count  term"]
    lines += [f"{n:5d}  {term}" for term, n in counts.most_common(top)]
    return "\n".join(lines)

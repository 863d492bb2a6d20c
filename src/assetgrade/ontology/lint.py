"""Likely mistakes a valid ontology can hold: rubric rules that never decide a finding, misspelt expansions."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from assetgrade.ontology.model import Defect, Ontology, Rule, normalise_term, singular_forms

__all__ = ["OntologyWarning", "ontology_warnings"]

TYPO_CUTOFF = 0.82
"""The lowest :class:`difflib.SequenceMatcher` ratio at which an unknown word reads as a misspelt term word.

One swapped, dropped or doubled letter in a word of six letters or more scores 0.83 or more
(``baering``/``bearing`` 0.86, ``bukcet``/``bucket`` 0.83); two different words one letter apart
in five (``right``/``light``) score 0.8 and are left alone."""

_MIN_WORD = 4
"""Shorter words are not checked: one letter changes too much of them to tell a typo from another word."""

_INFLECTIONS = ("s", "es", "d", "ed", "ing", "er", "ers")


@dataclass(frozen=True)
class OntologyWarning:
    """A likely mistake in a loaded ontology: where it is and what is wrong.

    Parameters
    ----------
    where
        The entry, as the file names it: ``rubric.rules[2] {defect: crack, grade: C}``, ``abbreviations['hyd']``.
    message
        What is wrong and, where one is known, the fix.

    Examples
    --------
    >>> from assetgrade.ontology import loads_ontology
    >>> ont = loads_ontology("grades: [A, B]\\ndefects: {dent: {kind: cosmetic}}\\n"
    ...                      "rubric: {rules: [{kind: cosmetic, grade: B}, {defect: dent, grade: A}]}")
    >>> w = ontology_warnings(ont)[0]
    >>> w.where
    'rubric.rules[1] {defect: dent, grade: A}'
    >>> for part in w.message.split("; "):
    ...     print(part)
    never decides a finding: each finding it matches is decided first by rubric.rules[0] (grade B, not A)
    move it above that rule
    """

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


def ontology_warnings(ontology: Ontology) -> list[OntologyWarning]:
    """Rubric rules that never decide a finding, then abbreviations whose expansion misspells a term.

    The file loads either way (neither changes a grade by itself), so these are warnings;
    ``assetgrade ontology check`` prints them and fails on them with ``--strict``.
    """
    return [*_rubric_warnings(ontology), *_abbreviation_warnings(ontology)]


def _describe(i: int, rule: Rule) -> str:
    """``rubric.rules[i]`` and the rule as the file writes it (flow style)."""
    parts = [f"defect: {rule.defect}"] if rule.defect is not None else []
    parts += [f"kind: {rule.kind}"] if rule.kind is not None else []
    parts += [f"severity: [{', '.join(rule.severities)}]"] if rule.severities else []
    return f"rubric.rules[{i}] {{{', '.join([*parts, f'grade: {rule.grade}'])}}}"


def _rubric_warnings(ont: Ontology) -> list[OntologyWarning]:
    """Each rule that is no finding's first match, with the reason; then severities a live rule lists in vain.

    The rubric gives a finding (defect, severity) the grade of its first matching rule, and a
    finding's severity must be one its defect lists; so every finding the ontology allows is
    tried, and a rule that wins none of them changes no grade: it is dead or shadowed.
    """
    rules = ont.rubric.rules
    ancestors = {d.id: ont.ancestors(d.id) for d in ont.defects.values()}
    matched: list[list[tuple[Defect, str]]] = [[] for _ in rules]
    winner: dict[tuple[str, str], int] = {}
    for d in ont.defects.values():
        for s in d.severities:
            for i, rule in enumerate(rules):
                if rule.matches(d, s, ancestors[d.id]):
                    matched[i].append((d, s))
                    winner.setdefault((d.id, s), i)
    out: list[OntologyWarning] = []
    for i, rule in enumerate(rules):
        where = _describe(i, rule)
        scope = [d for d in ont.defects.values() if rule.defect is None or rule.defect in (d.id, *ancestors[d.id])]
        of_kind = [d for d in scope if rule.kind is None or d.kind == rule.kind]
        if not matched[i]:
            out.append(OntologyWarning(where, f"never matches: {_why_no_match(rule, scope, of_kind)}"))
            continue
        first = sorted({winner[(d.id, s)] for d, s in matched[i]})
        if i not in first:  # earlier rules took every finding it matches
            out.append(OntologyWarning(where, _shadowed(rule, first, rules)))
            continue
        have = _severities(of_kind)
        for s in rule.severities:
            if s not in have:
                out.append(OntologyWarning(where, f"severity {s!r} never applies: the defects it covers have "
                                                  f"the severities {have}"))
    return out


def _severities(defects: list[Defect]) -> list[str]:
    """The severities some of ``defects`` list, in first-seen order."""
    return list(dict.fromkeys(s for d in defects for s in d.severities))


def _why_no_match(rule: Rule, scope: list[Defect], of_kind: list[Defect]) -> str:
    if not scope:
        return "the ontology has no defects"
    if not of_kind:
        if rule.defect is None:
            return f"no defect is {rule.kind}"
        kinds = sorted({d.kind for d in scope})
        if len(scope) == 1:
            return f"{rule.defect!r} is {kinds[0]}"
        return f"{rule.defect!r} and the defects below it are all {kinds[0]}"
    return f"the defects it covers have the severities {_severities(of_kind)}, not {list(rule.severities)}"


def _shadowed(rule: Rule, first: list[int], rules: tuple[Rule, ...]) -> str:
    """Why a rule that matches findings decides none: the earlier rules that do, and their grades."""
    same = all(rules[j].grade == rule.grade for j in first)
    by = ", ".join(f"rubric.rules[{j}] (grade {rules[j].grade}{'' if same else f', not {rule.grade}'})"
                   for j in first)
    fix = "it is redundant" if same else f"move it above {'them' if len(first) > 1 else 'that rule'}"
    return f"never decides a finding: each finding it matches is decided first by {by}; {fix}"


def _inflected(a: str, b: str) -> bool:
    """Whether one word is the other with an inflection added (``damage``/``damaged``, ``seize``/``seizing``)."""
    short, long = sorted((a, b), key=len)
    stems = (short, short[:-1]) if short.endswith("e") else (short,)
    return any(long == stem + end for stem in stems for end in _INFLECTIONS)


def _abbreviation_warnings(ont: Ontology) -> list[OntologyWarning]:
    """Expansions with a word that is in no term but close to a word of one (``hydralic``): likely a typo.

    Words are read as the text summariser and linker read an expanded text: NFKC, case-folded, separators
    collapsed (:func:`normalise_term`), and a plural word also in the singular. An expansion may be a
    word of a longer term (``hyd`` -> ``hydraulic``, as in 'hydraulic hose'). Words far from every term
    (``replace``, ``left hand``: read by the action and negation rules) and inflections of a term word
    (``damage`` beside 'damaged') are not misspellings and are left alone.
    """
    names = [(d.id, d.name, *d.synonyms) for d in ont.defects.values()]
    names += [(c.id, c.name, *c.synonyms) for c in ont.components.values()]
    terms = {normalise_term(t) for item in names for t in item}
    words = sorted({w for t in terms for w in t.split()})
    known = set(words)
    out: list[OntologyWarning] = []
    for abbreviation, expansion in ont.abbreviations.items():
        said = normalise_term(expansion).split()
        fixed = list(said)
        for k, w in enumerate(said):
            if len(w) < _MIN_WORD or w in known or any(f in known for f in singular_forms(w)):
                continue
            close = difflib.get_close_matches(w, words, n=3, cutoff=TYPO_CUTOFF)
            if close and not any(_inflected(w, c) for c in close):
                fixed[k] = close[0]
        if fixed != said:
            bad = ", ".join(repr(w) for w, f in zip(said, fixed, strict=True) if w != f)
            out.append(OntologyWarning(
                f"abbreviations[{abbreviation!r}]",
                f"{expansion!r} names no term ({bad} is in no defect or component name or synonym); "
                f"did you mean {' '.join(fixed)!r}?"))
    return out

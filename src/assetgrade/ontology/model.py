"""The ontology's frozen objects: grade scale, defect taxonomy, components, abbreviations, rubric."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from assetgrade.errors import OntologyError

__all__ = ["Component", "Defect", "Grade", "GradeScale", "Ontology", "Rubric", "Rule", "TermMatch"]

DefectKind = Literal["cosmetic", "functional"]


@dataclass(frozen=True)
class Grade:
    """One step of the ordinal grade scale."""

    id: str
    name: str
    description: str = ""


@dataclass(frozen=True)
class GradeScale:
    """An ordinal grade scale, best grade first.

    Examples
    --------
    >>> s = GradeScale((Grade("A", "Like new"), Grade("B", "Good"), Grade("C", "Fair")))
    >>> s.names, s.index("B"), s.distance("A", "C")
    (('A', 'B', 'C'), 1, 2)
    """

    grades: tuple[Grade, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(g.id for g in self.grades)

    def __len__(self) -> int:
        return len(self.grades)

    def index(self, name: str) -> int:
        """Position of grade ``name`` (0 = best); an unknown grade names the allowed ones."""
        for i, g in enumerate(self.grades):
            if g.id == name:
                return i
        raise OntologyError(f"unknown grade {name!r}; allowed: {list(self.names)}", where="grade")

    def distance(self, a: str, b: str) -> int:
        """How many steps apart two grades are."""
        return abs(self.index(a) - self.index(b))

    def worst(self, names: Iterable[str]) -> str:
        """The worst of some grades (the best grade when there are none)."""
        idx = [self.index(n) for n in names]
        return self.names[max(idx)] if idx else self.names[0]


@dataclass(frozen=True)
class Defect:
    """A node of the defect taxonomy; ``id`` is dotted (``corrosion.pitting``)."""

    id: str
    name: str
    kind: DefectKind
    severities: tuple[str, ...]
    parent: str | None = None
    synonyms: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class Component:
    """A component name technicians use (bearing, hydraulic cylinder, bucket...)."""

    id: str
    name: str
    synonyms: tuple[str, ...] = ()
    parent: str | None = None


@dataclass(frozen=True)
class TermMatch:
    """What a technician's term resolved to."""

    kind: Literal["defect", "component"]
    id: str
    term: str


@dataclass(frozen=True)
class Rule:
    """Rubric rule: findings matching ``defect`` (or a descendant), ``kind`` and ``severities`` give ``grade``.

    Empty ``severities`` matches every severity; ``defect`` None matches every defect of ``kind``.
    """

    grade: str
    defect: str | None = None
    kind: DefectKind | None = None
    severities: tuple[str, ...] = ()

    def matches(self, defect: Defect, severity: str, ancestors: tuple[str, ...]) -> bool:
        if self.defect is not None and self.defect != defect.id and self.defect not in ancestors:
            return False
        if self.kind is not None and self.kind != defect.kind:
            return False
        return not self.severities or severity in self.severities


@dataclass(frozen=True)
class Rubric:
    """Maps findings (defect, severity) to a grade: each finding's first matching rule, worst grade wins."""

    rules: tuple[Rule, ...]
    scale: GradeScale
    default_grade: str

    def grade_for_finding(self, defect: Defect, severity: str, ancestors: tuple[str, ...]) -> str:
        """The grade one finding calls for; a finding no rule covers keeps the default grade."""
        for rule in self.rules:
            if rule.matches(defect, severity, ancestors):
                return rule.grade
        return self.default_grade


@dataclass(frozen=True)
class Ontology:
    """A validated, versioned ontology; build it with :func:`assetgrade.ontology.load_ontology`.

    Examples
    --------
    >>> from assetgrade.ontology import default_ontology
    >>> ont = default_ontology()
    >>> ont.grades.names
    ('A', 'B', 'C', 'D')
    >>> ont.lookup("rusty").id
    'corrosion'
    >>> ont.grade_for([("crack.fatigue", "moderate"), ("dent", "minor")])
    'D'
    """

    name: str
    version: str
    grades: GradeScale
    defects: Mapping[str, Defect]
    components: Mapping[str, Component]
    abbreviations: Mapping[str, str]
    rubric: Rubric
    source: str = "<memory>"
    _terms: Mapping[str, TermMatch] = field(default_factory=dict, repr=False, compare=False)

    def ancestors(self, defect_id: str) -> tuple[str, ...]:
        """Ancestors of a defect, nearest first."""
        out: list[str] = []
        parent = self.defect(defect_id).parent
        while parent is not None:
            out.append(parent)
            parent = self.defects[parent].parent
        return tuple(out)

    def defect(self, defect_id: str) -> Defect:
        """The defect with this id; an unknown id names the closest known ones."""
        try:
            return self.defects[defect_id]
        except KeyError:
            import difflib

            close = difflib.get_close_matches(defect_id, list(self.defects), n=5, cutoff=0.4)
            hint = f" (did you mean {close}?)" if close else ""
            raise OntologyError(
                f"unknown defect {defect_id!r}{hint}; known: {sorted(self.defects)}", where=self.source
            ) from None

    def lookup(self, term: str) -> TermMatch | None:
        """Resolve a name, synonym or id (case-insensitive) to a defect or component."""
        return self._terms.get(normalise_term(term))

    def resolve_defect(self, term: str) -> str:
        """A defect id from an id, name or synonym; OntologyError naming the allowed terms otherwise."""
        match = self.lookup(term)
        if match is None or match.kind != "defect":
            self.defect(term)  # raises with suggestions
        assert match is not None
        return match.id

    def grade_for(self, findings: Iterable[tuple[str, str]]) -> str:
        """The rubric's grade for (defect id, severity) findings: the worst finding decides."""
        grades = []
        for defect_id, severity in findings:
            d = self.defect(defect_id)
            if severity not in d.severities:
                raise OntologyError(
                    f"unknown severity {severity!r} for defect {defect_id!r}; allowed: {list(d.severities)}",
                    where=self.source,
                )
            grades.append(self.rubric.grade_for_finding(d, severity, self.ancestors(defect_id)))
        return self.grades.worst(grades) if grades else self.rubric.default_grade


_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"))  # soft hyphen, zero-width


def normalise_term(term: str) -> str:
    """Unicode-normalise (NFKC), case-fold, drop invisible characters, collapse separators.

    So 'Pitting-Corrosion' matches 'pitting corrosion', 'corrosión' typed in decomposed form
    (as macOS file names store it) matches the composed form, full-width letters match ASCII,
    and 'STRASSE' matches 'straße'.

    Examples
    --------
    >>> normalise_term("Pitting-Corrosion") == normalise_term("pitting_corrosion")
    True
    >>> normalise_term("corrosio\u0301n") == normalise_term("corrosi\u00f3n"), normalise_term("STRASSE")
    (True, 'strasse')
    >>> normalise_term("\uff52\uff55\uff53\uff54"), normalise_term("ru\u200bst")
    ('rust', 'rust')
    """
    text = unicodedata.normalize("NFKC", term).translate(_INVISIBLE).casefold()
    return " ".join(text.replace("_", " ").replace("-", " ").split())


def singular_forms(word: str) -> tuple[str, ...]:
    """Forms a plural English word may have in the singular, likeliest first (none for a non-plural).

    A caller keeps the first form its vocabulary knows, so a wrong guess (``bushe``) costs nothing.
    The one plural rule of the entity linker, the text summariser and ``ontology check``.

    >>> singular_forms("cracks"), singular_forms("bushes"), singular_forms("batteries"), singular_forms("glass")
    (('crack',), ('bush', 'bushe'), ('battery',), ())
    """
    if len(word) > 4 and word.endswith("ies"):
        return (word[:-3] + "y",)
    if len(word) > 4 and word.endswith("es") and not word.endswith("ses"):
        return (word[:-2], word[:-1])
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return (word[:-1],)
    return ()

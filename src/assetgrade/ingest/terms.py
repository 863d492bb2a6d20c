"""Checking label terms against the ontology: defect terms resolve to ontology ids, grades must be on the scale."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from assetgrade.errors import IngestError, OntologyError

if TYPE_CHECKING:
    from assetgrade.ontology import Ontology

__all__ = ["TermChecker"]


class TermChecker:
    """Resolve defect terms (ids, names, synonyms) and check grades, with errors naming the allowed terms.

    Examples
    --------
    >>> TermChecker().defect("rusty", where="m.csv:row 2")
    'corrosion'
    """

    def __init__(self, ontology: Ontology | None = None) -> None:
        self._given = ontology

    @cached_property
    def ontology(self) -> Ontology:
        """The ontology used (the default one unless given)."""
        if self._given is not None:
            return self._given
        from assetgrade.ontology import default_ontology

        return default_ontology()

    def defect(self, term: str, *, where: str) -> str:
        """The ontology defect id for ``term``."""
        try:
            return self.ontology.resolve_defect(term)
        except OntologyError as exc:
            allowed = ", ".join(sorted(self.ontology.defects))
            raise IngestError(f"unknown defect term {term!r}; allowed defect ids: {allowed}"
                              " (synonyms of these are accepted too)", where=where) from exc

    def grade(self, name: str, *, where: str) -> str:
        """``name`` when it is on the grade scale."""
        names = self.ontology.grades.names
        if name in names:
            return name
        folded = {n.lower(): n for n in names}
        if name.lower() in folded:
            return folded[name.lower()]
        raise IngestError(f"unknown grade {name!r}; allowed grades: {', '.join(names)}", where=where)

    def severity(self, defect_id: str, severity: str, *, where: str) -> str:
        """``severity`` when the defect allows it."""
        allowed = self.ontology.defects[defect_id].severities
        if severity not in allowed:
            raise IngestError(f"unknown severity {severity!r} for {defect_id}; allowed: {', '.join(allowed)}",
                              where=where)
        return severity

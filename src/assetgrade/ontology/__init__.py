"""The domain ontology: grade scale, defect taxonomy, components, abbreviations and rubric (YAML in, frozen out)."""

from assetgrade.ontology.lint import OntologyWarning, ontology_warnings
from assetgrade.ontology.loader import default_ontology, load_ontology, loads_ontology, parse_ontology
from assetgrade.ontology.model import (
    Component,
    Defect,
    Grade,
    GradeScale,
    Ontology,
    Rubric,
    Rule,
    TermMatch,
    normalise_term,
    singular_forms,
)

__all__ = [
    "Component",
    "Defect",
    "Grade",
    "GradeScale",
    "Ontology",
    "OntologyWarning",
    "Rubric",
    "Rule",
    "TermMatch",
    "default_ontology",
    "load_ontology",
    "loads_ontology",
    "normalise_term",
    "ontology_warnings",
    "parse_ontology",
    "singular_forms",
]

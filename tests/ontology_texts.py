"""Ontology YAML texts shared by the ontology tests (a test edits a copy with ``str.replace``)."""

from __future__ import annotations

__all__ = ["MINIMAL"]

MINIMAL = """\
name: tiny
grades: [A, B, C]
defects:
  crack:
    kind: functional
    synonyms: [cracked]
    children:
      fatigue: {}
  scratch:
    kind: cosmetic
components:
  bearing: {synonyms: [brg]}
abbreviations:
  REPL: replace
rubric:
  rules:
    - {defect: crack, grade: C}
    - {kind: cosmetic, grade: B}
"""
"""Three grades, two defect trees (functional crack with a child, cosmetic scratch), one component, one
abbreviation, two rubric rules; starts on line 1 (tests name lines), so ``rubric.rules[0]`` is on line 17."""

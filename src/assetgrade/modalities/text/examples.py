"""The text modality's training examples: a text with its gold normalisation, and a text with entity spans.

The loaders in :mod:`assetgrade.datasets` (MaintNorm, MaintIE) read files into these; the
normaliser and the entity tagger fit on them, so they live with the modality, below the loaders.
"""

from __future__ import annotations

from dataclasses import dataclass

from assetgrade.errors import ValidationError

__all__ = ["GRANULARITIES", "IEText", "NormText", "coarsen"]


@dataclass(frozen=True)
class NormText:
    """One text: raw tokens and their gold normalisations (same length).

    Examples
    --------
    >>> t = NormText(raw=("REPL", "HYD", "HOSE"), gold=("replace", "hydraulic", "hose"))
    >>> t.changed()
    3
    """

    raw: tuple[str, ...]
    gold: tuple[str, ...]

    def changed(self) -> int:
        """How many tokens the gold normalisation changes."""
        return sum(r != g for r, g in zip(self.raw, self.gold, strict=True))


GRANULARITIES = (1, 5, 32, 224)


@dataclass(frozen=True)
class IEText:
    """One annotated text: tokens and entity spans ``(start, end, type)`` (end exclusive).

    Examples
    --------
    >>> t = IEText(("replace", "pump"), ((1, 2, "PhysicalObject/DrivingObject"),))
    >>> t.coarse(5)
    (('replace', 'pump'), ((1, 2, 'PhysicalObject'),))
    """

    tokens: tuple[str, ...]
    entities: tuple[tuple[int, int, str], ...]

    def coarse(self, granularity: int) -> tuple[tuple[str, ...], tuple[tuple[int, int, str], ...]]:
        """Tokens and entities with types cut to ``granularity`` (1, 5, 32 or 224)."""
        return self.tokens, tuple((s, e, coarsen(t, granularity)) for s, e, t in self.entities)


def coarsen(type_path: str, granularity: int) -> str:
    """A type path cut to the granularity: 1 → ``Entity``, 5 → top class, 32 → two levels.

    >>> coarsen("PhysicalObject/SensingObject/TemperatureSensingObject", 32)
    'PhysicalObject/SensingObject'
    """
    if granularity not in GRANULARITIES:
        raise ValidationError(f"granularity {granularity} not in {GRANULARITIES}", where="granularity")
    if granularity == 1:
        return "Entity"
    parts = type_path.split("/")
    if granularity == 5:
        return parts[0]
    if granularity == 32:
        return "/".join(parts[:2])
    return type_path

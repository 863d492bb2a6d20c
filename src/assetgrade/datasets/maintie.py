"""MaintIE loader: expert-annotated maintenance texts with hierarchical entity spans.

Each text has ``tokens`` and ``entities`` (token ``start``/``end`` and a type path such as
``PhysicalObject/SensingObject/TemperatureSensingObject``). Granularity 1 maps every type
to ``Entity``, 5 to the top class, 32 to the first two levels, as in the MaintIE paper
(Bikaun et al., LREC-COLING 2024).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from assetgrade.datasets.paths import dataset_dir
from assetgrade.errors import IngestError, NotFoundError, ValidationError

__all__ = ["GRANULARITIES", "IEText", "coarsen", "load_maintie"]

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


def load_maintie(data_dir: Path | None = None) -> list[IEText]:
    """All gold texts; ``data_dir`` may be the MaintIE folder or the JSON file itself."""
    root = dataset_dir("maintie", data_dir)
    path = root if root.is_file() else root / "data" / "gold_release.json"
    if not path.exists():
        raise NotFoundError(f"no gold_release.json under {root}")
    try:
        items = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise IngestError(f"not valid UTF-8 JSON: {exc}", where=str(path)) from exc
    out: list[IEText] = []
    for i, item in enumerate(items):
        try:
            tokens = tuple(str(t) for t in item["tokens"])
            ents = tuple((int(e["start"]), int(e["end"]), str(e["type"])) for e in item["entities"])
        except (KeyError, TypeError, ValueError) as exc:
            raise IngestError(f"malformed item: {exc!r}", where=f"{path}[{i}]") from exc
        for s, e, _ in ents:
            if not 0 <= s < e <= len(tokens):
                raise IngestError(f"entity span {s}:{e} outside {len(tokens)} tokens", where=f"{path}[{i}]")
        out.append(IEText(tokens, ents))
    return out

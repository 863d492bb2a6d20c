"""MaintIE loader: expert-annotated maintenance texts with hierarchical entity spans.

Each text has ``tokens`` and ``entities`` (token ``start``/``end`` and a type path such as
``PhysicalObject/SensingObject/TemperatureSensingObject``). Granularity 1 maps every type
to ``Entity``, 5 to the top class, 32 to the first two levels, as in the MaintIE paper
(Bikaun et al., LREC-COLING 2024).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from assetgrade.datasets.paths import dataset_dir
from assetgrade.errors import IngestError, NotFoundError
from assetgrade.modalities.text.examples import GRANULARITIES, IEText, coarsen

__all__ = ["GRANULARITIES", "IEText", "coarsen", "load_maintie", "load_maintie_items"]


def _read_items(data_dir: Path | None) -> tuple[Path, list[object]]:
    """The gold file and its JSON list; ``data_dir`` may be the MaintIE folder or the file itself."""
    root = dataset_dir("maintie", data_dir)
    path = root if root.is_file() else root / "data" / "gold_release.json"
    if not path.exists():
        raise NotFoundError(f"no gold_release.json under {root}")
    try:
        items = json.loads(path.read_text(encoding="utf-8-sig"))  # a byte-order mark (Windows tools) is not JSON
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise IngestError(f"not valid UTF-8 JSON: {exc}", where=str(path)) from exc
    if not isinstance(items, list):
        raise IngestError(f"expected a JSON list of texts, got {type(items).__name__}", where=str(path))
    return path, items


def load_maintie(data_dir: Path | None = None) -> list[IEText]:
    """All gold texts; ``data_dir`` may be the MaintIE folder or the JSON file itself (UTF-8, a BOM allowed)."""
    path, items = _read_items(data_dir)
    return [_item(item, f"{path}[{i}]") for i, item in enumerate(items)]


def load_maintie_items(data_dir: Path | None = None) -> list[dict[str, Any]]:
    """The gold items as stored (``text``, ``tokens``, ``entities``...), checked as :func:`load_maintie` checks them.

    For readers that need the text as written (a few differ from their tokens joined by spaces),
    not only the tokens; each item must also have a string ``text``.
    """
    path, items = _read_items(data_dir)
    out: list[dict[str, Any]] = []
    for i, item in enumerate(items):
        _item(item, f"{path}[{i}]")
        if not isinstance(item, dict) or not isinstance(item.get("text"), str):
            got = item.get("text") if isinstance(item, dict) else item
            raise IngestError(f"malformed item: expected a 'text' string, got {got!r}", where=f"{path}[{i}]")
        out.append(item)
    return out


def _item(item: object, where: str) -> IEText:
    """One text: ``tokens`` a list of strings, ``entities`` a list of ``{start, end, type}`` within the tokens."""
    if not isinstance(item, dict) or not isinstance(item.get("tokens"), list) \
            or not isinstance(item.get("entities"), list):
        raise IngestError("malformed item: expected an object with a 'tokens' list and an 'entities' list",
                          where=where)
    if not all(isinstance(t, str) for t in item["tokens"]):
        raise IngestError("malformed item: every token must be a string", where=where)
    tokens = tuple(item["tokens"])
    ents: list[tuple[int, int, str]] = []
    for k, e in enumerate(item["entities"]):
        at = f"{where}.entities[{k}]"
        if not isinstance(e, dict):
            raise IngestError(f"malformed entity {e!r}: expected an object with start, end, type", where=at)
        s, end, kind = e.get("start"), e.get("end"), e.get("type")
        if not isinstance(s, int) or not isinstance(end, int) or isinstance(s, bool) or isinstance(end, bool):
            raise IngestError(f"entity start/end must be whole numbers, got {s!r}, {end!r}", where=at)
        if not isinstance(kind, str) or not kind.strip():
            raise IngestError(f"entity type must be a non-empty string, got {kind!r}", where=at)
        if not 0 <= s < end <= len(tokens):
            raise IngestError(f"entity span {s}:{end} outside {len(tokens)} tokens", where=at)
        ents.append((s, end, kind))
    return IEText(tokens, tuple(ents))

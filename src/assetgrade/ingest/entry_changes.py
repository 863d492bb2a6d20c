"""A work-order row that is a stored entry (same asset, date, text and cost) with other values in its other columns.

A work-order entry's evidence id comes from its asset, date, text and cost (and the n-th time they repeat in the
file), and its content hash from its text, so a row of a newer export whose other columns changed (a status, a
type, a comment) meets the stored entry under its id with the same content: it was skipped as already stored
without a word, its stored attributes unchanged. :func:`settle` compares the row's attributes with the stored
entry's and records a :class:`Changed`; :func:`changes_notice` names them, one notice per file. With
``--supersede`` (:mod:`~assetgrade.ingest.supersede`) the row is stored under :func:`entry_id` (from the
entry's id and its attributes, so the same row again finds it stored) and the entry's live item is withdrawn in
the same transaction, as a newer export of a stored file replaces it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from assetgrade.ingest.report import IngestNotice
from assetgrade.ingest.supersede import SourceItems, content_id

if TYPE_CHECKING:
    from assetgrade.ingest.preparation import _Prepared

__all__ = ["Changed", "changes_notice", "entry_id", "same_columns", "settle"]

_OWN = ("source_item", "supersedes")  # what --supersede records, not a column of the file
_SHORT = 40


def _columns(attributes: dict[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (attributes or {}).items() if k not in _OWN}


def same_columns(stored: dict[str, Any] | None, row: dict[str, Any]) -> bool:
    """Whether a stored entry's attributes hold the row's columns (what ``--supersede`` records left out).

    >>> same_columns({"PMType": "PM01", "source_item": "ev_1"}, {"PMType": "PM01"})
    True
    """
    return _columns(stored) == _columns(row)


def entry_id(source_id: str, sha: str, attributes: dict[str, Any]) -> str:
    """The id of an entry that replaces the stored entry ``source_id``: from that id, its text and its columns.

    >>> entry_id("ev_1", "ab", {"PMType": "PM01"}) == entry_id("ev_1", "ab", {"PMType": "PM01"})
    True
    >>> entry_id("ev_1", "ab", {"PMType": "PM01"}) == entry_id("ev_1", "ab", {"PMType": "PM02"})
    False
    """
    canonical = json.dumps(_columns(attributes), sort_keys=True, ensure_ascii=False, default=str)
    return content_id(source_id, hashlib.sha256(f"{sha}\x1f{canonical}".encode("utf-8", "surrogatepass")).hexdigest())


@dataclass(frozen=True)
class Changed:
    """One row whose stored entry holds other values in some columns: ``(column, stored, row's)`` each."""

    file: str
    row: int | None
    evidence_id: str
    columns: list[tuple[str, Any, Any]] = field(default_factory=list)

    def __str__(self) -> str:
        cols = ", ".join(f"{k} {_short(old)} -> {_short(new)}" for k, old, new in self.columns)
        return f"row {self.row} ({self.evidence_id}: {cols})"


def _short(value: Any) -> str:
    """A value for a message: ``(empty)`` when the column has none, text quoted and cut at 40 characters."""
    if value is None:
        return "(empty)"
    if isinstance(value, str):
        return repr(value if len(value) <= _SHORT else value[:_SHORT - 3] + "...")
    return f"{value:g}" if isinstance(value, float) else repr(value)


def _differences(stored: dict[str, Any], row: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    return [(k, stored.get(k), row.get(k)) for k in sorted(stored.keys() | row.keys()) if stored.get(k) != row.get(k)]


def settle(p: _Prepared, source: SourceItems, *, supersede: bool) -> Changed | None:
    """Settle a row found stored under its id ``p.evidence_id`` with the same text; True in ``p.existing`` unless
    ``supersede`` stores it as a new entry. Returns what differs from the stored entry, if anything.

    Called for a row whose columns differ from the entry's (:func:`same_columns`; a row with the entry's columns
    is the entry, withdrawn or not, and the writer says so when it is). ``source`` holds the entry and the
    entries that replaced it (``--supersede`` before). The row is the one an earlier ``--supersede`` stored for
    these columns, if any. Otherwise it differs from the entry's live item (or, when every one is withdrawn,
    the entry): without ``supersede`` it is that item, skipped; with it, a new entry that withdraws the live
    item.
    """
    base = p.evidence_id
    mine = _columns(p.attributes)
    newer = entry_id(base, p.sha, mine)
    p.existing = True
    if source.get(newer) is not None:  # stored by an earlier --supersede
        p.evidence_id = newer
        return None
    first = source.get(base)
    if first is None or _columns(first.attributes) == mine:
        return None
    live = source.live(p.spec.asset_id)
    held = live or first
    change = Changed(p.spec.file or p.spec.where, p.spec.row, held.evidence_id,
                     _differences(_columns(held.attributes), mine))
    if supersede:
        p.evidence_id, p.existing = newer, False
        p.attributes["source_item"] = base
        if live is not None:
            p.supersedes = p.attributes["supersedes"] = live.evidence_id
    else:
        p.evidence_id = held.evidence_id
    return change


def changes_notice(changes: list[Changed], *, supersede: bool, shown: int = 5) -> list[IngestNotice]:
    """One notice per file of ``changes``: how many rows, the first ``shown``, and what to do."""
    by_file: dict[str, list[Changed]] = {}
    for c in changes:
        by_file.setdefault(c.file, []).append(c)
    out: list[IngestNotice] = []
    for file, rows in by_file.items():
        named = "; ".join(str(c) for c in rows[:shown])
        more = f"; and {len(rows) - shown} more" if len(rows) > shown else ""
        what = (f"{len(rows)} row(s) are a stored entry (the same asset, date, text and cost) with other values in"
                f" other columns: {named}{more}.")
        todo = (" With --supersede each is stored as a new entry and the stored one withdrawn (kept in the history;"
                " listed as superseded)" if supersede else
                " They were skipped as already stored and the stored entries keep their values. To store the new"
                " values, run the same command with --supersede (each stored entry is withdrawn, and kept in the"
                " history)")
        out.append(IngestNotice(file, None, what + todo))
    return out

"""Stored items of a source that a newer whole export of it no longer holds (a corrected or removed work order).

A work-order entry's evidence id is derived from its content (asset, date, text, cost), not its row, so a
file exported again with one row corrected never meets the stored entry: the corrected row is a new entry
and the old one stays live beside it, double in every count and cost sum, without a word (``--supersede``
cannot help: nothing under the same id is replaced). :func:`export_gaps` names those left behind, once the
whole input is read: the live items of the input's source (its provenance ``source``, the file name) for
the input's assets and kinds whose ids no row of the input gave. It says nothing when the input shares no
stored item with its source (a file of new rows only, an increment, or another file under the same name),
nor when every stored item is in it (the same file again).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from assetgrade.ingest.report import IngestNotice
from assetgrade.store.schema import Evidence, Provenance
from assetgrade.store.withdrawals import not_withdrawn

if TYPE_CHECKING:
    from assetgrade.workspace import Workspace

__all__ = ["SourceRows", "export_gaps"]

_CHUNK = 500  # asset ids per query (SQLite's bound-parameter limit)


@dataclass
class SourceRows:
    """What one input's rows gave, for :func:`export_gaps`: evidence ids by (source, asset), their kinds, and the
    sources of which a row found its item stored before this run."""

    ids: dict[tuple[str, str], set[str]]
    kinds: set[str]
    stored_before: set[str]

    @classmethod
    def empty(cls) -> SourceRows:
        """Nothing read yet."""
        return cls(defaultdict(set), set(), set())

    def add(self, source: str | None, asset_id: str, kind: str, evidence_id: str, *, existing: bool) -> None:
        """One row of the input (``source``: its provenance source, None: not compared; ``existing``: its item
        was stored before this run)."""
        if source is not None:
            self.ids[(source, asset_id)].add(evidence_id)
            self.kinds.add(kind)
            if existing:
                self.stored_before.add(source)


def _entry(eid: str, aid: str, attrs: dict[str, Any] | None, text: str | None) -> str:
    """``ev_... (asset 'A', 2005-03-20, cost 407.4: 'LEAKING')`` for a message."""
    a = attrs or {}
    facts = [f"asset {aid!r}"] + [str(a["date"])[:10]] * ("date" in a) + [f"cost {a['cost']:g}"] * (
        isinstance(a.get("cost"), int | float))
    words = "" if text is None else f": {text[:60] + ('...' if len(text) > 60 else '')!r}"
    return f"{eid} ({', '.join(facts)}{words})"


def export_gaps(ws: Workspace, rows: SourceRows, *, file: str, shown: int = 5) -> list[IngestNotice]:
    """One notice per source whose stored items for the input's assets the input shares in part only.

    ``file`` is named in the notice. One query per 500 assets of a source.
    """
    by_source: dict[str, dict[str, set[str]]] = defaultdict(dict)
    for (source, aid), ids in rows.ids.items():
        by_source[source][aid] = ids
    out: list[IngestNotice] = []
    with ws.session(readonly=True) as s:
        for source, assets in sorted(by_source.items()):
            if source not in rows.stored_before:  # an increment, another file of the same name: nothing to say
                continue
            given = set().union(*assets.values())
            missing: list[tuple[str, str, Any, str | None]] = []
            names = sorted(assets)
            for i in range(0, len(names), _CHUNK):
                q = (select(Evidence.id, Evidence.asset_id, Evidence.attributes, Evidence.text)
                     .join(Provenance, Provenance.evidence_id == Evidence.id)
                     .where(Provenance.source == source, Evidence.asset_id.in_(names[i:i + _CHUNK]),
                            Evidence.kind.in_(sorted(rows.kinds)), not_withdrawn())
                     .order_by(Evidence.asset_id, Evidence.id))
                missing.extend(row for row in s.execute(q).tuples() if row[0] not in given)
            if missing:
                out.append(_notice(file, source, missing, shown))
    return out


def _notice(file: str, source: str, missing: Collection[tuple[str, str, Any, str | None]],
            shown: int) -> IngestNotice:
    named = "; ".join(_entry(*m) for m in list(missing)[:shown])
    more = f"; and {len(missing) - shown} more" if len(missing) > shown else ""
    return IngestNotice(file, None, (
        f"{len(missing)} stored item(s) of source {source!r} for this file's assets are not among its rows: {named}"
        f"{more}. If this file is a newer export of that source, a row corrected since is stored as a new entry"
        " and the old one stays live beside it (both counted): withdraw each that is gone (assetgrade assets"
        " withdraw ID --reason TEXT); if it holds only some of the rows, there is nothing to do"))

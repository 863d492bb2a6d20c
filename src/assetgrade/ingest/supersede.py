"""A newer export of a stored file: the conflict it meets, and ``--supersede``, which replaces the stored item.

An evidence id is derived from the asset, kind and source key (the file name; the row or asset for manifests
and ``--asset-col`` series), so the same file name with other content meets the stored item under the same
id. Without ``--supersede`` that row is refused with :func:`conflict`, which says what happened and the two
ways out. With it, the new content is stored under :func:`content_id` (derived from that id and the content,
so running the same command again finds it stored and does nothing) and, in the same transaction as the
row's write (:mod:`~assetgrade.ingest.commit`), the source's *live* item is withdrawn
(:func:`~assetgrade.store.withdrawals.withdraw_evidence`) with the reason ``superseded by <new id> from <file>``.

Each superseding item records ``source_item`` (the id its source key gives) and ``supersedes`` (the item it
replaced) in its attributes. The live item of a source is the newest of the items with that id or that
``source_item`` that is not withdrawn: one query per row group (:func:`source_items`) finds them, so a chain
v1 -> v2 -> v3 withdraws v2 when v3 comes. Evidence never moves between assets: an id stored for another
asset stays a conflict.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select

from assetgrade.errors import ConflictError
from assetgrade.store.schema import Evidence, Provenance
from assetgrade.store.withdrawals import withdrawn_now

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from assetgrade.ingest.preparation import _Prepared

__all__ = ["SourceItems", "Superseded", "another_asset", "conflict", "content_id", "source_items"]

_CHUNK = 250  # ids per query, each used twice, and their assets (SQLite's bound-parameter limit)


def content_id(source_id: str, sha: str) -> str:
    """The id of a superseding item: from the id its source key gives and its content's hash.

    >>> content_id("ev_1", "ab") == content_id("ev_1", "ab") != content_id("ev_1", "cd")
    True
    """
    return "ev_" + hashlib.sha256(f"{source_id}\x1fcontent\x1f{sha}".encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Superseded:
    """One stored item withdrawn by an ingest for the newer content of the same source."""

    old: str
    new: str
    file: str
    row: int | None = None

    def __str__(self) -> str:
        where = self.file + ("" if self.row is None else f":row {self.row}")
        return f"{where}: {self.old} -> {self.new}"


@dataclass
class _Item:
    evidence_id: str
    sha: str
    asset_id: str
    at: datetime
    batch: str | None
    withdrawn: bool
    attributes: dict[str, Any] | None = None


@dataclass
class SourceItems:
    """The stored items of one source key: the one its key gives, and those that superseded it."""

    items: list[_Item] = field(default_factory=list)

    def live(self, asset_id: str) -> _Item | None:
        """The newest item of the source for ``asset_id`` that is not withdrawn (None: all are)."""
        alive = [i for i in self.items if not i.withdrawn and i.asset_id == asset_id]
        return max(alive, key=lambda i: (i.at, i.evidence_id)) if alive else None

    def get(self, evidence_id: str) -> _Item | None:
        """The stored item ``evidence_id`` of this source, if stored."""
        return next((i for i in self.items if i.evidence_id == evidence_id), None)


def source_items(s: Session, sources: dict[str, str]) -> dict[str, SourceItems]:
    """The stored items of each source id (the id a source key gives) of its asset (``sources``: id -> asset).

    One query per row group; it reads the evidence of those assets (an indexed column), not the whole table.
    """
    source_ids = sorted(sources)
    out: dict[str, SourceItems] = {b: SourceItems() for b in source_ids}
    tag = Evidence.attributes["source_item"].as_string()
    for k in range(0, len(source_ids), _CHUNK):
        part = source_ids[k:k + _CHUNK]
        q = (select(Evidence.id, Evidence.sha256, Evidence.asset_id, Evidence.created_at, Evidence.attributes,
                    Provenance.ingest_batch_id, withdrawn_now(Evidence.id))
             .outerjoin(Provenance, Provenance.evidence_id == Evidence.id)
             .where(Evidence.asset_id.in_({sources[b] for b in part}), or_(Evidence.id.in_(part), tag.in_(part))))
        for eid, sha, aid, at, attrs, batch, gone in s.execute(q).tuples():
            base = eid if eid in out else str((attrs or {}).get("source_item"))
            if base in out:
                at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
                out[base].items.append(_Item(eid, sha, aid, at, batch, bool(gone), attrs))
    return out


def conflict(p: _Prepared, stored: _Item | None) -> ConflictError:
    """The refusal of a row whose source is stored for its asset with other content, naming both ways out.

    The row error that carries it names the file and row. A row that gave its evidence id (a manifest's
    ``evidence_id``) met the stored item under that id, not under its source (its file may never have been
    stored): the message names the id and the row, and the way to keep both is another id.
    """
    spec = p.spec
    article = "an" if spec.kind[:1] in "aeiou" else "a"  # an image, a series
    if spec.evidence_id is not None:  # the row gave the id (a manifest's evidence_id): that is what collided
        what = (f"asset {spec.asset_id!r} already has {article} {spec.kind} under evidence id {spec.evidence_id!r},"
                f" the evidence_id {spec.where} gives,")
        keep = "give this row another evidence_id, or none (one is then derived from its path or text)"
    else:
        what = f"asset {spec.asset_id!r} already has {article} {spec.kind} from the same source ({spec.source_key!r})"
        keep = "give this file another name (or this row another source)"
    if stored is None:
        held = f"{what} with other content ({p.evidence_id})"
    else:
        batch = "" if stored.batch is None else f" by ingest batch {stored.batch}"
        held = (f"{what} with other content: {stored.evidence_id}, ingested {stored.at.strftime('%Y-%m-%d %H:%M')}"
                f" UTC{batch}{', since withdrawn' if stored.withdrawn else ''}")
    return ConflictError(
        f"{held}. To replace it with this content, run the same command with --supersede (the stored item is"
        f" withdrawn, and kept in the history); to keep both, {keep}")


def another_asset(p: _Prepared, stored_asset: str) -> ConflictError:
    """The refusal of a row whose evidence id is stored for another asset (``--supersede`` does not move it)."""
    return ConflictError(
        f"evidence id {p.evidence_id!r} is stored for asset {stored_asset!r}, this row is for asset"
        f" {p.spec.asset_id!r}; evidence does not move between assets (not with --supersede either): withdraw the"
        " stored item (assetgrade assets withdraw ID --reason TEXT) and give this row its own evidence id or source")

"""Withdrawn evidence: an item a wrong ingest stored, taken out of what models see without deleting anything.

PRODUCT.md: nothing is overwritten, history is append-only. A photo attached to the wrong asset, a
duplicated sensor series or another machine's log entry is corrected by *withdrawing* it: one
``evidence_withdrawals`` row (the item, why, who, when) and one ``evidence.withdraw`` audit event per
item, in the same transaction. The evidence row, its blob and its provenance stay, and so do the
predictions that used it. :func:`~assetgrade.store.loading.load_records` (what training, grading,
evaluate and batch read) leaves a withdrawn item out, and with it the defect boxes drawn on it; so do
``stats`` and the other counts of what the data is made of (:func:`not_withdrawn`).

Several ids go in one transaction, all or nothing, as every write of the store: an unknown id (or a
reason the store refuses) withdraws none of them, with an error naming every unknown id. An id that
is already withdrawn is no error: it is reported with its earlier withdrawal and left as it is, while
the others are withdrawn.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import exists, insert, select
from sqlalchemy.orm import Session

from assetgrade.errors import NotFoundError, ValidationError
from assetgrade.store.audit import queue_event
from assetgrade.store.repository import bump_versions, check_line, unstorable_text
from assetgrade.store.schema import Asset, Evidence, EvidenceWithdrawal, utcnow

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement

    from assetgrade.store.loading import RecordSource

__all__ = [
    "MAX_BY",
    "MAX_REASON",
    "Withdrawal",
    "WithdrawalReport",
    "check_line",
    "not_withdrawn",
    "withdraw_evidence",
    "withdrawals_of",
]

MAX_REASON = 1000
"""Characters a withdrawal's reason may have."""
MAX_BY = 200
"""Characters the name of who withdrew may have (the column's width, as a reviewer's name)."""
_CHUNK = 500


@dataclass(frozen=True)
class Withdrawal:
    """One evidence item's withdrawal as stored.

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> str(Withdrawal("pump-1/image/a.jpg", "pump-2's photo", "ana", datetime(2026, 12, 2, tzinfo=UTC)))
    "withdrawn on 2026-12-02 by ana: pump-2's photo"
    """

    evidence_id: str
    reason: str
    by: str
    at: datetime

    def __str__(self) -> str:
        return f"withdrawn on {self.at.date().isoformat()} by {self.by}: {self.reason}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``at`` as ISO text)."""
        return {"evidence_id": self.evidence_id, "reason": self.reason, "by": self.by, "at": self.at.isoformat()}


@dataclass
class WithdrawalReport:
    """What :func:`withdraw_evidence` did: the items it withdrew, and those that were withdrawn before."""

    withdrawn: list[Withdrawal] = field(default_factory=list)
    already: list[Withdrawal] = field(default_factory=list)
    """Items withdrawn before this call, with their earlier withdrawal (left unchanged)."""
    asset_versions: dict[str, int] = field(default_factory=dict)
    """The version of each asset that lost evidence, after the withdrawal."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"withdrawn": [w.to_dict() for w in self.withdrawn], "already": [w.to_dict() for w in self.already],
                "asset_versions": dict(self.asset_versions)}


def not_withdrawn() -> ColumnElement[bool]:
    """A WHERE condition on :class:`~assetgrade.store.schema.Evidence`: the row has not been withdrawn.

    Every read that feeds a model, a grade or a count of what the data is made of adds it.
    """
    return ~exists().where(EvidenceWithdrawal.evidence_id == Evidence.id)


def withdrawals_of(session: Session, evidence_ids: Iterable[str] | None = None) -> dict[str, Withdrawal]:
    """The withdrawal of each of ``evidence_ids`` that is withdrawn (None: of every withdrawn item)."""
    q = select(EvidenceWithdrawal)
    if evidence_ids is None:
        rows = list(session.execute(q).scalars())
    else:
        ids = sorted(set(evidence_ids))
        rows = []
        for i in range(0, len(ids), _CHUNK):
            rows += session.execute(q.where(EvidenceWithdrawal.evidence_id.in_(ids[i:i + _CHUNK]))).scalars()
    return {r.evidence_id: Withdrawal(r.evidence_id, r.reason, r.withdrawn_by, _utc(r.withdrawn_at)) for r in rows}


def _utc(at: datetime) -> datetime:
    """A stored time in UTC: SQLite gives it back without its zone (it was written in UTC)."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def withdraw_evidence(
    target: RecordSource | Session, evidence_ids: Sequence[str], *, reason: str, by: str,
    actor: str | None = None,
) -> WithdrawalReport:
    """Withdraw the evidence items ``evidence_ids`` (an open Workspace, committed; or a Session, left to the caller).

    ``reason`` (at most :data:`MAX_REASON` characters) and ``by`` (who decided it, at most
    :data:`MAX_BY`) are one line of printable text each. Each newly withdrawn item gets its row and an
    ``evidence.withdraw`` audit event (its asset, reason, who, and the asset's version after it), and
    raises its asset's version by one, as new evidence does: a review made against the asset as it
    was is stale. ``actor`` (default ``by``) is recorded as the events' actor.

    An unknown id raises NotFoundError naming every unknown id and withdraws nothing; an id given
    twice counts once; an already withdrawn id is reported in ``already`` and changes nothing.
    """
    if isinstance(evidence_ids, str):
        raise ValidationError(f"evidence_ids must be a list of ids, got the string {evidence_ids!r}",
                              where="evidence_ids")
    ids = list(dict.fromkeys(evidence_ids))
    if not ids:
        raise ValidationError("no evidence id given", where="evidence_ids")
    reason = check_line(reason, "reason", limit=MAX_REASON, what="reason")
    by = check_line(by, "by", limit=MAX_BY, what="name of who withdraws")
    if isinstance(target, Session):
        return _withdraw(target, ids, reason, by, actor or by)
    with target.session() as session:
        return _withdraw(session, ids, reason, by, actor or by)


def _withdraw(session: Session, ids: list[str], reason: str, by: str, actor: str) -> WithdrawalReport:
    owner: dict[str, str] = {}
    looked = [i for i in ids if unstorable_text(i) is None]  # PostgreSQL refuses even to look a NUL up
    for k in range(0, len(looked), _CHUNK):
        owner.update(session.execute(select(Evidence.id, Evidence.asset_id)
                                     .where(Evidence.id.in_(looked[k:k + _CHUNK]))).tuples().all())
    unknown = [i for i in ids if i not in owner]  # in the order given
    if unknown:
        shown = ", ".join(repr(i) for i in unknown[:10]) + (f" and {len(unknown) - 10} more" if len(unknown) > 10
                                                             else "")
        raise NotFoundError(f"evidence not found: {shown}; nothing was withdrawn")
    # store.md's lock order: the asset rows first (a second withdrawal of the same item waits here), then what
    # is withdrawn is read, then the rows, the versions and, at commit, the audit chain
    assets = sorted(set(owner.values()))
    for k in range(0, len(assets), _CHUNK):
        session.execute(select(Asset.id).where(Asset.id.in_(assets[k:k + _CHUNK])).with_for_update())
    before = withdrawals_of(session, ids)
    rep = WithdrawalReport(already=[before[i] for i in ids if i in before])
    fresh = [i for i in ids if i not in before]
    if not fresh:
        return rep
    now = utcnow()
    session.execute(insert(EvidenceWithdrawal), [
        {"evidence_id": i, "reason": reason, "withdrawn_by": by, "withdrawn_at": now} for i in fresh])
    rep.asset_versions = bump_versions(session, {owner[i] for i in fresh})
    for i in fresh:
        rep.withdrawn.append(Withdrawal(i, reason, by, now))
        queue_event(session, actor=actor, action="evidence.withdraw", entity="evidence", entity_id=i,
                    payload={"asset_id": owner[i], "reason": reason, "by": by,
                             "asset_version": rep.asset_versions[owner[i]]})
    return rep

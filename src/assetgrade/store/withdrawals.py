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

A withdrawal made by mistake is undone by *reinstating* the item (:func:`reinstate_evidence`): one
``evidence_reinstatements`` row (which withdrawal it ends, why, who, when) and one ``evidence.reinstate``
audit event, with the same batch rules; nothing is deleted. An item can then be withdrawn again (its
withdrawal ``n`` + 1). An item is withdrawn while its newest withdrawal has no reinstatement
(:func:`withdrawn_now`, :func:`not_withdrawn`). An item is not reinstated while another item of its source
is live (``ingest --supersede`` replaced it, ``assetgrade.ingest.supersede``): one source, one live item.

Many items withdrawn each for its own reason, as one call of :func:`withdraw_evidence` per item in turn
would (``ingest --supersede``: one item a row), are one bulk operation: :func:`withdraw_in_turn`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import exists, func, insert, or_, select, update
from sqlalchemy.orm import Session

from assetgrade.errors import ConflictError, NotFoundError, ValidationError
from assetgrade.store.audit import queue_event
from assetgrade.store.repository import bump_versions, check_line, unstorable_text
from assetgrade.store.schema import Asset, Evidence, EvidenceReinstatement, EvidenceWithdrawal, utcnow

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement

    from assetgrade.store.loading import RecordSource

__all__ = [
    "MAX_BY",
    "MAX_REASON",
    "Reinstatement",
    "ReinstatementReport",
    "Withdrawal",
    "WithdrawalReport",
    "check_line",
    "not_withdrawn",
    "reinstate_evidence",
    "reinstatements_of",
    "withdraw_evidence",
    "withdraw_in_turn",
    "withdrawal_open",
    "withdrawals_of",
    "withdrawn_now",
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


def withdrawal_open() -> ColumnElement[bool]:
    """A WHERE condition on :class:`~assetgrade.store.schema.EvidenceWithdrawal`: no reinstatement ended it."""
    return ~exists().where(EvidenceReinstatement.evidence_id == EvidenceWithdrawal.evidence_id,
                           EvidenceReinstatement.n == EvidenceWithdrawal.n)


def withdrawn_now(evidence_id: ColumnElement[str] | Any) -> ColumnElement[bool]:
    """A condition: the evidence item whose id is the column ``evidence_id`` is withdrawn now.

    Only an item's newest withdrawal can be without a reinstatement (a withdrawal of an item withdrawn now
    writes nothing), so "some withdrawal not reinstated" is "the latest action was a withdrawal".
    """
    return exists().where(EvidenceWithdrawal.evidence_id == evidence_id, withdrawal_open())


def not_withdrawn() -> ColumnElement[bool]:
    """A WHERE condition on :class:`~assetgrade.store.schema.Evidence`: the row is not withdrawn now.

    Every read that feeds a model, a grade or a count of what the data is made of adds it.
    """
    return ~withdrawn_now(Evidence.id)


def withdrawals_of(session: Session, evidence_ids: Iterable[str] | None = None) -> dict[str, Withdrawal]:
    """The withdrawal of each of ``evidence_ids`` that is withdrawn now (None: of every item withdrawn now)."""
    q = select(EvidenceWithdrawal).where(withdrawal_open())
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
    twice counts once; an id withdrawn now is reported in ``already`` and changes nothing. A reinstated
    item is withdrawn again (a new withdrawal row; the earlier ones stay).
    """
    ids, reason, by = _checked(evidence_ids, reason, by, "withdraws")
    if isinstance(target, Session):
        return _withdraw(target, ids, reason, by, actor or by)
    with target.session() as session:
        return _withdraw(session, ids, reason, by, actor or by)


def _checked(evidence_ids: Sequence[str], reason: str, by: str, verb: str) -> tuple[list[str], str, str]:
    """The ids once each, in order, and ``reason`` and ``by`` as stored; ValidationError naming a bad one."""
    if isinstance(evidence_ids, str):
        raise ValidationError(f"evidence_ids must be a list of ids, got the string {evidence_ids!r}",
                              where="evidence_ids")
    ids = list(dict.fromkeys(evidence_ids))
    if not ids:
        raise ValidationError("no evidence id given", where="evidence_ids")
    return (ids, check_line(reason, "reason", limit=MAX_REASON, what="reason"),
            check_line(by, "by", limit=MAX_BY, what=f"name of who {verb}"))


def _locked_owners(session: Session, ids: list[str], undone: str) -> dict[str, str]:
    """The asset of each of ``ids``, its asset rows locked; NotFoundError naming every unknown id."""
    owner: dict[str, str] = {}
    looked = [i for i in ids if unstorable_text(i) is None]  # PostgreSQL refuses even to look a NUL up
    for k in range(0, len(looked), _CHUNK):
        owner.update(session.execute(select(Evidence.id, Evidence.asset_id)
                                     .where(Evidence.id.in_(looked[k:k + _CHUNK]))).tuples().all())
    unknown = [i for i in ids if i not in owner]  # in the order given
    if unknown:
        shown = ", ".join(repr(i) for i in unknown[:10]) + (f" and {len(unknown) - 10} more" if len(unknown) > 10
                                                             else "")
        raise NotFoundError(f"evidence not found: {shown}; nothing was {undone}")
    # store.md's lock order: the asset rows first (a second withdrawal of the same item waits here), then what
    # is withdrawn is read, then the rows, the versions and, at commit, the audit chain
    assets = sorted(set(owner.values()))
    for k in range(0, len(assets), _CHUNK):
        session.execute(select(Asset.id).where(Asset.id.in_(assets[k:k + _CHUNK])).with_for_update())
    return owner


def _counts(session: Session, ids: list[str]) -> dict[str, int]:
    """How many withdrawals each of ``ids`` has had (absent: none)."""
    out: dict[str, int] = {}
    for k in range(0, len(ids), _CHUNK):
        out.update(session.execute(select(EvidenceWithdrawal.evidence_id, func.max(EvidenceWithdrawal.n))
                                   .where(EvidenceWithdrawal.evidence_id.in_(ids[k:k + _CHUNK]))
                                   .group_by(EvidenceWithdrawal.evidence_id)).tuples().all())
    return out


def _withdraw(session: Session, ids: list[str], reason: str, by: str, actor: str) -> WithdrawalReport:
    owner = _locked_owners(session, ids, "withdrawn")
    before = withdrawals_of(session, ids)
    rep = WithdrawalReport(already=[before[i] for i in ids if i in before])
    fresh = [i for i in ids if i not in before]
    if not fresh:
        return rep
    now = utcnow()
    last = _counts(session, fresh)
    session.execute(insert(EvidenceWithdrawal), [
        {"evidence_id": i, "n": last.get(i, 0) + 1, "reason": reason, "withdrawn_by": by, "withdrawn_at": now}
        for i in fresh])
    rep.asset_versions = bump_versions(session, {owner[i] for i in fresh})
    for i in fresh:
        rep.withdrawn.append(Withdrawal(i, reason, by, now))
        queue_event(session, actor=actor, action="evidence.withdraw", entity="evidence", entity_id=i,
                    payload={"asset_id": owner[i], "reason": reason, "by": by,
                             "asset_version": rep.asset_versions[owner[i]]})
    return rep


def withdraw_in_turn(
    session: Session, items: Sequence[tuple[str, str]], *, by: str, actor: str | None = None,
) -> WithdrawalReport:
    """Withdraw each ``(evidence_id, reason)`` of ``items``, in the caller's transaction, as one
    :func:`withdraw_evidence` call per item in turn would, in one bulk operation.

    The store ends as after those calls: each newly withdrawn item has its ``evidence_withdrawals`` row with its
    own reason and raises its asset's version by one (an asset losing three items goes up by three), and its
    ``evidence.withdraw`` event, queued in the order of ``items``, records the version after *its* raise. An
    item withdrawn now, or earlier in ``items``, is reported in ``already`` and changes nothing. The lookups
    are chunked (500 ids a query), the versions are raised with one statement per chunk of assets that lose
    as many items, and the rows are inserted with one statement: ``ingest --supersede`` withdrew 5,216
    work orders in 50 s with a call per item (docs/ingest.md). The calls would also differ in their times
    (``withdrawn_at``, each its own); here every row has one.

    ``reason`` and ``by`` are checked as :func:`withdraw_evidence` checks them, all before anything is
    written; an unknown id raises NotFoundError naming every unknown id and withdraws nothing (the calls
    would stop at the first, and the caller's transaction with them). No items: nothing to do.
    """
    if not items:
        return WithdrawalReport()
    by = check_line(by, "by", limit=MAX_BY, what="name of who withdraws")
    checked = [(i, check_line(r, "reason", limit=MAX_REASON, what="reason")) for i, r in items]
    ids = list(dict.fromkeys(i for i, _ in checked))
    owner = _locked_owners(session, ids, "withdrawn")
    taken = withdrawals_of(session, ids)
    rep = WithdrawalReport()
    now = utcnow()
    fresh: list[Withdrawal] = []
    for i, reason in checked:
        if i in taken:
            rep.already.append(taken[i])
            continue
        taken[i] = Withdrawal(i, reason, by, now)
        fresh.append(taken[i])
    if not fresh:
        return rep
    last = _counts(session, [w.evidence_id for w in fresh])
    session.execute(insert(EvidenceWithdrawal), [
        {"evidence_id": w.evidence_id, "n": last.get(w.evidence_id, 0) + 1, "reason": w.reason, "withdrawn_by": by,
         "withdrawn_at": now} for w in fresh])
    lost = Counter(owner[w.evidence_id] for w in fresh)
    raised = _raise_versions(session, lost)
    seen: Counter[str] = Counter()
    for w in fresh:
        aid = owner[w.evidence_id]
        first, step = raised[aid]
        rep.withdrawn.append(w)
        queue_event(session, actor=actor or by, action="evidence.withdraw", entity="evidence",
                    entity_id=w.evidence_id, payload={"asset_id": aid, "reason": w.reason, "by": by,
                                                      "asset_version": first + seen[aid] * step})
        seen[aid] += 1
    rep.asset_versions = {aid: first + (lost[aid] - 1) * step for aid, (first, step) in raised.items()}
    return rep


def _raise_versions(session: Session, lost: Counter[str]) -> dict[str, tuple[int, int]]:
    """Raise each asset's version by the number of items it ``lost`` (its rows are locked); for each asset, its
    version after the first of them and the step (1, or 0 for an asset :func:`bump_versions` leaves alone: one
    added in this transaction).

    :func:`bump_versions` raises each asset once, so which assets are raised is decided in one place; an asset
    that loses k > 1 items then gets k - 1 more, one statement per chunk of assets with the same k.
    """
    assets = sorted(lost)
    before: dict[str, int] = {}
    for k in range(0, len(assets), _CHUNK):
        before.update(session.execute(select(Asset.id, Asset.version)
                                      .where(Asset.id.in_(assets[k:k + _CHUNK]))).tuples().all())
    after = bump_versions(session, assets)
    step = {aid: after[aid] - before[aid] for aid in assets}
    more: dict[int, list[str]] = {}
    for aid in assets:
        if step[aid] and lost[aid] > 1:
            more.setdefault(lost[aid] - 1, []).append(aid)
    for extra, group in sorted(more.items()):
        for k in range(0, len(group), _CHUNK):
            session.execute(update(Asset).where(Asset.id.in_(group[k:k + _CHUNK]))
                            .values(version=Asset.version + extra).execution_options(synchronize_session="fetch"))
    return {aid: (after[aid], step[aid]) for aid in assets}


@dataclass(frozen=True)
class Reinstatement:
    """One withdrawal ended: the item is used again.

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> at = datetime(2026, 12, 3, tzinfo=UTC)
    >>> w = Withdrawal("pump-1/image/a.jpg", "pump-2's photo", "ana", at)
    >>> str(Reinstatement("pump-1/image/a.jpg", "it is pump-1's after all", "bo", at, w))
    "reinstated on 2026-12-03 by bo: it is pump-1's after all"
    """

    evidence_id: str
    reason: str
    by: str
    at: datetime
    ended: Withdrawal
    """The withdrawal it ended."""

    def __str__(self) -> str:
        return f"reinstated on {self.at.date().isoformat()} by {self.by}: {self.reason}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``at`` as ISO text; ``ended``: the withdrawal it ended)."""
        return {"evidence_id": self.evidence_id, "reason": self.reason, "by": self.by, "at": self.at.isoformat(),
                "ended": self.ended.to_dict()}


@dataclass
class ReinstatementReport:
    """What :func:`reinstate_evidence` did: the items it reinstated, and those that were not withdrawn."""

    reinstated: list[Reinstatement] = field(default_factory=list)
    not_withdrawn: list[str] = field(default_factory=list)
    """Items that were in use already (left unchanged)."""
    asset_versions: dict[str, int] = field(default_factory=dict)
    """The version of each asset that got evidence back, after the reinstatement."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"reinstated": [r.to_dict() for r in self.reinstated], "not_withdrawn": list(self.not_withdrawn),
                "asset_versions": dict(self.asset_versions)}


def reinstate_evidence(
    target: RecordSource | Session, evidence_ids: Sequence[str], *, reason: str, by: str,
    actor: str | None = None,
) -> ReinstatementReport:
    """Reinstate the withdrawn evidence items ``evidence_ids`` (an open Workspace, committed; or a Session).

    The undoing of :func:`withdraw_evidence`, with its rules: ``reason`` and ``by`` are one line each; each
    reinstated item gets an ``evidence_reinstatements`` row ending its withdrawal and an ``evidence.reinstate``
    audit event (its asset, reason, who, the withdrawal it ended, the asset's version after it) and raises its
    asset's version. All ids or none: an unknown id raises NotFoundError naming every unknown id; an item of a
    source that has another live item (a newer export that ``ingest --supersede`` stored) raises ConflictError
    naming both, as would two items of one source reinstated together. An id not withdrawn is reported in
    ``not_withdrawn`` and changes nothing.
    """
    ids, reason, by = _checked(evidence_ids, reason, by, "reinstates")
    if isinstance(target, Session):
        return _reinstate(target, ids, reason, by, actor or by)
    with target.session() as session:
        return _reinstate(session, ids, reason, by, actor or by)


def _reinstate(session: Session, ids: list[str], reason: str, by: str, actor: str) -> ReinstatementReport:
    owner = _locked_owners(session, ids, "reinstated")
    gone = withdrawals_of(session, ids)
    rep = ReinstatementReport(not_withdrawn=[i for i in ids if i not in gone])
    back = [i for i in ids if i in gone]
    if not back:
        return rep
    _refuse_two_live(session, back, owner)
    last = _counts(session, back)
    now = utcnow()
    session.execute(insert(EvidenceReinstatement), [
        {"evidence_id": i, "n": last[i], "reason": reason, "reinstated_by": by, "reinstated_at": now} for i in back])
    rep.asset_versions = bump_versions(session, {owner[i] for i in back})
    for i in back:
        rep.reinstated.append(Reinstatement(i, reason, by, now, gone[i]))
        queue_event(session, actor=actor, action="evidence.reinstate", entity="evidence", entity_id=i,
                    payload={"asset_id": owner[i], "reason": reason, "by": by, "withdrawal": gone[i].to_dict(),
                             "asset_version": rep.asset_versions[owner[i]]})
    return rep


def reinstatements_of(session: Session, evidence_ids: Iterable[str]) -> dict[str, Reinstatement]:
    """The latest reinstatement of each of ``evidence_ids`` that is in use now after one (absent: never reinstated,
    or withdrawn again since)."""
    ids = sorted(set(evidence_ids))
    out: dict[str, Reinstatement] = {}
    for k in range(0, len(ids), _CHUNK):
        q = (select(EvidenceReinstatement, EvidenceWithdrawal)
             .join(EvidenceWithdrawal, (EvidenceWithdrawal.evidence_id == EvidenceReinstatement.evidence_id)
                   & (EvidenceWithdrawal.n == EvidenceReinstatement.n))
             .where(EvidenceReinstatement.evidence_id.in_(ids[k:k + _CHUNK]))
             .order_by(EvidenceReinstatement.evidence_id, EvidenceReinstatement.n))
        for r, w in session.execute(q).tuples():
            ended = Withdrawal(w.evidence_id, w.reason, w.withdrawn_by, _utc(w.withdrawn_at))
            out[r.evidence_id] = Reinstatement(r.evidence_id, r.reason, r.reinstated_by, _utc(r.reinstated_at), ended)
    gone = withdrawals_of(session, list(out))
    return {i: r for i, r in out.items() if i not in gone}


def _refuse_two_live(session: Session, back: list[str], owner: dict[str, str]) -> None:
    """ConflictError when reinstating ``back`` would give a source two live items (ingest.supersede's rule:
    an item's source is its ``source_item`` attribute, else its own id; one source, one live item per asset)."""
    tag = Evidence.attributes["source_item"].as_string()
    source: dict[str, str] = {}
    for k in range(0, len(back), _CHUNK):
        for eid, base in session.execute(select(Evidence.id, tag).where(Evidence.id.in_(back[k:k + _CHUNK]))):
            source[eid] = base or eid
    coming: dict[tuple[str, str], str] = {}
    for i in back:
        twin = coming.setdefault((owner[i], source[i]), i)
        if twin != i:
            raise ConflictError(f"evidence {twin!r} and {i!r} are items of one source ({source[i]!r}) of asset"
                                f" {owner[i]!r}: reinstate one of them; nothing was reinstated")
    bases = sorted(set(source.values()))
    for k in range(0, len(bases), _CHUNK):
        part = bases[k:k + _CHUNK]
        q = (select(Evidence.id, Evidence.asset_id, tag)
             .where(Evidence.asset_id.in_({owner[i] for i in back}), or_(Evidence.id.in_(part), tag.in_(part)),
                    not_withdrawn()))
        for live, aid, base in session.execute(q).tuples():
            want = coming.get((aid, base or live))
            if want is not None and want != live:
                raise ConflictError(
                    f"evidence {want!r} of asset {aid!r} has another item of its source in use: {live!r} (a source"
                    f" has one item in use; {live!r} superseded it or came after it);"
                    f" withdraw {live!r} first (assetgrade assets withdraw {live} --reason TEXT), then reinstate"
                    f" {want!r}; nothing was reinstated")

"""An asset's evidence read a few items per group with LIMIT, and how many each group holds (the asset page's read).

An asset may carry thousands of photos, log entries or series files; a page that draws a few
of each must not load every row (log text included) to pick them. The groups are what the page
can draw: ``image`` (an image with a stored file), ``log`` (a log or document with text),
``series`` (a series with a stored file) and ``other`` (anything else, listed only).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, case, false, func, not_, or_, select

from assetgrade.errors import ValidationError
from assetgrade.store.schema import Evidence, Provenance

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement
    from sqlalchemy.orm import Session

__all__ = ["GROUPS", "EvidenceSample", "evidence_group", "sample_evidence"]

GROUPS = ("image", "log", "series", "other")
"""The evidence groups, in the order :func:`evidence_group` tests them."""

_CHUNK = 500
"""Ids per ``IN (...)`` list: SQLite and PostgreSQL drivers cap the parameters of one statement."""


def _in_group(group: str) -> ColumnElement[bool]:
    """The WHERE condition of one group (without CASE, so the kind index stays usable)."""
    drawn = {
        "image": and_(Evidence.kind == "image", Evidence.blob_sha.is_not(None)),
        "log": and_(Evidence.kind.in_(("log", "document")), Evidence.text.is_not(None)),
        "series": and_(Evidence.kind == "series", Evidence.blob_sha.is_not(None)),
    }
    if group == "other":
        return not_(or_(*drawn.values()))
    if group not in drawn:
        raise ValidationError(f"unknown evidence group {group!r}; the groups are {', '.join(GROUPS)}", where="group")
    return drawn[group]


def evidence_group() -> ColumnElement[str]:
    """The group of an evidence row as a SQL expression (``image``, ``log``, ``series`` or ``other``)."""
    return case(*((_in_group(g), g) for g in GROUPS[:-1]), else_="other")


@dataclass(frozen=True)
class EvidenceSample:
    """What :func:`sample_evidence` read: the rows and, per group, how many the asset has.

    Examples
    --------
    >>> EvidenceSample(rows=[], totals={"image": 30}).hidden({"image": 24, "log": 200})
    {'image': 6}
    """

    rows: list[tuple[Evidence, str | None]]
    """(evidence, provenance origin) ordered by evidence id."""
    totals: dict[str, int] = field(default_factory=dict)
    """Per group the asset has items of, how many it has (also those not read)."""

    def hidden(self, limits: Mapping[str, int] | None) -> dict[str, int]:
        """Per group, how many items were left out under ``limits`` (None: none)."""
        if limits is None:
            return {}
        return {g: n - limits[g] for g, n in self.totals.items() if g in limits and n > limits[g]}


def _newest_first(row: Any) -> tuple[float, str]:
    created: datetime = row.created_at
    return -created.timestamp(), row.id


def sample_evidence(session: Session, asset_id: str, limits: Mapping[str, int] | None = None,
                    first: Collection[str] = ()) -> EvidenceSample:
    """An asset's evidence with at most ``limits[group]`` items of each group (None: all of them).

    Within a group that has more, the items whose ids are in ``first`` (those a grade's findings
    name) come first, then the newest, then by id; the rows read are returned in id order. Only
    the chosen rows are read whole: a group's count, the ``first`` ids' group and time, and the
    newest ``limit`` ids of the group come from queries that read neither text nor attributes.

    Examples
    --------
    >>> import tempfile
    >>> from datetime import UTC, datetime
    >>> from assetgrade.store.repository import ProvenanceInfo, add_asset, add_evidence
    >>> from assetgrade.workspace import Workspace
    >>> ws = Workspace.init(tempfile.mkdtemp() + "/ws")
    >>> with ws.session() as s:
    ...     _ = add_asset(s, "pump-1")
    ...     for i in range(5):  # one entry a day, the last the newest
    ...         ev = add_evidence(s, asset_id="pump-1", kind="log", sha256=f"{i:064x}", text=f"entry {i}",
    ...                           evidence_id=f"pump-1/log/{i}", provenance=ProvenanceInfo(source="cmms"))
    ...         ev.created_at = datetime(2026, 1, 1 + i, tzinfo=UTC)
    ...     s.flush()
    ...     got = sample_evidence(s, "pump-1", {"log": 2}, first={"pump-1/log/0"})
    >>> [ev.id for ev, _ in got.rows], got.totals, got.hidden({"log": 2})
    (['pump-1/log/0', 'pump-1/log/4'], {'log': 5}, {'log': 3})
    >>> ws.close()
    """
    unknown = sorted(set(limits or {}) - set(GROUPS))
    if unknown:
        raise ValidationError(f"unknown evidence group {unknown[0]!r}; the groups are {', '.join(GROUPS)}",
                              where="limits")
    mine = Evidence.asset_id == asset_id
    grouped = select(evidence_group().label("grp")).where(mine).subquery()
    totals = {str(g): int(n) for g, n in session.execute(select(grouped.c.grp, func.count()).group_by(grouped.c.grp))}
    over = {g: limits[g] for g in totals if limits is not None and g in limits and totals[g] > limits[g]}
    whole = [g for g in totals if g not in over]  # groups read in full
    chosen: list[str] = []
    if over:
        named: dict[str, list[Any]] = {g: [] for g in over}
        wanted = sorted(set(first))
        for start in range(0, len(wanted), _CHUNK):
            for row in session.execute(select(Evidence.id, Evidence.created_at, evidence_group().label("grp"))
                                       .where(mine, Evidence.id.in_(wanted[start:start + _CHUNK]))):
                if row.grp in named:
                    named[row.grp].append(row)
        for g, limit in over.items():
            picked = [r.id for r in sorted(named[g], key=_newest_first)[:limit]]
            if len(picked) < limit:  # the newest fill the rest: at most len(picked) of the newest `limit` are picked
                newest = session.scalars(select(Evidence.id).where(mine, _in_group(g))
                                         .order_by(Evidence.created_at.desc(), Evidence.id).limit(limit))
                taken = set(picked)
                picked += [i for i in newest if i not in taken][:limit - len(picked)]
            chosen += picked
    query = select(Evidence, Provenance.origin).outerjoin(Provenance, Provenance.evidence_id == Evidence.id).where(mine)
    if over:
        which = [_in_group(g) for g in whole]
        which += [Evidence.id.in_(chosen[k:k + _CHUNK]) for k in range(0, len(chosen), _CHUNK)]
        query = query.where(or_(false(), *which))  # false(): a limit of 0 everywhere reads nothing
    rows = session.execute(query.order_by(Evidence.id)).all()
    return EvidenceSample(rows=[(ev, origin) for ev, origin in rows], totals=totals)

"""An asset's evidence read a few items per group with LIMIT, and how many each group holds (the asset page's read).

An asset may carry thousands of photos, log entries or series files; a page that draws a few
of each must not load every row (log text included) to pick them. The groups are what the page
can draw: ``image`` (an image with a stored file), ``log`` (a log or document with text),
``series`` (a series with a stored file) and ``other`` (anything else, listed only). Nor must it
read a 1 MB log entry of which it draws 4,000 characters: with ``text_head`` the query reads the
first characters of each text (SQL ``substr``) and its length in characters (SQL ``length``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import LargeBinary, and_, case, cast, false, func, not_, null, or_, select
from sqlalchemy.orm import defer

from assetgrade.errors import ValidationError
from assetgrade.store.schema import Evidence, Provenance
from assetgrade.store.withdrawals import not_withdrawn

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement
    from sqlalchemy.orm import Session

__all__ = ["GROUPS", "EvidenceSample", "TextHead", "evidence_group", "sample_evidence"]

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
class TextHead:
    """The first characters of an evidence item's text and how many characters the text has.

    Examples
    --------
    >>> TextHead("pump leak", 9).whole, TextHead("pump", 9).whole
    (True, False)
    """

    text: str
    """The text's first characters (all of them when :attr:`whole`)."""
    length: int
    """How many characters (Unicode code points, as ``len`` counts them) the whole text has."""

    @property
    def whole(self) -> bool:
        """Whether :attr:`text` is the whole text."""
        return len(self.text) >= self.length


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
    heads: dict[str, TextHead] = field(default_factory=dict)
    """With ``text_head``: per evidence id of a row with text, the part of it read and its length (the rows' own
    ``text`` is then not loaded, and reading it raises)."""

    def hidden(self, limits: Mapping[str, int] | None) -> dict[str, int]:
        """Per group, how many items were left out under ``limits`` (None: none)."""
        if limits is None:
            return {}
        return {g: n - limits[g] for g, n in self.totals.items() if g in limits and n > limits[g]}


def _newest_first(row: Any) -> tuple[float, str]:
    created: datetime = row.created_at
    return -created.timestamp(), row.id


def sample_evidence(session: Session, asset_id: str, limits: Mapping[str, int] | None = None,
                    first: Collection[str] = (), *, text_head: int | None = None,
                    whole_text: str | None = None) -> EvidenceSample:
    """An asset's evidence with at most ``limits[group]`` items of each group (None: all of them); withdrawn
    items (:mod:`~assetgrade.store.withdrawals`) are neither read nor counted.

    Within a group that has more, the items whose ids are in ``first`` (those a grade's findings
    name) come first, then the newest, then by id; the rows read are returned in id order. Only
    the chosen rows are read whole: a group's count, the ``first`` ids' group and time, and the
    newest ``limit`` ids of the group come from queries that read neither text nor attributes.

    With ``text_head`` not even the chosen rows' texts are read whole: of each, its first
    ``text_head`` characters and its length in characters (:attr:`EvidenceSample.heads`; SQL
    ``substr`` and ``length``, which count characters of a text on SQLite and PostgreSQL alike),
    of the item ``whole_text`` (an evidence id) all of it. SQLite's ``substr`` and ``length`` stop at
    a NUL character (PostgreSQL stores none): a text they took to end at one is read whole (of a
    long text with a NUL past its head the length may be counted only up to it, :func:`_past_nul`).

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
    >>> with ws.session() as s:
    ...     sample_evidence(s, "pump-1", {"log": 1}, text_head=3).heads
    {'pump-1/log/4': TextHead(text='ent', length=7)}
    >>> ws.close()
    """
    unknown = sorted(set(limits or {}) - set(GROUPS))
    if unknown:
        raise ValidationError(f"unknown evidence group {unknown[0]!r}; the groups are {', '.join(GROUPS)}",
                              where="limits")
    mine = and_(Evidence.asset_id == asset_id, not_withdrawn())  # withdrawn evidence is not graded on
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
    columns: list[Any] = [Evidence, Provenance.origin]
    if text_head is not None:
        columns += _head_columns(session, text_head, whole_text)
    query = select(*columns).outerjoin(Provenance, Provenance.evidence_id == Evidence.id).where(mine)
    if over:
        which = [_in_group(g) for g in whole]
        which += [Evidence.id.in_(chosen[k:k + _CHUNK]) for k in range(0, len(chosen), _CHUNK)]
        query = query.where(or_(false(), *which))  # false(): a limit of 0 everywhere reads nothing
    if text_head is not None:
        query = query.options(defer(Evidence.text, raiseload=True))  # the texts are read by _head_columns
    rows = session.execute(query.order_by(Evidence.id)).all()
    heads: dict[str, TextHead] = {}
    if text_head is not None:
        heads = {row[0].id: TextHead(row.text_head, int(row.text_length)) for row in rows if row.text_head is not None}
        with_nul = sorted(row[0].id for row in rows if row.text_head is not None and _past_nul(row))
        for start in range(0, len(with_nul), _CHUNK):
            for ev_id, text in session.execute(select(Evidence.id, Evidence.text)
                                               .where(Evidence.id.in_(with_nul[start:start + _CHUNK]))):
                heads[ev_id] = TextHead(text or "", len(text or ""))
    return EvidenceSample(rows=[(row[0], row[1]) for row in rows], totals=totals, heads=heads)


def _head_columns(session: Session, text_head: int, whole_text: str | None) -> list[ColumnElement[Any]]:
    """The columns read instead of an evidence row's text: its first ``text_head`` characters (all of
    ``whole_text``'s), its length in characters and, on SQLite, in bytes (see :func:`_past_nul`)."""
    head: ColumnElement[Any] = func.substr(Evidence.text, 1, text_head)
    if whole_text is not None:
        head = case((Evidence.id == whole_text, Evidence.text), else_=head)
    size: ColumnElement[Any] = null()
    if session.get_bind().dialect.name == "sqlite":  # its substr and length stop at a NUL; a blob's length does not
        size = func.length(cast(Evidence.text, LargeBinary))
    return [head.label("text_head"), func.length(Evidence.text).label("text_length"), size.label("text_bytes")]


def _past_nul(row: Any) -> bool:
    """Whether SQLite's ``substr`` and ``length`` stopped at a NUL character of the row's text: the text has more
    bytes than its head and the characters left off it can take (4 bytes a character at most in UTF-8).

    That catches every text they took to end at a NUL and a long text whose rest goes on past one with more than
    that; PostgreSQL stores no NUL (``text_bytes`` is then None). Checking each text for a NUL byte in SQL
    (``instr``) took longer than reading it whole."""
    if row.text_bytes is None:
        return False
    head: str = row.text_head
    return int(row.text_bytes) - len(head.encode("utf-8")) > 4 * (int(row.text_length) - len(head))

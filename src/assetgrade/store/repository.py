"""Repository functions for assets, evidence (+ provenance), labels and transactions; each write is audited.

Every function takes an open :class:`~sqlalchemy.orm.Session` (``ws.session()``) and leaves
committing to it, so several writes and their audit events land together or not at all.
Adding something that exists with the same content is a no-op; with other content it
raises :class:`~assetgrade.errors.ConflictError`. Their audit events are queued
(:func:`~assetgrade.store.audit.queue_event`): on PostgreSQL the rows of every such write in a
transaction go in before it takes the audit chain's lock (store.md's lock order).
"""

from __future__ import annotations

import hashlib
import math
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from assetgrade.errors import ConflictError, NotFoundError, ValidationError
from assetgrade.store.audit import queue_event
from assetgrade.store.schema import (
    EVIDENCE_KINDS,
    LABEL_KINDS,
    ORIGINS,
    TRANSACTION_KINDS,
    Asset,
    Evidence,
    Label,
    Provenance,
    Transaction,
    new_id,
)

__all__ = [
    "ProvenanceInfo",
    "add_asset",
    "add_evidence",
    "add_label",
    "add_transaction",
    "bump_versions",
    "check_addressable",
    "check_line",
    "check_storable",
    "get_asset",
    "get_evidence",
    "get_provenance",
    "label_event_payload",
    "label_id_for",
    "label_values",
    "list_assets",
    "list_evidence",
    "list_labels",
    "list_transactions",
    "note_created",
    "unstorable_text",
]


@dataclass(frozen=True)
class ProvenanceInfo:
    """Where an evidence item came from; stored as its provenance row.

    Examples
    --------
    >>> ProvenanceInfo(source="camera-3", origin="real").origin
    'real'
    """

    source: str | None = None
    origin: str = "real"
    generator: str | None = None
    generator_params: dict[str, Any] | None = None
    parent_evidence_id: str | None = None
    capture_time: datetime | None = None
    device: str | None = None
    ingest_batch_id: str | None = None
    notes: list[Any] | None = field(default=None, compare=False)


def _check(value: str, allowed: tuple[str, ...], name: str) -> None:
    if value not in allowed:
        raise ValidationError(f"{value!r} is not one of {', '.join(allowed)}", where=name)


_ASSET_ROUTES = ("/evidence", "/images", "/grade", "/grades", "/reviews")
_EVIDENCE_ROUTES = ("/content", "/overlay")
"""The REST API addresses ``/assets/<id>/reviews`` and ``/evidence/<id>/content``: an id ending so could not be read."""


def _routable(value: str, endings: tuple[str, ...], route: str, where: str) -> None:
    bad = next((c for c in value if unicodedata.category(c) in ("Cc", "Cs")), None)
    if bad is not None:
        # NUL cannot be stored in a PostgreSQL text column, a lone surrogate in no UTF-8 text, and a line
        # break or escape character in an id breaks log lines, CSV exports and URLs
        raise ValidationError(f"{where.replace('_', ' ')} {value!r} holds the control character U+{ord(bad):04X} at"
                              f" position {value.index(bad)}; an id is one line of printable text", where=where)
    if any(part in (".", "..") for part in value.split("/")):
        # browsers and HTTP clients resolve /assets/x/../pump-7 to /assets/pump-7: the URL would name another asset
        raise ValidationError(f"{where.replace('_', ' ')} {value!r} has a '.' or '..' path segment, which URLs"
                              f" resolve away ({route}/{value} would address another id); choose another id",
                              where=where)
    for end in endings:
        if value.endswith(end):
            raise ValidationError(f"{where.replace('_', ' ')} {value!r} ends in {end!r}, which the REST API reads as "
                                  f"{route}/<id>{end}; choose another id", where=where)


def check_addressable(asset_id: str, evidence_id: str | None = None) -> None:
    """ValidationError when the REST API could not address the id (``pump/reviews``, ``img/content``, ``x/../y``)
    or the id holds a control character (NUL, a line break, a lone surrogate).

    Called by :func:`add_asset`, :func:`add_evidence` and the ingest writer, which writes rows itself.

    >>> check_addressable("site-3/pump-7", "site-3/pump-7/image/1")
    >>> check_addressable("v1.2/pump..7")  # dots inside a segment are fine
    >>> check_addressable("pump/grade")
    Traceback (most recent call last):
    ...
    assetgrade.errors.ValidationError: asset_id: asset id 'pump/grade' ends in '/grade', ...
    """
    _routable(asset_id, _ASSET_ROUTES, "/assets", "asset_id")
    if evidence_id is not None:
        _routable(evidence_id, _EVIDENCE_ROUTES, "/evidence", "evidence_id")


def unstorable_text(text: str) -> str | None:
    """Why the store cannot hold ``text``, or None when it can.

    A NUL character (U+0000): PostgreSQL text refuses it, where SQLite stored it (the two stores disagreed);
    a lone surrogate: no UTF-8 text can carry it, so neither store can.

    >>> unstorable_text("rust at the flange") is None
    True
    >>> unstorable_text("rust" + chr(0))
    'holds the NUL character U+0000 at position 4, which text in the store cannot hold (PostgreSQL refuses it)'
    """
    if "\x00" in text:
        i = text.index("\x00")
        line = text.count("\n", 0, i)
        at = f"position {i}" if not line else f"position {i} (line {line + 1}, column {i - text.rindex(chr(10), 0, i)})"
        return f"holds the NUL character U+0000 at {at}, which text in the store cannot hold (PostgreSQL refuses it)"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return (f"holds a lone surrogate \\u{ord(text[exc.start]):04x} at position {exc.start}, which is not text"
                " UTF-8 can carry")
    return None


def check_storable(value: Any, where: str) -> None:
    """ValidationError naming ``where`` when a text to store, or a string or key anywhere inside a JSON value
    (attributes, provenance parameters, defects), is one :func:`unstorable_text` refuses.

    Every write of user text into the store calls it first, so SQLite and PostgreSQL refuse the same input
    with the same error (PostgreSQL's driver error was a crash of the whole write; SQLite kept the text).

    >>> check_storable({"site": ["north", "b" + chr(0)]}, "attributes")
    Traceback (most recent call last):
    ...
    assetgrade.errors.ValidationError: attributes.site[1]: 'b\\x00' holds the NUL character U+0000 at position 1, ...
    """
    if isinstance(value, str):
        why = unstorable_text(value)
        if why is not None:
            shown = repr(value) if len(value) <= 80 else "the text"
            raise ValidationError(f"{shown} {why}", where=where)
    elif isinstance(value, dict):
        for k, v in value.items():
            if isinstance(k, str) and (why := unstorable_text(k)) is not None:
                raise ValidationError(f"the key {k!r} {why}", where=where)
            check_storable(v, f"{where}.{k}")
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            check_storable(v, f"{where}[{i}]")


# -- asset versions ----------------------------------------------------------------------------
_CREATED = "assetgrade.assets_created"
"""``session.info`` key: the assets added in the session's current transaction (their version stays 1)."""


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_created(session: Session) -> None:
    session.info.pop(_CREATED, None)


def check_line(value: Any, where: str, *, limit: int, what: str) -> str:
    """``value`` as a one-line free text of at most ``limit`` characters; ValidationError naming ``where``.

    Refused: a non-text, an empty or blank text, a longer one, and one with a control character (a
    line break, a tab, NUL: named by code point and position, as the store names them in ids) or a
    lone surrogate (:func:`check_storable`). Surrounding spaces are
    stripped.

    >>> check_line("  photo of pump-2 ", "reason", limit=20, what="reason")
    'photo of pump-2'
    >>> check_line("a" + chr(10) + "b", "reason", limit=20, what="reason")
    Traceback (most recent call last):
    ...
    assetgrade.errors.ValidationError: reason: the reason 'a\\nb' holds the control character U+000A at position 1; ...
    """
    if not isinstance(value, str):
        raise ValidationError(f"the {what} must be text, got {type(value).__name__}", where=where)
    check_storable(value, where)
    text = value.strip()
    if not text:
        raise ValidationError(f"the {what} must not be empty", where=where)
    bad = next((c for c in text if unicodedata.category(c) in ("Cc", "Cs")), None)
    if bad is not None:
        shown = repr(text) if len(text) <= 80 else repr(text[:77] + "...")
        raise ValidationError(f"the {what} {shown} holds the control character U+{ord(bad):04X} at position"
                              f" {text.index(bad)}; it is one line of printable text", where=where)
    if len(text) > limit:
        raise ValidationError(f"the {what} has {len(text):,} characters; at most {limit:,}", where=where)
    return text


def bump_versions(session: Session, asset_ids: Iterable[str]) -> dict[str, int]:
    """Raise the version of each stored asset by one, in the caller's transaction; each one's version after it.

    An asset's version is what a review is checked against (optimistic concurrency,
    :func:`~assetgrade.store.results.add_review`): besides a review, new evidence changes what a
    reviewer must have seen, so :func:`add_evidence` and the ingest writer call this for the assets
    whose evidence they add, and record the versions it returns in their audit events. Assets added
    in the same transaction keep version 1 (nobody can have reviewed them yet). The versions are read
    after the raise, from the rows this transaction now holds (store.md's lock order: asset rows first).
    """
    fresh = session.info.get(_CREATED, set())
    wanted = sorted(set(asset_ids))
    ids = [a for a in wanted if a not in fresh]
    for i in range(0, len(ids), 500):
        session.execute(update(Asset).where(Asset.id.in_(ids[i:i + 500])).values(version=Asset.version + 1)
                        .execution_options(synchronize_session="fetch"))
    out: dict[str, int] = {}
    for i in range(0, len(wanted), 500):
        rows = session.execute(select(Asset.id, Asset.version).where(Asset.id.in_(wanted[i:i + 500]))).tuples()
        out.update((aid, int(v)) for aid, v in rows)
    return out


def note_created(session: Session, asset_ids: Iterable[str]) -> None:
    """Record assets added in this transaction, so evidence added with them does not raise their version."""
    session.info.setdefault(_CREATED, set()).update(asset_ids)


# -- assets ------------------------------------------------------------------------------------
def add_asset(
    session: Session, asset_id: str, *, asset_type: str = "unknown", make: str | None = None,
    model: str | None = None, attributes: dict[str, Any] | None = None, value: float | None = None,
    actor: str = "system",
) -> Asset:
    """Add an asset (no-op when the same asset exists; ConflictError when it differs)."""
    if not asset_id or not asset_id.strip():
        raise ValidationError("asset id must not be empty", where="asset_id")
    check_addressable(asset_id)
    for name, text in (("asset_type", asset_type), ("make", make), ("model", model), ("attributes", attributes)):
        check_storable(text, name)
    if value is not None and not (math.isfinite(value) and value >= 0):
        raise ValidationError(f"asset value {value!r} must be a finite number >= 0 (0 or none: the cost "
                              "matrix's asset_value is used)", where="value")
    existing = session.get(Asset, asset_id)
    fields = {"asset_type": asset_type, "make": make, "model": model,
              "attributes": attributes or {}, "value": value}
    if existing is not None:
        diff = [k for k, v in fields.items() if getattr(existing, k) != v]
        if diff:
            raise ConflictError(f"asset {asset_id!r} exists with other {', '.join(diff)}")
        return existing
    asset = Asset(id=asset_id, version=1, **fields)
    session.add(asset)
    note_created(session, [asset_id])
    queue_event(session, actor=actor, action="asset.add", entity="asset", entity_id=asset_id, payload=fields)
    return asset


def _findable(entity_id: str, what: str) -> None:
    """NotFoundError for an id holding a NUL: none is stored, and PostgreSQL refuses to even look one up."""
    if (why := unstorable_text(entity_id)) is not None:
        raise NotFoundError(f"{what} {entity_id!r} not found (the id {why})")


def get_asset(session: Session, asset_id: str) -> Asset:
    """The asset ``asset_id``; NotFoundError when absent (also for an id no store can hold, on both stores)."""
    _findable(asset_id, "asset")
    asset = session.get(Asset, asset_id)
    if asset is None:
        raise NotFoundError(f"asset {asset_id!r} not found")
    return asset


def list_assets(
    session: Session, *, asset_type: str | None = None, limit: int | None = None, offset: int = 0
) -> list[Asset]:
    """Assets ordered by id, optionally of one type, paged by ``limit``/``offset``."""
    q = select(Asset).order_by(Asset.id).offset(offset)
    if asset_type is not None:
        q = q.where(Asset.asset_type == asset_type)
    if limit is not None:
        q = q.limit(limit)
    return list(session.execute(q).scalars())


# -- evidence ----------------------------------------------------------------------------------
def add_evidence(
    session: Session, *, asset_id: str, kind: str, sha256: str, blob_sha: str | None = None,
    text: str | None = None, media_type: str | None = None, attributes: dict[str, Any] | None = None,
    evidence_id: str | None = None, provenance: ProvenanceInfo | None = None, actor: str = "system",
) -> Evidence:
    """Add one evidence item and its provenance row (the blob must already be in the blob store).

    New evidence raises the asset's version by one (:func:`bump_versions`; not for an asset added in
    the same transaction), so a review made against the asset as it was before is refused as stale.
    Its ``evidence.add`` event records the version the asset is at after it (``asset_version``).
    """
    _check(kind, EVIDENCE_KINDS, "kind")
    prov = provenance or ProvenanceInfo()
    _check(prov.origin, ORIGINS, "origin")
    if blob_sha is None and text is None:
        raise ValidationError("evidence needs a blob or inline text", where="evidence")
    evidence_id = evidence_id or new_id("ev")
    check_addressable(asset_id, evidence_id)
    for name, part in (("text", text), ("media_type", media_type), ("attributes", attributes),
                       ("source", prov.source), ("generator", prov.generator),
                       ("generator_params", prov.generator_params), ("parent_evidence_id", prov.parent_evidence_id),
                       ("device", prov.device), ("ingest_batch_id", prov.ingest_batch_id), ("notes", prov.notes)):
        check_storable(part, name)
    get_asset(session, asset_id)
    existing = session.get(Evidence, evidence_id)
    if existing is not None:
        if existing.sha256 != sha256 or existing.asset_id != asset_id:
            raise ConflictError(f"evidence {evidence_id!r} exists with other content or asset")
        return existing
    ev = Evidence(id=evidence_id, asset_id=asset_id, kind=kind, sha256=sha256, blob_sha=blob_sha, text=text,
                  media_type=media_type, attributes=attributes or {})
    session.add(ev)
    session.flush()
    session.add(Provenance(
        evidence_id=evidence_id, source=prov.source, origin=prov.origin, generator=prov.generator,
        generator_params=prov.generator_params, parent_evidence_id=prov.parent_evidence_id,
        capture_time=prov.capture_time, device=prov.device, sha256=sha256,
        ingest_batch_id=prov.ingest_batch_id, notes=prov.notes,
    ))
    version = bump_versions(session, [asset_id])[asset_id]
    queue_event(session, actor=actor, action="evidence.add", entity="evidence", entity_id=evidence_id,
                 payload={"asset_id": asset_id, "kind": kind, "sha256": sha256, "origin": prov.origin,
                          "asset_version": version})
    return ev


def get_evidence(session: Session, evidence_id: str) -> Evidence:
    """The evidence item ``evidence_id``; NotFoundError when absent (also for an id no store can hold)."""
    _findable(evidence_id, "evidence")
    ev = session.get(Evidence, evidence_id)
    if ev is None:
        raise NotFoundError(f"evidence {evidence_id!r} not found")
    return ev


def get_provenance(session: Session, evidence_id: str) -> Provenance:
    """The provenance row of an evidence item."""
    prov = session.get(Provenance, evidence_id)
    if prov is None:
        raise NotFoundError(f"provenance of evidence {evidence_id!r} not found")
    return prov


def list_evidence(session: Session, asset_id: str, *, kind: str | None = None) -> list[Evidence]:
    """An asset's evidence items ordered by id."""
    q = select(Evidence).where(Evidence.asset_id == asset_id).order_by(Evidence.id)
    if kind is not None:
        q = q.where(Evidence.kind == kind)
    return list(session.execute(q).scalars())


# -- labels ------------------------------------------------------------------------------------
def label_id_for(
    asset_id: str, evidence_id: str | None, annotator: str, kind: str, value: str,
    box: list[float] | None = None, text_span: list[int] | None = None, time_window: list[Any] | None = None,
) -> str:
    """A deterministic label id, so importing the same label twice adds it once."""
    key = "\x1f".join(map(str, (asset_id, evidence_id, annotator, kind, value, box, text_span, time_window)))
    return "lb_" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def label_values(
    session: Session, *, asset_id: str, kind: str, value: str, evidence_id: str | None = None,
    annotator: str = "import", severity: str | None = None, box: list[float] | None = None,
    mask_sha: str | None = None, text_span: list[int] | None = None, time_window: list[Any] | None = None,
    source: str = "import", label_id: str | None = None,
) -> dict[str, Any]:
    """Check a label and return its row (deterministic id unless ``label_id`` is given); writes nothing."""
    _check(kind, LABEL_KINDS, "label kind")
    for name, part in (("value", value), ("evidence_id", evidence_id), ("annotator", annotator),
                       ("severity", severity), ("mask_sha", mask_sha), ("time_window", time_window),
                       ("source", source), ("label_id", label_id)):
        check_storable(part, name)
    if box is not None and (len(box) != 4 or box[2] < box[0] or box[3] < box[1]):
        raise ValidationError(f"box must be [x0, y0, x1, y1] with x1 >= x0, y1 >= y0, got {box}", where="box")
    get_asset(session, asset_id)
    if evidence_id is not None:
        get_evidence(session, evidence_id)
    lid = label_id or label_id_for(asset_id, evidence_id, annotator, kind, value, box, text_span, time_window)
    return {"id": lid, "asset_id": asset_id, "evidence_id": evidence_id, "annotator": annotator, "kind": kind,
            "value": value, "severity": severity, "box": box, "mask_sha": mask_sha, "text_span": text_span,
            "time_window": time_window, "source": source}


def label_event_payload(row: dict[str, Any]) -> dict[str, Any]:
    """What the ``label.add`` audit event records of a label row."""
    return {k: row[k] for k in ("asset_id", "evidence_id", "kind", "value", "annotator", "source")}


def add_label(
    session: Session, *, asset_id: str, kind: str, value: str, evidence_id: str | None = None,
    annotator: str = "import", severity: str | None = None, box: list[float] | None = None,
    mask_sha: str | None = None, text_span: list[int] | None = None, time_window: list[Any] | None = None,
    source: str = "import", label_id: str | None = None, actor: str = "system",
) -> Label:
    """Add a grade label or defect annotation (deterministic id: re-adding is a no-op).

    The id is made of the asset, evidence item, annotator, kind, value, box, text span and time
    window; the same id with another ``severity`` or ``mask_sha`` raises ConflictError.
    """
    row = label_values(session, asset_id=asset_id, kind=kind, value=value, evidence_id=evidence_id,
                       annotator=annotator, severity=severity, box=box, mask_sha=mask_sha, text_span=text_span,
                       time_window=time_window, source=source, label_id=label_id)
    existing = session.get(Label, row["id"])
    if existing is not None:
        # the id leaves these out: the same id with another severity or mask is other content, not a no-op
        diff = [k for k in ("severity", "mask_sha") if getattr(existing, k) != row[k]]
        if diff:
            raise ConflictError(f"label {row['id']!r} ({kind} {value!r} by {annotator!r}) exists with other "
                                + ", ".join(f"{k} ({getattr(existing, k)!r}, not {row[k]!r})" for k in diff))
        return existing
    label = Label(**row)
    session.add(label)
    queue_event(session, actor=actor, action="label.add", entity="label", entity_id=row["id"],
                 payload=label_event_payload(row))
    return label


def list_labels(session: Session, asset_id: str | None = None, *, kind: str | None = None) -> list[Label]:
    """Labels (of one asset, of one kind) ordered by time of creation."""
    q = select(Label).order_by(Label.created_at, Label.id)
    if asset_id is not None:
        q = q.where(Label.asset_id == asset_id)
    if kind is not None:
        q = q.where(Label.kind == kind)
    return list(session.execute(q).scalars())


# -- transactions ------------------------------------------------------------------------------
def add_transaction(
    session: Session, asset_id: str, *, kind: str, amount: float, currency: str = "USD",
    date: datetime | None = None, actor: str = "system",
) -> Transaction:
    """Record a sale, refurbishment or purchase of an asset."""
    _check(kind, TRANSACTION_KINDS, "transaction kind")
    check_storable(currency, "currency")
    if len(currency) != 3:
        raise ValidationError(f"currency must be a 3-letter code, got {currency!r}", where="currency")
    get_asset(session, asset_id)
    tx = Transaction(id=new_id("tx"), asset_id=asset_id, kind=kind, amount=float(amount),
                     currency=currency.upper(), date=date)
    session.add(tx)
    queue_event(session, actor=actor, action="transaction.add", entity="transaction", entity_id=tx.id,
                 payload={"asset_id": asset_id, "kind": kind, "amount": float(amount), "currency": tx.currency})
    return tx


def list_transactions(session: Session, asset_id: str) -> list[Transaction]:
    """An asset's transactions ordered by date."""
    q = select(Transaction).where(Transaction.asset_id == asset_id).order_by(Transaction.date, Transaction.id)
    return list(session.execute(q).scalars())

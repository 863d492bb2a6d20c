"""Frozen golden sets: real, expert-labelled assets whose ids, content hashes and labels are snapshotted once.

A golden set is the yardstick of champion/challenger evaluation, so it must not move:

* **freeze** records, per asset, its evidence ids with their content hashes (the blob sha256,
  or the sha256 of a log's text) and a snapshot of its current grade label (value, label id,
  annotator, source: the grade training uses, :mod:`assetgrade.store.precedence`, so reviews by the
  asset version each produced, not by clocks; recorded as ``grade_rule``) and defect labels; the
  snapshot's sha256 is stored with the set and in a ``golden.freeze`` audit event;
* **only real, expert-labelled assets** go in: an asset with any synthetic or augmented
  evidence, an asset whose ``expert_labelled`` mark is not a clear yes (read by
  :func:`~assetgrade.audit.expert.is_expert_labelled`: ``false``, ``0``, ``"false"``, ``"no"``...),
  any grade label from a non-expert source (``pseudo``, ``model``...) or an asset without a grade label is refused;
* **verify on use**: the stored snapshot is re-hashed and compared with the audit event,
  every blob is re-read and re-hashed, and each asset's evidence, labels and asset type are
  compared with the snapshot (the grade recomputed by the rule the item was frozen with: an item
  without ``grade_rule`` by the rule of its time); any difference names the asset and what changed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from assetgrade.audit.expert import EXPERT_KEY, is_expert_labelled
from assetgrade.errors import ConflictError, NotFoundError, StoreError, ValidationError
from assetgrade.lifecycle.registration import check_name
from assetgrade.store.audit import append_event, canonical_json, list_events, lock_chain
from assetgrade.store.blobs import BlobStore
from assetgrade.store.lifecycle_schema import GoldenSetRow
from assetgrade.store.precedence import (
    NON_EXPERT_SOURCES,
    current_grade_label,
    grade_order,
    is_machine_label,
    review_versions,
)
from assetgrade.store.schema import Asset, Evidence, Label, Provenance
from assetgrade.store.withdrawals import not_withdrawn

if TYPE_CHECKING:
    from assetgrade.store.records import AssetRecord
    from assetgrade.workspace import Workspace

__all__ = [
    "NON_EXPERT_SOURCES",
    "GoldenCheck",
    "GoldenSet",
    "eligible_with_split",
    "freeze_golden_set",
    "get_golden_set",
    "golden_records",
    "list_golden_sets",
    "snapshot_asset",
    "verify_golden_set",
]

@dataclass(frozen=True)
class GoldenSet:
    """A frozen golden set as stored: name, item snapshots, content hash.

    Examples
    --------
    >>> gs = GoldenSet("default", ({"asset_id": "a", "label": "B"},), "0" * 64, None)
    >>> gs.asset_ids, gs.labels
    (('a',), {'a': 'B'})
    """

    name: str
    items: tuple[dict[str, Any], ...]
    content_hash: str
    ontology_version: str | None
    created_at: datetime | None = None
    created_by: str = "system"
    notes: str | None = None

    @property
    def asset_ids(self) -> tuple[str, ...]:
        """The assets of the set, in snapshot order."""
        return tuple(str(it["asset_id"]) for it in self.items)

    @property
    def labels(self) -> dict[str, str]:
        """The frozen grade label of each asset."""
        return {str(it["asset_id"]): str(it["label"]) for it in self.items}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (without the per-item evidence lists)."""
        grades: dict[str, int] = {}
        for it in self.items:
            grades[str(it["label"])] = grades.get(str(it["label"]), 0) + 1
        return {"name": self.name, "n_items": len(self.items), "content_hash": self.content_hash,
                "ontology_version": self.ontology_version, "created_by": self.created_by,
                "created_at": None if self.created_at is None else self.created_at.isoformat(),
                "grade_mix": dict(sorted(grades.items())), "notes": self.notes}


@dataclass(frozen=True)
class GoldenCheck:
    """The outcome of :func:`verify_golden_set`: ok, and (asset id, what changed) for each problem."""

    name: str
    ok: bool
    n_items: int
    problems: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    def message(self, limit: int = 5) -> str:
        """One line naming the first problems."""
        if self.ok:
            return f"golden set {self.name!r}: {self.n_items} items verified"
        shown = "; ".join(f"{a}: {why}" for a, why in self.problems[:limit])
        more = f" (+{len(self.problems) - limit} more)" if len(self.problems) > limit else ""
        return f"golden set {self.name!r} changed: {shown}{more}"


def content_hash(items: Sequence[dict[str, Any]], ontology_version: str | None) -> str:
    """sha256 of the canonical JSON of the snapshot."""
    body = canonical_json({"items": list(items), "ontology_version": ontology_version})
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _text_sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


_GRADE_RULE = "precedence/2"
"""The ``grade_rule`` of a snapshot whose grade is the store's (:mod:`assetgrade.store.precedence`): reviews
by the asset version each produced, imports by their arrival in the store (:func:`grade_order`)."""
_GRADE_RULE_V1 = "precedence"
"""The ``grade_rule`` of sets frozen before imports were ordered by arrival: reviews by version, imports by
``created_at`` (:func:`~assetgrade.store.precedence.review_versions`); such items are verified by it."""


def _grade_as_before(labels: Sequence[Label]) -> Label | None:
    """The grade of a snapshot without ``grade_rule`` (frozen before sets followed the store's precedence):
    reviews first, then the newest by ``created_at``, machine labels included. Kept to verify those sets."""
    grades = [lb for lb in labels if lb.kind == "grade"]
    return max(grades, key=lambda lb: (lb.source == "review", lb.created_at, lb.id), default=None)


def snapshot_asset(session: Session, asset_id: str) -> dict[str, Any]:
    """The golden snapshot of one asset; ValidationError naming the asset when it is not eligible.

    Its grade is the asset's training grade (:func:`~assetgrade.store.precedence.current_grade_label`:
    reviews by the asset version each produced, not by clocks), recorded with ``grade_rule``.
    """
    return _snapshot(session, asset_id, _GRADE_RULE)


def _snapshot(session: Session, asset_id: str, rule: str | None) -> dict[str, Any]:
    """:func:`snapshot_asset` by ``rule``: :data:`_GRADE_RULE`, :data:`_GRADE_RULE_V1`, or None for the rule of
    sets frozen before either."""
    where = f"asset {asset_id}"
    asset = session.get(Asset, asset_id)
    if asset is None:
        raise NotFoundError(f"asset {asset_id!r} not found")
    if not is_expert_labelled(asset.attributes):
        raise ValidationError(f"marked {EXPERT_KEY}: {(asset.attributes or {}).get(EXPERT_KEY)!r}, not a clear yes"
                              " (true, 1, 'true', 'yes', '1'); a golden set holds expert labels only", where=where)
    rows = session.execute(
        select(Evidence, Provenance).outerjoin(Provenance, Provenance.evidence_id == Evidence.id)
        .where(Evidence.asset_id == asset_id, not_withdrawn()).order_by(Evidence.id)  # what load_records grades
    ).tuples().all()
    if not rows:
        raise ValidationError("has no evidence", where=where)
    evidence: list[list[str | None]] = []
    for ev, prov in rows:
        origin = prov.origin if prov is not None else "real"
        if origin != "real":
            raise ValidationError(f"evidence {ev.id} is {origin} (generator {prov.generator if prov else None});"
                                  " a golden set holds real evidence only", where=where)
        evidence.append([ev.id, ev.kind, ev.blob_sha if ev.blob_sha else _text_sha(ev.text or "")])
    labels = sorted(session.execute(select(Label).where(Label.asset_id == asset_id)).scalars(), key=lambda lb: lb.id)
    # free text (manifests): "Model" or " pseudo " is no more an expert than "model" (NON_EXPERT_SOURCES)
    if rule is None:
        grade = _grade_as_before(labels)
        machine = [grade] if grade is not None and is_machine_label(grade.source, grade.annotator) else []
    else:  # any machine grade: training ignores it, but a golden asset is one only experts graded
        machine = [lb for lb in labels if lb.kind == "grade" and is_machine_label(lb.source, lb.annotator)]
        order = review_versions if rule == _GRADE_RULE_V1 else grade_order
        grade = current_grade_label(labels, order(session, [asset_id]))
    if machine:
        raise ValidationError(f"its grade label {machine[0].id} comes from {machine[0].source!r}/"
                              f"{machine[0].annotator!r}, not an expert", where=where)
    if grade is None:
        raise ValidationError("has no grade label", where=where)
    defects = sorted({lb.value for lb in labels if lb.kind == "defect"})
    out = {"asset_id": asset_id, "asset_type": asset.asset_type, "label": grade.value, "label_id": grade.id,
           "annotator": grade.annotator, "label_source": grade.source, "defects": defects, "evidence": evidence}
    if rule is not None:
        out["grade_rule"] = rule
    return out


def freeze_golden_set(
    session: Session,
    asset_ids: Sequence[str],
    *,
    name: str = "default",
    ontology_version: str | None = None,
    actor: str = "system",
    notes: str | None = None,
) -> GoldenSet:
    """Freeze ``asset_ids`` as golden set ``name`` (ConflictError if the name exists; it never changes).

    Every asset must be eligible (real evidence only, expert grade label): the first one that
    is not raises a ValidationError naming it, and nothing is stored.
    """
    check_name(name, "golden set", where="name")
    lock_chain(session)  # PostgreSQL: a second freeze of the name waits here, then finds it (not a key violation)
    if session.get(GoldenSetRow, name) is not None:
        raise ConflictError(f"golden set {name!r} exists and is frozen; freeze a new one under another name")
    ids = list(dict.fromkeys(asset_ids))
    if not ids:
        raise ValidationError("no assets to freeze", where="golden set")
    items = [snapshot_asset(session, a) for a in ids]
    h = content_hash(items, ontology_version)
    row = GoldenSetRow(name=name, created_by=actor, n_items=len(items), content_hash=h,
                       ontology_version=ontology_version, items=items, notes=notes)
    session.add(row)
    session.flush()
    append_event(session, actor=actor, action="golden.freeze", entity="golden_set", entity_id=name,
                 payload={"content_hash": h, "n_items": len(items), "ontology_version": ontology_version,
                          "asset_ids_sha256": hashlib.sha256("\n".join(ids).encode()).hexdigest()})
    return _from_row(row)


def _from_row(row: GoldenSetRow) -> GoldenSet:
    return GoldenSet(row.name, tuple(dict(it) for it in row.items), row.content_hash, row.ontology_version,
                     row.created_at, row.created_by, row.notes)


def list_golden_sets(session: Session) -> list[GoldenSet]:
    """Every golden set, by name."""
    return [_from_row(r) for r in session.execute(select(GoldenSetRow).order_by(GoldenSetRow.name)).scalars()]


def get_golden_set(session: Session, name: str = "default") -> GoldenSet:
    """Golden set ``name`` with its snapshot hash checked (StoreError when the stored row was edited)."""
    row = session.get(GoldenSetRow, name)
    if row is None:
        known = [g.name for g in list_golden_sets(session)]
        raise NotFoundError(f"golden set {name!r} not found (known: {known or 'none'});"
                            " create one with: assetgrade golden freeze")
    gs = _from_row(row)
    if content_hash(gs.items, gs.ontology_version) != gs.content_hash:
        raise StoreError(f"golden set {name!r} was edited in the store: its snapshot no longer matches its hash")
    events = list_events(session, entity="golden_set", entity_id=name, action="golden.freeze", limit=10)
    if not events or events[-1].payload.get("content_hash") != gs.content_hash:
        raise StoreError(f"golden set {name!r} does not match its golden.freeze audit event")
    return gs


def verify_golden_set(session: Session, gs: GoldenSet, *, blobs: BlobStore | None = None) -> GoldenCheck:
    """Compare every asset with its snapshot; with ``blobs``, re-hash every blob too."""
    problems: list[tuple[str, str]] = []
    for it in gs.items:
        aid = str(it["asset_id"])
        try:  # by the rule it was frozen with: a set frozen before the store's precedence keeps verifying
            rule = it.get("grade_rule")
            now = _snapshot(session, aid, rule if rule in (_GRADE_RULE, _GRADE_RULE_V1) else None)
        except (ValidationError, NotFoundError) as exc:
            problems.append((aid, getattr(exc, "reason", str(exc))))
            continue
        # the asset type too: the model grades with it and it picks the subgroup, and an asset stored as
        # "unknown" gets its type from a later ingest (a cached champion figure would be on other inputs)
        for key, what in (("label", "grade label"), ("label_id", "grade label"), ("defects", "defect labels"),
                          ("asset_type", "asset type")):
            if key in it and now[key] != it[key]:
                problems.append((aid, f"{what} changed: {it[key]!r} -> {now[key]!r}"))
                break
        if now["evidence"] != it["evidence"]:
            before = {e[0]: e[2] for e in it["evidence"]}
            after = {e[0]: e[2] for e in now["evidence"]}
            diff = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
            problems.append((aid, f"evidence changed: {', '.join(diff[:5])}"))
            continue
        if blobs is not None:
            for ev_id, _kind, sha in it["evidence"]:
                if not _is_blob(session, ev_id):
                    continue  # inline text: its hash was compared above
                try:
                    blobs.get_bytes(str(sha), verify=True)
                except (StoreError, NotFoundError) as exc:
                    problems.append((aid, f"evidence {ev_id} content does not match its hash: {exc}"))
    return GoldenCheck(gs.name, not problems, len(gs.items), tuple(problems))


def _is_blob(session: Session, evidence_id: str) -> bool:
    ev = session.get(Evidence, evidence_id)
    return ev is not None and ev.blob_sha is not None


def golden_records(ws: Workspace, name: str = "default") -> tuple[GoldenSet, list[AssetRecord]]:
    """The verified golden set and its assets' records, each record's grade the frozen label.

    Raises ConflictError naming the changed assets when the set no longer matches the store.
    """
    import dataclasses

    from assetgrade.store.loading import load_records

    with ws.session(readonly=True) as s:
        gs = get_golden_set(s, name)
        check = verify_golden_set(s, gs, blobs=ws.blobs)
        if not check.ok:
            raise ConflictError(check.message() + "; freeze a new golden set if the change is intended")
        records = load_records(s, list(gs.asset_ids), blobs=ws.blobs)
    labels = gs.labels
    return gs, [dataclasses.replace(r, grade=labels[r.asset_id]) for r in records]


def eligible_with_split(session: Session, split: str, *, sample: int | None = None,
                        seed: int = 0) -> tuple[list[str], list[str]]:
    """Assets whose ``split`` attribute is ``split`` and that may enter a golden set, and those skipped.

    Returns (eligible ids, ``"<id>: <why not>"`` lines). An asset without a split (absent or
    null) never matches, not even ``split="None"``. With ``sample``, at most that many eligible
    ids, drawn with ``seed``. NotFoundError when no asset has that split.
    """
    import random

    if sample is not None and sample < 1:
        raise ValidationError(f"sample {sample} must be at least 1", where="sample")
    eligible: list[str] = []
    skipped: list[str] = []
    matched = 0
    for a in session.execute(select(Asset).order_by(Asset.id)).scalars():
        value = (a.attributes or {}).get("split")
        if value is None or isinstance(value, dict | list) or str(value) != split:
            continue
        matched += 1
        try:
            snapshot_asset(session, a.id)
            eligible.append(a.id)
        except (ValidationError, NotFoundError) as exc:
            skipped.append(f"{a.id}: {getattr(exc, 'reason', exc)}")
    if not matched:
        raise NotFoundError(f"no asset has split {split!r}")
    if sample is not None and len(eligible) > sample:
        eligible = sorted(random.Random(seed).sample(eligible, sample))
    return eligible, skipped

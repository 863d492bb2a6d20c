"""Champion/challenger: promoting a version that is not worse on the golden set, and rolling back.

:func:`promote` evaluates challenger and champion on a verified golden set and refuses a
challenger worse beyond the :class:`~assetgrade.lifecycle.evaluate.PromotionPolicy` tolerances
(or one trained on golden assets, or one grading on another scale than the workspace's
ontology) unless forced with a reason; :func:`rollback` restores an earlier champion. Both
install the new champion's bundle as ``models/grader`` (:mod:`assetgrade.lifecycle.serving`)
inside the transaction that records the ``model.promote`` / ``model.rollback`` event.
:class:`~assetgrade.lifecycle.registry.ModelRegistry` calls these; use it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from assetgrade.errors import ConflictError, StoreError, ValidationError
from assetgrade.jsonsafe import jsonable
from assetgrade.lifecycle.evaluate import Comparison, GoldenEvaluation, PromotionPolicy, compare
from assetgrade.lifecycle.serving import installing, stage_install
from assetgrade.lifecycle.versions import ModelInfo, version_row
from assetgrade.store.audit import append_event, lock_chain
from assetgrade.store.lifecycle_schema import ModelVersion
from assetgrade.store.schema import utcnow

if TYPE_CHECKING:
    from assetgrade.lifecycle.registry import ModelRegistry

__all__ = ["PromotionResult", "check_scale", "promote", "rollback"]


@dataclass
class PromotionResult:
    """What a promotion did: the new and the replaced champion, the golden evaluations and the comparison."""

    version: str
    previous: str | None
    golden: str
    challenger: GoldenEvaluation
    champion: GoldenEvaluation | None
    comparison: Comparison | None
    forced: bool
    reason: str | None
    grading_model: dict[str, Any] | None = None
    trained_on_golden: int = 0
    """How many golden assets the new champion trained on (promoted only when forced)."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"version": self.version, "previous": self.previous, "golden": self.golden,
                "trained_on_golden": self.trained_on_golden,
                "challenger": self.challenger.to_dict(),
                "champion": None if self.champion is None else self.champion.to_dict(),
                "comparison": None if self.comparison is None else self.comparison.to_dict(),
                "forced": self.forced, "reason": self.reason, "grading_model": self.grading_model}


def check_scale(reg: ModelRegistry, version: str, action: str, actor: str) -> None:
    """Refuse (ValidationError, recorded as ``model.promotion_refused``) to make ``version`` the champion
    when its bundle says it grades on another scale than the workspace's ontology now has: grading
    with it would be refused (``Grader.check_scale``), so the service would have a champion that
    cannot grade. A bundle that records no grades (not a Grader's) is not compared."""
    info = reg.get(version)
    path = info.bundle_dir if info.entry == "." else info.bundle_dir / info.entry
    try:
        grades = json.loads((path / "bundle.json").read_text(encoding="utf-8")).get("grades")
    except (OSError, ValueError, AttributeError):
        return
    have = list(reg.ws.ontology().grades.names)
    if not isinstance(grades, list) or not grades or grades == have:
        return
    with reg.ws.session() as s:
        append_event(s, actor=actor, action="model.promotion_refused", entity="model", entity_id=version,
                     payload={"action": action, "model_grades": grades, "ontology_grades": have})
    raise ValidationError(
        f"cannot {action} model version {version!r}: it grades on {grades} but the workspace's ontology now has"
        f" {have}, so grading with it would be refused; retrain on the current ontology (assetgrade retrain)"
        " and promote that version", where="ontology")


def promote(
    reg: ModelRegistry, version: str, *, golden: str = "default", policy: PromotionPolicy | None = None,
    force: bool = False, reason: str | None = None, actor: str = "system",
) -> PromotionResult:
    """Make ``version`` the champion if it is not worse than the current one on the golden set.

    A refused promotion raises ConflictError listing the regressions (and is recorded as a
    ``model.promotion_refused`` event); ``force=True`` promotes anyway and needs a ``reason``.
    A model that trained on golden assets (``reg.trained_on_golden``) is refused the same way,
    before any evaluation, unless forced.
    The new champion's Grader bundle becomes ``models/grader`` (:mod:`~assetgrade.lifecycle.serving`);
    the ``model.promote`` event's ``grading_model`` says what was installed and replaced.
    """
    if force and not (reason and reason.strip()):
        raise ValidationError("a forced promotion needs a reason", where="reason")
    target = reg.get(version)
    if target.is_champion:
        raise ConflictError(f"model version {version!r} is already the champion")
    check_scale(reg, version, "promote", actor)  # even when forced: such a champion could not grade
    current = reg.champion()
    overlap = reg.trained_on_golden(version, golden)
    if overlap and not force:
        with reg.ws.session() as s:
            append_event(s, actor=actor, action="model.promotion_refused", entity="model", entity_id=version,
                         payload={"champion": current.version if current else None, "golden": golden,
                                  "trained_on_golden": len(overlap)})
        raise ConflictError(
            f"model version {version!r} was trained on {len(overlap)} assets of golden set {golden!r} (e.g. "
            f"{', '.join(overlap[:5])}): its golden figures are in-sample, not an independent check; retrain "
            "with the golden assets held out (assetgrade retrain) or use --force with --reason to promote anyway")
    challenger = reg.evaluate(version, golden)
    champ_eval, unusable = None, None
    if current is not None:
        try:
            champ_eval = reg.evaluate(current.version, golden)
        except (StoreError, ValidationError) as exc:  # its bundle changed on disk, or will not load
            unusable = str(exc)
            if not force:
                with reg.ws.session() as s:
                    append_event(s, actor=actor, action="model.promotion_refused", entity="model",
                                 entity_id=version, payload={"champion": current.version, "golden": golden,
                                                             "champion_unusable": unusable})
                raise ConflictError(
                    f"champion {current.version!r} cannot be evaluated on golden set {golden!r} ({exc}), so"
                    f" {version!r} cannot be compared with it; use --force with --reason to replace it") from exc
    comparison = compare(champ_eval, challenger, policy or reg.policy()) if champ_eval is not None else None
    if comparison is not None and not comparison.ok and not force:
        with reg.ws.session() as s:
            append_event(s, actor=actor, action="model.promotion_refused", entity="model", entity_id=version,
                         payload={"champion": current.version if current else None, "golden": golden,
                                  "content_hash": challenger.content_hash, "regressions": comparison.regressions,
                                  **_paired_record(comparison)})
        unconfirmed = (" Point and paired rules disagree: "
                       + "; ".join(comparison.disagreements)) if comparison.disagreements else ""
        raise ConflictError(
            f"challenger {version!r} is worse than champion {current.version if current else None!r} on golden"
            f" set {golden!r}: " + "; ".join(comparison.regressions)
            + " (use --force with --reason to promote anyway)" + unconfirmed
        )
    now = utcnow()
    with installing() as hold:
        staged = hold(stage_install(reg.ws, target))  # copy and hash before taking the write lock
        with reg.ws.session() as s:
            lock_chain(s)  # PostgreSQL: two promotions/rollbacks serialise here (SQLite: BEGIN IMMEDIATE)
            row = version_row(s, version)
            champs = set(s.execute(select(ModelVersion.version)
                                   .where(ModelVersion.status == "champion")).scalars())
            if champs != ({current.version} if current is not None else set()):
                raise ConflictError(f"the champion changed to {sorted(champs)} while evaluating {version!r};"
                                    " retry")
            if current is not None:
                old = version_row(s, current.version)
                old.status, old.retired_at = "retired", now
            row.status, row.promoted_at, row.retired_at = "champion", now, None
            row.previous_champion = current.version if current is not None else None
            s.flush()
            install = staged.swap(_registered_digests(s))
            append_event(s, actor=actor, action="model.promote", entity="model", entity_id=version, payload={
                "previous": row.previous_champion, "golden": golden, "content_hash": challenger.content_hash,
                "challenger_metrics": challenger.overall,
                "champion_metrics": None if champ_eval is None else champ_eval.overall,
                "regressions": [] if comparison is None else comparison.regressions,
                **({} if comparison is None else _paired_record(comparison)),
                "forced": bool(force and (overlap or unusable or (comparison is not None and not comparison.ok))),
                "reason": reason, "trained_on_golden": len(overlap), "grading_model": install.record,
                "champion_unusable": unusable})
    forced = bool(force and (overlap or unusable or (comparison is not None and not comparison.ok)))
    return PromotionResult(version, current.version if current else None, golden, challenger, champ_eval,
                           comparison, forced, reason, install.record, trained_on_golden=len(overlap))


def rollback(
    reg: ModelRegistry, *, to: str | None = None, reason: str | None = None, actor: str = "system",
) -> ModelInfo:
    """Retire the champion and restore the one it replaced (or ``to``); returns the restored champion.

    ``to`` must name a version that was the champion before (promoted at some time); any
    other is a ValidationError naming the versions that were. The restored champion keeps its
    ``previous_champion`` (the one it replaced when it was promoted), so plain rollbacks walk
    back through the champions (v3 → v2 → v1) and never return to the retired, rolled-back
    version; undoing a rollback goes through ``to`` or a promotion. Its Grader bundle becomes
    ``models/grader`` again, recorded in the ``model.rollback`` event's ``grading_model``.
    """
    current = reg.champion()
    if current is None:
        raise ConflictError("there is no champion to roll back")
    target = to or current.previous_champion
    if target is None:
        raise ConflictError(f"champion {current.version!r} replaced no earlier champion; nothing to roll back to")
    if target == current.version:
        raise ConflictError(f"{target!r} is already the champion")
    if to is not None:
        reg.get(to)  # NotFoundError naming the registered versions
        former = [m.version for m in reg.list() if m.promoted_at is not None and m.version != current.version]
        if to not in former:
            raise ValidationError(f"{to!r} was never the champion; a rollback restores an earlier champion "
                                  f"(earlier champions: {', '.join(former) or 'none'}; the champion is "
                                  f"{current.version!r}); promote a candidate instead", where="to")
    reg.load(target)  # its bundle must still be intact
    check_scale(reg, target, "roll back to", actor)
    restored = reg.get(target)
    now = utcnow()
    with installing() as hold:
        staged = hold(stage_install(reg.ws, restored))  # copy and hash before taking the write lock
        with reg.ws.session() as s:
            lock_chain(s)  # PostgreSQL: two promotions/rollbacks serialise here (SQLite: BEGIN IMMEDIATE)
            old, new = version_row(s, current.version), version_row(s, target)
            if old.status != "champion":
                raise ConflictError("the champion changed during the rollback; retry")
            old.status, old.retired_at = "retired", now
            new.status, new.promoted_at, new.retired_at = "champion", now, None
            s.flush()
            install = staged.swap(_registered_digests(s))
            append_event(s, actor=actor, action="model.rollback", entity="model", entity_id=target,
                         payload={"from": current.version, "to": target, "reason": reason,
                                  "grading_model": install.record})
    return reg.get(target)


def _paired_record(comparison: Comparison) -> dict[str, Any]:
    """What an audit event keeps of the paired comparison: the gate, the intervals, where the rules disagree."""
    return {"gate": comparison.gate, "intervals": jsonable({k: list(v) for k, v in comparison.intervals.items()}),
            "confidence": comparison.confidence, "disagreements": comparison.disagreements}


def _registered_digests(s: Session) -> set[str]:
    return set(s.execute(select(ModelVersion.bundle_sha256)).scalars())

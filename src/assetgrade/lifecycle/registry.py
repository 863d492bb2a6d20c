"""The model registry: versions with lineage under ``<workspace>/models/<version>/``, champion/challenger, rollback.

Each registered version records the training manifest hash, the ontology version, the code
version (``assetgrade.__version__`` and the git commit when the package runs from a checkout),
the metrics the model reported, its parent version, and the sha256 of its bundle folder, which
is re-checked before the bundle is loaded. Status is ``candidate``, ``champion`` (at most one)
or ``retired``.

:meth:`ModelRegistry.promote` evaluates challenger and champion on a verified golden set
(:mod:`assetgrade.lifecycle.golden`) and refuses a challenger worse beyond the
:class:`~assetgrade.lifecycle.evaluate.PromotionPolicy` tolerances unless forced with a
reason; :meth:`ModelRegistry.rollback` restores the champion it replaced. Both install the
new champion's bundle as ``models/grader``, the model that ``grade``, ``serve`` and review
rounds load (:mod:`assetgrade.lifecycle.serving`; Grader bundles only). Registration,
promotion, a refused promotion and rollback are audit events.

A version's ``model_version`` is the id its model stamps on the predictions it makes (a
Grader's ``version_``, e.g. ``grader-aef420494f76``), which differs from a registry name such
as ``v7``; it is read from the model (or the bundle's ``bundle.json``) at registration and kept
in the lineage.
"""

from __future__ import annotations

import builtins
import hashlib
import shutil
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from assetgrade.errors import AssetgradeError, ConflictError, NotFoundError, StoreError, ValidationError
from assetgrade.jsonsafe import jsonable
from assetgrade.lifecycle.bundles import (
    bundle_digest,
    bundle_info,
    bundle_model_version,
    check_grader_bundle,
    code_version,
    register_bundle_loader,
    resolve_loader,
)
from assetgrade.lifecycle.evaluate import Comparison, GoldenEvaluation, PromotionPolicy, compare, evaluate_on_golden
from assetgrade.lifecycle.serving import installing, stage_install
from assetgrade.store.audit import append_event, canonical_json, lock_chain
from assetgrade.store.lifecycle_schema import MODEL_STATUSES, ModelVersion
from assetgrade.store.schema import utcnow

if TYPE_CHECKING:
    from assetgrade.workspace import Workspace

__all__ = ["ModelInfo", "ModelRegistry", "PromotionResult", "register_bundle_loader"]

RESERVED_VERSIONS = frozenset({"grader", "champion"})
"""Names no version may take: ``models/grader`` is the model that grades, and ``models show champion`` means the
current champion (a version named so could never be shown)."""


@dataclass(frozen=True)
class ModelInfo:
    """A registered model version as stored, with its bundle folder.

    Examples
    --------
    >>> ModelInfo(version="v1", status="candidate", bundle_dir=Path("m/v1")).is_champion
    False
    """

    version: str
    status: str
    bundle_dir: Path
    loader: str = "grader"
    entry: str = "."
    bundle_sha256: str = ""
    manifest_hash: str | None = None
    ontology_version: str | None = None
    code_version: str = ""
    git_commit: str | None = None
    parent_version: str | None = None
    previous_champion: str | None = None
    metrics: dict[str, Any] | None = None
    golden: dict[str, Any] | None = None
    lineage: dict[str, Any] | None = None
    notes: str | None = None
    created_at: datetime | None = None
    created_by: str = "system"
    promoted_at: datetime | None = None
    retired_at: datetime | None = None
    model_version: str | None = None

    @property
    def is_champion(self) -> bool:
        """Whether this version is the current champion."""
        return self.status == "champion"

    @property
    def prediction_versions(self) -> tuple[str, ...]:
        """The ``model_version`` values its stored predictions may carry: its model's own id and its registry name."""
        return tuple(dict.fromkeys(v for v in (self.model_version, self.version) if v))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        d = asdict(self)
        d["bundle_dir"] = str(self.bundle_dir)
        for k in ("created_at", "promoted_at", "retired_at"):
            d[k] = None if d[k] is None else d[k].isoformat()
        return d


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


class ModelRegistry:
    """Model versions of one workspace.

    Examples
    --------
    >>> import tempfile
    >>> from assetgrade.workspace import Workspace
    >>> ws = Workspace.init(Path(tempfile.mkdtemp()) / "ws")
    >>> src = Path(tempfile.mkdtemp()); _ = (src / "weights.txt").write_text("w")
    >>> reg = ModelRegistry(ws)
    >>> reg.register(src, version="v1", loader="pkg.mod:load").status
    'candidate'
    >>> [m.version for m in reg.list()], reg.champion() is None
    (['v1'], True)
    """

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws

    # -- reading ----------------------------------------------------------------------------
    def _info(self, row: ModelVersion) -> ModelInfo:
        bundle_dir = self.ws.models_dir / row.version
        lineage = dict(row.lineage or {})
        return ModelInfo(
            version=row.version, status=row.status, bundle_dir=bundle_dir, loader=row.loader,
            entry=row.entry, bundle_sha256=row.bundle_sha256, manifest_hash=row.manifest_hash,
            ontology_version=row.ontology_version, code_version=row.code_version, git_commit=row.git_commit,
            parent_version=row.parent_version, previous_champion=row.previous_champion,
            metrics=dict(row.metrics or {}), golden=dict(row.golden or {}), lineage=lineage,
            notes=row.notes, created_at=row.created_at, created_by=row.created_by, promoted_at=row.promoted_at,
            retired_at=row.retired_at,
            model_version=lineage.get("model_version") or bundle_model_version(bundle_dir / row.entry),
        )

    @staticmethod
    def _row(s: Session, version: str) -> ModelVersion:
        row = s.get(ModelVersion, version)
        if row is None:
            known = list(s.execute(select(ModelVersion.version).order_by(ModelVersion.created_at)).scalars())
            raise NotFoundError(f"model version {version!r} not found (registered: {known[-10:] or 'none'})")
        return row

    def list(self, status: str | None = None) -> list[ModelInfo]:
        """Registered versions, oldest first (optionally of one status; another value is a ValidationError)."""
        if status is not None and status not in MODEL_STATUSES:
            raise ValidationError(f"{status!r} is not a model status; use one of {', '.join(MODEL_STATUSES)}",
                                  where="status")
        q = select(ModelVersion).order_by(ModelVersion.created_at, ModelVersion.version)
        if status is not None:
            q = q.where(ModelVersion.status == status)
        with self.ws.session(readonly=True) as s:
            return [self._info(r) for r in s.execute(q).scalars()]

    def get(self, version: str) -> ModelInfo:
        """One version (NotFoundError naming the registered ones)."""
        with self.ws.session(readonly=True) as s:
            return self._info(self._row(s, version))

    def champion(self) -> ModelInfo | None:
        """The current champion, or None."""
        champs = self.list("champion")
        if len(champs) > 1:
            raise StoreError(f"more than one champion in the registry: {[c.version for c in champs]}")
        return champs[0] if champs else None

    # -- registering ------------------------------------------------------------------------
    def check_new_version(self, version: str) -> None:
        """Refuse ``version`` as the name of a new version: a bad or reserved name (ValidationError), or one taken.

        :meth:`register` checks it; call it before long work (training) whose result gets that name.
        """
        if (not version or len(version) > 100 or version.startswith(".") or version != version.strip()
                or any(c in version for c in "/\\") or not version.isprintable()):
            raise ValidationError(f"bad model version name {version!r}: at most 100 printable characters, no"
                                  " slash or backslash, no leading dot or surrounding spaces", where="version")
        if version in RESERVED_VERSIONS:
            why = ("models/grader is the model that grades" if version == "grader"
                   else "'models show champion' shows the current champion")
            raise ValidationError(f"model version name {version!r} is reserved ({why}); pick another",
                                  where="version")
        with self.ws.session(readonly=True) as s:
            if s.get(ModelVersion, version) is not None:
                raise ConflictError(f"model version {version!r} is already registered")
        dest = self.ws.models_dir / version
        if dest.exists():
            raise ConflictError(f"{dest} exists but is not registered; move it away or pick another version")

    def register(
        self, model: Any, *, version: str | None = None, loader: str = "grader", entry: str = ".",
        manifest_hash: str | None = None, ontology_version: str | None = None,
        metrics: dict[str, Any] | None = None, parent_version: str | None = None,
        lineage: dict[str, Any] | None = None, notes: str | None = None, actor: str = "system",
    ) -> ModelInfo:
        """Register a bundle folder (copied in) or a model with ``save(path)`` (saved into the bundle folder).

        Lineage not given is read from the model's ``manifest_hash_``, ``ontology_version_``,
        ``metrics_`` and ``version_`` attributes where it has them; the model's own version id
        (``version_``, or ``model_version`` in a bundle folder's ``bundle.json``) is kept as
        ``lineage["model_version"]``.
        """
        src: Path | None = None
        if isinstance(model, str | Path):
            src = Path(model)
            if not src.is_dir():
                raise NotFoundError(f"model bundle folder {src} not found")
        version = version or getattr(model, "version_", None) or datetime.now(UTC).strftime("m%Y%m%d-%H%M%S-%f")
        version = str(version)
        if entry != "." and (Path(entry).is_absolute() or ".." in Path(entry).parts):
            raise ValidationError(f"entry {entry!r} must be a path inside the bundle", where="entry")
        self.check_new_version(version)
        dest = self.ws.models_dir / version
        if parent_version is not None:
            with self.ws.session(readonly=True) as s:
                self._row(s, parent_version)
        # Copy (or save) into a hidden folder of our own first, outside any store transaction: a large
        # bundle never holds the write lock, a crash mid-copy leaves no half bundle under the version's
        # name, and a concurrent registration of the same name cannot delete our copy.
        staging = self.ws.models_dir / f".incoming-{uuid.uuid4().hex[:12]}"
        try:
            try:
                if isinstance(model, str | Path):
                    shutil.copytree(Path(model), staging)
                else:
                    staging.mkdir(parents=True)
                    model.save(staging if entry == "." else staging / entry)
            except OSError as exc:
                raise StoreError(f"cannot write model bundle {dest}: {exc}") from exc
            if loader == "grader" and isinstance(model, str | Path):
                check_grader_bundle(staging if entry == "." else staging / entry, shown=src)
            digest = bundle_digest(staging)
            # a saved folder describes itself in bundle.json (a Grader's: its id, training data, ontology and
            # the code that trained it, perhaps another release than this one); a model object by its attributes
            saved = bundle_info(staging if entry == "." else staging / entry)

            def described(attr: str, key: str) -> Any:  # the model object's attribute, else bundle.json's
                return (getattr(model, attr, None) if src is None else None) or saved.get(key)

            own = described("version_", "model_version")
            trained = described("trained_at_", "trained_at")  # when fitting ended: the new-labels trigger's fallback
            lineage = {**({"model_version": str(own)} if own else {}),
                       **({"trained_at": str(trained)} if trained else {}), **(lineage or {})}
            code, commit = code_version()
            code = str(described("code_version_", "code_version") or code)[:100]
            manifest_hash = manifest_hash or described("manifest_hash_", "manifest_hash")
            ontology_version = ontology_version or described("ontology_version_", "ontology_version")
            row = ModelVersion(
                version=version, status="candidate", created_by=actor, loader=loader, entry=entry,
                bundle_sha256=digest,
                manifest_hash=_short(manifest_hash, "manifest_hash"),
                ontology_version=_short(ontology_version, "ontology_version"),
                code_version=code, git_commit=commit, parent_version=parent_version,
                metrics=jsonable(_mapping(metrics if metrics is not None else getattr(model, "metrics_", None),
                                          "metrics")),
                golden={}, lineage=jsonable(lineage), notes=notes,
            )
            moved = False
            try:
                with self.ws.session() as s:
                    lock_chain(s)  # two registrations of one name serialise; the second is refused below
                    if s.get(ModelVersion, version) is not None:
                        raise ConflictError(f"model version {version!r} is already registered")
                    if dest.exists():
                        raise ConflictError(f"{dest} exists but is not registered; move it away or pick another"
                                            " version")
                    try:
                        staging.rename(dest)
                    except OSError as exc:
                        raise StoreError(f"cannot write model bundle {dest}: {exc}") from exc
                    moved = True
                    s.add(row)
                    s.flush()
                    append_event(s, actor=actor, action="model.register", entity="model", entity_id=version,
                                 payload={"bundle_sha256": digest, "manifest_hash": row.manifest_hash,
                                          "ontology_version": row.ontology_version, "code_version": code,
                                          "git_commit": commit, "parent_version": parent_version, "loader": loader})
            except BaseException:
                if moved:
                    shutil.rmtree(dest, ignore_errors=True)
                raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return self.get(version)

    # -- loading and evaluating -------------------------------------------------------------
    def load(self, version: str) -> Any:
        """Load a version's model after checking its bundle against the registered sha256."""
        info = self.get(version)
        digest = bundle_digest(info.bundle_dir)
        if digest != info.bundle_sha256:
            raise StoreError(f"model bundle {info.bundle_dir} changed since it was registered"
                             f" (sha256 {digest[:12]}... != {info.bundle_sha256[:12]}...)")
        path = info.bundle_dir if info.entry == "." else info.bundle_dir / info.entry
        load = resolve_loader(info.loader)
        try:
            return load(path)
        except AssetgradeError:
            raise
        except Exception as exc:  # e.g. a pickle of classes another release of assetgrade had
            raise ValidationError(
                f"cannot load model version {version!r} with loader {info.loader!r} ({type(exc).__name__}: {exc});"
                f" its code version is {info.code_version or 'unknown'}, this is {code_version()[0]}: load it with"
                " that release, or retrain", where=str(path)) from exc

    def _check_scale(self, version: str, action: str, actor: str) -> None:
        """Refuse (ValidationError, recorded as ``model.promotion_refused``) to make ``version`` the champion
        when its bundle says it grades on another scale than the workspace's ontology now has: grading
        with it would be refused (``Grader.check_scale``), so the service would have a champion that
        cannot grade. A bundle that records no grades (not a Grader's) is not compared."""
        import json

        info = self.get(version)
        path = info.bundle_dir if info.entry == "." else info.bundle_dir / info.entry
        try:
            grades = json.loads((path / "bundle.json").read_text(encoding="utf-8")).get("grades")
        except (OSError, ValueError, AttributeError):
            return
        have = list(self.ws.ontology().grades.names)
        if not isinstance(grades, list) or not grades or grades == have:
            return
        with self.ws.session() as s:
            append_event(s, actor=actor, action="model.promotion_refused", entity="model", entity_id=version,
                         payload={"action": action, "model_grades": grades, "ontology_grades": have})
        raise ValidationError(
            f"cannot {action} model version {version!r}: it grades on {grades} but the workspace's ontology now has"
            f" {have}, so grading with it would be refused; retrain on the current ontology (assetgrade retrain)"
            " and promote that version", where="ontology")

    def evaluate(self, version: str, golden: str = "default", *, reuse: bool = True) -> GoldenEvaluation:
        """Evaluate ``version`` on golden set ``golden`` (verified first) and store the result on the version."""
        from assetgrade.lifecycle.golden import golden_records

        gs, records = golden_records(self.ws, golden)
        info = self.get(version)
        grades = list(self.ws.ontology().grades.names)
        costs = self.ws.costs()
        subgroups = tuple(self._lifecycle_section().get("subgroups", ("asset_type", "modalities", "source")))
        # the figures depend on the grade scale, the cost matrix and the subgroups as much as on the model
        # and the golden set: a cached evaluation made under other settings is not comparable
        settings = hashlib.sha256(canonical_json({"grades": grades, "costs": costs.model_dump(mode="json"),
                                                  "subgroups": list(subgroups)}).encode()).hexdigest()
        cached = (info.golden or {}).get(golden)
        if reuse and cached and cached.get("content_hash") == gs.content_hash \
                and cached.get("bundle_sha256") == info.bundle_sha256 and cached.get("settings_sha256") == settings:
            self.load(version)  # still re-checks the bundle hash
            return GoldenEvaluation.from_dict(cached)
        ev = evaluate_on_golden(self.load(version), records, grades=grades, golden=golden,
                                content_hash=gs.content_hash, model_version=version, costs=costs, subgroups=subgroups)
        stored = {**jsonable(ev.to_dict()), "bundle_sha256": info.bundle_sha256, "settings_sha256": settings}
        with self.ws.session() as s:
            # read-modify-write of the JSON column: lock the row, or a concurrent evaluation on another golden
            # set (PostgreSQL, read committed) would overwrite this one with the dict it read before
            row = s.get(ModelVersion, version, with_for_update=True) or self._row(s, version)
            row.golden = {**(row.golden or {}), golden: stored}
        return ev

    def trained_on_golden(self, version: str, golden: str = "default") -> builtins.list[str]:
        """The assets of golden set ``golden`` that ``version``'s model trained on, sorted.

        Read from the model's ``train_ids_`` (a Grader keeps the ids it was fitted on); a model
        that does not record them gives []. Golden figures of a model that trained on golden
        assets are in-sample, not an independent check.
        """
        from assetgrade.lifecycle.golden import get_golden_set

        with self.ws.session(readonly=True) as s:
            gold = set(get_golden_set(s, golden).asset_ids)
        trained = getattr(self.load(version), "train_ids_", None)
        return sorted(gold.intersection(str(a) for a in trained or ()))

    def _lifecycle_section(self) -> dict[str, Any]:
        return self.ws.config.section("lifecycle")

    def policy(self) -> PromotionPolicy:
        """The promotion policy of the workspace (``lifecycle: promotion:`` in the config); bad keys are named."""
        from assetgrade.lifecycle.sections import promotion_policy

        return promotion_policy(self.ws.config)

    # -- promotion and rollback -------------------------------------------------------------
    def promote(
        self, version: str, *, golden: str = "default", policy: PromotionPolicy | None = None, force: bool = False,
        reason: str | None = None, actor: str = "system",
    ) -> PromotionResult:
        """Make ``version`` the champion if it is not worse than the current one on the golden set.

        A refused promotion raises ConflictError listing the regressions (and is recorded as a
        ``model.promotion_refused`` event); ``force=True`` promotes anyway and needs a ``reason``.
        A model that trained on golden assets (:meth:`trained_on_golden`) is refused the same way,
        before any evaluation, unless forced.
        The new champion's Grader bundle becomes ``models/grader`` (:mod:`~assetgrade.lifecycle.serving`);
        the ``model.promote`` event's ``grading_model`` says what was installed and replaced.
        """
        if force and not (reason and reason.strip()):
            raise ValidationError("a forced promotion needs a reason", where="reason")
        target = self.get(version)
        if target.is_champion:
            raise ConflictError(f"model version {version!r} is already the champion")
        self._check_scale(version, "promote", actor)  # even when forced: such a champion could not grade
        current = self.champion()
        overlap = self.trained_on_golden(version, golden)
        if overlap and not force:
            with self.ws.session() as s:
                append_event(s, actor=actor, action="model.promotion_refused", entity="model", entity_id=version,
                             payload={"champion": current.version if current else None, "golden": golden,
                                      "trained_on_golden": len(overlap)})
            raise ConflictError(
                f"model version {version!r} was trained on {len(overlap)} assets of golden set {golden!r} (e.g. "
                f"{', '.join(overlap[:5])}): its golden figures are in-sample, not an independent check; retrain "
                "with the golden assets held out (assetgrade retrain) or use --force with --reason to promote anyway")
        challenger = self.evaluate(version, golden)
        champ_eval, unusable = None, None
        if current is not None:
            try:
                champ_eval = self.evaluate(current.version, golden)
            except (StoreError, ValidationError) as exc:  # its bundle changed on disk, or will not load
                unusable = str(exc)
                if not force:
                    with self.ws.session() as s:
                        append_event(s, actor=actor, action="model.promotion_refused", entity="model",
                                     entity_id=version, payload={"champion": current.version, "golden": golden,
                                                                 "champion_unusable": unusable})
                    raise ConflictError(
                        f"champion {current.version!r} cannot be evaluated on golden set {golden!r} ({exc}), so"
                        f" {version!r} cannot be compared with it; use --force with --reason to replace it") from exc
        comparison = compare(champ_eval, challenger, policy or self.policy()) if champ_eval is not None else None
        if comparison is not None and not comparison.ok and not force:
            with self.ws.session() as s:
                append_event(s, actor=actor, action="model.promotion_refused", entity="model", entity_id=version,
                             payload={"champion": current.version if current else None, "golden": golden,
                                      "content_hash": challenger.content_hash, "regressions": comparison.regressions})
            raise ConflictError(
                f"challenger {version!r} is worse than champion {current.version if current else None!r} on golden"
                f" set {golden!r}: " + "; ".join(comparison.regressions)
                + " (use --force with --reason to promote anyway)"
            )
        now = utcnow()
        with installing() as hold:
            staged = hold(stage_install(self.ws, target))  # copy and hash before taking the write lock
            with self.ws.session() as s:
                lock_chain(s)  # PostgreSQL: two promotions/rollbacks serialise here (SQLite: BEGIN IMMEDIATE)
                row = self._row(s, version)
                champs = set(s.execute(select(ModelVersion.version)
                                       .where(ModelVersion.status == "champion")).scalars())
                if champs != ({current.version} if current is not None else set()):
                    raise ConflictError(f"the champion changed to {sorted(champs)} while evaluating {version!r};"
                                        " retry")
                if current is not None:
                    old = self._row(s, current.version)
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
                    "forced": bool(force and (overlap or unusable or (comparison is not None and not comparison.ok))),
                    "reason": reason, "trained_on_golden": len(overlap), "grading_model": install.record,
                    "champion_unusable": unusable})
        forced = bool(force and (overlap or unusable or (comparison is not None and not comparison.ok)))
        return PromotionResult(version, current.version if current else None, golden, challenger, champ_eval,
                               comparison, forced, reason, install.record, trained_on_golden=len(overlap))

    def rollback(self, *, to: str | None = None, reason: str | None = None, actor: str = "system") -> ModelInfo:
        """Retire the champion and restore the one it replaced (or ``to``); returns the restored champion.

        ``to`` must name a version that was the champion before (promoted at some time); any
        other is a ValidationError naming the versions that were. The restored champion keeps its
        ``previous_champion`` (the one it replaced when it was promoted), so plain rollbacks walk
        back through the champions (v3 → v2 → v1) and never return to the retired, rolled-back
        version; undoing a rollback goes through ``to`` or a promotion. Its Grader bundle becomes
        ``models/grader`` again, recorded in the ``model.rollback`` event's ``grading_model``.
        """
        current = self.champion()
        if current is None:
            raise ConflictError("there is no champion to roll back")
        target = to or current.previous_champion
        if target is None:
            raise ConflictError(f"champion {current.version!r} replaced no earlier champion; nothing to roll back to")
        if target == current.version:
            raise ConflictError(f"{target!r} is already the champion")
        if to is not None:
            self.get(to)  # NotFoundError naming the registered versions
            former = [m.version for m in self.list() if m.promoted_at is not None and m.version != current.version]
            if to not in former:
                raise ValidationError(f"{to!r} was never the champion; a rollback restores an earlier champion "
                                      f"(earlier champions: {', '.join(former) or 'none'}; the champion is "
                                      f"{current.version!r}); promote a candidate instead", where="to")
        self.load(target)  # its bundle must still be intact
        self._check_scale(target, "roll back to", actor)
        restored = self.get(target)
        now = utcnow()
        with installing() as hold:
            staged = hold(stage_install(self.ws, restored))  # copy and hash before taking the write lock
            with self.ws.session() as s:
                lock_chain(s)  # PostgreSQL: two promotions/rollbacks serialise here (SQLite: BEGIN IMMEDIATE)
                old, new = self._row(s, current.version), self._row(s, target)
                if old.status != "champion":
                    raise ConflictError("the champion changed during the rollback; retry")
                old.status, old.retired_at = "retired", now
                new.status, new.promoted_at, new.retired_at = "champion", now, None
                s.flush()
                install = staged.swap(_registered_digests(s))
                append_event(s, actor=actor, action="model.rollback", entity="model", entity_id=target,
                             payload={"from": current.version, "to": target, "reason": reason,
                                      "grading_model": install.record})
        return self.get(target)


def _short(value: Any, what: str) -> str | None:
    """A lineage hash (64 characters at most) or None; anything else is a ValidationError naming ``what``."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > 64:
        raise ValidationError(f"must be a text of at most 64 characters, not {str(value)[:80]!r}", where=what)
    return value


def _mapping(value: Any, what: str) -> dict[str, Any]:
    """``value`` when it is a mapping (None: {}); anything else is a ValidationError naming ``what``."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValidationError(f"must be a mapping, not {type(value).__name__}", where=what)
    return value


def _registered_digests(s: Session) -> set[str]:
    return set(s.execute(select(ModelVersion.bundle_sha256)).scalars())

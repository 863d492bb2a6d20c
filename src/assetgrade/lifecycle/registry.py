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

The work is done in one module per concept, which this class calls:
:mod:`~assetgrade.lifecycle.versions` (``ModelInfo``, reading a row),
:mod:`~assetgrade.lifecycle.registration` (names, bundle copy, lineage) and
:mod:`~assetgrade.lifecycle.promotion` (champion/challenger, rollback).
"""

from __future__ import annotations

import builtins
import hashlib
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from assetgrade.errors import AssetgradeError, StoreError, ValidationError
from assetgrade.jsonsafe import jsonable
from assetgrade.lifecycle import promotion, registration
from assetgrade.lifecycle.bundles import bundle_digest, code_version, register_bundle_loader, resolve_loader
from assetgrade.lifecycle.evaluate import GoldenEvaluation, PromotionPolicy, evaluate_on_golden
from assetgrade.lifecycle.promotion import PromotionResult
from assetgrade.lifecycle.registration import RESERVED_VERSIONS
from assetgrade.lifecycle.versions import ModelInfo, model_info, version_row
from assetgrade.store.audit import canonical_json
from assetgrade.store.lifecycle_schema import MODEL_STATUSES, ModelVersion

if TYPE_CHECKING:
    from assetgrade.workspace import Workspace

__all__ = ["RESERVED_VERSIONS", "ModelInfo", "ModelRegistry", "PromotionResult", "register_bundle_loader"]


class ModelRegistry:
    """Model versions of one workspace.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
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
        return model_info(self.ws.models_dir, row)

    @staticmethod
    def _row(s: Session, version: str) -> ModelVersion:
        return version_row(s, version)

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
        registration.check_new_version(self.ws, version)

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
        ``lineage["model_version"]`` (see :func:`~assetgrade.lifecycle.registration.register_model`).
        """
        name = registration.register_model(
            self.ws, model, version=version, loader=loader, entry=entry, manifest_hash=manifest_hash,
            ontology_version=ontology_version, metrics=metrics, parent_version=parent_version, lineage=lineage,
            notes=notes, actor=actor)
        return self.get(name)

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
        # one stored before per-asset outcomes were kept is re-evaluated once, so compare() can pair it
        if reuse and cached and cached.get("content_hash") == gs.content_hash and cached.get("assets") is not None \
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
        before any evaluation, unless forced. See :func:`~assetgrade.lifecycle.promotion.promote`.
        """
        return promotion.promote(self, version, golden=golden, policy=policy, force=force, reason=reason,
                                 actor=actor)

    def rollback(self, *, to: str | None = None, reason: str | None = None, actor: str = "system") -> ModelInfo:
        """Retire the champion and restore the one it replaced (or ``to``); returns the restored champion.

        See :func:`~assetgrade.lifecycle.promotion.rollback`.
        """
        return promotion.rollback(self, to=to, reason=reason, actor=actor)

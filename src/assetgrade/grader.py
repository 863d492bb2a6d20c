"""The Grader: evidence extractors + fusion + calibration + conformal sets + cost-aware decision, in one object.

Training (:meth:`Grader.fit`) is out-of-fold at both levels, so no reported number is in-sample
(see :mod:`assetgrade.grading.fitting`). Every grade is a :class:`~assetgrade.result.GradeResult`;
:func:`record_grades` stores them as predictions with audit events naming the input hashes and the
model, ontology and code versions.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import numpy as np

from assetgrade.errors import ValidationError
from assetgrade.fusion import Fuser, contradictions_for_blocks
from assetgrade.grading.arguments import (
    check_arguments,
    check_extractor_settings,
    checked_extractors,
    fuser_copy,
    fuser_from,
)
from assetgrade.grading.assemble import build_result, explain_text, modality_evidence
from assetgrade.grading.cache import (
    DISK_MAX_BYTES,
    EvidenceCache,
    asset_input_hash,
    evidence_namespace,
    extract_cached,
    feature_stack,
)
from assetgrade.grading.decide import decide_asset, image_quality_flags, thin_set_note
from assetgrade.grading.fitting import fit_grader
from assetgrade.grading.persistence import labels_position, load_grader, save_grader
from assetgrade.grading.recording import record_grades  # re-exported: part of the Grader API
from assetgrade.modalities.base import EvidenceBlock, Extractor
from assetgrade.result import GradeResult
from assetgrade.store.records import AssetRecord, as_records

if TYPE_CHECKING:
    from assetgrade.decision import CostConfig, DecisionPolicy
    from assetgrade.fusion import SplitConformal
    from assetgrade.grading.stacking import Calibrator, StackFit
    from assetgrade.ontology import Ontology
    from assetgrade.workspace import Workspace

__all__ = ["Grader", "record_grades"]

Progress = Callable[[str], None]

RARE_READING = 0.002
"""Share of the training mass below which a combination of readings counts as rare (hatched, not counted)."""


class Grader:
    """One calibrated grade per asset with an honest confidence, a conformal set and a cost-aware decision.

    Parameters
    ----------
    extractors : names of registered extractors or unfitted Extractor instances
    ontology : Ontology or None (the workspace's, else the default)
    costs : CostConfig or None (the workspace's ``costs:`` section, else the defaults)
    coverage : nominal coverage of the conformal grade sets
    folds : K of the grouped K-fold used at both levels
    seed : int
    mondrian : conformal thresholds per asset type (pooled where a type has < ``min_group_size``)
    fuser : the fusion model's settings: a ``Fuser`` or a mapping of its keyword settings, as the
        workspace config gives them (``grader: {fuser: {model: logistic}}``); default: ``model="auto"``
        on the modality distributions (the latent-level table when every modality gives a
        distribution, else logistic with absent flags)
    extractor_settings : per extractor name, keyword settings passed to ``get_extractor``; ``sensors:
        rul_model`` may name a folder saved by ``assetgrade sensors fit-rul`` (relative: to the workspace)
    max_error, delta : the Learn-then-Test bound on the error among auto-accepted assets
    review_on_contradiction, review_on_quality : extra review rules
    max_set_size : review an asset whose conformal set holds more grades than this (default 1)
    review_outside_set : review an asset whose cost-optimal grade is not in its conformal set (default True)
    max_expected_cost : a fixed expected-cost threshold for review, in the cost matrix's currency;
        None (default): learned by Learn-then-Test from ``max_error`` and ``delta``

    Attributes
    ----------
    version_, manifest_hash_, ontology_version_, code_version_, trained_at_, metrics_, modalities_, notes_,
    train_ids_ (the assets it learned from), train_files_ (the sha256 of their image and series files),
    oof_ (out-of-fold or calibration-set distributions), labels_as_of_, labels_seq_ and labels_seq_hash_
    (when, and after which audit event, fit read a workspace's labels), currency_ (what its expected costs are in:
    the ``currency`` of its cost settings, None without one)

    Examples
    --------
    >>> g = Grader(folds=5).fit(workspace)                          # doctest: +SKIP
    >>> r = g.grade("pump-7", workspace=workspace)                   # doctest: +SKIP
    >>> print(g.explain(r)); g.save(workspace.models_dir / "grader")  # doctest: +SKIP
    """

    # learned by fit (assetgrade.grading.fitting.fit_grader); absent until then
    extractor_settings_: dict[str, dict[str, Any]]
    ontology_: Ontology
    grades_: tuple[str, ...]
    costs_: CostConfig
    notes_: list[str]
    extractors_: dict[str, Extractor]
    feature_names_: dict[str, tuple[str, ...]]
    extractor_info_: dict[str, dict[str, Any]]
    modalities_: list[str]
    fuser_: Fuser
    calibrator_: Calibrator | None
    conformal_: SplitConformal
    prior_: np.ndarray
    calibration_: str
    policy_: DecisionPolicy
    threshold_choice_: Any
    single_: dict[str, tuple[StackFit, DecisionPolicy]]
    metrics_: dict[str, Any]
    oof_: dict[str, Any]
    manifest_hash_: str
    ontology_version_: str
    code_version_: str
    n_train_: int
    train_ids_: list[str]
    train_files_: tuple[str, ...]
    """Sorted sha256 of the training assets' image and series files (``grading.training.file_hashes``), so
    out-of-sample scoring knows them after those assets are deleted or their files replaced; older bundles lack it."""
    n_calibration_: int
    trained_at_: str
    labels_as_of_: str | None
    """When fit read the workspace's labels (None when it was given records); older bundles lack it."""
    labels_seq_: int | None
    """The audit chain's last event (its ``seq``; 0: none) just before fit read the workspace's labels (None when
    it was given records); the new-labels retrain trigger counts reviews recorded after it. Older bundles lack it."""
    labels_seq_hash_: str | None
    """That event's hash (None with ``labels_seq_`` None or 0): the trigger trusts the position only in the store
    whose event there carries it."""
    modality_labels_hash_: str | None
    """sha256 over the ``modality_labels`` fit was given (None without), hashed into the model version."""
    version_: str
    bundle_sha_: str

    def __init__(
        self,
        *,
        extractors: Sequence[str | Extractor] = ("vision", "text", "sensors"),
        ontology: Ontology | None = None,
        costs: CostConfig | None = None,
        coverage: float = 0.9,
        folds: int = 5,
        seed: int = 0,
        mondrian: bool = True,
        fuser: Fuser | Mapping[str, Any] | None = None,
        extractor_settings: Mapping[str, Mapping[str, Any]] | None = None,
        max_error: float = 0.02,
        delta: float = 0.1,
        review_on_contradiction: bool = True,
        review_on_quality: bool = True,
        min_group_size: int = 30,
        max_set_size: int = 1,
        max_expected_cost: float | None = None,
        review_outside_set: bool = True,
    ) -> None:
        check_arguments(coverage=coverage, max_error=max_error, delta=delta, folds=folds, seed=seed,
                        min_group_size=min_group_size, max_set_size=max_set_size, mondrian=mondrian,
                        review_on_contradiction=review_on_contradiction, review_on_quality=review_on_quality,
                        max_expected_cost=max_expected_cost, fuser=fuser, extractor_settings=extractor_settings,
                        review_outside_set=review_outside_set)
        self.extractors = checked_extractors(extractors)
        check_extractor_settings(extractor_settings)
        self.ontology = ontology
        self.costs = costs
        self.coverage = float(coverage)
        self.folds = int(folds)
        self.seed = int(seed)
        self.mondrian = bool(mondrian)
        self.fuser: Fuser | None = fuser_from(fuser, seed)
        self.extractor_settings = {k: dict(v) for k, v in (extractor_settings or {}).items()}
        self.max_error = float(max_error)
        self.delta = float(delta)
        self.review_on_contradiction = bool(review_on_contradiction)
        self.review_on_quality = bool(review_on_quality)
        self.min_group_size = int(min_group_size)
        self.max_set_size = int(max_set_size)
        self.max_expected_cost = None if max_expected_cost is None else float(max_expected_cost)
        self.review_outside_set = bool(review_outside_set)
        self.cache = EvidenceCache()

    @classmethod
    def from_workspace(cls, workspace: Workspace, **overrides: Any) -> Grader:
        """A Grader with the workspace's ``grader:`` and ``policy:`` settings, as ``assetgrade train`` builds it.

        ``overrides`` (Grader keywords; None leaves a setting as configured) win. ``Grader(...)``
        alone uses only what it is given: fitting it on a workspace reads the workspace's
        ontology and costs, not its ``grader:`` settings (folds, extractor settings, RUL model).
        """
        from assetgrade.grader_factory import grader_from_settings
        from assetgrade.grader_settings import workspace_grader_settings
        from assetgrade.workspace import Workspace

        if not isinstance(workspace, Workspace):
            raise ValidationError(f"Grader.from_workspace needs an open Workspace (Workspace.open(path)), got "
                                  f"{type(workspace).__name__} {workspace!r:.60}", where="Grader.from_workspace")
        return grader_from_settings(workspace_grader_settings(workspace.config), **overrides)

    # ---- training -------------------------------------------------------------------------------
    def _make_fuser(self) -> Fuser:
        return fuser_copy(self.fuser, self.seed)

    def _settings_for(self, name: str) -> dict[str, Any]:
        kw = dict(getattr(self, "extractor_settings_", self.extractor_settings).get(name, {}))
        if name == "text":
            kw.setdefault("ontology", self.ontology_)
        if name in ("vision", "sensors"):  # their grade distributions follow the grader's scale
            kw.setdefault("grades", self.grades_)
        return kw

    def resolve_settings(self, base: Path | None) -> dict[str, dict[str, Any]]:
        """The extractor settings with a saved RUL model's folder (relative: to the workspace) loaded."""
        out = {k: dict(v) for k, v in self.extractor_settings.items()}
        rul = out.get("sensors", {}).get("rul_model")
        if isinstance(rul, str | Path):
            from assetgrade.grading.fleet_rul import load_fleet_rul

            path = Path(rul)
            out["sensors"]["rul_model"] = load_fleet_rul(path if path.is_absolute() or base is None else base / path)
        return out

    def fit(
        self,
        source: Workspace | Sequence[AssetRecord],
        *,
        modality_labels: Mapping[str, Sequence[str | None] | Mapping[str, str | None]] | None = None,
        groups: Sequence[str] | None = None,
        calibration: Sequence[AssetRecord] | None = None,
        calibration_groups: Sequence[str] | None = None,
        progress: Progress | None = None,
    ) -> Self:
        """Train on the labelled assets (``record.grade`` set) of a workspace or a list of records.

        ``modality_labels`` optionally gives each extractor its own label (per record in order, or
        by asset id), e.g. the linked benchmark's image level; ``groups`` (per record) keeps related
        assets in one fold. ``calibration``: labelled assets kept apart from training; when given,
        calibration, conformal sets, the review threshold and the reported figures come from the
        deployed model's outputs on them (split conformal) instead of the out-of-fold outputs.
        """
        fit_grader(self, source, modality_labels=modality_labels, groups=groups, calibration=calibration,
                   calibration_groups=calibration_groups, progress=progress)
        return self

    def accounted_flags(self) -> frozenset[str]:
        """Image-quality flags whose effect the vision extractor learned from the training photos
        (its ``learned_flags_``): they lower the vision evidence's confidence by a measured amount, so
        the ``review_on_quality`` rule does not send an asset to review for them alone."""
        vision = getattr(self, "extractors_", {}).get("vision")
        return frozenset(getattr(vision, "learned_flags_", ()))

    # ---- grading --------------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "fuser_"):
            raise ValidationError("the Grader is not trained: call fit (or Grader.load)", where="Grader")

    def evidence(self, records: Sequence[AssetRecord]) -> list[EvidenceBlock]:
        """Each fitted extractor's evidence block for ``records`` (served from the cache where unchanged)."""
        self._check_fitted()
        return [extract_cached(ex, records, key=f"{self.version_}/{m}", feature_names=self.feature_names_[m],
                               n_classes=len(self.grades_), cache=self.cache) for m, ex in self.extractors_.items()]

    def grade_many(self, records: Sequence[AssetRecord]) -> list[GradeResult]:
        """Grade a batch: each extractor runs once on the batch; evidence rows are cached by content."""
        self._check_fitted()
        records = as_records(records, "Grader.grade_many")
        if not records:
            return []
        blocks = self.evidence(records)
        proba = self.fuser_.predict_proba(blocks)
        if self.calibrator_ is not None:
            proba = self.calibrator_.transform(proba)
        none = ~np.any(np.stack([b.present for b in blocks]), axis=0)
        proba[none] = self.prior_  # no evidence at all: the training grade mix, not an extrapolation
        types = [r.asset_type for r in records]
        conf = self.conformal_.predict(proba, groups=types if self.mondrian else None)
        sets = conf.sets()
        for j in np.flatnonzero(none).tolist():  # nothing to condition on: every grade seen in training stays possible
            sets[j] = tuple(g for g, q in zip(self.grades_, self.prior_, strict=True) if q > 0)
        contra = contradictions_for_blocks(blocks, self.grades_)
        readings = self.fuser_.readings(blocks, self.grades_)
        accounted = self.accounted_flags()
        out = []
        for i, rec in enumerate(records):
            ev = [modality_evidence(b, i, self.grades_) for b in blocks]
            cs = contra.get(rec.asset_id, [])
            vflags = [f for e in ev if e.modality == "vision" for f in e.quality_flags]
            d = decide_asset(self.policy_, proba[i], conformal_set=sets[i], contradictions=[c.message for c in cs],
                             value=rec.value, image_flags=image_quality_flags(vflags, accounted),
                             review_on_quality=self.review_on_quality)
            if none[i]:
                d = dataclasses.replace(d, action="review", reasons=(
                    "no usable evidence in any modality: the distribution is the training grade mix",
                    *d.reasons))
            if conf.used_fallback[i] and self.mondrian:
                note = f"conformal set uses the pooled threshold (few calibration assets of type {rec.asset_type!r})"
                if not self.conformal_.group_counts_.get(rec.asset_type) and not getattr(self, "n_calibration_", 0):
                    note = (f"no labelled asset of type {rec.asset_type!r} in training: the grade comes from assets "
                            "of other types, and the conformal set uses their pooled threshold")
                d = dataclasses.replace(d, reasons=(*d.reasons, note))
            thin = None if none[i] else self.conformal_.too_few(rec.asset_type if self.mondrian else None)
            if thin is not None:  # the quantile is inf: the set is every grade, whatever the evidence says
                d = dataclasses.replace(d, reasons=(*d.reasons, thin_set_note(*thin, self.coverage)))
            versions = {"model": self.version_, "ontology": self.ontology_version_, "code": self.code_version_,
                        "manifest": self.manifest_hash_, "inputs": asset_input_hash(rec)}
            out.append(build_result(asset_id=rec.asset_id, asset_type=rec.asset_type, grades=self.grades_,
                                    proba=proba[i], conformal_set=sets[i], coverage=self.coverage, decision=d,
                                    evidence=ev, contradictions=cs, versions=versions,
                                    reading=None if readings is None or none[i] else readings[i]))
        return out

    def grade(self, asset: str | AssetRecord, *, workspace: Workspace | None = None) -> GradeResult:
        """Grade one asset (a record, or an asset id read from ``workspace``)."""
        from assetgrade.workspace import Workspace

        if not isinstance(asset, str | AssetRecord):
            raise ValidationError(f"expected an asset id or an AssetRecord, got {type(asset).__name__} {asset!r:.60}",
                                  where="Grader.grade")
        if isinstance(asset, str):
            if not isinstance(workspace, Workspace):
                raise ValidationError(f"grading asset id {asset!r} needs workspace= an open Workspace "
                                      f"(Workspace.open(path)), got {type(workspace).__name__}", where="Grader.grade")
            from assetgrade.store.loading import load_records

            asset = load_records(workspace, [asset])[0]
        return self.grade_many([asset])[0]

    def explain(self, result: GradeResult) -> str:
        """A plain-text explanation of a result, its expected costs in :attr:`currency_`."""
        if not isinstance(result, GradeResult):
            raise ValidationError(f"expected the GradeResult of grade(), got {type(result).__name__} {result!r:.60}",
                                  where="Grader.explain")
        return explain_text(result, currency=self.currency_)

    @property
    def currency_(self) -> str | None:
        """The ``currency`` of the cost settings it was fitted with (None: unset, or not fitted, or fitted before
        the setting existed): what its expected costs are in."""
        return getattr(getattr(self, "costs_", None), "currency", None)

    # ---- persistence ----------------------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        """What ``bundle.json`` records: versions, manifest hash, extractor settings, metrics.

        ``labels_as_of``, ``labels_seq`` and ``labels_seq_hash``: when, and after which audit event, fit read a
        workspace's labels (None: it was given records, or it was pickled before fit kept them).
        """
        self._check_fitted()
        return {"model_version": self.version_, "manifest_hash": self.manifest_hash_,
                "ontology_version": self.ontology_version_, "code_version": self.code_version_,
                "trained_at": self.trained_at_, "labels_as_of": getattr(self, "labels_as_of_", None),
                **labels_position(self),
                "n_train": self.n_train_, "grades": list(self.grades_),
                "modalities": self.modalities_, "extractors": self.extractor_info_, "calibration": self.calibration_,
                "coverage": self.coverage, "folds": self.folds, "seed": self.seed, "notes": self.notes_,
                "fusion": self.fusion_info(), "metrics": self.metrics_}

    def fusion_info(self) -> dict[str, Any]:
        """The fitted fusion model: its kind and, for the latent-level table, the temperature per modality."""
        self._check_fitted()
        kind = self.fuser_.fitted_model
        out: dict[str, Any] = {"model": kind}
        if kind == "latent":
            table = self.fuser_.table_
            out["temperatures"] = dict(zip(self.modalities_, table.temperatures_, strict=True))
            out["monotone"] = bool(getattr(table, "monotone", False))
            # neighbouring well-populated readings where a worse level makes a worse grade less likely
            out["monotone_violations"] = table.monotone_violations(min_share=RARE_READING)
        return out

    def plot_fusion_table(self, path: Path) -> Path | None:
        """The latent fusion table as a heat map PNG (``plot_latent_table``); None for other fusion models."""
        self._check_fitted()
        if self.fuser_.fitted_model != "latent":
            return None
        from assetgrade.fusion.latent import plot_latent_table

        return plot_latent_table(self.fuser_.table_, self.fuser_.modalities_, self.grades_, path,
                                 rare=RARE_READING, title=f"Learned fusion table, {self.version_}")

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["cache"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.cache = EvidenceCache()

    def check_scale(self, ontology: Any) -> None:
        """Refuse a workspace whose grade scale is not the one this model was trained on (ValidationError).

        An ontology edited after training (a grade renamed, added or dropped) would have the model
        record grades the workspace no longer has; retrain first. Defect terms and synonyms may
        change: findings name defects, and a renamed one only stops linking.

        Examples
        --------
        >>> from assetgrade.ontology import default_ontology
        >>> g = Grader(); g.grades_ = ("A", "B", "C", "D")
        >>> g.check_scale(default_ontology())
        >>> g.grades_ = ("A", "B", "C", "E")
        >>> g.check_scale(default_ontology())
        Traceback (most recent call last):
        ...
        assetgrade.errors.ValidationError: ontology: the model was trained on grades ['A', 'B', 'C', 'E'] ...
        """
        if not hasattr(self, "grades_"):
            self._check_fitted()
        have = tuple(ontology.grades.names)
        if tuple(self.grades_) != have:
            raise ValidationError(f"the model was trained on grades {list(self.grades_)} but the workspace's ontology "
                                  f"now has {have and list(have)}; retrain (assetgrade train) before grading",
                                  where="ontology")

    def save(self, path: Path) -> Path:
        """Save to the folder ``path`` (``grader.pkl`` + ``bundle.json``); returns the folder."""
        self._check_fitted()
        return save_grader(self, path)

    @classmethod
    def load(cls, path: Path, *, evidence_store: Path | None = None,
             evidence_store_max_bytes: int = DISK_MAX_BYTES) -> Grader:
        """A Grader saved by :meth:`save` (the pickle's sha256 is checked first).

        ``evidence_store``: a SQLite file (a workspace's ``cache/evidence.sqlite``) that keeps the
        evidence rows this grader computes across processes (:meth:`use_evidence_store`), capped at
        ``evidence_store_max_bytes`` (a workspace's :attr:`~assetgrade.workspace.Workspace.evidence_cache_max_bytes`).
        """
        obj = load_grader(cls, path)
        if evidence_store is not None:
            obj.use_evidence_store(evidence_store, max_bytes=evidence_store_max_bytes)
        return obj

    def use_evidence_store(self, path: Path, *, max_bytes: int = DISK_MAX_BYTES) -> None:
        """Keep evidence rows in the SQLite file ``path`` too, keyed by this exact model and code version.

        The file holds at most ``max_bytes`` of rows (every model's together); beyond that the
        oldest-written go first.

        A saved or loaded grader is identified by its pickle's sha256, so a retrained model (or a
        new release) never reads another's rows; an unsaved one by its version and training time.
        The installed versions of the libraries that compute evidence and the vision backbone's
        weights hash are part of the key too (:func:`~assetgrade.grading.cache.evidence_namespace`).
        """
        self._check_fitted()
        model = getattr(self, "bundle_sha_", None) or f"{self.version_}@{self.trained_at_}"
        backbones = {b for ex in self.extractors_.values() if isinstance(b := getattr(ex, "backbone", None), str)}
        self.cache.persist(Path(path), evidence_namespace(model, feature_stack(tuple(sorted(backbones)))),
                           max_bytes=max_bytes)

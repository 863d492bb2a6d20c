"""The Grader: evidence extractors + fusion + calibration + conformal sets + cost-aware decision, in one object.

Training (:meth:`Grader.fit`) is out-of-fold at both levels, so no reported number is in-sample:

1. per modality, grouped K-fold by asset: the extractor is fitted on K-1 folds and extracts the
   held-out one (stacking; Wolpert 1992); the deployed extractor is then fitted on all assets;
2. the fusion model (:class:`~assetgrade.fusion.Fuser`, trained with modality dropout) is
   cross-validated on those blocks; temperature scaling or isotonic calibration is chosen by
   out-of-fold NLL; split-conformal sets (Mondrian by asset type with a pooled fallback) are
   fitted on the cross-calibrated outputs (see :mod:`assetgrade.grading.stacking`);
3. the review threshold on expected cost is chosen on those out-of-fold results by
   Learn-then-Test (:func:`~assetgrade.decision.select_threshold`), so that accepted assets stay
   under ``max_error`` misgrades with probability 1 - ``delta``.

Every grade is a :class:`~assetgrade.result.GradeResult`; :func:`record_grades` stores them as
predictions with audit events naming the input hashes and the model, ontology and code versions.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import numbers
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import numpy as np

from assetgrade.decision import CostConfig, DecisionPolicy
from assetgrade.errors import AssetgradeError, ValidationError
from assetgrade.fusion import Fuser, contradictions_for_blocks
from assetgrade.grading.assemble import build_result, explain_text, modality_evidence
from assetgrade.grading.bundle import PICKLE_NAME, code_version, load_bundle, read_bundle_info, save_bundle
from assetgrade.grading.cache import (
    DISK_MAX_BYTES,
    EvidenceCache,
    asset_input_hash,
    extract_cached,
    share_memos,
    unshare_memos,
)
from assetgrade.grading.decide import choose_policy, decide_asset, evaluate_oof, image_quality_flags
from assetgrade.grading.recording import record_grades  # re-exported: part of the Grader API
from assetgrade.grading.stacking import StackFit, fit_stack
from assetgrade.grading.training import extractor_factory, feature_names_of, manifest_hash, out_of_fold_block
from assetgrade.modalities.base import EvidenceBlock, Extractor, fit_extractor
from assetgrade.result import GradeResult
from assetgrade.seeds import SEED_MAX
from assetgrade.store.records import AssetRecord, as_records

if TYPE_CHECKING:
    from assetgrade.ontology import Ontology
    from assetgrade.workspace import Workspace

__all__ = ["Grader", "record_grades"]

Progress = Callable[[str], None]

RARE_READING = 0.002
"""Share of the training mass below which a combination of readings counts as rare (hatched, not counted)."""

_FUSER_DEFAULTS: dict[str, Any] = {"model": "auto", "use_features": False, "dropout": 0.25, "dropout_copies": 2}
"""The Grader's fusion settings unless ``fuser`` says otherwise (a mapping given overrides these keys)."""


def _checked_extractors(extractors: Any) -> tuple[str | Extractor, ...]:
    """The extractor list as a tuple: a non-empty sequence of names and unfitted Extractor instances.

    >>> _checked_extractors(["vision", "text"])
    ('vision', 'text')
    >>> _checked_extractors("vision")
    Traceback (most recent call last):
    ...
    assetgrade.errors.ValidationError: Grader.extractors: a list of extractor names is needed, not the string ...
    """
    if isinstance(extractors, str):
        raise ValidationError(f"a list of extractor names is needed, not the string {extractors!r} "
                              f"(write [{extractors}])", where="Grader.extractors")
    try:
        given = tuple(extractors)
    except TypeError:
        raise ValidationError(f"a list of extractor names is needed, not {extractors!r}",
                              where="Grader.extractors") from None
    if not given:
        raise ValidationError("no extractor named: the grader needs at least one", where="Grader.extractors")
    for i, spec in enumerate(given):
        if not isinstance(spec, str) and not isinstance(spec, Extractor):
            raise ValidationError(f"item {i} ({spec!r}) is neither an extractor name nor an Extractor "
                                  "(a class with modality, fit and extract)", where="Grader.extractors")
    return given


def _setting_repr(value: Any) -> str:
    """An extractor setting as the model version and bundle record it: an ontology by its name and content
    version (its repr names the file it was read from, so the same ontology elsewhere made another model)."""
    from assetgrade.ontology import Ontology

    if isinstance(value, Ontology):
        return f"Ontology(name={value.name!r}, version={value.version!r})"
    return repr(value)


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
    max_expected_cost : a fixed expected-cost threshold for review, in the cost matrix's currency;
        None (default): learned by Learn-then-Test from ``max_error`` and ``delta``

    Attributes
    ----------
    version_, manifest_hash_, ontology_version_, code_version_, trained_at_, metrics_, modalities_, notes_,
    train_ids_ (the assets it learned from), oof_ (out-of-fold or calibration-set distributions)

    Examples
    --------
    >>> g = Grader(folds=5).fit(workspace)                          # doctest: +SKIP
    >>> r = g.grade("pump-7", workspace=workspace)                   # doctest: +SKIP
    >>> print(g.explain(r)); g.save(workspace.models_dir / "grader")  # doctest: +SKIP
    """

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
    ) -> None:
        for name, value in (("coverage", coverage), ("max_error", max_error), ("delta", delta)):
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value < 1:
                raise ValidationError(f"{name}={value!r} must be a number in (0, 1)", where=f"Grader.{name}")
        for name, value, low in (("folds", folds, 2), ("seed", seed, 0), ("min_group_size", min_group_size, 1),
                                 ("max_set_size", max_set_size, 1)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
                raise ValidationError(f"{name}={value!r} must be a whole number >= {low}", where=f"Grader.{name}")
        if seed > SEED_MAX:  # the fuser's and scikit-learn's limit: a larger seed failed deep inside fit
            raise ValidationError(f"seed={seed!r} must be a whole number in [0, {SEED_MAX}]", where="Grader.seed")
        for name, value in (("mondrian", mondrian), ("review_on_contradiction", review_on_contradiction),
                            ("review_on_quality", review_on_quality)):
            if not isinstance(value, bool | np.bool_):
                raise ValidationError(f"{name}={value!r} must be true or false", where=f"Grader.{name}")
        if max_expected_cost is not None and (isinstance(max_expected_cost, bool)
                                              or not isinstance(max_expected_cost, numbers.Real)
                                              or not 0 <= max_expected_cost < float("inf")):
            raise ValidationError(f"max_expected_cost={max_expected_cost!r} must be a number >= 0, or none to "
                                  "learn the threshold", where="Grader.max_expected_cost")
        if fuser is not None and not isinstance(fuser, Fuser | Mapping):
            raise ValidationError(f"fuser={fuser!r} must be the fusion model's settings (a mapping such as "
                                  "{model: latent}) or a Fuser", where="Grader.fuser")
        if extractor_settings is not None and (
                not isinstance(extractor_settings, Mapping)
                or not all(isinstance(v, Mapping) for v in extractor_settings.values())):
            raise ValidationError(f"extractor_settings={extractor_settings!r} must map each extractor name to its "
                                  "settings (e.g. {vision: {coreset_size: 2000}})", where="Grader.extractor_settings")
        self.extractors = _checked_extractors(extractors)
        from assetgrade.modalities.base import available_extractors

        unknown = sorted(set(extractor_settings or {}) - {"vision", "text", "sensors"})
        if unknown:  # not a built-in name: a registered plug-in, or a typo (the registry is read only then)
            unknown = sorted(set(unknown) - set(available_extractors()))
        if unknown:
            raise ValidationError(f"settings for {unknown}, which {'is no' if len(unknown) == 1 else 'are no'} "
                                  f"extractor; extractors: {available_extractors()}", where="Grader.extractor_settings")
        self.ontology = ontology
        self.costs = costs
        self.coverage = float(coverage)
        self.folds = int(folds)
        self.seed = int(seed)
        self.mondrian = bool(mondrian)
        if isinstance(fuser, Mapping):
            given = dict(fuser)
            try:
                fuser = Fuser(**{**_FUSER_DEFAULTS, "seed": seed, **given})
            except TypeError as exc:
                raise ValidationError(f"bad fuser settings {given}: {exc}", where="Grader.fuser") from exc
            fuser._check_settings()
        self.fuser: Fuser | None = fuser
        self.extractor_settings = {k: dict(v) for k, v in (extractor_settings or {}).items()}
        self.max_error = float(max_error)
        self.delta = float(delta)
        self.review_on_contradiction = bool(review_on_contradiction)
        self.review_on_quality = bool(review_on_quality)
        self.min_group_size = int(min_group_size)
        self.max_set_size = int(max_set_size)
        self.max_expected_cost = None if max_expected_cost is None else float(max_expected_cost)
        self.cache = EvidenceCache()

    @classmethod
    def from_workspace(cls, workspace: Workspace, **overrides: Any) -> Grader:
        """A Grader with the workspace's ``grader:`` and ``policy:`` settings, as ``assetgrade train`` builds it.

        ``overrides`` (Grader keywords; None leaves a setting as configured) win. ``Grader(...)``
        alone uses only what it is given: fitting it on a workspace reads the workspace's
        ontology and costs, not its ``grader:`` settings (folds, extractor settings, RUL model).
        """
        from assetgrade.grader_settings import grader_from_settings, workspace_grader_settings

        return grader_from_settings(workspace_grader_settings(workspace.config), **overrides)

    # ---- training -------------------------------------------------------------------------------
    def _make_fuser(self) -> Fuser:
        b = self.fuser or Fuser(**_FUSER_DEFAULTS, seed=self.seed)
        return Fuser(model=b.model, ordinal=b.ordinal, dropout=b.dropout, dropout_copies=b.dropout_copies,
                     use_features=b.use_features, C=b.C, n_estimators=b.n_estimators, seed=b.seed,
                     monotone=getattr(b, "monotone", False))

    def _settings_for(self, name: str) -> dict[str, Any]:
        kw = dict(getattr(self, "extractor_settings_", self.extractor_settings).get(name, {}))
        if name == "text":
            kw.setdefault("ontology", self.ontology_)
        if name == "vision":
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
        from assetgrade.workspace import Workspace

        say = progress or (lambda _msg: None)
        ontology, costs = self.ontology, self.costs
        if isinstance(source, Workspace):
            from assetgrade.store.loading import load_records

            all_records = load_records(source)
            ontology = ontology or source.ontology()
            if costs is None and source.config.section("costs"):
                costs = CostConfig.from_dict(source.config.section("costs"),  # on this grader's scale
                                             grades=tuple(ontology.grades.names))
        else:
            all_records = as_records(source, "Grader.fit")
        for what, given in (("groups", groups), *((f"modality_labels[{m!r}]", v) for m, v in
                                                   (modality_labels or {}).items() if not isinstance(v, Mapping))):
            if given is not None and len(list(given)) != len(all_records):  # type: ignore[arg-type]
                raise ValidationError(f"{what} has {len(list(given))} entries for {len(all_records)} records; "  # type: ignore[arg-type]
                                      "give one per record, in order", where=f"Grader.fit.{what}")
        self.extractor_settings_ = self.resolve_settings(source.path if isinstance(source, Workspace) else None)
        keep = [i for i, r in enumerate(all_records) if r.grade is not None]
        records = [all_records[i] for i in keep]
        if ontology is None:
            from assetgrade.ontology import default_ontology

            ontology = default_ontology()
        self.ontology_ = ontology
        self.grades_ = tuple(self.ontology_.grades.names)
        self.costs_ = costs or CostConfig(grades=self.grades_)
        if tuple(self.costs_.grades) != self.grades_:
            raise ValidationError(f"cost grades {self.costs_.grades} differ from the ontology's {self.grades_}",
                                  where="config:costs.grades")
        bad = sorted({str(r.grade) for r in records if r.grade not in self.grades_})
        if bad:
            raise ValidationError(f"grades {bad} are not on the scale {list(self.grades_)}", where="labels")
        y = np.array([self.grades_.index(r.grade) for r in records], dtype=np.int64)  # type: ignore[arg-type]
        grp = [str(groups[i]) for i in keep] if groups is not None else [r.asset_id for r in records]
        if len(set(grp)) < self.folds or len(set(y.tolist())) < 2:
            raise ValidationError(f"{len(records)} labelled assets in {len(set(grp))} groups with "
                                  f"{len(set(y.tolist()))} grades: need >= {self.folds} groups and >= 2 grades",
                                  where="Grader.fit")
        labels_of: dict[str, list[str | None]] = {}
        for m, v in (modality_labels or {}).items():
            if isinstance(v, Mapping):
                labels_of[m] = [v.get(r.asset_id) for r in records]
            else:
                labels_of[m] = [list(v)[i] for i in keep]
        asset_labels = [r.grade for r in records]
        types = [r.asset_type for r in records]
        self.notes_: list[str] = []
        self.extractors_: dict[str, Extractor] = {}
        self.feature_names_: dict[str, tuple[str, ...]] = {}
        self.extractor_info_: dict[str, dict[str, Any]] = {}
        shared: dict[str, Any] = {}
        oof: list[EvidenceBlock] = []
        k = len(self.grades_)
        factories = [extractor_factory(spec, self._settings_for(spec) if isinstance(spec, str) else None)
                     for spec in self.extractors]
        twice = sorted(m for m, n in Counter(m for m, _ in factories).items() if n > 1)
        if twice:
            named = [e if isinstance(e, str) else type(e).__name__ for e in self.extractors]
            raise ValidationError(f"more than one extractor reads {', '.join(twice)} (extractors: {named}); "
                                  "the grader keeps one per modality", where="Grader.extractors")
        for modality, make in factories:
            labs = labels_of.get(modality, asset_labels)
            say(f"{modality}: fitting on all {len(records)} assets")
            ex = make()
            share_memos(ex, shared)
            try:
                fit_extractor(ex, records, labs, grp)
                names = feature_names_of(ex)
            except AssetgradeError as exc:
                self.notes_.append(f"{modality} left out: {exc}")
                continue
            oof.append(out_of_fold_block(make, records, labs, grp, names=names, n_classes=k, n_splits=self.folds,
                                         seed=self.seed, shared=shared, progress=say, notes=self.notes_))
            unshare_memos(ex)
            self.extractors_[modality] = ex
            self.feature_names_[modality] = names
            self.extractor_info_[modality] = {
                "class": f"{type(ex).__module__}.{type(ex).__qualname__}",
                "settings": {a: _setting_repr(v) for a, v in sorted(vars(ex).items()) if not a.endswith("_")
                             and not a.startswith("_")},
                "n_features": len(names),
                "labels": "own modality labels" if modality in labels_of else "asset grades",
            }
        if not oof:
            raise ValidationError("no extractor could be fitted: " + "; ".join(self.notes_), where="Grader.fit")
        self.modalities_ = [b.modality for b in oof]
        alpha = 1.0 - self.coverage
        k_kw = {"grades": self.grades_, "make_fuser": self._make_fuser, "alpha": alpha, "n_splits": self.folds,
                "seed": self.seed, "min_group_size": self.min_group_size}
        cal = [r for r in (calibration or []) if r.grade is not None]
        if cal:
            say(f"evidence of the {len(cal)} calibration assets")
            ev_blocks = [extract_cached(ex, cal, key="fit", feature_names=self.feature_names_[m], n_classes=k,
                                        cache=None) for m, ex in self.extractors_.items()]
            ev_y = np.array([self.grades_.index(str(r.grade)) for r in cal], dtype=np.int64)
            cal_grp = [str(g) for g, r in zip(calibration_groups, calibration or [], strict=True)
                       if r.grade is not None] if calibration_groups is not None else [r.asset_id for r in cal]
            ev_records = cal
        else:
            ev_blocks, ev_y, cal_grp, ev_records = oof, y, grp, records
        ev_types = [r.asset_type for r in ev_records]
        ev_values = [r.value for r in ev_records]

        def held(bl: list[EvidenceBlock]) -> Any:
            return (bl, ev_y, cal_grp, ev_types if self.mondrian else None) if cal else None

        say("fusion, calibration and conformal sets" + (" (calibration set)" if cal else " (out-of-fold)"))
        mtypes = types if self.mondrian else None
        stack = fit_stack(oof, y, grp, mtypes, held_out=held(ev_blocks), **k_kw)  # type: ignore[arg-type]
        self.fuser_, self.calibrator_, self.conformal_ = stack.fuser, stack.calibrator, stack.conformal
        self.prior_ = np.bincount(y, minlength=k).astype(np.float64) / len(y)
        self.calibration_ = stack.calibration
        contra = contradictions_for_blocks(ev_blocks, self.grades_)
        self.policy_, self.threshold_choice_ = self._choose_policy(stack.oof_proba, ev_y, ev_values)
        metrics = self._evaluate(stack, ev_blocks, ev_y, ev_values, ev_types, contra, self.policy_)
        metrics["evaluated_on"] = f"calibration set ({len(cal)} assets)" if cal else "out-of-fold"
        metrics["calibration"] = stack.calibration
        metrics["nll_by_calibration"] = stack.nll
        metrics["review_threshold"] = self.policy_.threshold()
        metrics["review_threshold_source"] = ("fixed (max_expected_cost)" if self.max_expected_cost is not None
                                              else "learned (Learn-then-Test)")
        metrics["per_modality"] = {}
        self.single_: dict[str, tuple[StackFit, DecisionPolicy]] = {}
        for b, eb in zip(oof, ev_blocks, strict=True):
            say(f"single-modality reference: {b.modality}")
            single = fit_stack([b], y, grp, mtypes, held_out=held([eb]), **k_kw)  # type: ignore[arg-type]
            pol, _ = self._choose_policy(single.oof_proba, ev_y, ev_values)
            self.single_[b.modality] = (single, pol)
            metrics["per_modality"][b.modality] = pm = self._evaluate(single, [eb], ev_y, ev_values, ev_types, {},
                                                                      pol)
            own = labels_of.get(b.modality, asset_labels)
            ok = [i for i, g in enumerate(own) if g in self.grades_ and b.present[i] and b.grade_proba is not None
                  and np.all(np.isfinite(b.grade_proba[i]))]
            if ok and b.grade_proba is not None:  # the extractor's own out-of-fold accuracy on its training label
                hits = [int(np.argmax(b.grade_proba[i])) == self.grades_.index(str(own[i])) for i in ok]
                pm["extractor_accuracy_on_own_label"] = float(np.mean(hits))
        self.metrics_ = metrics
        self.oof_: dict[str, Any] = {"asset_ids": [r.asset_id for r in ev_records], "y": ev_y,
                                     "proba": stack.oof_proba, "membership": stack.oof_membership, "types": ev_types}
        self.manifest_hash_ = manifest_hash([*records, *cal], [*asset_labels, *(r.grade for r in cal)])
        self.ontology_version_ = str(self.ontology_.version)
        self.code_version_ = code_version()
        self.n_train_ = len(records)
        self.train_ids_ = [r.asset_id for r in records]
        self.n_calibration_ = len(cal)
        self.trained_at_ = datetime.now(UTC).isoformat(timespec="seconds")
        settings = {"extractors": self.extractor_info_, "folds": self.folds, "seed": self.seed,
                    "coverage": self.coverage, "mondrian": self.mondrian, "costs": self.costs_.model_dump(),
                    "fuser": vars(self._make_fuser()), "max_error": self.max_error, "delta": self.delta}
        if self.max_set_size != 1 or self.max_expected_cost is not None:  # absent at their defaults: versions keep
            settings.update(max_set_size=self.max_set_size, max_expected_cost=self.max_expected_cost)
        body = json.dumps([self.manifest_hash_, self.ontology_version_, self.code_version_, settings],
                          sort_keys=True, default=str)
        self.version_ = "grader-" + hashlib.sha256(body.encode()).hexdigest()[:12]
        self.cache = EvidenceCache()  # a new model: no row of the old one, in memory or on disk, may serve it
        self.__dict__.pop("bundle_sha_", None)
        return self

    def _choose_policy(self, proba: np.ndarray, y: np.ndarray, values: Sequence[float | None]) -> tuple[
            DecisionPolicy, Any]:
        policy, choice = choose_policy(proba, y, values, costs=self.costs_, max_error=self.max_error, delta=self.delta,
                                       review_on_contradiction=self.review_on_contradiction,
                                       max_set_size=getattr(self, "max_set_size", 1))
        fixed = getattr(self, "max_expected_cost", None)  # graders pickled before it have none
        if fixed is not None:
            policy = dataclasses.replace(policy, max_expected_cost=fixed)
        return policy, choice

    def _evaluate(self, stack: StackFit, blocks: Sequence[EvidenceBlock], y: np.ndarray,
                  values: Sequence[float | None], types: Sequence[str], contra: Mapping[str, Any],
                  policy: DecisionPolicy) -> dict[str, Any]:
        return evaluate_oof(stack.oof_proba, stack.oof_membership, blocks, y, values, contra, policy,
                            grades=self.grades_, costs=self.costs_, max_error=self.max_error,
                            review_on_quality=self.review_on_quality, accounted_flags=self.accounted_flags())

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
                d = dataclasses.replace(d, reasons=(*d.reasons, note))
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
        """A plain-text explanation of a result."""
        if not isinstance(result, GradeResult):
            raise ValidationError(f"expected the GradeResult of grade(), got {type(result).__name__} {result!r:.60}",
                                  where="Grader.explain")
        return explain_text(result)

    # ---- persistence ----------------------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        """What ``bundle.json`` records: versions, manifest hash, extractor settings, metrics."""
        self._check_fitted()
        return {"model_version": self.version_, "manifest_hash": self.manifest_hash_,
                "ontology_version": self.ontology_version_, "code_version": self.code_version_,
                "trained_at": self.trained_at_, "n_train": self.n_train_, "grades": list(self.grades_),
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
        held = {m: getattr(ex, "_backbone", None) for m, ex in self.extractors_.items()}
        try:
            for m, ex in self.extractors_.items():  # runtime sessions are rebuilt on load
                if held[m] is not None:
                    ex._backbone = None  # type: ignore[attr-defined]
            self.__dict__.pop("bundle_sha_", None)  # a property of the saved file, not of what is pickled
            folder = save_bundle(self, self.info(), Path(path))
        finally:
            for m, ex in self.extractors_.items():
                if held[m] is not None:
                    ex._backbone = held[m]  # type: ignore[attr-defined]
        self.bundle_sha_ = str(read_bundle_info(folder)["pickle_sha256"])
        return folder

    @classmethod
    def load(cls, path: Path, *, evidence_store: Path | None = None,
             evidence_store_max_bytes: int = DISK_MAX_BYTES) -> Grader:
        """A Grader saved by :meth:`save` (the pickle's sha256 is checked first).

        ``evidence_store``: a SQLite file (a workspace's ``cache/evidence.sqlite``) that keeps the
        evidence rows this grader computes across processes (:meth:`use_evidence_store`), capped at
        ``evidence_store_max_bytes`` (a workspace's :attr:`~assetgrade.workspace.Workspace.evidence_cache_max_bytes`).
        """
        obj, info = load_bundle(Path(path))
        if not isinstance(obj, cls):
            raise ValidationError(f"{path} holds a {type(obj).__name__}, not a Grader", where=str(path))
        for key, have in (("model_version", getattr(obj, "version_", None)),
                          ("manifest_hash", getattr(obj, "manifest_hash_", None)),
                          ("grades", list(getattr(obj, "grades_", ()) or ()))):
            if key in info and info[key] != have:  # the pickle is hashed; bundle.json's description is checked here
                raise ValidationError(f"bundle.json says {key} {info[key]!r} but {PICKLE_NAME} holds {have!r}: the "
                                      "bundle was edited; save the grader again", where=str(Path(path) / "bundle.json"))
        obj.bundle_sha_ = str(info["pickle_sha256"])
        if evidence_store is not None:
            obj.use_evidence_store(evidence_store, max_bytes=evidence_store_max_bytes)
        return obj

    def use_evidence_store(self, path: Path, *, max_bytes: int = DISK_MAX_BYTES) -> None:
        """Keep evidence rows in the SQLite file ``path`` too, keyed by this exact model and code version.

        The file holds at most ``max_bytes`` of rows (every model's together); beyond that the
        oldest-written go first.

        A saved or loaded grader is identified by its pickle's sha256, so a retrained model (or a
        new release) never reads another's rows; an unsaved one by its version and training time.
        """
        self._check_fitted()
        model = getattr(self, "bundle_sha_", None) or f"{self.version_}@{self.trained_at_}"
        self.cache.persist(Path(path), f"{model}/{code_version()}", max_bytes=max_bytes)

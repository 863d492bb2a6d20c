"""The Grader's training: out-of-fold evidence and fusion stack, review policy, figures and model version.

Training is out-of-fold at both levels, so no reported number is in-sample:

1. per modality, grouped K-fold by asset: the extractor is fitted on K-1 folds and extracts the
   held-out one (stacking; Wolpert 1992); the deployed extractor is then fitted on all assets
   (see :mod:`assetgrade.grading.training`);
2. the fusion model (:class:`~assetgrade.fusion.Fuser`, trained with modality dropout) is
   cross-validated on those blocks; temperature scaling or isotonic calibration is chosen by
   out-of-fold NLL; split-conformal sets (Mondrian by asset type with a pooled fallback) are
   fitted on the cross-calibrated outputs (see :mod:`assetgrade.grading.stacking`);
3. the review threshold on expected cost is chosen on those out-of-fold results by
   Learn-then-Test (:func:`~assetgrade.decision.select_threshold`), so that the assets the whole
   policy accepts (the other review rules applied too) stay under ``max_error`` misgrades with
   probability 1 - ``delta``.

The model version hashes the training manifest, the ontology and code versions and the
settings; it names no module path, so moving code between modules leaves it (and every cache
key built from it) unchanged.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

from assetgrade.decision import CostConfig, DecisionPolicy
from assetgrade.errors import AssetgradeError, ValidationError
from assetgrade.fusion import contradictions_for_blocks
from assetgrade.grading.bundle import code_version
from assetgrade.grading.cache import EvidenceCache, extract_cached, share_memos, unshare_memos
from assetgrade.grading.decide import choose_policy, evaluate_oof, review_inputs
from assetgrade.grading.stacking import StackFit, fit_stack
from assetgrade.grading.training import (
    extractor_factory,
    feature_names_of,
    file_hashes,
    linked_groups,
    manifest_hash,
    out_of_fold_block,
    shared_with_training,
)
from assetgrade.modalities.base import EvidenceBlock, fit_extractor
from assetgrade.store.records import AssetRecord, as_records

if TYPE_CHECKING:
    from assetgrade.grader import Grader
    from assetgrade.workspace import Workspace

__all__ = ["fit_grader", "model_version", "setting_repr", "version_settings"]

Progress = Callable[[str], None]


def setting_repr(value: Any) -> str:
    """An extractor setting as the model version and bundle record it: an ontology by its name and content
    version (its repr names the file it was read from, so the same ontology elsewhere made another model).

    >>> setting_repr(0.5), setting_repr("lite0")
    ('0.5', "'lite0'")
    """
    from assetgrade.ontology import Ontology

    if isinstance(value, Ontology):
        return f"Ontology(name={value.name!r}, version={value.version!r})"
    return repr(value)


def model_version(manifest: str, ontology_version: str, code: str, settings: Mapping[str, Any]) -> str:
    """``grader-`` and 12 hex digits of the sha256 over the training manifest, versions and settings.

    >>> v = model_version("m", "1", "0.1", {"folds": 5})
    >>> v.startswith("grader-"), len(v), v == model_version("m", "1", "0.1", {"folds": 5})
    (True, 19, True)
    """
    body = json.dumps([manifest, ontology_version, code, settings], sort_keys=True, default=str)
    return "grader-" + hashlib.sha256(body.encode()).hexdigest()[:12]


def version_settings(grader: Grader) -> dict[str, Any]:
    """The settings of a fitted grader that its model version hashes (extractors as ``extractor_info_`` has them)."""
    settings = {"extractors": grader.extractor_info_, "folds": grader.folds, "seed": grader.seed,
                "coverage": grader.coverage, "mondrian": grader.mondrian, "costs": grader.costs_.model_dump(),
                "fuser": vars(grader._make_fuser()), "max_error": grader.max_error, "delta": grader.delta}
    if grader.max_set_size != 1 or grader.max_expected_cost is not None:  # absent at their defaults: versions keep
        settings.update(max_set_size=grader.max_set_size, max_expected_cost=grader.max_expected_cost)
    # these change the decisions (or what an extractor learned) too; at their defaults they are left out as above.
    # Without them two graders that decide differently shared a version, so grade --changed skipped every asset
    # after such a retraining and batch grade's prediction ids took one model's results for the other's.
    for name, default in (("review_on_contradiction", True), ("review_on_quality", True), ("min_group_size", 30),
                          ("review_outside_set", True)):
        if getattr(grader, name, default) != default:
            settings[name] = getattr(grader, name)
    if getattr(grader, "modality_labels_hash_", None) is not None:
        settings["modality_labels"] = grader.modality_labels_hash_
    return settings


def _choose_policy(grader: Grader, stack: StackFit, blocks: Sequence[EvidenceBlock], y: np.ndarray,
                   values: Sequence[float | None], contra: Mapping[str, Any]) -> tuple[DecisionPolicy, Any]:
    # certified on what the whole policy accepts: the out-of-fold sets, contradictions and image flags that
    # _evaluate decides with remove assets from each candidate threshold's accepted group
    inputs = review_inputs(stack.oof_membership, blocks, contra, grades=grader.grades_,
                           accounted_flags=grader.accounted_flags())
    policy, choice = choose_policy(stack.oof_proba, y, values, costs=grader.costs_, max_error=grader.max_error,
                                   delta=grader.delta, review_on_contradiction=grader.review_on_contradiction,
                                   max_set_size=getattr(grader, "max_set_size", 1),
                                   review_outside_set=getattr(grader, "review_outside_set", True),
                                   conformal_sets=inputs.conformal_sets, contradictions=inputs.contradictions,
                                   image_flags=inputs.image_flags, review_on_quality=grader.review_on_quality)
    fixed = getattr(grader, "max_expected_cost", None)  # graders pickled before it have none
    if fixed is not None:
        policy = dataclasses.replace(policy, max_expected_cost=fixed)
    return policy, choice


def _evaluate(grader: Grader, stack: StackFit, blocks: Sequence[EvidenceBlock], y: np.ndarray,
              values: Sequence[float | None], types: Sequence[str], contra: Mapping[str, Any],
              policy: DecisionPolicy) -> dict[str, Any]:
    return evaluate_oof(stack.oof_proba, stack.oof_membership, blocks, y, values, contra, policy,
                        grades=grader.grades_, costs=grader.costs_, max_error=grader.max_error,
                        review_on_quality=grader.review_on_quality, accounted_flags=grader.accounted_flags())


def fit_grader(
    grader: Grader,
    source: Workspace | Sequence[AssetRecord],
    *,
    modality_labels: Mapping[str, Sequence[str | None] | Mapping[str, str | None]] | None = None,
    groups: Sequence[str] | None = None,
    calibration: Sequence[AssetRecord] | None = None,
    calibration_groups: Sequence[str] | None = None,
    progress: Progress | None = None,
) -> None:
    """Train ``grader`` in place (what :meth:`Grader.fit <assetgrade.grader.Grader.fit>` does; see there)."""
    from assetgrade.workspace import Workspace

    say = progress or (lambda _msg: None)
    ontology, costs = grader.ontology, grader.costs
    labels_read: datetime | None = None  # when the workspace's labels were read (None: records were given)
    labels_head: tuple[int, str | None] = (0, None)  # the audit chain's last event then (0: none, or records)
    if isinstance(source, Workspace):
        from assetgrade.store.audit import chain_head
        from assetgrade.store.loading import load_records

        labels_read = datetime.now(UTC)
        with source.session(readonly=True) as s:  # as retrain does: the store's arrival order, not writers' clocks
            labels_head = chain_head(s) or (0, None)
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
    grader.extractor_settings_ = grader.resolve_settings(source.path if isinstance(source, Workspace) else None)
    keep = [i for i, r in enumerate(all_records) if r.grade is not None]
    records = [all_records[i] for i in keep]
    if ontology is None:
        from assetgrade.ontology import default_ontology

        ontology = default_ontology()
    grader.ontology_ = ontology
    grader.grades_ = tuple(grader.ontology_.grades.names)
    grader.costs_ = costs or CostConfig(grades=grader.grades_)
    if tuple(grader.costs_.grades) != grader.grades_:
        raise ValidationError(f"cost grades {grader.costs_.grades} differ from the ontology's {grader.grades_}",
                              where="config:costs.grades")
    bad = sorted({str(r.grade) for r in records if r.grade not in grader.grades_})
    if bad:
        raise ValidationError(f"grades {bad} are not on the scale {list(grader.grades_)}", where="labels")
    y = np.array([grader.grades_.index(r.grade) for r in records], dtype=np.int64)  # type: ignore[arg-type]
    user_groups = [str(groups[i]) for i in keep] if groups is not None else None
    # assets holding the same image or series file are one group: split apart, the file and its label sat on
    # both sides of a fold (twins with noise grades scored out-of-fold accuracy 0.77 against chance 0.25)
    grp = linked_groups(records, user_groups if user_groups is not None else [r.asset_id for r in records])
    if len(set(grp)) < grader.folds or len(set(y.tolist())) < 2:
        seen = sorted({str(r.grade) for r in records}, key=grader.grades_.index)
        todo = []  # what to do about it, as well as what is missing
        if len(seen) < 2:
            todo.append("label assets of at least two grades" + (f" (all are {seen[0]})" if seen else ""))
        if len(set(grp)) < grader.folds:
            todo.append(f"{grader.folds} folds need >= {grader.folds} groups: label more assets, or train with fewer "
                        "folds (--folds, or grader.folds in assetgrade.yaml; at least 2)")
        what = (f"{len(records)} labelled assets in {len(set(grp))} groups (assets sharing an image or series file "
                f"count as one) with {len(seen)} grade(s)" if records else
                f"none of the {len(all_records)} assets has a grade label" if all_records
                else "no assets to learn from (assetgrade ingest adds them)")
        raise ValidationError(f"{what}: {'; '.join(todo)}", where="Grader.fit")
    cal = [r for r in (calibration or []) if r.grade is not None]
    cal_given = [str(g) for g, r in zip(calibration_groups, calibration or [], strict=True)
                 if r.grade is not None] if cal and calibration_groups is not None else None
    tied = shared_with_training(records, user_groups, cal, cal_given)
    if tied:  # the deployed model's outputs on these are in-sample: no split-conformal guarantee, rosy figures
        raise ValidationError(f"{len(tied)} calibration asset(s) are not held out from training: "
                              f"{'; '.join(tied[:5])}{' ...' if len(tied) > 5 else ''}; calibrate on assets "
                              "the grader does not learn from", where="Grader.fit.calibration")
    labels_of: dict[str, list[str | None]] = {}
    for m, v in (modality_labels or {}).items():
        if isinstance(v, Mapping):
            labels_of[m] = [v.get(r.asset_id) for r in records]
        else:
            labels_of[m] = [list(v)[i] for i in keep]
    asset_labels = [r.grade for r in records]
    grader.modality_labels_hash_ = None if not labels_of else hashlib.sha256(json.dumps(
        sorted((m, r.asset_id, lab) for m, labs in labels_of.items() for r, lab in zip(records, labs, strict=True)),
        default=str).encode("utf-8")).hexdigest()
    types = [r.asset_type for r in records]
    grader.notes_ = []
    origins = {str(e.origin) for r in records for refs in (r.images, r.logs, r.series) for e in refs}
    if "real" not in origins:
        grader.notes_.append(f"origin: none of the {len(records)} labelled assets holds real evidence (all synthetic "
                             "or augmented): the figures describe that data, not real assets (assetgrade audit "
                             "--checks synthetic_share)")
    unseen = [g for g in grader.grades_ if g not in {r.grade for r in records}]
    if unseen:  # as config check --data warns: train printed nothing about it
        grader.notes_.append(f"labels: none of the {len(records)} labelled assets has grade(s) {', '.join(unseen)}: "
                             "the grader learns nothing about them and will rarely choose them")
    grader.extractors_ = {}
    grader.feature_names_ = {}
    grader.extractor_info_ = {}
    shared: dict[str, Any] = {}
    oof: list[EvidenceBlock] = []
    k = len(grader.grades_)
    factories = [extractor_factory(spec, grader._settings_for(spec) if isinstance(spec, str) else None)
                 for spec in grader.extractors]
    twice = sorted(m for m, n in Counter(m for m, _ in factories).items() if n > 1)
    if twice:
        named = [e if isinstance(e, str) else type(e).__name__ for e in grader.extractors]
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
            grader.notes_.append(f"{modality} left out: {exc}")
            continue
        grader.notes_ += [f"{modality}: {note}" for note in getattr(ex, "fit_notes_", ())]  # what it could not learn
        block = out_of_fold_block(make, records, labs, grp, names=names, n_classes=k, n_splits=grader.folds,
                                  seed=grader.seed, shared=shared, progress=say, notes=grader.notes_)
        unshare_memos(ex)
        if not block.present.any():  # e.g. text with no log at all: its figures would be the grade mix's
            grader.notes_.append(f"{modality} left out: none of the {len(records)} labelled assets has {modality} "
                                 "evidence out of fold (none holds any, or only assets whose fold could not fit it)")
            continue
        oof.append(block)
        grader.extractors_[modality] = ex
        grader.feature_names_[modality] = names
        grader.extractor_info_[modality] = {
            "class": f"{type(ex).__module__}.{type(ex).__qualname__}",
            "settings": {a: setting_repr(v) for a, v in sorted(vars(ex).items()) if not a.endswith("_")
                         and not a.startswith("_")},
            "n_features": len(names),
            "labels": "own modality labels" if modality in labels_of else "asset grades",
        }
    if not oof:
        left = [n for n in grader.notes_ if " left out: " in n]  # not the notes about labels or origin
        raise ValidationError("no extractor could be fitted: " + "; ".join(left or grader.notes_)
                              + " (assetgrade config check --data counts the labelled assets holding each evidence)",
                              where="Grader.fit")
    grader.modalities_ = [b.modality for b in oof]
    # in decimal as written: 1.0 - 0.9 is 0.09999999999999998, whose finite-sample rank is one too high when
    # (n + 1) * 0.9 is whole (9 calibration assets gave every set all grades, 19 took the largest score but one)
    alpha = float(1 - Fraction(repr(float(grader.coverage))))
    k_kw = {"grades": grader.grades_, "make_fuser": grader._make_fuser, "alpha": alpha, "n_splits": grader.folds,
            "seed": grader.seed, "min_group_size": grader.min_group_size}
    if cal:
        say(f"evidence of the {len(cal)} calibration assets")
        ev_blocks = [extract_cached(ex, cal, key="fit", feature_names=grader.feature_names_[m], n_classes=k,
                                    cache=None) for m, ex in grader.extractors_.items()]
        ev_y = np.array([grader.grades_.index(str(r.grade)) for r in cal], dtype=np.int64)
        cal_grp = linked_groups(cal, cal_given if cal_given is not None else [r.asset_id for r in cal])
        ev_records = cal
    else:
        ev_blocks, ev_y, cal_grp, ev_records = oof, y, grp, records
    ev_types = [r.asset_type for r in ev_records]
    ev_values = [r.value for r in ev_records]

    def held(bl: list[EvidenceBlock]) -> Any:
        return (bl, ev_y, cal_grp, ev_types if grader.mondrian else None) if cal else None

    say("fusion, calibration and conformal sets" + (" (calibration set)" if cal else " (out-of-fold)"))
    mtypes = types if grader.mondrian else None
    stack = fit_stack(oof, y, grp, mtypes, held_out=held(ev_blocks), **k_kw)  # type: ignore[arg-type]
    grader.fuser_, grader.calibrator_, grader.conformal_ = stack.fuser, stack.calibrator, stack.conformal
    if (thin := stack.conformal.too_few()) is not None:  # the coverage figure would read 1.000, and mean nothing
        grader.notes_.append(f"conformal: {thin[0]} calibration assets, fewer than the {thin[1]} a "
                             f"{round(100 * grader.coverage, 6):g}% set needs: every prediction set holds all "
                             "grades (coverage 100% says nothing); label more assets")
    grader.prior_ = np.bincount(y, minlength=k).astype(np.float64) / len(y)
    grader.calibration_ = stack.calibration
    contra = contradictions_for_blocks(ev_blocks, grader.grades_)
    grader.policy_, grader.threshold_choice_ = _choose_policy(grader, stack, ev_blocks, ev_y, ev_values, contra)
    metrics = _evaluate(grader, stack, ev_blocks, ev_y, ev_values, ev_types, contra, grader.policy_)
    metrics["evaluated_on"] = f"calibration set ({len(cal)} assets)" if cal else "out-of-fold"
    metrics["calibration"] = stack.calibration
    metrics["nll_by_calibration"] = stack.nll
    metrics["review_threshold"] = grader.policy_.threshold()
    metrics["review_threshold_source"] = ("fixed (max_expected_cost)" if grader.max_expected_cost is not None
                                          else "learned (Learn-then-Test)")
    metrics["per_modality"] = {}
    grader.single_ = {}
    for b, eb in zip(oof, ev_blocks, strict=True):
        say(f"single-modality reference: {b.modality}")
        single = fit_stack([b], y, grp, mtypes, held_out=held([eb]), **k_kw)  # type: ignore[arg-type]
        pol, _ = _choose_policy(grader, single, [eb], ev_y, ev_values, {})
        grader.single_[b.modality] = (single, pol)
        metrics["per_modality"][b.modality] = pm = _evaluate(grader, single, [eb], ev_y, ev_values, ev_types, {},
                                                                  pol)
        own = labels_of.get(b.modality, asset_labels)
        ok = [i for i, g in enumerate(own) if g in grader.grades_ and b.present[i] and b.grade_proba is not None
              and np.all(np.isfinite(b.grade_proba[i]))]
        if ok and b.grade_proba is not None:  # the extractor's own out-of-fold accuracy on its training label
            hits = [int(np.argmax(b.grade_proba[i])) == grader.grades_.index(str(own[i])) for i in ok]
            pm["extractor_accuracy_on_own_label"] = float(np.mean(hits))
    grader.metrics_ = metrics
    grader.oof_ = {"asset_ids": [r.asset_id for r in ev_records], "y": ev_y,
                                 "proba": stack.oof_proba, "membership": stack.oof_membership, "types": ev_types}
    grader.manifest_hash_ = manifest_hash([*records, *cal], [*asset_labels, *(r.grade for r in cal)])
    grader.ontology_version_ = str(grader.ontology_.version)
    grader.code_version_ = code_version()
    grader.n_train_ = len(records)
    grader.train_ids_ = [r.asset_id for r in records]
    # the files it learned from, kept so out-of-sample scoring knows a copy of one after its asset is deleted or
    # changed (sorted: a set pickles in hash-seed order, and the pickle's bytes should not depend on it)
    grader.train_files_ = tuple(sorted({sha for r in records for sha in file_hashes(r)}))
    grader.n_calibration_ = len(cal)
    grader.trained_at_ = datetime.now(UTC).isoformat(timespec="seconds")
    # labels stored after this are ones the model never saw (the new-labels retrain trigger counts from it)
    grader.labels_as_of_ = None if labels_read is None else labels_read.isoformat(timespec="microseconds")
    # and labels whose label.add audit event comes after this position (the trigger prefers it to the time)
    grader.labels_seq_ = None if labels_read is None else labels_head[0]
    grader.labels_seq_hash_ = None if labels_read is None else labels_head[1]
    grader.version_ = model_version(grader.manifest_hash_, grader.ontology_version_, grader.code_version_,
                                    version_settings(grader))
    grader.cache = EvidenceCache()  # a new model: no row of the old one, in memory or on disk, may serve it
    grader.__dict__.pop("bundle_sha_", None)

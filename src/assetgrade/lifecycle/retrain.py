"""Retraining from reviewed labels: fit a challenger, register it with lineage, report before/after on the golden set.

The training set is every labelled asset of the workspace with its current grade (a human's
label wins over a machine's, a reviewer's over an imported one; an asset with machine labels only,
such as ``pseudo``, is not trained on: :mod:`assetgrade.store.precedence`), **minus the golden
set's assets** and the assets holding a copy of their evidence (the same stored file, or one augmented from it:
:func:`golden_copies`), so the golden figures stay independent of training. The new version is registered as a candidate
whose parent is the current champion, with lineage (assets, reviewed labels used, origin mix,
excluded golden assets, ``labels_seq`` and ``labels_seq_hash``: the audit chain's last event just
before the labels were read, from which the new-labels trigger counts, and ``labels_as_of``: the time
then); champion and challenger are evaluated on the verified golden set
and compared under the workspace promotion policy. Promotion is a separate, explicit step
(``promote=True`` or ``assetgrade models promote``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from assetgrade.errors import ConflictError, NotFoundError, ValidationError
from assetgrade.lifecycle.evaluate import Comparison, GoldenEvaluation, compare
from assetgrade.lifecycle.registry import ModelInfo, ModelRegistry
from assetgrade.store.audit import chain_head
from assetgrade.store.precedence import is_machine_label
from assetgrade.store.records import AssetRecord
from assetgrade.store.schema import Evidence, Label, Provenance, utcnow
from assetgrade.store.withdrawals import not_withdrawn

if TYPE_CHECKING:
    from assetgrade.workspace import Workspace

__all__ = ["RetrainResult", "default_fit", "golden_copies", "retrain"]

FitFn = Callable[[Sequence[AssetRecord]], Any]


def _chunks(values: Sequence[str], size: int = 500) -> list[list[str]]:
    return [list(values[i:i + size]) for i in range(0, len(values), size)]


def golden_copies(session: Session, golden_ids: Collection[str]) -> list[str]:
    """Assets outside ``golden_ids`` that hold a golden asset's evidence: the same stored file (blob), or
    evidence whose provenance names golden evidence as its parent (an augmentation of it). Sorted.

    Training on such an asset is training on the golden asset under another id, so its golden
    figures would not be independent. Inline text (log entries) is not compared: short logs
    ("PM done") repeat across assets without being copies. A withdrawn copy is not counted: training
    never reads it (:func:`~assetgrade.store.loading.load_records` leaves it out), so an asset whose
    copies are all withdrawn is trained on; a reinstated one counts again. A golden asset's own
    withdrawn evidence still counts as golden (held out the safe way: it may be reinstated).
    """
    ids = sorted(golden_ids)
    gold_ev: set[str] = set()
    gold_blobs: set[str] = set()
    for part in _chunks(ids):
        for ev_id, blob in session.execute(select(Evidence.id, Evidence.blob_sha).where(Evidence.asset_id.in_(part))):
            gold_ev.add(ev_id)
            if blob:
                gold_blobs.add(blob)
    found: set[str] = set()
    for part in _chunks(sorted(gold_blobs)):
        found.update(session.execute(select(Evidence.asset_id).where(Evidence.blob_sha.in_(part), not_withdrawn()))
                     .scalars())
    for part in _chunks(sorted(gold_ev)):
        found.update(session.execute(
            select(Evidence.asset_id).join(Provenance, Provenance.evidence_id == Evidence.id)
            .where(Provenance.parent_evidence_id.in_(part), not_withdrawn())).scalars())
    return sorted(found - set(golden_ids))


def default_fit(ws: Workspace) -> FitFn:
    """``Grader(**config grader section, ontology, costs).fit(records)`` for this workspace.

    Paths in the extractor settings (a saved ``rul_model``) are read relative to the workspace
    folder, as ``assetgrade train`` reads them, whatever the current directory.
    """

    def fit(records: Sequence[AssetRecord]) -> Any:
        from assetgrade.grader_factory import grader_from_settings
        from assetgrade.grader_settings import workspace_grader_settings

        grader = grader_from_settings(workspace_grader_settings(ws.config), ontology=ws.ontology(), costs=ws.costs())
        # Grader.fit resolves settings against the workspace only when given the workspace itself;
        # a list of records (golden assets held out) would resolve a relative path against the cwd.
        given = grader.extractor_settings
        grader.extractor_settings = grader.resolve_settings(ws.path)
        try:
            return grader.fit(list(records))
        finally:
            grader.extractor_settings = given  # the setting as written, as after ``train``

    return fit


@dataclass
class RetrainResult:
    """What a retraining did: the new version, its lineage, golden figures before and after, the comparison."""

    model: ModelInfo
    parent: str | None
    n_train: int
    n_reviewed: int
    n_golden_excluded: int
    golden: str | None
    before: GoldenEvaluation | None
    after: GoldenEvaluation | None
    comparison: Comparison | None
    promoted: bool = False
    promotion_error: str | None = None
    grading_model: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"version": self.model.version, "parent": self.parent, "n_train": self.n_train,
                "n_reviewed": self.n_reviewed, "n_golden_excluded": self.n_golden_excluded, "golden": self.golden,
                "before": None if self.before is None else self.before.to_dict(),
                "after": None if self.after is None else self.after.to_dict(),
                "comparison": None if self.comparison is None else self.comparison.to_dict(),
                "promoted": self.promoted, "promotion_error": self.promotion_error,
                "grading_model": self.grading_model}


def retrain(
    ws: Workspace, *, golden: str | None = "default", fit: FitFn | None = None, loader: str = "grader",
    version: str | None = None, promote: bool = False, actor: str = "system", min_reviewed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> RetrainResult:
    """Fit a challenger on the reviewed labels, register it, and evaluate champion and challenger on ``golden``.

    A ``golden`` set that does not exist is a NotFoundError naming the known ones, before any
    training; only the default name, in a workspace with no golden set at all, falls back to
    training on every labelled asset without a comparison (``result.golden`` is None, and
    ``progress`` says so).
    """
    from assetgrade.lifecycle.golden import get_golden_set, list_golden_sets
    from assetgrade.store.loading import load_records

    say = progress or (lambda _m: None)
    reg = ModelRegistry(ws)
    if version is not None:
        reg.check_new_version(version)  # before training, not after it
    champion = reg.champion()
    golden_ids: set[str] = set()
    if golden is not None:
        with ws.session(readonly=True) as s:
            try:
                golden_ids = set(get_golden_set(s, golden).asset_ids)
            except NotFoundError:
                if golden != "default" or list_golden_sets(s):
                    raise  # a named set that does not exist: the error names the known ones
                say("no golden set in this workspace: training on every labelled asset, no before/after "
                    "comparison (freeze one with assetgrade golden freeze)")
                golden = None
    say("loading records")
    labels_as_of = utcnow()  # labels created after this are ones the new model did not train on (new_labels trigger)
    with ws.session(readonly=True) as s:
        # and labels recorded after this audit event: the store's arrival order, whatever writers' clocks say
        head = chain_head(s) or (0, None)
        copies = golden_copies(s, golden_ids)
    held_out = golden_ids | set(copies)
    records = [r for r in load_records(ws) if r.grade is not None and r.asset_id not in held_out]
    excluded = len(golden_ids)
    with ws.session(readonly=True) as s:  # a person's review: one posted under a machine's name is a machine label
        reviewed_assets = {a for a, annotator in s.execute(select(Label.asset_id, Label.annotator).where(
            Label.kind == "grade", Label.source == "review")).tuples() if not is_machine_label("review", annotator)}
    n_reviewed = sum(1 for r in records if r.asset_id in reviewed_assets)
    if n_reviewed < min_reviewed:
        raise ValidationError(f"{n_reviewed} assets with reviewed labels; at least {min_reviewed} asked for",
                              where="retrain")
    if not records:
        raise ValidationError("no labelled assets to train on (outside the golden set)", where="retrain")
    say(f"training on {len(records)} assets ({n_reviewed} with reviewed labels, {excluded} golden assets held out"
        + (f", and {len(copies)} holding copies of their evidence" if copies else "") + ")")
    model = (fit or default_fit(ws))(records)
    origins = Counter(img.origin for r in records for img in r.images)
    lineage = {"n_train": len(records), "n_reviewed_labels": n_reviewed, "golden_excluded": excluded,
               "golden_copies_excluded": copies,
               "golden_set": golden, "grade_mix": dict(Counter(str(r.grade) for r in records)),
               "image_origins": dict(origins), "trained_from": "workspace labels, reviewed labels first",
               "labels_as_of": labels_as_of.isoformat(), "labels_seq": head[0], "labels_seq_hash": head[1]}
    info = reg.register(model, version=version, loader=loader, parent_version=champion.version if champion else None,
                        lineage=lineage, actor=actor, notes="retrained from reviewed labels")
    say(f"registered {info.version}")
    before = after = None
    comparison = None
    if golden is not None:
        after = reg.evaluate(info.version, golden)
        if champion is not None:
            before = reg.evaluate(champion.version, golden)
            comparison = compare(before, after, reg.policy())
    result = RetrainResult(reg.get(info.version), champion.version if champion else None, len(records), n_reviewed,
                           excluded, golden, before, after, comparison)
    if promote and golden is None:
        result.promotion_error = ("no golden set to compare the challenger with the champion on; freeze one "
                                  "(assetgrade golden freeze) and promote with assetgrade models promote")
    elif promote and golden is not None:
        try:
            promoted = reg.promote(info.version, golden=golden, actor=actor)
            result.promoted, result.grading_model = True, promoted.grading_model
            result.model = reg.get(info.version)
        except ConflictError as exc:
            result.promotion_error = str(exc)
    return result

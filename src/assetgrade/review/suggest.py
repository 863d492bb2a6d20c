"""Which unlabelled assets to label next: an active-learning strategy over the trained Grader's view.

The strategies of :mod:`assetgrade.review.selection` need, for every asset, class probabilities
and an embedding. Here both come from a trained :class:`~assetgrade.grader.Grader`: the
probabilities are its calibrated grade distribution, the embedding is the assets' evidence
(every modality's feature block standardised, each block scaled to the same total weight, an
absent modality at the block's mean, then PCA). Labelled assets are those with a grade label
(``record.grade``). The default strategy, ``budget_switch``, covers the dense regions of the
evidence while labels are few and follows the model's uncertainty once there are enough
(docs/review.md; measured on NEU and ELPV in docs/benchmarks.md). :func:`label_round` runs one
round over a workspace and, when asked, stores it as label requests (:mod:`assetgrade.store.requests`);
the CLI (``assetgrade review suggest``), ``POST /api/v1/review/requests`` and the UI's form call it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from dataclasses import replace as replace_fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from assetgrade.errors import NotFoundError, ValidationError
from assetgrade.modalities.base import EvidenceBlock
from assetgrade.review.selection import SelectionContext, get_strategy
from assetgrade.store.records import AssetRecord
from assetgrade.store.requests import EnqueueReport, RequestedLabel, add_label_requests
from assetgrade.store.schema import new_id

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from assetgrade.grader import Grader
    from assetgrade.store.label_counts import GradeLabelCounts
    from assetgrade.workspace import Workspace

__all__ = ["LabelRound", "LabelSuggestion", "check_round", "evidence_embedding", "label_round", "no_grader_error",
           "suggest_labels"]

FloatArray = npt.NDArray[np.float64]
_BATCH = 256


@dataclass(frozen=True)
class LabelSuggestion:
    """One asset worth labelling next, in the order the strategy chose it."""

    rank: int
    asset_id: str
    predicted_grade: str
    confidence: float
    """The grader's probability of its own grade."""
    margin: float
    """Probability of the best grade minus the second best (small: the grader hesitates)."""
    expected_cost: float
    currency: str | None = field(default=None, kw_only=True)
    """What ``expected_cost`` is in: the ``currency`` of the cost settings the grader decided with (None: they name
    none). Keyword-only, so that it sits beside ``expected_cost`` in :meth:`as_dict`."""
    chosen_by: str
    """The strategy (for ``budget_switch``: the part in charge, typiclust or uncertain_coreset)."""

    def as_dict(self) -> dict[str, Any]:
        """The suggestion as a plain dict (JSON output)."""
        return asdict(self)


def evidence_embedding(blocks: Sequence[EvidenceBlock], *, dims: int = 32, seed: int = 0) -> FloatArray:
    """One row per asset from the evidence blocks: standardised, equal weight per modality, PCA to ``dims``.

    Each feature column is centred and scaled by its standard deviation over the assets where it
    is present and finite (constant columns are dropped); missing values become 0 (the column
    mean). A block is divided by the square root of its width, so a modality with 1,900 features
    weighs as much as one with 20.

    Examples
    --------
    >>> import numpy as np
    >>> from assetgrade.modalities.base import EvidenceBlock
    >>> b = EvidenceBlock("sensors", ["a", "b", "c"], ("x", "y"), np.array([[0.0, 1], [1, 3], [2, np.nan]]),
    ...                   np.array([True, True, True]), {}, {})
    >>> evidence_embedding([b], dims=2).shape
    (3, 2)
    """
    if not blocks:
        raise ValidationError("no evidence blocks", where="evidence_embedding")
    n = len(blocks[0].asset_ids)
    parts: list[FloatArray] = []
    for b in blocks:
        x = np.array(b.features, dtype=np.float64)
        x[~np.asarray(b.present, dtype=bool)] = np.nan
        finite = np.isfinite(x)
        cnt = finite.sum(axis=0)
        mean = np.where(cnt > 0, np.nansum(np.where(finite, x, 0.0), axis=0) / np.maximum(cnt, 1), 0.0)
        z = np.where(finite, x - mean, 0.0)
        sd = np.sqrt((z**2).sum(axis=0) / np.maximum(cnt - 1, 1))
        keep = sd > 1e-12
        if keep.any():
            parts.append(z[:, keep] / sd[keep] / np.sqrt(keep.sum()))
    if not parts:
        return np.zeros((n, 1))
    full = np.hstack(parts)
    k = int(min(dims, full.shape[1], max(n - 1, 1)))
    if k >= full.shape[1]:
        return full
    from sklearn.decomposition import PCA

    out: FloatArray = PCA(n_components=k, random_state=seed).fit_transform(full)
    return out


def suggest_labels(
    grader: Grader,
    records: Sequence[AssetRecord],
    *,
    k: int = 20,
    strategy: str = "budget_switch",
    seed: int = 0,
    dims: int = 32,
    params: Mapping[str, Any] | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[LabelSuggestion]:
    """The ``k`` unlabelled assets among ``records`` the strategy would have labelled next, best first.

    ``params`` go to the strategy (``per_class`` for ``budget_switch``). Labelled records
    (``grade`` set) are never suggested; they inform the strategy (clusters they cover, the
    labelled count that decides ``budget_switch``'s phase).
    """
    from assetgrade.decision import cost_matrix

    if k < 1:
        raise ValidationError(f"k must be >= 1, got {k}", where="k")
    say = progress or (lambda _m: None)
    chooser = get_strategy(strategy, **dict(params or {}))
    labeled = np.array([r.grade is not None for r in records], dtype=bool)
    if labeled.all() or not len(records):
        return []
    results = []
    parts: list[list[EvidenceBlock]] = []
    for start in range(0, len(records), _BATCH):  # batches bound memory; each batch's evidence comes from the cache
        batch = records[start:start + _BATCH]
        say(f"grading assets {start + 1}-{start + len(batch)} of {len(records)}")
        results += grader.grade_many(batch)
        parts.append(grader.evidence(batch))
    blocks = [EvidenceBlock(bs[0].modality, [a for b in bs for a in b.asset_ids], bs[0].feature_names,
                            np.vstack([b.features for b in bs]), np.concatenate([b.present for b in bs]), {}, {})
              for bs in zip(*parts, strict=True)]
    grades = list(grader.grades_)
    probs = np.array([[r.probabilities.get(g, 0.0) for g in grades] for r in results], dtype=np.float64)
    say("evidence embedding")
    emb = evidence_embedding(blocks, dims=dims, seed=seed)
    ctx = SelectionContext(probs=probs, labeled=labeled, embeddings=emb,
                           cost=cost_matrix(grader.costs_, None), ordinal=True)
    phase = getattr(chooser, "phase", None)
    chosen_by = phase(ctx) if callable(phase) else strategy
    picked = chooser.select(ctx, k, np.random.default_rng(seed))
    out = []
    for rank, i in enumerate(picked.tolist(), start=1):
        s = np.sort(probs[i])[::-1]
        res = results[i]
        out.append(LabelSuggestion(rank=rank, asset_id=res.asset_id, predicted_grade=res.grade,
                                   confidence=float(res.probabilities.get(res.grade, 0.0)),
                                   margin=float(s[0] - s[1]) if len(s) > 1 else 1.0,
                                   expected_cost=float(res.expected_cost), currency=res.currency,
                                   chosen_by=str(chosen_by)))
    return out


@dataclass(frozen=True)
class LabelRound:
    """One active-learning round over a workspace: the suggestions and, when stored, what storing them did.

    Examples
    --------
    >>> r = LabelRound(strategy="typiclust", seed=0, model_version="grader-x", labelled=8, assets=10,
    ...                suggestions=[])
    >>> r.as_dict()["labelled"], r.enqueued is None
    (8, True)
    """

    strategy: str
    seed: int
    model_version: str
    labelled: int
    """Assets with a grade label when the round was made."""
    assets: int
    suggestions: list[LabelSuggestion]
    enqueued: EnqueueReport | None = None
    """What :func:`~assetgrade.store.requests.add_label_requests` did (None when not stored)."""

    def as_dict(self) -> dict[str, Any]:
        """The round as a plain dict (JSON output); ``enqueued`` only when it was stored."""
        body: dict[str, Any] = {"strategy": self.strategy, "seed": self.seed, "labelled": self.labelled,
                                "assets": self.assets, "model_version": self.model_version,
                                "suggestions": [r.as_dict() for r in self.suggestions]}
        if self.enqueued is not None:
            rep = self.enqueued
            body["enqueued"] = {"batch_id": rep.batch_id, "added": rep.added, "refreshed": rep.refreshed,
                                "withdrawn": rep.withdrawn, "skipped": rep.skipped}
        return body


def check_round(*, k: int, strategy: str, per_class: float | None, seed: int, enqueue: bool,
                replace: bool) -> dict[str, Any]:
    """Check a round's settings before any work (ValidationErrors naming the field); returns the strategy's params."""
    if per_class is not None and strategy != "budget_switch":
        raise ValidationError(f"applies to strategy 'budget_switch' only, not {strategy!r}", where="per_class")
    if replace and not enqueue:
        raise ValidationError("applies to a round that is stored (enqueue) only", where="replace")
    if k < 1:
        raise ValidationError(f"must be >= 1, got {k}", where="k")
    if per_class is not None and not (math.isfinite(per_class) and per_class >= 0):
        raise ValidationError(f"{per_class} is not allowed; it must be a finite number >= 0", where="per_class")
    if seed < 0:
        raise ValidationError(f"must be >= 0, got {seed}", where="seed")
    params: dict[str, Any] = {} if per_class is None else {"per_class": per_class}
    get_strategy(strategy, **params)  # an unknown name or a bad setting fails here
    return params


_HOW_TO_LABEL = ("review them in the UI (assetgrade serve, then /ui/assets/ASSET_ID), with POST"
                 " /api/v1/assets/ASSET_ID/reviews, or import a grade column (assetgrade ingest manifest)")
_FOLDS = "and at least as many as train's folds, grader.folds, 5 by default"
_SHOWN = 5
"""Off-scale grades the message names; the rest are counted."""


def _off_scale_part(counts: GradeLabelCounts, scale: Sequence[str]) -> str:
    """What the message says about labels off the scale: how many, the first few grades with their assets."""
    listed = ", ".join(f"{g!r} ({n} asset{'s' if n != 1 else ''})" for g, n in counts.off_scale[:_SHOWN])
    if len(counts.off_scale) > _SHOWN:
        listed += f" and {len(counts.off_scale) - _SHOWN} more grade(s)"
    n_off = counts.n_off_scale
    whose = f"its {n_off}" if n_off == counts.labelled else f"{n_off} of its {counts.labelled}"
    return f"{whose} labelled asset(s) have grades not on the ontology's scale {', '.join(scale)}: {listed}"


def no_grader_error(ws: Workspace, cause: NotFoundError | None = None) -> NotFoundError:
    """The error for a workspace without a trained grader: what ``assetgrade train`` needs first while it cannot run.

    ``assetgrade train`` needs assets of at least two grades on the ontology's scale with a grade
    label (a human's: machine labels do not count), and refuses to run while any labelled asset has
    a grade off the scale (labels stored under an earlier ontology, or imported in another
    vocabulary). Until the workspace is so, telling the user to train only leads to train's refusal,
    so the message says what is missing and how to label, and names the first few grades off the
    scale (with their assets) and how to mend them: relabel those assets, or change the scale.
    Otherwise it is ``cause`` (saying to train), or one made alike. The labels are counted in SQL
    (:func:`~assetgrade.store.label_counts.grade_label_counts`, the rule of ``AssetRecord.grade``), not
    by loading the records, so that every place that misses the grader (the REST service's 404s
    included) can say it.

    Examples
    --------
    >>> import tempfile
    >>> from assetgrade.workspace import Workspace
    >>> with Workspace.init(tempfile.mkdtemp() + "/ws") as ws:
    ...     print(str(no_grader_error(ws)).split(": ", 1)[1])  # doctest: +ELLIPSIS
    the workspace has no assets (assetgrade ingest adds them). Label assets of at least two grades first ...
    """
    from assetgrade.grading.bundle import INFO_NAME
    from assetgrade.store.label_counts import grade_label_counts

    head = f"no saved grader at {ws.grader_dir.resolve()} ({INFO_NAME} missing)"
    scale = ws.ontology().grades.names
    with ws.session(readonly=True) as s:
        counts = grade_label_counts(s, scale)
    if counts.trainable:  # train can run (it says itself if the folds need more labelled assets)
        return cause if cause is not None else NotFoundError(f"{head}; run: assetgrade train")
    on = counts.on_scale
    n_on = counts.labelled - counts.n_off_scale
    if not counts.assets:
        what = "the workspace has no assets (assetgrade ingest adds them)"
    elif not counts.grades:
        what = f"none of the {counts.assets} assets has a grade label"
    elif not counts.off_scale:
        what = f"its {counts.labelled} labelled asset(s) are all of grade {on[0]}"
    else:  # train refuses the labels off the scale, and may lack two grades on it as well
        what = _off_scale_part(counts, scale)
        if len(on) == 1:
            what += f"; the other {n_on} {'is' if n_on == 1 else 'are all'} of grade {on[0]}"
    if not counts.off_scale:
        todo = f"Label assets of at least two grades first ({_FOLDS}): {_HOW_TO_LABEL}"
    else:
        todo = ("Train refuses grades off the scale. Relabel those assets with grades on it (a review wins over an"
                f" import, a later import over an earlier one): {_HOW_TO_LABEL}. Or put their grades on the scale:"
                " an ontology file whose grades include them (edit what assetgrade ontology show --yaml prints), then"
                " assetgrade config set ontology FILE (docs/store.md)")
        if len(on) < 2:
            todo += f". Train needs assets of at least two grades on the scale ({_FOLDS})"
    return NotFoundError(f"{head}, and assetgrade train cannot make one yet: {what}. {todo}; then run: assetgrade"
                         " train")


def label_round(
    ws: Workspace,
    *,
    model: Path | None = None,
    k: int = 20,
    strategy: str = "budget_switch",
    per_class: float | None = None,
    seed: int = 0,
    enqueue: bool = False,
    replace: bool = False,
    requested_by: str = "system",
    progress: Callable[[str], None] | None = None,
    on_stored: Callable[[Session, LabelRound], None] | None = None,
    grader: Grader | None = None,
) -> LabelRound:
    """Suggest ``k`` assets of the workspace to label next and, with ``enqueue``, store them as label requests.

    The grader is the one ``assetgrade train`` saved (``models/grader``) unless ``model`` names
    another folder; a workspace without one is a NotFoundError saying to train, or, while train
    cannot run yet (no assets of two grades labelled), what to label first (:func:`no_grader_error`). ``per_class``
    applies to ``budget_switch`` only and ``replace`` to a stored round only; both are checked,
    like the strategy's name, before the grader is loaded. The round is stored in one
    transaction (:func:`~assetgrade.store.requests.add_label_requests`, ``requested_by`` as the
    actor; its ``label_request.add`` audit event records ``k``, ``per_class`` and ``seed``); with
    ``replace``, open requests of earlier rounds that it does not repeat are withdrawn. A round with
    no suggestions (every asset labelled) stores and withdraws nothing: its ``enqueued`` report is
    empty. ``k`` must be >= 1 and ``per_class`` finite and >= 0. ``on_stored(session, round)`` runs
    inside that transaction (a background job records its end there).

    ``grader``: one the caller loaded already (instead of ``model``), so that the caller decides what
    a grader that does not load means: the REST service answers a damaged workspace grader with 503
    (:func:`assetgrade.rest.deps.load_workspace_grader`), as its other routes do. Check the settings
    with :func:`check_round` before loading it. Its evidence store file is closed when the round ends.
    """
    from assetgrade.grader import Grader
    from assetgrade.store.loading import load_records

    loaded = grader  # closed below however the round ends, also when it was handed in
    try:
        params = check_round(k=k, strategy=strategy, per_class=per_class, seed=seed, enqueue=enqueue,
                             replace=replace)
        if loaded is not None and model is not None:
            raise ValidationError("give the grader or the folder to load it from (model), not both", where="model")
        if loaded is None:
            try:
                loaded = Grader.load(model or ws.grader_dir, evidence_store=ws.evidence_cache_path,
                                     evidence_store_max_bytes=ws.evidence_cache_max_bytes)
            except NotFoundError as exc:
                if model is not None or (ws.grader_dir / "bundle.json").exists():
                    raise  # another folder, or a damaged grader: not "train first"
                raise no_grader_error(ws, exc) from exc
        records = load_records(ws)
        loaded.check_scale(ws.ontology())
        rows = suggest_labels(loaded, records, k=k, strategy=strategy, seed=seed, params=params, progress=progress)
        model_version = loaded.version_
    finally:
        if loaded is not None:
            loaded.cache.close()  # the rows are on disk for the next round; the file handle goes now
    rnd = LabelRound(strategy=strategy, seed=seed, model_version=model_version,
                     labelled=sum(r.grade is not None for r in records), assets=len(records), suggestions=rows)
    if enqueue:
        items = [RequestedLabel(asset_id=r.asset_id, rank=r.rank, chosen_by=r.chosen_by,
                                predicted_grade=r.predicted_grade, confidence=r.confidence) for r in rows]
        with ws.session() as s:
            if items:
                report = add_label_requests(s, items, strategy=strategy, model_version=model_version,
                                            requested_by=requested_by, replace=replace,
                                            settings={"k": k, "per_class": per_class, "seed": seed})
            else:  # nothing to ask for: nothing is stored and, with replace, nothing withdrawn
                report = EnqueueReport(batch_id=new_id("lrq"))
            rnd = replace_fields(rnd, enqueued=report)
            if on_stored is not None:
                on_stored(s, rnd)
    return rnd

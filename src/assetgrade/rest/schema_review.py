"""REST models of the review queue, reviews, label requests and active-learning rounds."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, StrictFloat, field_validator

from assetgrade.rest.schema_base import _CURRENCY_DOC, SQL_INT_MAX, UtcDatetime, _In, _Out
from assetgrade.seeds import SEED_MAX

__all__ = [
    "DefectIn",
    "LabelRequestOut",
    "LabelRequestPage",
    "LabelRoundIn",
    "LabelRoundJobOut",
    "LabelRoundOut",
    "LabelSuggestionOut",
    "QueueItem",
    "QueuePage",
    "ReviewIn",
    "ReviewOut",
]


class QueueItem(BaseModel):
    """One review-queue entry in policy order."""

    position: int
    asset_id: str
    asset_type: str
    asset_version: int
    prediction_id: str
    grade: str
    conformal_set: list[str]
    expected_cost: float | None
    currency: str | None = Field(None, description=_CURRENCY_DOC)
    n_contradictions: int
    reasons: list[str]
    created_at: UtcDatetime


class QueuePage(BaseModel):
    """One page of the review queue."""

    total: int
    limit: int
    offset: int
    items: list[QueueItem]


class LabelRequestOut(_Out):
    """An asset whose grade label active learning asked for (``assetgrade review suggest --enqueue``)."""

    asset_id: str
    batch_id: str
    rank: int
    strategy: str
    chosen_by: str
    model_version: str
    predicted_grade: str | None
    confidence: float | None
    requested_by: str
    requested_at: UtcDatetime
    status: str
    closed_at: UtcDatetime | None
    review_id: str | None


class LabelRequestPage(BaseModel):
    """One page of label requests (open ones: newest round first, then rank)."""

    status: str
    total: int
    limit: int
    offset: int
    items: list[LabelRequestOut]


class LabelRoundIn(_In):
    """One active-learning round to store as label requests (``POST /review/requests``).

    Examples
    --------
    >>> LabelRoundIn(k=5, replace=True).strategy
    'budget_switch'
    """

    k: int = Field(20, ge=1, le=1000, strict=True, description="how many unlabelled assets to ask labels for")
    strategy: str = Field("budget_switch", min_length=1, max_length=64,
                          description="active-learning strategy (assetgrade.review.selection); unknown names are 422")
    per_class: float | None = Field(None, ge=0, strict=True, description="budget_switch only: labels per grade at "
                                    "which it switches from typiclust to uncertain_coreset (default 10)")
    seed: int = Field(0, ge=0, le=SEED_MAX, strict=True)
    replace: bool = Field(False, strict=True, description="withdraw open requests of earlier rounds that this round "
                          "does not repeat")


class LabelSuggestionOut(_Out):
    """One asset the round asks a label for, in the strategy's order."""

    rank: int
    asset_id: str
    predicted_grade: str
    confidence: float
    margin: float
    expected_cost: float
    currency: str | None = Field(None, description=_CURRENCY_DOC)
    chosen_by: str


class LabelRoundOut(BaseModel):
    """A stored round: its id (``batch_id`` of its label requests), what it changed, and the suggestions."""

    batch_id: str
    strategy: str
    seed: int
    model_version: str
    requested_by: str
    labelled: int = Field(description="assets with a grade label when the round was made")
    assets: int
    added: list[str] = Field(description="assets that had no open request and now have one")
    refreshed: list[str] = Field(description="assets whose open request moved into this round")
    withdrawn: list[str] = Field(description="open requests of earlier rounds withdrawn (replace)")
    skipped: dict[str, str] = Field(description="asset id -> why no request was made")
    suggestions: list[LabelSuggestionOut]


class LabelRoundJobOut(BaseModel):
    """A round run in the background (``POST /review/requests?wait=false``): its state, and the round once done.

    ``lost``: the server process that ran it ended before it finished (ask again).
    """

    job_id: str
    status: Literal["queued", "running", "done", "failed", "lost"]
    url: str = Field(description="where to read this job's state")
    requested_by: str
    settings: dict[str, Any] = Field(description="the round's settings as asked (k, strategy, per_class, seed, "
                                     "replace)")
    queued_at: UtcDatetime
    started_at: UtcDatetime | None = None
    finished_at: UtcDatetime | None = None
    error: str | None = Field(None, description="why it failed (status failed)")
    round: LabelRoundOut | None = Field(None, description="the stored round (status done)")
    step: str | None = Field(None, description="what it is doing now (status running, when the server process "
                             "that answers runs it; another worker's job shows none)")


class DefectIn(_In):
    """A defect the reviewer confirms or adds; ``box`` is [x0, y0, x1, y1] in image pixels."""

    id: str = Field(min_length=1, max_length=200, description="ontology defect id")
    severity: str | None = Field(None, max_length=50)
    evidence_id: str | None = Field(None, max_length=200)
    box: list[StrictFloat] | None = Field(None, min_length=4, max_length=4)

    @field_validator("box")
    @classmethod
    def _box_order(cls, v: list[float] | None) -> list[float] | None:
        if v is not None and (v[2] < v[0] or v[3] < v[1]):
            raise ValueError("box must be [x0, y0, x1, y1] with x1 >= x0 and y1 >= y0")
        return v


class ReviewIn(_In):
    """A review: the asset version it was made against (optimistic concurrency), grade, defects, note."""

    expected_version: int = Field(ge=1, le=SQL_INT_MAX, strict=True, description="the asset version the reviewer saw")
    grade: str | None = Field(None, max_length=50)
    defects: list[DefectIn] = Field(default_factory=list, max_length=200)
    note: str | None = Field(None, max_length=10_000)
    based_on_prediction_id: str | None = Field(None, max_length=64)


class ReviewOut(_Out):
    """A stored review and the asset version it produced."""

    id: str
    asset_id: str
    reviewer: str
    grade: str | None
    defects: list[dict[str, Any]]
    note: str | None
    based_on_prediction_id: str | None
    created_at: UtcDatetime
    status: str
    asset_version: int | None = None

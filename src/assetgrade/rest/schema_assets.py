"""REST models of assets, their evidence and their stored predictions."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator
from pydantic_core import PydanticCustomError

from assetgrade.errors import ValidationError
from assetgrade.rest.schema_base import _CURRENCY_DOC, JsonObject, UtcDatetime, _In, _Out
from assetgrade.store.repository import check_line
from assetgrade.store.withdrawals import MAX_BY, MAX_REASON

__all__ = ["AssetIn", "AssetOut", "AssetPage", "EvidenceOut", "PredictionOut", "ReinstatedOut", "ReinstatementIn",
           "ReinstatementOut", "WithdrawalIn", "WithdrawalOut", "WithdrawnOut"]


class PredictionOut(_Out):
    """One stored prediction; ``payload`` is the full GradeResult (``GradeResult.to_dict()``).

    ``currency`` is the workspace config's; ``payload["currency"]`` is that of the cost settings the grader graded
    with (null when they named none, absent from predictions stored before the field existed).
    """

    id: str
    asset_id: str
    model_version: str
    grade: str
    distribution: dict[str, float]
    conformal_set: list[str]
    decision: str
    expected_cost: float | None
    currency: str | None = Field(None, description=_CURRENCY_DOC)
    created_at: UtcDatetime
    payload: dict[str, Any] = Field(default_factory=dict)


class AssetOut(_Out):
    """An asset, its version (send it back with a review) and its latest prediction's summary."""

    id: str
    asset_type: str
    make: str | None
    model: str | None
    attributes: dict[str, Any]
    value: float | None
    created_at: UtcDatetime
    version: int
    latest_grade: str | None = None
    latest_decision: str | None = None
    latest_prediction_id: str | None = None


class AssetPage(BaseModel):
    """One page of assets."""

    total: int
    limit: int
    offset: int
    items: list[AssetOut]


class AssetIn(_In):
    """A new asset."""

    id: str = Field(min_length=1, max_length=200)
    asset_type: str = Field("unknown", max_length=100)
    make: str | None = Field(None, max_length=200)
    model: str | None = Field(None, max_length=200)
    attributes: JsonObject = Field(default_factory=dict)
    value: float | None = Field(None, strict=True)


class WithdrawnOut(BaseModel):
    """An evidence item's withdrawal: when, by whom, why (store.md, "Withdrawn evidence")."""

    at: UtcDatetime
    by: str
    reason: str


class EvidenceOut(_Out):
    """Evidence metadata; ``content_url`` serves the bytes, ``overlay_url`` a heat map when there is one.

    ``withdrawn`` is null for an item in use; a withdrawn item (left out of training, grading and the counts) is
    still listed, with its withdrawal."""

    id: str
    asset_id: str
    kind: str
    sha256: str
    media_type: str | None
    text: str | None
    attributes: dict[str, Any]
    created_at: UtcDatetime
    origin: str | None = None
    content_url: str | None = None
    overlay_url: str | None = None
    withdrawn: WithdrawnOut | None = Field(None, description="null while the item is in use; else when, by whom and"
                                                             " why it was withdrawn")


def _one_line(value: str, where: str, limit: int, what: str) -> str:
    """The store's check of a withdrawal's text (:func:`~assetgrade.store.repository.check_line`), its words kept."""
    try:
        return check_line(value, where, limit=limit, what=what)
    except ValidationError as exc:
        raise PydanticCustomError("withdrawal_text", "{why}", {"why": exc.reason}) from None


class WithdrawalIn(_In):
    """Why an evidence item is withdrawn and, when another person decided it, who (default: the token's name)."""

    reason: str = Field(description=f"one line of printable text, at most {MAX_REASON:,} characters (surrounding"
                                    " spaces dropped)", json_schema_extra={"maxLength": MAX_REASON, "minLength": 1})
    by: str | None = Field(None, description=f"who decided it, one line of at most {MAX_BY} characters; default: the"
                                             " token's name (the audit event's actor is the token's name either way)",
                           json_schema_extra={"maxLength": MAX_BY})

    @field_validator("reason")
    @classmethod
    def _reason(cls, v: str) -> str:
        return _one_line(v, "reason", MAX_REASON, "reason")

    @field_validator("by")
    @classmethod
    def _by(cls, v: str | None) -> str | None:
        return None if v is None else _one_line(v, "by", MAX_BY, "name of who withdraws")


class WithdrawalOut(BaseModel):
    """What a withdrawal did: ``withdrawn`` now, or ``unchanged`` (it was withdrawn before; its first withdrawal is
    kept and answered), and the asset's version after it."""

    evidence_id: str
    asset_id: str
    status: Literal["withdrawn", "unchanged"]
    withdrawn: WithdrawnOut
    asset_version: int


class ReinstatementIn(WithdrawalIn):
    """Why a withdrawn evidence item is used again and, when another person decided it, who (default: the token's
    name)."""

    @field_validator("by")
    @classmethod
    def _by(cls, v: str | None) -> str | None:
        return None if v is None else _one_line(v, "by", MAX_BY, "name of who reinstates")


class ReinstatedOut(BaseModel):
    """An evidence item's reinstatement: when, by whom, why (store.md, "Withdrawn evidence")."""

    at: UtcDatetime
    by: str
    reason: str


class ReinstatementOut(BaseModel):
    """What a reinstatement did: ``reinstated`` now (``reinstated`` says how, ``ended`` the withdrawal it ended), or
    ``unchanged`` (the item was not withdrawn; both null), and the asset's version after it."""

    evidence_id: str
    asset_id: str
    status: Literal["reinstated", "unchanged"]
    reinstated: ReinstatedOut | None = None
    ended: WithdrawnOut | None = None
    asset_version: int

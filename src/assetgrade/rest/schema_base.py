"""Shared pieces of the REST models: UTC times, checked JSON objects, request and response bases, the error body."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, field_validator

from assetgrade.store.repository import unstorable_text

__all__ = ["SQL_INT_MAX", "ErrorOut", "JsonObject", "UtcDatetime"]


def _as_utc(value: datetime) -> datetime:
    """Stored times are UTC; SQLite hands them back naive, so say so."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_as_utc)]


_bad_text = unstorable_text
"""Why a text cannot be stored and sent back as JSON text (a NUL, a lone surrogate), or None: the store's own rule,
so a request body and a direct write are refused alike (``rest.schemas`` re-exports this name)."""


def _finite_json(value: Any, path: str = "") -> Any:
    """Refuse NaN and infinite numbers anywhere in a JSON value (JSON has none; Python's parser lets them in),
    and strings or keys with a lone UTF-16 surrogate such as ``"\\ud800"`` (JSON's parser lets them in;
    stored, every later read of them would fail to encode the answer) or a NUL (``"\\u0000"``: PostgreSQL
    stores it in a JSON column but fails every query that reads the value as text)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{value!r} at {path or 'the top'} is not a finite number (JSON has no NaN or Infinity)")
    if isinstance(value, str) and (why := _bad_text(value)) is not None:
        raise ValueError(f"the text at {path or 'the top'} {why}")
    if isinstance(value, dict):
        for k, v in value.items():
            if (why := _bad_text(k)) is not None:
                raise ValueError(f"a key {f'in {path} ' if path else ''}{why}")
            _finite_json(v, f"{path}.{k}" if path else str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _finite_json(v, f"{path}[{i}]")
    return value


JsonObject = Annotated[dict[str, Any], AfterValidator(_finite_json)]
"""A free-form JSON object from a client, without NaN, infinite numbers or lone surrogates."""

SQL_INT_MAX = 2**63 - 1
"""The largest integer the stores hold (PostgreSQL ``bigint``; audit event numbers, telemetry record ids and asset
versions are ``bigint`` since migration 0007): larger numbers in a query or body are refused with 422, not a 500."""

_IN = ConfigDict(extra="forbid", allow_inf_nan=False)
"""Request bodies: unknown fields and NaN/Infinity refused (422 naming the field).

Their numbers and booleans are strict (``Field(strict=True)``, ``StrictFloat``): a JSON integer
where an integer is asked, a JSON number (an integer too) where a number is, ``true``/``false``
where a boolean is. Lax parsing took ``true`` as 1, ``"1"`` as 1 and ``"yes"`` or ``1`` as true, so a
client's type bug (a version sent as a string, a flag as a number) passed unnoticed."""


class _In(BaseModel):
    """A request body: unknown fields and NaN/Infinity refused (``_IN``), and no text field holding a NUL or a
    lone surrogate (422 naming the field): PostgreSQL cannot store a NUL, so it was a 500 there.

    The text check runs before pydantic's own (``mode="before"``): a ``str`` field with a length or pattern, or a
    ``Literal``, refused a lone surrogate first, as "unable to parse raw data as a unicode string"."""

    model_config = _IN

    @field_validator("*", mode="before")
    @classmethod
    def _storable_text(cls, value: Any) -> Any:
        texts = value if isinstance(value, list) else [value]
        for i, text in enumerate(texts):
            if isinstance(text, str) and (why := _bad_text(text)) is not None:
                raise ValueError(f"the text{f' [{i}]' if isinstance(value, list) else ''} {why}")
        return value


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


_CURRENCY_DOC = ("what expected_cost is in: the workspace config's costs: currency: (an ISO 4217 code such as EUR), "
                 "as the web UI names it; null when the config names none or its costs: section does not read (never "
                 "'cost units'). It is the config's currency, not necessarily that of the cost settings the grader "
                 "computed expected_cost with: after changing it, retrain (assetgrade train)")
"""The ``description`` of the ``currency`` field beside every ``expected_cost`` of the API's answers."""


class ErrorOut(BaseModel):
    """Every error body: the error class, a message, and for bad input where and why.

    Examples
    --------
    >>> ErrorOut(error="NotFoundError", detail="asset 'x' not found").error
    'NotFoundError'
    """

    error: str
    detail: str
    where: str | None = None
    reason: str | None = None

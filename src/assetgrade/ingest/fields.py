"""Parsing single input fields (boxes, dates, numbers, key=value options) with errors that name the field."""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime
from typing import Any

from assetgrade.errors import IngestError

__all__ = ["parse_box", "parse_datetime", "parse_float", "parse_mapping"]


def parse_box(value: Any, *, where: str) -> tuple[float, float, float, float] | None:
    """A box ``x0,y0,x1,y1`` from a string (``"1,2,3,4"`` or ``"[1, 2, 3, 4]"``) or a list; None when empty."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        text = value.strip()
        try:
            parts = json.loads(text) if text.startswith("[") else [p for p in text.replace(";", ",").split(",")]
            nums = [float(p) for p in parts]
        except (ValueError, json.JSONDecodeError):
            raise IngestError(f"box {value!r} is not four numbers x0,y0,x1,y1", where=where) from None
    elif isinstance(value, list | tuple):
        try:
            nums = [float(p) for p in value]
        except (TypeError, ValueError):
            raise IngestError(f"box {value!r} is not four numbers x0,y0,x1,y1", where=where) from None
    else:
        raise IngestError(f"box {value!r} is not four numbers x0,y0,x1,y1", where=where)
    if len(nums) != 4 or not all(math.isfinite(n) for n in nums):
        raise IngestError(f"box {value!r} is not four finite numbers x0,y0,x1,y1", where=where)
    x0, y0, x1, y1 = nums
    if x1 < x0 or y1 < y0 or min(nums) < 0:
        raise IngestError(f"box {value!r} needs 0 <= x0 <= x1 and 0 <= y0 <= y1", where=where)
    return x0, y0, x1, y1


def parse_datetime(value: Any, *, where: str, fmt: str | None = None) -> datetime | None:
    """A timezone-aware datetime (UTC when none given) from ISO text or ``fmt``; None when empty."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        dt = value
    else:
        text = str(value).strip()
        try:
            dt = datetime.strptime(text, fmt) if fmt else datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            want = fmt or "ISO 8601 (2024-03-01 or 2024-03-01T12:00:00)"
            raise IngestError(f"date {text!r} is not in the format {want}", where=where) from None
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)


_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")


def parse_float(value: Any, *, where: str) -> float | None:
    """A finite float (a currency sign and comma thousands separators allowed); None when empty.

    A comma is read only as a thousands separator (``1,250.50``); any other comma is refused,
    since ``1,5`` may be one and a half (a decimal comma) and reading it as 15 would be silently wrong.

    >>> parse_float("$1,250.50", where="cost"), parse_float("1.5", where="cost")
    (1250.5, 1.5)
    >>> parse_float("1,5", where="cost")
    Traceback (most recent call last):
    ...
    assetgrade.errors.IngestError: cost: '1,5' is ambiguous: a comma is read only as a thousands separator \
(1,250.50); write a decimal point (1.5)
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    text = str(value).strip().lstrip("$€£").strip()
    if "," in text:
        if not _THOUSANDS.match(text):
            raise IngestError(f"{value!r} is ambiguous: a comma is read only as a thousands separator (1,250.50); "
                              "write a decimal point (1.5)", where=where)
        text = text.replace(",", "")
    try:
        num = float(text)
    except ValueError:
        raise IngestError(f"{value!r} is not a number", where=where) from None
    if not math.isfinite(num):
        raise IngestError(f"{value!r} is not a finite number", where=where)
    return num


def parse_mapping(items: list[str] | None, *, where: str) -> dict[str, str]:
    """``["a=b", "c=d"]`` (or comma-joined ``"a=b,c=d"``) as a dict."""
    out: dict[str, str] = {}
    for item in items or []:
        for part in item.split(","):
            if not part.strip():
                continue
            if "=" not in part:
                raise IngestError(f"{part!r} is not key=value", where=where)
            k, v = part.split("=", 1)
            out[k.strip()] = v.strip()
    return out

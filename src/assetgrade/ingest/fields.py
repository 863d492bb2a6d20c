"""Parsing single input fields (boxes, dates, numbers, key=value options) with errors that name the field."""

from __future__ import annotations

import json
import math
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


def parse_float(value: Any, *, where: str) -> float | None:
    """A finite float (thousands separators and a currency sign allowed); None when empty."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        num = float(str(value).strip().lstrip("$€£").replace(",", ""))
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

"""Small pieces of the web UI: asset links, bidi isolation and shown controls, times in UTC, the review form's checks,
headers, icon."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import quote

from markupsafe import Markup
from pydantic import ValidationError as PydanticValidationError

from assetgrade.errors import ValidationError
from assetgrade.grading.visible import exact, visible
from assetgrade.rest.schemas import ReviewIn

__all__ = ["FAVICON", "PAGE_HEADERS", "asset_url", "bdi", "exact", "review_body", "utc", "visible"]


PAGE_HEADERS = {
    "Cache-Control": "no-store",
    # the pages load only this service's scripts, styles and images; no other site may frame them (a
    # reviewer tricked into clicking Submit in a hidden frame) and a slipped-in tag runs no foreign script
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                               "img-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
                               "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}

FAVICON = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" '
           'fill="#1c3d5a"/><text x="16" y="23" font-family="sans-serif" font-size="20" font-weight="700" '
           'text-anchor="middle" fill="#fff">a</text></svg>')


def asset_url(asset_id: str, suffix: str = "") -> str:
    """The UI path of an asset's page (``suffix``: ``/review``, ``/grade``), its id percent-encoded.

    Slashes in an id stay readable (``/ui/assets/site-3/pump-7``) unless a segment is ``.`` or ``..``:
    a browser resolves those in every link (``x/../pump`` would open, or post a review to, ``pump``),
    so then the slashes are encoded too; the server decodes them back.

    >>> asset_url("site-3/pump 7"), asset_url("x/../pump", "/review")
    ('/ui/assets/site-3/pump%207', '/ui/assets/x%2F..%2Fpump/review')
    """
    dots = any(part in (".", "..") for part in asset_id.split("/"))
    return f"/ui/assets/{quote(asset_id, safe='' if dots else '/')}{suffix}"


def bdi(value: object) -> Markup:
    """``value`` escaped inside ``<bdi>``: right-to-left letters in an id, a name or a note do not move the text that
    follows it on the line (``Review of <id> saved.``). Bidi controls, which would reorder the rest of the text
    inside it too, are shown as their code points by the pages' ``finalize`` (:func:`visible`)."""
    return Markup("<bdi>{}</bdi>").format(value)


def utc(when: datetime, seconds: bool = False) -> str:
    """A stored time as the pages show it, in UTC and saying so: a reviewer east or west of UTC must not read it as
    their own clock's. A time without a zone is UTC already (:func:`~assetgrade.store.schema.utcnow`; SQLite keeps
    none).

    >>> utc(datetime(2026, 3, 1, 9, 5, 7)), utc(datetime.fromisoformat("2026-03-01T10:05:07+01:00"), seconds=True)
    ('2026-03-01 09:05 UTC', '2026-03-01 09:05:07 UTC')
    """
    at = when.astimezone(UTC) if when.tzinfo is not None else when
    return at.strftime("%Y-%m-%d %H:%M:%S UTC" if seconds else "%Y-%m-%d %H:%M UTC")


def review_body(form: dict[str, str], grades: list[str]) -> ReviewIn:
    """The review form as a ReviewIn; a ValidationError naming the field and what it allows, not Python's words.

    The form needs a grade: a review without one gives no label, yet takes the asset out of the queue.
    """
    if not form["grade"]:
        raise ValidationError(f"pick a grade ({', '.join(grades)}): a review without one gives the asset no "
                              "grade label, yet takes it out of the queue", where="grade")
    try:
        version = int(form["expected_version"])
    except ValueError:
        raise ValidationError(f"expected_version must be a whole number, got {form['expected_version']!r}",
                              where="expected_version") from None
    try:
        defects = json.loads(form["defects_json"] or "[]")
    except ValueError as exc:
        raise ValidationError(f"the defect list is not valid JSON: {exc}", where="defects_json") from None
    if not isinstance(defects, list) or not all(isinstance(d, dict) for d in defects):
        raise ValidationError("the defect list must be a JSON list of objects such as {\"id\": \"dent\"}",
                              where="defects_json")
    try:
        return ReviewIn(expected_version=version, grade=form["grade"],
                        defects=[{k: v for k, v in d.items() if k in ("id", "severity", "evidence_id", "box")}
                                 for d in defects if d.get("id")],
                        note=form["note"] or None, based_on_prediction_id=form["based_on_prediction_id"] or None)
    except PydanticValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ValidationError(str(first["msg"]), where=where) from None

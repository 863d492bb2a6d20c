"""The REST API and the store refuse the same text, for the same reason: one rule (``unstorable_text``).

5add322 made the REST API refuse a NUL character or a lone surrogate in a request's text (422); c4e2763 made both
stores refuse them too (``check_storable``), with a rule of their own. The two were written apart and drifted: the
API named no position for a lone surrogate and no line for a NUL in a text of several lines, and tested for a
surrogate before a NUL. The API's check now is the store's.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError as PydanticValidationError

from assetgrade.errors import ValidationError
from assetgrade.rest.schema_assets import AssetIn
from assetgrade.store.repository import check_storable, unstorable_text

HOSTILE = ["rust" + chr(0), chr(0), "first line\nsecond\x00 line", "\ud800", "ok \udfff then", "\x00\ud800",
           "\ud800\x00", "\ud83d\ude00 split pair", "\U0001f600 ok", "\ufeffzero width", "\x01\x7f\x9f", "",
           "line\r\nbreak", "\u202eright to left"]
"""Texts a client might send: NUL, lone surrogates (alone, after text, with a NUL, a pair split in two code points)
and texts both layers accept (a character outside the BMP, invisible and control characters, line breaks)."""


def _rest_refusal(**body: Any) -> str | None:
    """The API's reason for refusing a body, None when it takes it.

    A text field holding a lone surrogate is refused by pydantic's own string check, before ours (its message, not
    the store's): the verdict is the same. The JSON parser the API reads bodies with lets such text into
    free-form objects (``attributes``, telemetry payloads), where the rule under test refuses it."""
    try:
        AssetIn(id="pump-1", **body)
    except PydanticValidationError as exc:
        (err,) = exc.errors()
        if err["type"] == "string_unicode":
            return "pydantic: lone surrogate"
        return str(err["msg"])
    return None


def _store_refusal(value: Any) -> str | None:
    try:
        check_storable(value, "field")
    except ValidationError as exc:
        return exc.reason
    return None


@pytest.mark.parametrize("text", HOSTILE)
def test_the_api_and_the_store_give_the_same_verdict_and_reason(text: str) -> None:
    why = unstorable_text(text)
    for body, value in (({"make": text}, text), ({"attributes": {"serial": [text]}}, {"serial": [text]}),
                        ({"attributes": {text: 1}}, {text: 1})):
        rest, store = _rest_refusal(**body), _store_refusal(value)
        assert (rest is None) == (store is None) == (why is None), (body, rest, store)
        if why is None:
            continue
        assert store is not None and store.endswith(why), store
        if rest == "pydantic: lone surrogate":
            assert "make" in body and any(0xD800 <= ord(c) <= 0xDFFF for c in text), (body, why)
        else:
            assert rest is not None and rest.endswith(why), (body, rest, why)

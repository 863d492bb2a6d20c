"""A right-to-left override inside a log entry, a reason, a contradiction or a quality flag on the review UI's asset
page, drawn by chromium: the rest of the text keeps its order (test_ui_bidi.py checks the markup)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest

from assetgrade.rest import create_token
from assetgrade.workspace import Workspace

from .test_browser import CHROMIUM, Served, _login, _serve, browser  # noqa: F401  (browser is a fixture)
from .test_report_bidi_browser import ORDER
from .test_ui_bidi import AID, add_hostile

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed at /usr/bin/chromium"),
]


@pytest.fixture(scope="module")
def served_bidi(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    path = tmp_path_factory.mktemp("browser-bidi") / "ws"
    ws = Workspace.init(path)
    add_hostile(ws)
    with ws.session() as s:
        tokens = {"alice": create_token(s, name="alice", role="reviewer", actor="test")[0]}
    ws.close()
    yield from _serve(path, tokens)


def test_an_override_inside_a_text_does_not_reverse_the_rest(browser: Any, served_bidi: Served) -> None:  # noqa: F811
    page = _login(browser, served_bidi, "alice")
    page.goto(f"{served_bidi.url}/ui/assets/{quote(AID)}")
    rows = page.evaluate(ORDER, "p.log-text, ul.reasons li, ul.contra li")
    page.context.close()
    texts = [t for t, _ in rows]
    for start in ("oil leak at ", "the log says ", "text says "):
        lefts = next((left for t, left in rows if t.startswith(start)), None)
        assert lefts is not None, (start, texts)
        assert None not in lefts and lefts == sorted(lefts), (start, lefts, texts)  # '(pump)' drawn as '(pump)'

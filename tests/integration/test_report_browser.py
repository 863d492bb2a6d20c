"""``assetgrade explain --html`` on a workspace with hostile ids and texts, opened in a real browser.

Playwright drives Debian's chromium (as test_browser.py does) over the report file: no payload in an id, a log
entry, a channel name or a grade runs (each would set ``window.__pwned``), a right-to-left override in the asset
id does not reverse what follows it, a very long token does not widen the page, a 1 MB log entry is cut, an image
whose stored file does not decode is named, and the file asks for nothing over the network.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from typer.testing import CliRunner

from assetgrade.cli.app import build_app
from assetgrade.ingest.series import to_parquet_bytes
from assetgrade.store.repository import ProvenanceInfo, add_asset, add_evidence, add_label
from assetgrade.workspace import Workspace

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
PAYLOAD = '"\'><img src=x onerror="window.__pwned=1"></textarea><script>window.__pwned=2</script>'
AID = f"pump-{PAYLOAD}-\u202eevil"
LONG = "x" * 3000  # one token, no space to wrap at
WORDS = {"A": "no defects, runs clean", "D": "fatigue crack, severe leak, seized bearing"}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed at /usr/bin/chromium"),
]


def _png() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.full((40, 60, 3), 120, dtype=np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def _add(s: Any, ws: Workspace, aid: str, kind: str, eid: str, *, text: str | None = None,
         data: bytes | None = None) -> None:
    blob = ws.blobs.put_bytes(data) if data is not None else None
    sha = blob or hashlib.sha256((text or "").encode()).hexdigest()
    add_evidence(s, asset_id=aid, kind=kind, sha256=sha, blob_sha=blob, text=text, evidence_id=eid,
                 provenance=ProvenanceInfo(source="cmms"))


def _workspace(path: Path) -> None:
    """16 labelled pumps with short logs, a text grader, and one asset whose every id and text is hostile."""
    from assetgrade.grader import Grader

    with Workspace.init(path) as ws:
        with ws.session() as s:
            for i in range(16):
                aid, g = f"pump-{i:02d}", "AD"[i % 2]
                add_asset(s, aid, asset_type="pump")
                _add(s, ws, aid, "log", f"{aid}/log", text=f"Inspection {i}: {WORDS[g]}.")
                add_label(s, asset_id=aid, kind="grade", value=g, annotator="expert")
            add_asset(s, AID, asset_type="pump")
            _add(s, ws, AID, "log", f"log-{PAYLOAD}", text=f"severe leak {PAYLOAD} at \u202eseal {LONG} crack")
            _add(s, ws, AID, "log", "log-huge", text="fatigue crack and a severe leak. " * 32_000)  # 1 MB
            _add(s, ws, AID, "image", f"img-{PAYLOAD}", data=_png())
            _add(s, ws, AID, "image", f"img-broken-{PAYLOAD}", data=b"not a picture, its file was replaced")
            t = np.arange(50.0)
            frame = pd.DataFrame({f"temp {PAYLOAD}": 50 + 0.3 * t, "$\\bad$": np.sin(t)},
                                 index=pd.Index(t, name="cycle"))
            _add(s, ws, AID, "series", f"ser-{PAYLOAD}", data=to_parquet_bytes(frame))
        Grader(extractors=("text",), folds=2, seed=0, min_group_size=4,
               extractor_settings={"text": {"embedder": "hashing"}}).fit(ws).save(ws.models_dir / "grader")


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The report ``assetgrade explain --html`` writes for the hostile asset."""
    root = tmp_path_factory.mktemp("report-browser")
    _workspace(root / "ws")
    out = root / "out" / "report.html"
    r = CliRunner().invoke(build_app(), ["explain", AID, "-w", str(root / "ws"), "--html", str(out)])
    assert r.exit_code == 0, r.output
    return out


@pytest.fixture(scope="module")
def page(report: Path) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        ctx = browser.new_context(viewport={"width": 1200, "height": 900})
        requests: list[str] = []
        ctx.on("request", lambda req: requests.append(req.url))
        pg = ctx.new_page()
        pg.set_default_timeout(15_000)
        pg.goto(report.as_uri())
        pg.wait_for_load_state("load")
        pg.requests = requests  # checked below
        yield pg
        browser.close()


def test_no_payload_runs(page: Any) -> None:
    """Regression: every text is escaped (the payloads are in the asset id, evidence ids, a log entry, a channel
    name); nothing outside the file is asked for."""
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.locator("script").count() == 0 and page.locator("img[src='x']").count() == 0
    assert page.requests == [page.url]
    assert PAYLOAD in page.locator("h1").inner_text()


def test_the_override_in_the_id_does_not_reverse_what_follows_it(page: Any) -> None:
    """The asset id ends in U+202E: it reversed the '(pump)' after it in the heading (drawn ')pmup(')."""
    shown = AID.replace("\u202e", "\u27e8U+202E\u27e9")  # the override as its code point (test_report_bidi.py)
    assert page.title() == f"Grade report: \u2068{shown}\u2069"
    lefts = page.evaluate("""() => {
        const span = document.querySelector('h1 span.muted');
        const walker = document.createTreeWalker(span, NodeFilter.SHOW_TEXT);
        const at = (ch) => { walker.currentNode = walker.root; let n;
            while ((n = walker.nextNode())) { const i = n.data.indexOf(ch);
                if (i >= 0) { const r = document.createRange(); r.setStart(n, i); r.setEnd(n, i + 1);
                              return r.getBoundingClientRect().left; } } return null; };
        return [span.textContent, at('('), at('p'), at(')')];
    }""")
    assert lefts[0] == "(pump)" and lefts[1] < lefts[2] < lefts[3], lefts


def test_a_long_token_does_not_widen_the_page(page: Any) -> None:
    """A 3,000-character token in a log entry made the page about 21,000 pixels wide."""
    widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], widths


def test_the_huge_entry_is_cut_and_the_broken_image_named(page: Any, report: Path) -> None:
    assert report.stat().st_size < 200_000, report.stat().st_size
    assert page.locator("p.more-text").count() == 1
    assert "more characters" in page.locator("p.more-text").inner_text()
    captions = page.locator("div.card div.muted").all_inner_texts()
    assert any(c.startswith(f"img-broken-{PAYLOAD} · could not render") for c in captions), captions
    alts = page.evaluate("[...document.images].map(i => i.alt)")
    assert f"sensor series ser-{PAYLOAD}" in alts, alts  # its channel '$\\bad$' is drawn, not read as mathtext

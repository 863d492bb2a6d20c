"""sample_evidence with ``text_head``: of each text its first characters and its length in characters, as Python
counts them, on SQLite and (when a server answers) PostgreSQL; one entry whole on request; a NUL on SQLite."""

from __future__ import annotations

import pytest
from sqlalchemy import update
from sqlalchemy.exc import InvalidRequestError

from assetgrade.store.evidence_sample import TextHead, sample_evidence
from assetgrade.store.repository import add_asset, add_evidence
from assetgrade.store.schema import Evidence
from assetgrade.workspace import Workspace

TEXTS = {
    "pump/log/1": "Dichtung geprüft — 12 € 😀 " * 400,  # 2-, 3- and 4-byte characters in UTF-8
    "pump/log/2": "short",
    "pump/log/3": "",
    "pump/log/4": "x" * 5000,
}


def _fill(ws: Workspace, texts: dict[str, str]) -> None:
    with ws.session() as s:
        add_asset(s, "pump")
        for k, (ev_id, text) in enumerate(texts.items()):
            add_evidence(s, asset_id="pump", kind="log", sha256=f"{k:064x}", evidence_id=ev_id, text=text)
        add_evidence(s, asset_id="pump", kind="image", sha256="f" * 64, blob_sha="f" * 64, evidence_id="pump/img")


def test_heads_count_characters_and_one_entry_comes_whole(store_ws: Workspace) -> None:
    _fill(store_ws, TEXTS)
    with store_ws.session(readonly=True) as s:
        got = sample_evidence(s, "pump", {"log": 10}, text_head=100)
        whole = sample_evidence(s, "pump", None, text_head=100, whole_text="pump/log/1")
        ev = next(ev for ev, _ in got.rows if ev.id == "pump/log/1")
        with pytest.raises(InvalidRequestError):  # the text itself was not read, and is not read behind our back
            _ = ev.text
    assert got.heads == {i: TextHead(t[:100], len(t)) for i, t in TEXTS.items()}  # the image has no text: no head
    assert [h.whole for h in got.heads.values()] == [False, True, True, False]
    assert whole.heads["pump/log/1"] == TextHead(TEXTS["pump/log/1"], len(TEXTS["pump/log/1"]))
    assert whole.heads["pump/log/4"] == got.heads["pump/log/4"]


def test_a_text_with_a_nul_is_read_whole_on_sqlite(tmp_path: object) -> None:
    ws = Workspace.init(f"{tmp_path}/ws")
    # SQLite's substr and length stop at a NUL: the head would be "ab", said to be the whole text
    # and of a long text the length only up to one
    texts = {"pump/log/1": "ab\x00cd " * 50, "pump/log/2": "y" * 300, "pump/log/3": "y" * 300 + "\x00" + "z" * 2000}
    _fill(ws, {k: "stored before add_evidence refused a NUL" for k in texts})
    with ws.session() as s:  # rows SQLite kept before then: written as they were, behind add_evidence's check
        for ev_id, text in texts.items():
            s.execute(update(Evidence).where(Evidence.id == ev_id).values(text=text))
    with ws.session(readonly=True) as s:
        got = sample_evidence(s, "pump", None, text_head=100)
    ws.close()
    assert got.heads == {"pump/log/1": TextHead(texts["pump/log/1"], 300), "pump/log/2": TextHead("y" * 100, 300),
                         "pump/log/3": TextHead(texts["pump/log/3"], 2301)}

"""New evidence raises an asset's version, so a review made against the asset as it was before is refused."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

from assetgrade.errors import ConflictError
from assetgrade.store.repository import add_asset, add_evidence
from assetgrade.store.results import add_review
from assetgrade.store.schema import Asset
from assetgrade.workspace import Workspace


def _log(ws: Workspace, asset_id: str, text: str, **kw: object) -> None:
    with ws.session() as s:
        add_evidence(s, asset_id=asset_id, kind="log", sha256=hashlib.sha256(text.encode()).hexdigest(), text=text,
                     evidence_id=f"{asset_id}/{len(text)}", **kw)  # type: ignore[arg-type]


def _version(ws: Workspace, asset_id: str) -> int:
    with ws.session(readonly=True) as s:
        return int(s.execute(select(Asset.version).where(Asset.id == asset_id)).scalar_one())


def test_evidence_added_later_makes_a_review_of_the_old_version_stale(ws: Workspace) -> None:
    with ws.session() as s:  # an asset and its first evidence together: nobody can have reviewed it yet
        add_asset(s, "pump-1", asset_type="pump")
        add_evidence(s, asset_id="pump-1", kind="log", sha256="0" * 64, text="runs quiet", evidence_id="pump-1/a")
    assert _version(ws, "pump-1") == 1
    _log(ws, "pump-1", "fatigue crack at the weld, severe leak")  # a reviewer still looks at version 1
    assert _version(ws, "pump-1") == 2
    with pytest.raises(ConflictError, match="version 2"), ws.session() as s:
        add_review(s, "pump-1", reviewer="ana", expected_version=1, grade="A")
    with ws.session() as s:  # nothing of the stale review was written; one made against version 2 goes in
        add_review(s, "pump-1", reviewer="ana", expected_version=2, grade="D")
    assert _version(ws, "pump-1") == 3
    with ws.session() as s:  # the same evidence again is a no-op and leaves the version alone
        add_evidence(s, asset_id="pump-1", kind="log", sha256="0" * 64, text="runs quiet", evidence_id="pump-1/a")
    assert _version(ws, "pump-1") == 3


def test_one_session_over_two_transactions_bumps_in_the_second(ws: Workspace) -> None:
    from sqlalchemy.orm import Session

    with Session(bind=ws.engine, expire_on_commit=False) as s:
        add_asset(s, "pump-2")
        s.commit()  # the asset is stored: from here on a reviewer may be looking at version 1
        add_evidence(s, asset_id="pump-2", kind="log", sha256="1" * 64, text="oil leak", evidence_id="pump-2/a")
        s.commit()
        add_asset(s, "pump-3")
        s.rollback()  # never stored: "pump-3" must not stay marked as added in this transaction
        add_asset(s, "pump-3")
        s.commit()
        add_evidence(s, asset_id="pump-3", kind="log", sha256="2" * 64, text="seized", evidence_id="pump-3/a")
        s.commit()
    assert (_version(ws, "pump-2"), _version(ws, "pump-3")) == (2, 2)


def _png(shade: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (32, 24), (shade, 40, 40)).save(buf, "PNG")
    return buf.getvalue()


def test_ingesting_new_evidence_for_a_stored_asset_raises_its_version(tmp_path: Path) -> None:
    from assetgrade.ingest import Ingestor, manifest_items

    ws = Workspace.init(tmp_path / "ws")
    data = tmp_path / "data"
    data.mkdir()
    for i in range(3):
        (data / f"{i}.png").write_bytes(_png(60 * i))

    def ingest(rows: list[str], name: str) -> None:
        path = data / name
        path.write_text("asset_id,kind,path\n" + "\n".join(rows) + "\n", encoding="utf-8")
        rep = Ingestor(ws, kind="manifest", source=str(path)).run(manifest_items(path))
        assert not rep.errors, rep.errors

    ingest(["valve-1,image,0.png", "valve-2,image,1.png"], "first.csv")  # new assets: version 1
    assert (_version(ws, "valve-1"), _version(ws, "valve-2")) == (1, 1)
    ingest(["valve-1,image,0.png", "valve-1,image,2.png", "valve-3,image,1.png"], "second.csv")
    # valve-1 got one new image (the other row is already stored): one step, in the ingest's transaction
    assert (_version(ws, "valve-1"), _version(ws, "valve-2"), _version(ws, "valve-3")) == (2, 1, 1)
    ws.close()


def test_the_409_names_new_evidence_when_that_is_what_changed_the_asset(ws: Workspace) -> None:
    from assetgrade.rest.queries import last_change

    with ws.session() as s:
        add_asset(s, "pump-4")
    with ws.session() as s:
        add_review(s, "pump-4", reviewer="ana", expected_version=1, grade="B")
    with ws.session(readonly=True) as s:
        assert last_change(s, "pump-4") is not None and last_change(s, "pump-4")[0] == "ana"  # type: ignore[index]
    _log(ws, "pump-4", "crack found at the flange")
    with ws.session(readonly=True) as s:
        change = last_change(s, "pump-4")
    assert change is not None and change[0] == "new evidence"

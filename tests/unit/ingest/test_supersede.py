"""A newer export of a stored file (same name, other content): refused naming both ways out, or with --supersede
stored as a new item while the stored one is withdrawn in the same transaction ("superseded by ...")."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

from assetgrade.ingest import Ingestor, SeriesOptions, manifest_items, series_items
from assetgrade.ingest.report import IngestReport
from assetgrade.store import load_records, verify_chain
from assetgrade.store.audit import list_events
from assetgrade.store.schema import Evidence, Label
from assetgrade.store.withdrawals import withdrawals_of
from assetgrade.workspace import Workspace

T0 = datetime(2024, 4, 1)


def _log(path: Path, hours: int, first_hour: int = 0) -> Path:
    rows = "".join(f"{(T0 + timedelta(hours=first_hour + i)).isoformat()},{20 + i % 7}.5\n" for i in range(hours))
    path.write_text("time,temp\n" + rows, encoding="utf-8")
    return path


def _series(ws: Workspace, path: Path, *, supersede: bool = False) -> IngestReport:
    return Ingestor(ws, kind="series", source=str(path), supersede=supersede).run(
        series_items([path], SeriesOptions(), asset_id="pump-7"))


def _series_ids(ws: Workspace) -> list[str]:
    return [s.evidence_id for s in load_records(ws, ["pump-7"])[0].series]


def _jpeg(color: int) -> bytes:
    buf = io.BytesIO()
    Image.new("L", (32, 24), color).save(buf, "JPEG")
    return buf.getvalue()


def _manifest(tmp_path: Path, color: int, defect: str, *, asset_type: str = "pump") -> Path:
    (tmp_path / "a.jpg").write_bytes(_jpeg(color))
    m = tmp_path / "m.csv"
    m.write_text("asset_id,asset_type,kind,path,grade,defect,box\n"
                 f'pump-1,{asset_type},image,a.jpg,B,{defect},"1,1,4,4"\n', encoding="utf-8")
    return m


def _images(ws: Workspace, m: Path, *, supersede: bool = False) -> IngestReport:
    return Ingestor(ws, kind="manifest", source=str(m), supersede=supersede).run(manifest_items(m))


def test_the_conflict_names_the_file_the_asset_when_and_both_ways_out(ws: Workspace, tmp_path: Path) -> None:
    f = _log(tmp_path / "pump-7.csv", 24)
    assert _series(ws, f).added["evidence"] == 1
    [old] = _series_ids(ws)
    _log(f, 48)  # the same file exported again with more days
    rep = _series(ws, f)
    assert rep.added["evidence"] == 0 and not rep.superseded
    [err] = rep.errors
    assert err.error == "ConflictError" and err.field == "evidence_id"
    assert err.file == str(f) and err.reason.startswith(
        f"asset 'pump-7' already has a series from the same source ('pump-7.csv#pump-7') with other content: {old},"
        " ingested 20")
    assert "--supersede (the stored item is withdrawn, and kept in the history)" in err.reason
    assert "give this file another name" in err.reason
    assert _series_ids(ws) == [old]


def test_supersede_replaces_a_series_and_a_rerun_does_nothing(ws: Workspace, tmp_path: Path) -> None:
    f = _log(tmp_path / "pump-7.csv", 24)
    _series(ws, f)
    [old] = _series_ids(ws)
    _log(f, 48)
    rep = _series(ws, f, supersede=True)
    assert rep.ok and rep.added["evidence"] == 1
    [new] = _series_ids(ws)
    assert new != old
    assert [(x.old, x.new, x.file) for x in rep.superseded] == [(old, new, str(f))]
    assert rep.to_dict()["superseded"] == [{"old": old, "new": new, "file": str(f), "row": None}]
    assert not any("overlap" in str(n) for n in rep.notices)  # not said to overlap the item it replaces
    with ws.session(readonly=True) as s:
        gone = withdrawals_of(s)
        assert list(gone) == [old] and gone[old].reason == f"superseded by {new} from {f}"
        assert gone[old].by == "ingest"
        attrs = s.get(Evidence, new).attributes  # type: ignore[union-attr]
        assert (attrs["source_item"], attrs["supersedes"]) == (old, old)
        events = list_events(s, action="evidence.withdraw")
        assert [e.entity_id for e in events] == [old]
        assert verify_chain(s).ok
    again = _series(ws, f, supersede=True)
    assert again.ok and again.added["evidence"] == 0 and again.skipped_existing == 1 and not again.superseded
    plain = _series(ws, f)  # without --supersede too: the stored newer content is found, no conflict
    assert plain.ok and plain.skipped_existing == 1
    assert _series_ids(ws) == [new]


def test_a_chain_v1_v2_v3_withdraws_the_live_item(ws: Workspace, tmp_path: Path) -> None:
    f = _log(tmp_path / "pump-7.csv", 24)
    _series(ws, f)
    [v1] = _series_ids(ws)
    _log(f, 48)
    _series(ws, f, supersede=True)
    [v2] = _series_ids(ws)
    _log(f, 72)
    rep = _series(ws, f, supersede=True)
    [v3] = _series_ids(ws)
    assert len({v1, v2, v3}) == 3
    assert [(x.old, x.new) for x in rep.superseded] == [(v2, v3)]
    with ws.session(readonly=True) as s:
        gone = withdrawals_of(s)
        assert sorted(gone) == sorted([v1, v2]) and gone[v2].reason.startswith(f"superseded by {v3} ")
        assert s.get(Evidence, v3).attributes["supersedes"] == v2  # type: ignore[union-attr]
    _log(f, 96)
    refused = _series(ws, f)  # the conflict names the live item, not the first
    assert f"with other content: {v3}, ingested " in refused.errors[0].reason


def test_a_source_withdrawn_by_hand_takes_the_new_content_with_supersede(ws: Workspace, tmp_path: Path) -> None:
    from assetgrade.store.withdrawals import withdraw_evidence

    f = _log(tmp_path / "pump-7.csv", 24)
    _series(ws, f)
    [old] = _series_ids(ws)
    withdraw_evidence(ws, [old], reason="wrong export", by="ana")
    _log(f, 48)
    [err] = _series(ws, f).errors  # the same id: still a conflict, saying so
    assert f"with other content: {old}, ingested 20" in err.reason and ", since withdrawn. " in err.reason
    assert "--supersede" in err.reason
    rep = _series(ws, f, supersede=True)
    assert rep.ok and rep.added["evidence"] == 1 and rep.superseded == []  # nothing live to withdraw
    [new] = _series_ids(ws)
    assert new != old


def test_supersede_replaces_an_image_its_boxes_stay_on_the_withdrawn_item(ws: Workspace, tmp_path: Path) -> None:
    m = _manifest(tmp_path, 10, "corrosion")
    assert _images(ws, m).added["evidence"] == 1
    [old] = [i.evidence_id for i in load_records(ws, ["pump-1"])[0].images]
    m = _manifest(tmp_path, 200, "dent")  # a corrected photo under the same name, with its own box
    assert "--supersede" in _images(ws, m).errors[0].reason
    rep = _images(ws, m, supersede=True)
    assert rep.ok and [x.old for x in rep.superseded] == [old] and rep.superseded[0].row == 2
    rec = load_records(ws, ["pump-1"])[0]
    [new] = [i.evidence_id for i in rec.images]
    assert new == rep.superseded[0].new and rec.grade == "B"
    with ws.session(readonly=True) as s:
        boxes = dict(s.execute(select(Label.evidence_id, Label.value).where(Label.kind == "defect")).tuples().all())
    assert boxes == {old: "corrosion", new: "dent"}  # the old box stays on the withdrawn item, not copied


def test_a_failed_row_or_group_leaves_the_old_item_live(ws: Workspace, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    m = _manifest(tmp_path, 10, "corrosion")
    _images(ws, m)
    [old] = [i.evidence_id for i in load_records(ws, ["pump-1"])[0].images]
    rep = _images(ws, _manifest(tmp_path, 200, "dent", asset_type="valve"), supersede=True)  # the row is refused
    assert rep.errors[0].field == "asset_type" and not rep.superseded
    import assetgrade.ingest.commit as commit

    def broken(*_a: object, **_k: object) -> None:
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(commit, "append_event", broken)  # the row group's transaction fails after the withdrawal
    with pytest.raises(RuntimeError, match="disk is full"):
        _images(ws, _manifest(tmp_path, 200, "dent"), supersede=True)
    monkeypatch.undo()
    assert [i.evidence_id for i in load_records(ws, ["pump-1"])[0].images] == [old]
    with ws.session(readonly=True) as s:
        assert withdrawals_of(s) == {} and list_events(s, action="evidence.withdraw") == []
        assert verify_chain(s).ok


def test_another_asset_stays_refused_with_supersede(ws: Workspace, tmp_path: Path, jpeg: Callable[..., bytes]) -> None:
    (tmp_path / "a.jpg").write_bytes(jpeg(10))
    m = tmp_path / "m.csv"
    m.write_text("asset_id,kind,path,evidence_id\npump-1,image,a.jpg,ev-photo-1\n", encoding="utf-8")
    _images(ws, m)
    (tmp_path / "b.jpg").write_bytes(jpeg(200))
    m.write_text("asset_id,kind,path,evidence_id\npump-2,image,b.jpg,ev-photo-1\n", encoding="utf-8")
    rep = _images(ws, m, supersede=True)
    [err] = rep.errors
    assert "is stored for asset 'pump-1', this row is for asset 'pump-2'" in err.reason
    assert "not with --supersede" in err.reason and not rep.superseded
    with ws.session(readonly=True) as s:
        assert withdrawals_of(s) == {}


def test_a_manifest_evidence_id_that_meets_other_content_names_that_id_and_row(
        ws: Workspace, tmp_path: Path, jpeg: Callable[..., bytes]) -> None:
    # it said "already has an image from the same source ('b.jpg')": b.jpg never was stored; what collided is
    # the evidence id the row gave, which a.jpg's row had given before
    (tmp_path / "a.jpg").write_bytes(jpeg(10))
    (tmp_path / "b.jpg").write_bytes(jpeg(200))
    m = tmp_path / "m.csv"
    m.write_text("asset_id,kind,path,evidence_id\npump-1,image,a.jpg,ev-photo-1\n", encoding="utf-8")
    first = _images(ws, m)
    m.write_text("asset_id,kind,path,evidence_id\npump-1,image,a.jpg,\npump-1,image,b.jpg,ev-photo-1\n",
                 encoding="utf-8")
    rep = _images(ws, m)
    [err] = rep.errors
    assert (err.row, err.field, err.error) == (3, "evidence_id", "ConflictError")
    assert err.reason.startswith(
        f"asset 'pump-1' already has an image under evidence id 'ev-photo-1', the evidence_id {m}:row 3 gives,"
        f" with other content: ev-photo-1, ingested 20")
    assert f"by ingest batch {first.batch_id}. To replace it with this content, run the same command with" in err.reason
    assert err.reason.endswith(
        "to keep both, give this row another evidence_id, or none (one is then derived from its path or text)")
    assert "same source" not in err.reason
    done = _images(ws, m, supersede=True)  # the way out it names
    assert done.ok and [(s.old, s.row) for s in done.superseded] == [("ev-photo-1", 3)]


@pytest.mark.postgres
def test_supersede_on_postgresql(tmp_path: Path) -> None:
    from tests.pg import PG_ENV, pg_url, reset_pg

    url = pg_url()
    if url is None:
        pytest.skip(f"no PostgreSQL server answers: set {PG_ENV}")
    reset_pg(url)
    with Workspace.init(tmp_path / "ws", store_url=url) as w:
        f = _log(tmp_path / "pump-7.csv", 24)
        _series(w, f)
        [v1] = _series_ids(w)
        _log(f, 48)
        assert "--supersede" in _series(w, f).errors[0].reason
        rep = _series(w, f, supersede=True)
        [v2] = _series_ids(w)
        assert [(x.old, x.new) for x in rep.superseded] == [(v1, v2)]
        _log(f, 72)
        rep = _series(w, f, supersede=True)  # the live item is found through the JSON attribute on PostgreSQL too
        [v3] = _series_ids(w)
        assert [(x.old, x.new) for x in rep.superseded] == [(v2, v3)]
        assert _series(w, f, supersede=True).skipped_existing == 1
        with w.session(readonly=True) as s:
            assert sorted(withdrawals_of(s)) == sorted([v1, v2]) and verify_chain(s).ok
    reset_pg(url)

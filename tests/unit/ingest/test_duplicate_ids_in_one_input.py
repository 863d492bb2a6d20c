"""Two rows of one input giving one evidence id other content (or another asset): the later row is refused naming
both rows and the id, whether the first is in its row group or an earlier one, with or without --supersede (which
used to withdraw the first row's item for the second's when a group boundary fell between them)."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

from assetgrade.ingest import Ingestor, SeriesOptions, manifest_items, series_items
from assetgrade.store.schema import Evidence
from assetgrade.store.withdrawals import withdrawals_of
from assetgrade.workspace import Workspace


def _jpeg(color: int) -> bytes:
    buf = io.BytesIO()
    Image.new("L", (32, 24), color).save(buf, "JPEG")
    return buf.getvalue()


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _stored(ws: Workspace) -> dict[str, str]:
    with ws.session(readonly=True) as s:
        return dict(s.execute(select(Evidence.id, Evidence.asset_id)).tuples().all())


@pytest.mark.parametrize("supersede", [False, True])
@pytest.mark.parametrize("group_size", [1, 200])
def test_one_evidence_id_with_two_contents_refuses_the_later_row_naming_both(
        ws: Workspace, tmp_path: Path, consistent: Callable[[Workspace], bool], group_size: int,
        supersede: bool) -> None:
    for name, color in (("a.jpg", 10), ("b.jpg", 200), ("c.jpg", 100)):
        (tmp_path / name).write_bytes(_jpeg(color))
    m = tmp_path / "m.csv"
    m.write_text("asset_id,kind,path,evidence_id\np,image,a.jpg,E1\np,image,c.jpg,\np,image,b.jpg,E1\n",
                 encoding="utf-8")
    rep = Ingestor(ws, kind="manifest", source=str(m), group_size=group_size, supersede=supersede).run(
        manifest_items(m))
    [err] = rep.errors
    assert (err.file, err.row, err.field, err.error) == (str(m), 4, "evidence_id", "ConflictError")
    assert err.reason == (f"evidence id 'E1' is given twice in this input with different content, by {m}:row 2 and"
                          f" by {m}:row 4 (asset 'p'); the first is kept and this row refused, since which is right"
                          " would be a guess: fix one of them, or give each its own evidence id (or file name)")
    assert rep.added["evidence"] == 2 and not rep.superseded  # row 2 and row 3 landed; nothing withdrawn
    stored = _stored(ws)
    assert "E1" in stored and len(stored) == 2
    with ws.session(readonly=True) as s:
        assert withdrawals_of(s, list(stored)) == {}
        assert s.scalar(select(Evidence.sha256).where(Evidence.id == "E1")) == _sha(tmp_path / "a.jpg")
    assert consistent(ws)
    again = Ingestor(ws, kind="manifest", source=str(m), group_size=group_size, supersede=supersede).run(
        manifest_items(m))  # the same input again: the same refusal, nothing stored or withdrawn
    assert [e.reason for e in again.errors] == [err.reason] and again.added["evidence"] == 0
    assert not again.superseded and _stored(ws) == stored


@pytest.mark.parametrize("group_size", [1, 200])
def test_one_evidence_id_for_two_assets_names_both_rows(ws: Workspace, tmp_path: Path, group_size: int) -> None:
    (tmp_path / "a.jpg").write_bytes(_jpeg(10))
    m = tmp_path / "m.csv"
    m.write_text("asset_id,kind,path,evidence_id\np,image,a.jpg,E1\nq,image,a.jpg,E1\n", encoding="utf-8")
    rep = Ingestor(ws, kind="manifest", source=str(m), group_size=group_size).run(manifest_items(m))
    [err] = rep.errors
    assert err.row == 3 and err.reason.startswith(
        f"evidence id 'E1' is given twice in this input for assets 'p' and 'q', by {m}:row 2 and by {m}:row 3; ")
    assert _stored(ws) == {"E1": "p"}


@pytest.mark.parametrize("group_size", [1, 200])
def test_rows_about_one_item_with_the_same_content_still_add_their_labels(ws: Workspace, tmp_path: Path,
                                                                          group_size: int) -> None:
    (tmp_path / "a.jpg").write_bytes(_jpeg(10))
    m = tmp_path / "m.csv"
    m.write_text('asset_id,kind,path,defect,box\np,image,a.jpg,crazing,"1,1,4,4"\np,image,a.jpg,crazing,"5,5,9,9"\n',
                 encoding="utf-8")
    rep = Ingestor(ws, kind="manifest", source=str(m), group_size=group_size).run(manifest_items(m))
    assert rep.ok and rep.added["evidence"] == 1 and rep.added["labels"] == 2


def test_two_series_files_of_one_name_in_two_folders_name_both_files(ws: Workspace, tmp_path: Path) -> None:
    files = []
    for d, v in (("x", 2), ("y", 3)):
        (tmp_path / d).mkdir()
        f = tmp_path / d / "pump.csv"
        f.write_text(f"time,temp\n2024-01-01T00:00:00,1\n2024-01-01T01:00:00,{v}\n", encoding="utf-8")
        files.append(f)
    rep = Ingestor(ws, kind="series", source="s", supersede=True).run(series_items(files, SeriesOptions()))
    [err] = rep.errors
    assert err.file == str(files[1]) and f"with different content, by {files[0]} and by {files[1]}" in err.reason
    assert rep.added["evidence"] == 1 and not rep.superseded and len(_stored(ws)) == 1


def test_two_new_contents_of_one_stored_source_do_not_both_supersede_it(ws: Workspace, tmp_path: Path) -> None:
    for name, color in (("a.jpg", 10), ("b.jpg", 200), ("c.jpg", 100)):
        (tmp_path / name).write_bytes(_jpeg(color))
    first = tmp_path / "first.csv"
    first.write_text("asset_id,kind,path,evidence_id\np,image,a.jpg,E1\n", encoding="utf-8")
    assert Ingestor(ws, kind="manifest", source="first").run(manifest_items(first)).ok
    m = tmp_path / "m.csv"  # two newer contents for E1 in one input: only the first may replace it
    m.write_text("asset_id,kind,path,evidence_id\np,image,b.jpg,E1\np,image,c.jpg,E1\n", encoding="utf-8")
    rep = Ingestor(ws, kind="manifest", source=str(m), supersede=True).run(manifest_items(m))
    [err] = rep.errors
    assert err.row == 3 and f"by {m}:row 2 and by {m}:row 3" in err.reason
    [done] = rep.superseded
    assert (done.old, done.row) == ("E1", 2)
    with ws.session(readonly=True) as s:
        live = set(_stored(ws)) - set(withdrawals_of(s, list(_stored(ws))))
    assert live == {done.new}


def _overlapping_pumps(tmp_path: Path, second: int) -> list[Path]:
    files = []
    for d, v in (("x", 2), ("y", second)):
        (tmp_path / d).mkdir()
        f = tmp_path / d / "pump.csv"
        f.write_text(f"time,temp\n2024-01-01T00:00:00,1\n2024-01-01T01:00:00,{v}\n", encoding="utf-8")
        files.append(f)
    return files


@pytest.mark.parametrize("group_size", [1, 200])
def test_a_refused_second_file_of_one_name_gets_no_overlap_notice(ws: Workspace, tmp_path: Path,
                                                                  group_size: int) -> None:
    # the overlap notice said both go in ("overlap the series from x/pump.csv in this batch") while the
    # writer refused y/pump.csv as a second content for the same evidence id: the two contradicted each other
    files = _overlapping_pumps(tmp_path, 3)
    rep = Ingestor(ws, kind="series", source="s", group_size=group_size).run(series_items(files, SeriesOptions()))
    [err] = rep.errors
    assert err.file == str(files[1]) and "is given twice in this input" in err.reason
    assert [str(n) for n in rep.notices] == []
    assert rep.added["evidence"] == 1


def test_the_same_file_in_two_folders_is_one_series_and_no_overlap(ws: Workspace, tmp_path: Path) -> None:
    files = _overlapping_pumps(tmp_path, 2)  # the same bytes twice: one item, nothing overlaps it
    rep = Ingestor(ws, kind="series", source="s").run(series_items(files, SeriesOptions()))
    assert rep.ok and rep.added["evidence"] == 1 and [str(n) for n in rep.notices] == []


def test_a_later_file_is_not_said_to_overlap_a_refused_one(ws: Workspace, tmp_path: Path) -> None:
    files = _overlapping_pumps(tmp_path, 3)
    other = tmp_path / "z.csv"  # overlaps both; the refused y/pump.csv is not in the store to overlap
    other.write_text("time,temp\n2024-01-01T00:30:00,5\n", encoding="utf-8")
    rep = Ingestor(ws, kind="series", source="s").run(
        series_items([*files, other], SeriesOptions(), asset_id="pump"))
    assert len(rep.errors) == 1 and rep.added["evidence"] == 2
    [notice] = rep.notices
    assert notice.file == str(other) and f"overlap the series from {files[0]} in this batch" in notice.message


def test_a_refused_manifest_row_gets_no_overlap_notice(ws: Workspace, tmp_path: Path) -> None:
    for name, v in (("a.csv", 2), ("b.csv", 3)):
        (tmp_path / name).write_text(f"time,temp\n2024-01-01T00:00:00,1\n2024-01-01T01:00:00,{v}\n",
                                     encoding="utf-8")
    m = tmp_path / "m.csv"
    m.write_text("asset_id,kind,path,evidence_id\np,series,a.csv,S1\np,series,b.csv,S1\np,series,a.csv,S1\n",
                 encoding="utf-8")
    rep = Ingestor(ws, kind="manifest", source=str(m)).run(manifest_items(m))
    [err] = rep.errors
    assert err.row == 3 and "is given twice in this input" in err.reason
    assert [str(n) for n in rep.notices] == []  # row 4 is row 2's item again: no overlap with itself either
    assert rep.added["evidence"] == 1

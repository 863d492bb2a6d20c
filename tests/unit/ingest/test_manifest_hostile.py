"""Manifests and work orders that used to lose or corrupt data without a word: each is now an error naming the
row and field, or is kept whole; the rest of the file goes on and the store stays consistent."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from assetgrade.errors import ValidationError
from assetgrade.ingest import Ingestor, IngestReport, WorkOrderColumns, manifest_items, work_order_items
from assetgrade.store.loading import load_records
from assetgrade.store.schema import Asset, Evidence, Label, Provenance
from assetgrade.workspace import Workspace

Counts = Callable[[Workspace], dict[str, int]]


def _run(ws: Workspace, path: Path) -> IngestReport:
    return Ingestor(ws, kind="manifest", source=str(path)).run(manifest_items(path))


def _csv(folder: Path, text: str, name: str = "m.csv") -> Path:
    p = folder / name
    p.write_text(text, encoding="utf-8")
    return p


def test_an_unclosed_quote_is_an_error_on_its_row_not_a_swallowed_file(ws: Workspace, tmp_path: Path) -> None:
    m = _csv(tmp_path, 'asset_id,kind,text\nq-1,log,fine\nq-2,log,"broken\nq-3,log,x\nq-4,log,y\n')
    rep = _run(ws, m)
    assert rep.added["assets"] == 1 and len(rep.errors) == 1
    err = rep.errors[0]
    assert err.row == 3 and "never closed" in err.reason and "rows 3-5 were not read" in err.reason
    m2 = _csv(tmp_path, 'asset_id,kind,text\nr-1,log,"x"y\nr-2,log,fine\n', "m2.csv")  # a stray quote: one row
    rep = _run(ws, m2)
    assert [e.row for e in rep.errors] == [2] and "not valid CSV" in rep.errors[0].reason
    assert rep.added["assets"] == 1


def test_header_problems_are_named(ws: Workspace, tmp_path: Path) -> None:
    from assetgrade.errors import IngestError

    with pytest.raises(IngestError, match="grade appear more than once"):
        list(manifest_items(_csv(tmp_path, "asset_id,kind,text,grade,grade\na,log,t,A,B\n")))
    bom = tmp_path / "bom.csv"
    bom.write_bytes("\ufeffasset_id,kind,text\nb-1,log,hello\n".encode())
    assert _run(ws, bom).added["assets"] == 1
    items = list(manifest_items(bom, encoding="utf-8"))  # the BOM read as a character: still found
    assert [getattr(i, "asset_id", None) for i in items] == ["b-1"]


def test_a_cell_longer_than_pythons_default_limit_is_read(ws: Workspace, tmp_path: Path) -> None:
    long = "leak " * 60_000  # 300,000 characters: over csv's default field limit of 131,072
    m = _csv(tmp_path, f"asset_id,kind,text\nl-1,log,{long}\nl-2,log,short\n")
    rep = _run(ws, m)
    assert rep.errors == [] and rep.added["evidence"] == 2


def test_one_evidence_id_for_two_assets_is_refused(ws: Workspace, tmp_path: Path, counts: Counts) -> None:
    m = _csv(tmp_path, "asset_id,kind,text,grade,evidence_id\nd-1,log,pump noisy,A,ev-shared\n"
                       "d-2,log,pump noisy,D,ev-shared\n")
    rep = _run(ws, m)
    assert len(rep.errors) == 1 and rep.errors[0].row == 3 and rep.errors[0].field == "evidence_id"
    assert "for assets 'd-1' and 'd-2'" in rep.errors[0].reason
    with ws.session(readonly=True) as s:
        grades = s.execute(select(Label.asset_id, Label.value)).tuples().all()
    assert grades == [("d-1", "A")]  # d-2's grade did not land on d-1
    assert counts(ws)["assets"] == 1


def test_the_same_words_on_other_dates_are_separate_log_entries(ws: Workspace, tmp_path: Path) -> None:
    m = _csv(tmp_path, "asset_id,kind,text,date,cost\ns-1,log,replaced filter,2024-01-01,100\n"
                       "s-1,log,replaced filter,2024-06-01,120\ns-1,log,replaced filter,2024-01-01,100\n")
    rep = _run(ws, m)
    assert rep.errors == [] and rep.added["evidence"] == 2  # the third row repeats the first
    (rec,) = load_records(ws)
    assert sorted((e.date.date().isoformat() if e.date else None, e.cost) for e in rec.logs) == [
        ("2024-01-01", 100.0), ("2024-06-01", 120.0)]
    again = _run(ws, m)
    assert again.added["evidence"] == 0 and again.skipped_existing == 2  # idempotent

    # later files with the same words on other dates: new entries, whatever their place in the file
    later = _csv(tmp_path, "asset_id,kind,text,date,cost\ns-1,log,replaced filter,2024-12-01,130\n"
                           "s-1,log,replaced filter,2025-06-01,140\n", "later.csv")
    rep = _run(ws, later)
    assert rep.errors == [] and rep.added["evidence"] == 2
    assert _run(ws, later).skipped_existing == 2 and _run(ws, m).skipped_existing == 2
    (rec,) = load_records(ws)
    assert sorted(e.cost for e in rec.logs) == [100.0, 120.0, 130.0, 140.0]


def test_a_log_kept_in_a_file_stores_its_text(ws: Workspace, tmp_path: Path) -> None:
    (tmp_path / "note.txt").write_text("pump noisy, bearing replaced\n", encoding="utf-8")
    (tmp_path / "latin.txt").write_bytes("d\xe9faut".encode("latin-1"))
    m = _csv(tmp_path, "asset_id,kind,path,text\nlp-1,log,note.txt,\nlp-2,log,latin.txt,\nlp-3,log,note.txt,also\n")
    rep = _run(ws, m)
    assert {(e.row, e.field) for e in rep.errors} == {(3, "path"), (4, "text")}
    (rec,) = load_records(ws)
    assert [e.text for e in rec.logs] == ["pump noisy, bearing replaced\n"]
    assert _run(ws, m).skipped_existing == 1

    (tmp_path / "report.pdf").write_bytes(b"%PDF-1.4\n\xe2\xe3\xcf\xd3 binary")  # a document need not be text
    (tmp_path / "note2.txt").write_text("inspection: no crack found", encoding="utf-8")
    docs = _csv(tmp_path, "asset_id,kind,path\nd-1,document,report.pdf\nd-1,document,note2.txt\n", "docs.csv")
    assert _run(ws, docs).errors == []
    with ws.session(readonly=True) as s:
        stored = dict(s.execute(select(Evidence.blob_sha.is_not(None), Evidence.text)
                                .where(Evidence.asset_id == "d-1")).tuples().all())
    assert stored == {True: None, False: "inspection: no crack found"}  # the PDF as a blob, the note as text


def test_a_rejected_row_leaves_no_asset_and_a_later_type_is_kept(ws: Workspace, tmp_path: Path,
                                                                 counts: Counts) -> None:
    m = _csv(tmp_path, "asset_id,kind,text,parent,asset_type\nm-17,log,t,ev_nonexistent,\n"
                       "ut-1,log,n1,,\nut-1,log,n2,,pump\n")
    rep = _run(ws, m)
    assert [(e.row, e.field) for e in rep.errors] == [(2, "parent")]
    with ws.session(readonly=True) as s:
        assets = dict(s.execute(select(Asset.id, Asset.asset_type)).tuples().all())
    assert assets == {"ut-1": "pump"}
    m2 = _csv(tmp_path, "asset_id,kind,text,asset_type\nut-2,log,n3,\n", "m2.csv")
    _run(ws, m2)
    _run(ws, _csv(tmp_path, "asset_id,kind,text,asset_type\nut-2,log,n4,valve\n", "m3.csv"))
    with ws.session(readonly=True) as s:
        assert s.get(Asset, "ut-2").asset_type == "valve"  # type: ignore[union-attr]
    assert counts(ws)["assets"] == 2


def test_two_grades_from_one_annotator_in_one_file_are_refused(ws: Workspace, tmp_path: Path) -> None:
    m = _csv(tmp_path, "asset_id,kind,text,grade,annotator\ng-1,log,a,A,\ng-1,log,b,A,\ng-1,log,c,D,\n"
                       "g-1,log,d,C,bob\n")
    rep = _run(ws, m)
    assert [(e.row, e.field) for e in rep.errors] == [(4, "grade")]
    assert "has grade 'A' from annotator 'import' on row 2" in rep.errors[0].reason
    with ws.session(readonly=True) as s:
        assert sorted(s.execute(select(Label.annotator, Label.value)).tuples().all()) == [("bob", "C"), ("import", "A")]


def test_ambiguous_decimal_commas_and_odd_json_values_are_refused(ws: Workspace, tmp_path: Path) -> None:
    m = _csv(tmp_path, "asset_id;kind;text;cost\nsc-1;log;x;1,5\nsc-2;log;y;1,250.50\n")
    rep = _run(ws, m)
    assert [(e.row, e.field) for e in rep.errors] == [(2, "cost")] and "ambiguous" in rep.errors[0].reason
    (rec,) = load_records(ws)
    assert rec.logs[0].cost == 1250.5
    j = tmp_path / "m.jsonl"
    j.write_text('{"asset_id": NaN, "kind": "log", "text": "a"}\n{"asset_id": ["a", "b"], "kind": "log", '
                 '"text": "b"}\n{"asset_id": 17, "kind": "log", "text": "c"}\n' + "[" * 100_000 + "\n",
                 encoding="utf-8")
    rep = _run(ws, j)
    assert [(e.row, e.field) for e in rep.errors] == [(1, "asset_id"), (2, "asset_id"), (4, None)]
    assert "nested too deeply" in rep.errors[2].reason
    with ws.session(readonly=True) as s:
        assert s.get(Asset, "17") is not None


def test_a_group_size_below_one_is_refused(ws: Workspace) -> None:
    with pytest.raises(ValidationError, match="group size must be at least 1"):
        Ingestor(ws, kind="manifest", source="x", group_size=-1)


def test_a_work_order_column_named_date_does_not_replace_the_parsed_date(ws: Workspace, tmp_path: Path) -> None:
    wo = _csv(tmp_path, "Asset,BscStartDate,OriginalShorttext,Cost,date\nE1,2024-01-01,replace hose,100,31/12/2003\n",
              "wo.csv")
    items = work_order_items(wo, WorkOrderColumns(), source="fleet-export")
    rep = Ingestor(ws, kind="work-orders", source=str(wo)).run(items)
    assert rep.errors == [] and rep.added["evidence"] == 1
    assert any("kept as attribute 'column:date'" in n.message for n in rep.notices)
    with ws.session(readonly=True) as s:
        attrs = s.execute(select(Evidence.attributes)).scalar_one()
        assert s.execute(select(Provenance.source)).scalar_one() == "fleet-export"  # the source kept as given
    assert attrs["date"].startswith("2024-01-01") and attrs["column:date"] == "31/12/2003"
    (rec,) = load_records(ws)  # the records load (a raw "31/12/2003" here used to break every load)
    assert rec.logs[0].date is not None and rec.logs[0].date.year == 2024


def test_a_box_beyond_the_real_image_is_refused(ws: Workspace, tmp_path: Path, jpeg: Callable[..., bytes]) -> None:
    (tmp_path / "small.jpg").write_bytes(jpeg(90, size=(64, 48)))
    m = _csv(tmp_path, 'asset_id,kind,path,defect,box\nb-1,image,small.jpg,crack,"0,0,5000,5000"\n'
                       'b-2,image,small.jpg,crack,"0,0,64,48"\n')
    rep = _run(ws, m)
    assert [(e.row, e.field) for e in rep.errors] == [(2, "box")] and "64x48 pixels" in rep.errors[0].reason
    assert rep.added["assets"] == 1


def test_ids_the_rest_api_could_not_address_are_refused_at_ingest(ws: Workspace, tmp_path: Path) -> None:
    m = _csv(tmp_path, "asset_id,kind,text,evidence_id\npump/reviews,log,a,\np-2,log,b,x/content\np-3,log,c,\n")
    rep = _run(ws, m)
    assert [(e.row, e.field) for e in rep.errors] == [(2, "asset_id"), (3, "evidence_id")]
    assert "reads as /assets/<id>/reviews" in rep.errors[0].reason and rep.added["assets"] == 1


def test_a_defect_label_with_another_severity_is_a_conflict_not_skipped(ws: Workspace, tmp_path: Path,
                                                                        counts: Counts) -> None:
    first = _csv(tmp_path, "asset_id,kind,text,defect,severity\nz-1,log,crack seen,corrosion,minor\n")
    assert _run(ws, first).ok
    before = counts(ws)
    # the same row with the severity corrected: the label's id leaves severity out, so it used to be
    # "already stored" and the new severity was dropped without a word
    edited = _csv(tmp_path, "asset_id,kind,text,defect,severity\nz-1,log,crack seen,corrosion,severe\n", "e.csv")
    rep = _run(ws, edited)
    assert [(e.row, e.field, e.error) for e in rep.errors] == [(2, "severity", "ConflictError")]
    assert "stored with severity 'minor', this row says 'severe'" in rep.errors[0].reason
    assert rep.skipped_existing == 0 and counts(ws) == before
    assert _run(ws, first).skipped_existing == 1  # the same content again is still a no-op
    # two rows about one item that disagree on a severity: the item is refused, not half-stored
    twice = _csv(tmp_path, "asset_id,kind,text,defect,severity\nz-2,log,dent,corrosion,minor\n"
                           "z-2,log,dent,corrosion,severe\n", "t.csv")
    rep = _run(ws, twice)
    assert [(e.row, e.field) for e in rep.errors] == [(2, "severity")]
    assert "given twice for this item, with severity 'minor' and 'severe'" in rep.errors[0].reason
    with ws.session(readonly=True) as s:
        assert s.execute(select(Label.severity).where(Label.asset_id == "z-1")).scalars().all() == ["minor"]
        assert s.get(Asset, "z-2") is None

"""The notice that a numeric time column was read as Unix time is said for a series that is stored, never for one
the importer or the writer refuses (it used to be said before the writer saw the row)."""

from __future__ import annotations

from pathlib import Path

from assetgrade.ingest import Ingestor, SeriesOptions, manifest_items, series_items
from assetgrade.workspace import Workspace


def _epoch_rows(start: int) -> str:
    return "t,temp\n" + "".join(f"{start + 2 * i},{20 + i}\n" for i in range(4))


def _unix_notices(rep: object) -> list[str]:
    return [str(n) for n in rep.notices if "read as Unix time" in str(n)]  # type: ignore[attr-defined]


def test_a_manifest_row_refused_for_its_grade_gets_no_unix_time_notice(ws: Workspace, tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text(_epoch_rows(1_700_000_000))
    (tmp_path / "b.csv").write_text(_epoch_rows(1_700_100_000))
    m = tmp_path / "m.csv"  # row 3 gives asset p another grade from the same annotator: refused
    m.write_text("asset_id,kind,path,grade,annotator\np,series,a.csv,A,ann\np,series,b.csv,C,ann\n", encoding="utf-8")
    rep = Ingestor(ws, kind="manifest", source=str(m)).run(manifest_items(m))
    [err] = rep.errors
    assert (err.row, err.field) == (3, "grade")
    [said] = _unix_notices(rep)
    assert said.startswith(f"{m}:row 2") and "2023-11-14" in said  # a.csv's times; b.csv's (2023-11-16) unsaid
    assert rep.added["evidence"] == 1


def test_a_series_file_the_writer_refuses_gets_no_unix_time_notice(ws: Workspace, tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    (one / "pump.csv").write_text(_epoch_rows(1_700_000_000))
    (two / "pump.csv").write_text(_epoch_rows(1_700_100_000))  # the same name: one evidence id, other content
    rep = Ingestor(ws, kind="series", source="s").run(series_items([one / "pump.csv", two / "pump.csv"],
                                                                   SeriesOptions()))
    [err] = rep.errors
    assert err.error == "ConflictError" and str(two / "pump.csv") in err.reason
    [said] = _unix_notices(rep)
    assert str(one / "pump.csv") in said and str(two / "pump.csv") not in said
    # ingested again, the stored series is skipped: nothing new stored, nothing said of how it was read
    again = Ingestor(ws, kind="series", source="s").run(series_items([one / "pump.csv"], SeriesOptions()))
    assert again.added["evidence"] == 0 and not _unix_notices(again)

"""An overlap with an earlier series of the same input is said only when that earlier series was stored: one the
writer refused (its evidence id is another asset's, or other content under one id) overlaps nothing in the store,
and the notice used to name it all the same."""

from __future__ import annotations

from pathlib import Path

from assetgrade.ingest import Ingestor, SeriesOptions, manifest_items, series_items
from assetgrade.workspace import Workspace

ROWS = "time,temp\n" + "".join(f"{t},{20 + t}\n" for t in range(10))
LATER = "time,temp\n" + "".join(f"{t},{30 + t}\n" for t in range(5, 15))  # shares times 5-9 with ROWS


def _overlaps(rep: object) -> list[str]:
    return [str(n) for n in rep.notices if "overlap the series" in str(n)]  # type: ignore[attr-defined]


def test_a_manifest_series_overlapping_a_refused_row_is_not_said_to_overlap(ws: Workspace, tmp_path: Path) -> None:
    (tmp_path / "q.csv").write_text(ROWS)
    (tmp_path / "a.csv").write_text(ROWS.replace(",2", ",4"))
    (tmp_path / "b.csv").write_text(LATER)
    first = tmp_path / "first.csv"
    first.write_text("asset_id,kind,path,evidence_id\nq,series,q.csv,E9\n", encoding="utf-8")
    assert Ingestor(ws, kind="manifest", source=str(first)).run(manifest_items(first)).added["evidence"] == 1
    m = tmp_path / "m.csv"  # row 2 gives asset p the id E9, which is q's: refused; row 3 overlaps row 2's times
    m.write_text("asset_id,kind,path,evidence_id\np,series,a.csv,E9\np,series,b.csv,\n", encoding="utf-8")
    rep = Ingestor(ws, kind="manifest", source=str(m)).run(manifest_items(m))
    [err] = rep.errors
    assert err.row == 2 and "'E9'" in err.reason
    assert rep.added["evidence"] == 1 and _overlaps(rep) == []
    # the same two rows for an asset whose first series is stored: the overlap is said, naming row 2
    m2 = tmp_path / "m2.csv"
    m2.write_text("asset_id,kind,path\nr,series,a.csv\nr,series,b.csv\n", encoding="utf-8")
    rep = Ingestor(ws, kind="manifest", source=str(m2)).run(manifest_items(m2))
    assert not rep.errors and rep.added["evidence"] == 2
    [said] = _overlaps(rep)
    assert said.startswith(f"{m2}:row 3") and "(row 2)" in said and "05" not in said.split("(", 1)[0]


def test_a_series_file_overlapping_a_refused_file_is_not_said_to_overlap(ws: Workspace, tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    (two / "x.csv").write_text(ROWS)
    opts = SeriesOptions()
    assert Ingestor(ws, kind="series", source="s").run(series_items([two / "x.csv"], opts, asset_id="p")
                                                       ).added["evidence"] == 1
    (one / "x.csv").write_text(ROWS.replace(",2", ",4"))  # the stored name with other content: refused
    (one / "y.csv").write_text(LATER)
    rep = Ingestor(ws, kind="series", source="s").run(series_items([one / "x.csv", one / "y.csv"], opts,
                                                                   asset_id="p"))
    [err] = rep.errors
    assert err.error == "ConflictError" and str(one / "x.csv") in (err.file or "") + err.reason
    assert rep.added["evidence"] == 1
    assert not [n for n in _overlaps(rep) if "this batch" in n]  # one/x.csv was refused: nothing in this batch
    # y.csv does overlap the series stored by the first ingest (two/x.csv), and that is said
    assert [n for n in _overlaps(rep) if "this batch" not in n]

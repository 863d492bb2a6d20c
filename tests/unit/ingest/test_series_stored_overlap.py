"""A series file overlapping a series stored for its asset by an earlier ingest is said, as two files of one batch
were: before, a sensor log exported again with a few more days (under another name) went in beside the stored one
without a word, and the sensor extractor read one of the two and left the other out."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
from sqlalchemy import select, update
from typer.testing import CliRunner

from assetgrade.cli.app import build_app
from assetgrade.ingest import Ingestor, ItemSpec, SeriesOptions, manifest_items, series_items
from assetgrade.ingest.report import IngestReport
from assetgrade.ingest.series import to_parquet_bytes
from assetgrade.ingest.series_overlap import parquet_span
from assetgrade.store.schema import Evidence, Provenance
from assetgrade.workspace import Workspace

T0 = datetime(2024, 4, 1)


def _log(path: Path, first_hour: int, hours: int, channels: tuple[str, ...] = ("temp", "vib")) -> Path:
    """An hourly sensor log from ``T0 + first_hour``."""
    rows = "".join(f"{(T0 + timedelta(hours=first_hour + i)).isoformat()}," + ",".join(f"{20 + i % 7}.5" for _ in
                                                                                         channels) + "\n"
                   for i in range(hours))
    path.write_text("time," + ",".join(channels) + "\n" + rows, encoding="utf-8")
    return path


def _cycles(path: Path, first: int, n: int) -> Path:
    path.write_text("cycle,temp\n" + "".join(f"{first + i},{20 + i % 5}\n" for i in range(n)), encoding="utf-8")
    return path


def _ingest(ws: Workspace, *paths: Path, opts: SeriesOptions | None = None, group_size: int | None = None
            ) -> IngestReport:
    return Ingestor(ws, kind="series", source="test", group_size=group_size).run(
        series_items(list(paths), opts or SeriesOptions(), asset_id="pump-7"))


def _stored(ws: Workspace) -> tuple[str, str]:
    """The evidence id and ingest batch of the one series stored so far."""
    with ws.session(readonly=True) as s:
        eid, batch = s.execute(select(Evidence.id, Provenance.ingest_batch_id)
                               .join(Provenance, Provenance.evidence_id == Evidence.id)).one()
    return eid, batch


def _said(rep: IngestReport) -> list[str]:
    return [str(n) for n in rep.notices]


def test_a_later_file_overlapping_a_stored_series_is_said(ws: Workspace, tmp_path: Path) -> None:
    old = _log(tmp_path / "pump-7.csv", 0, 48)
    assert _ingest(ws, old).added["evidence"] == 1
    eid, batch = _stored(ws)
    longer = _log(tmp_path / "pump-7_2024-04-04.csv", 0, 96)  # the same log exported again, two days more
    rep = _ingest(ws, longer)
    assert rep.ok and rep.added["evidence"] == 1  # both go in: which one is right is the user's call
    with ws.session(readonly=True) as s:
        new = s.execute(select(Evidence.id).where(Evidence.id != eid)).scalar_one()
    assert _said(rep) == [
        f"{longer}: asset 'pump-7': channel(s) temp, vib overlap the series from 'pump-7.csv' stored by ingest batch"
        f" {batch} as {eid} (2024-04-01 00:00:00 to 2024-04-02 23:00:00); this file is stored beside it, but the"
        " sensor evidence of an asset is read from one series (the others are flagged and left out) and a later"
        f" ingest does not replace a stored series: withdraw the wrong one (assetgrade assets withdraw {eid} or {new}"
        " --reason TEXT), give this file its own asset, or merge the two into one file and ingest that as a new"
        " asset"]
    saved = json.loads(Path(rep.report_path or "").read_text(encoding="utf-8"))
    assert saved["notices"] == _said(rep)


def test_the_cli_says_it_and_writes_it_in_the_report(ws: Workspace, tmp_path: Path) -> None:
    old = _log(tmp_path / "pump-7.csv", 0, 48)
    later = _log(tmp_path / "pump-7b.csv", 24, 48, channels=("vib",))
    run = CliRunner()
    assert run.invoke(build_app(), ["ingest", "series", str(old), "-w", str(ws.path)]).exit_code == 0
    res = run.invoke(build_app(), ["ingest", "series", str(later), "--asset", "pump-7", "-w", str(ws.path)])
    assert res.exit_code == 0, res.output
    shown = " ".join(res.output.split())
    assert "asset 'pump-7': channel(s) vib overlap the series from 'pump-7.csv' stored by ingest batch" in shown
    assert "(2024-04-02 00:00:00 to 2024-04-02 23:00:00)" in shown
    (report,) = [p for p in (ws.path / "reports").glob("ingest-*.json")
                 if json.loads(p.read_text(encoding="utf-8"))["source"] == str(later)]
    (notice,) = json.loads(report.read_text(encoding="utf-8"))["notices"]
    assert notice.startswith(f"{later}: asset 'pump-7': channel(s) vib overlap the series from 'pump-7.csv'")


def test_a_continuation_a_file_again_and_other_channels_are_silent(ws: Workspace, tmp_path: Path) -> None:
    old = _log(tmp_path / "pump-7.csv", 0, 48)
    assert not _ingest(ws, old).notices
    again = _ingest(ws, old)  # idempotent: the same file is a no-op
    assert (again.added["evidence"], again.skipped_existing, again.notices) == (0, 1, [])
    nxt = _ingest(ws, _log(tmp_path / "pump-7_next.csv", 48, 24))  # starts an hour after the stored one ends
    assert (nxt.added["evidence"], nxt.notices) == (1, [])
    other = _ingest(ws, _log(tmp_path / "pump-7_oil.csv", 0, 72, channels=("oil_pressure",)))
    assert (other.added["evidence"], other.notices) == (1, [])
    # a numeric time (cycles) is never compared with datetimes, whatever its numbers
    cyc = _ingest(ws, _cycles(tmp_path / "pump-7_cycles.csv", 0, 10**4), opts=SeriesOptions(numeric_time="number"))
    assert (cyc.added["evidence"], cyc.notices) == (1, [])


def test_numeric_time_overlaps_numeric_time(ws: Workspace, tmp_path: Path) -> None:
    number = SeriesOptions(numeric_time="number")
    _ingest(ws, _cycles(tmp_path / "a.csv", 0, 100), opts=number)
    rep = _ingest(ws, _cycles(tmp_path / "b.csv", 90, 100), opts=number)
    (said,) = _said(rep)
    assert "channel(s) temp overlap the series from 'a.csv'" in said and "(90 to 99)" in said


def test_a_series_stored_before_its_span_was_recorded_is_read_from_its_parquet_footer(
        ws: Workspace, tmp_path: Path) -> None:
    _ingest(ws, _log(tmp_path / "pump-7.csv", 0, 48))
    with ws.session() as s:
        (attrs,) = s.execute(select(Evidence.attributes)).scalars()
        assert (attrs["time_first"], attrs["time_last"]) == ("2024-04-01T00:00:00+00:00", "2024-04-02T23:00:00+00:00")
        old = {k: v for k, v in attrs.items() if k not in ("time_first", "time_last")}  # as ingest stored it before
        s.execute(update(Evidence).values(attributes=old))
    rep = _ingest(ws, _log(tmp_path / "pump-7_more.csv", 40, 48))
    (said,) = _said(rep)
    assert "overlap the series from 'pump-7.csv'" in said and "(2024-04-02 16:00:00 to 2024-04-02 23:00:00)" in said
    with ws.session() as s:  # one with no attributes at all: channels and time kind come from the footer too
        s.execute(update(Evidence).values(attributes={}))
    rep = _ingest(ws, _log(tmp_path / "pump-7_again.csv", 47, 5, channels=("vib",)))
    said = " | ".join(_said(rep))
    assert "channel(s) vib overlap the series from 'pump-7.csv'" in said
    assert "channel(s) vib overlap the series from 'pump-7_more.csv'" not in said  # one notice, the first named
    assert "(and 1 other stored series)" in said
    nxt = _ingest(ws, _log(tmp_path / "pump-7_next.csv", 88, 5, channels=("vib",)))
    assert (nxt.added["evidence"], nxt.notices) == (1, [])  # after both: read from the footers, still silent


def test_a_stored_series_whose_blob_does_not_read_is_named(ws: Workspace, tmp_path: Path) -> None:
    _ingest(ws, _log(tmp_path / "pump-7.csv", 0, 48))
    eid, _ = _stored(ws)
    with ws.session() as s:
        (blob,) = s.execute(select(Evidence.blob_sha)).scalars()
        s.execute(update(Evidence).values(attributes={"channels": ["temp", "vib"]}))
    Path(ws.blobs.path_for(blob)).write_bytes(b"not parquet")
    rep = _ingest(ws, _log(tmp_path / "pump-7_more.csv", 0, 96))
    assert rep.added["evidence"] == 1
    (said,) = _said(rep)
    assert "could not compare this series' times with the series from 'pump-7.csv' stored by" in said
    assert f"as {eid}: its blob {blob} does not read (not a Parquet file" in said


def test_one_input_is_said_once_across_row_groups(ws: Workspace, tmp_path: Path) -> None:
    a, b = _log(tmp_path / "a.csv", 0, 48), _log(tmp_path / "b.csv", 24, 48)
    rep = _ingest(ws, a, b, group_size=1)  # a is stored when b's group is written: the batch's own notice only
    assert [n.split("; ")[0] for n in _said(rep)] == [
        f"{b}: asset 'pump-7': channel(s) temp, vib overlap the series from {a} in this batch"
        " (2024-04-02 00:00:00 to 2024-04-02 23:00:00)"]


def test_the_same_input_run_again_after_an_interruption_is_said_once(ws: Workspace, tmp_path: Path) -> None:
    a, b = _log(tmp_path / "a.csv", 0, 48), _log(tmp_path / "b.csv", 24, 48)
    _ingest(ws, a)  # what an interrupted run of a and b committed
    rep = _ingest(ws, a, b)  # the same command again: a is stored, and of this input
    assert rep.added["evidence"] == 1 and rep.skipped_existing == 1
    assert [n.split("; ")[0] for n in _said(rep)] == [
        f"{b}: asset 'pump-7': channel(s) temp, vib overlap the series from {a} in this batch"
        " (2024-04-02 00:00:00 to 2024-04-02 23:00:00)"]


def test_a_manifest_series_row_overlapping_a_stored_series_is_said_on_its_row(ws: Workspace, tmp_path: Path) -> None:
    _ingest(ws, _log(tmp_path / "pump-7.csv", 0, 48))
    _log(tmp_path / "later.csv", 12, 48)
    m = tmp_path / "m.csv"
    m.write_text("asset_id,kind,path\npump-7,series,later.csv\n", encoding="utf-8")
    rep = Ingestor(ws, kind="manifest", source="m").run(manifest_items(m))
    (notice,) = rep.notices
    assert (notice.file, notice.row) == (str(m), 2)
    assert "channel(s) temp, vib overlap the series from 'pump-7.csv'" in notice.message


def test_said_on_postgresql(pg_ws: Workspace, tmp_path: Path) -> None:
    _ingest(pg_ws, _log(tmp_path / "pump-7.csv", 0, 48))
    with pg_ws.session() as s:  # and one stored before its span was recorded, read from its footer
        s.execute(update(Evidence).values(attributes={}))
    rep = _ingest(pg_ws, _log(tmp_path / "pump-7_more.csv", 0, 96))
    (said,) = _said(rep)
    assert "channel(s) temp, vib overlap the series from 'pump-7.csv'" in said
    assert "(2024-04-01 00:00:00 to 2024-04-02 23:00:00)" in said
    assert not _ingest(pg_ws, _log(tmp_path / "pump-7_next.csv", 96, 5)).notices


def test_an_item_made_in_python_without_a_span_is_compared_and_its_span_recorded(ws: Workspace, tmp_path: Path) -> None:
    _ingest(ws, _log(tmp_path / "pump-7.csv", 0, 48))
    index = pd.date_range("2024-04-02 12:00", periods=24, freq="h", tz="UTC", name="time")
    item = ItemSpec(where="made", asset_id="pump-7", kind="series", source_key="made-1", file="made",
                    data=to_parquet_bytes(pd.DataFrame({"temp": range(24)}, index=index, dtype=float)))
    rep = Ingestor(ws, kind="series", source="python").run([item])
    (said,) = _said(rep)
    assert said.startswith("made: asset 'pump-7': channel(s) temp overlap the series from 'pump-7.csv'")
    assert "(2024-04-02 12:00:00 to 2024-04-02 23:00:00)" in said
    with ws.session(readonly=True) as s:
        attrs = s.execute(select(Evidence.attributes).where(Evidence.id == item.resolved_id())).scalar_one()
    assert attrs == {"time_kind": "datetime", "channels": ["temp"], "time_first": "2024-04-02T12:00:00+00:00",
                     "time_last": "2024-04-03T11:00:00+00:00"}


def test_a_footer_without_statistics_is_read_from_its_time_column() -> None:
    frame = pd.DataFrame({"temp": [1.0, 2.0, 3.0]}, index=pd.Index([1.5, 2.5, 9.0], name="t"))
    bare = io.BytesIO()
    frame.to_parquet(bare, engine="pyarrow", index=True, write_statistics=False)
    bare.seek(0)
    assert parquet_span(bare) == parquet_span(io.BytesIO(to_parquet_bytes(frame)))
    bare.seek(0)
    span = parquet_span(bare)
    assert (span.kind, span.channels, span.first, span.last) == ("numeric", frozenset({"temp"}), 1.5, 9.0)


def test_two_series_rows_of_one_manifest_overlapping_are_said_on_the_later_row(ws: Workspace, tmp_path: Path) -> None:
    _log(tmp_path / "a.csv", 0, 48)
    _log(tmp_path / "b.csv", 24, 48)  # overlaps a.csv from hour 24 to 47
    _log(tmp_path / "c.csv", 72, 24)  # follows b.csv: a continuation
    _log(tmp_path / "d.csv", 0, 48)  # a.csv's times, another asset
    m = tmp_path / "m.csv"
    m.write_text("asset_id,kind,path\npump-7,series,a.csv\npump-7,series,b.csv\npump-7,series,c.csv\n"
                 "pump-8,series,d.csv\n", encoding="utf-8")
    rep = Ingestor(ws, kind="manifest", source="m", group_size=1).run(manifest_items(m))
    assert rep.ok and rep.added["evidence"] == 4  # both go in: which one is right is the user's call
    (notice,) = rep.notices
    assert (notice.file, notice.row) == (str(m), 3)
    assert notice.message == (
        "asset 'pump-7': channel(s) temp, vib overlap the series from a.csv (row 2) in this batch (2024-04-02"
        " 00:00:00 to 2024-04-02 23:00:00); the sensor evidence of an asset is read from one series (the others are"
        " flagged and left out): merge the files, or give each its own asset")

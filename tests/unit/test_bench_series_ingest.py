"""``assetgrade bench series-ingest`` reports the series reader's peak memory and speed on a seeded synthetic CSV."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assetgrade.bench.series_ingest import write_series_csv
from assetgrade.cli.app import build_app


def _run(*args: str) -> dict[str, object]:
    res = CliRunner().invoke(build_app(), ["bench", "series-ingest", *args])
    assert res.exit_code == 0, res.output
    return json.loads(res.output)  # type: ignore[no-any-return]


@pytest.mark.parametrize("layout", ["iso", "numeric", "short"])
def test_the_json_names_the_run_and_reads_every_row(layout: str, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    got = _run("--size-mib", "1", "--layout", layout, "--seed", "3", "--json", str(out))
    assert json.loads(out.read_text(encoding="utf-8")) == got
    assert (got["benchmark"], got["layout"], got["seed"], got["size_mib"]) == ("series-ingest", layout, 3, 1.0)
    assert {"wall_s", "machine", "code_version"} <= set(got)
    m = got["metrics"]
    assert isinstance(m, dict)
    assert m["rows"] == m["rows_read"] and m["rows"] % 10_000 == 0 and m["items"] == 1 and m["errors"] == []
    assert m["file_mib"] >= 1.0 and m["peak_rss_growth_mib"] > 0 and m["growth_x_file"] > 0
    assert m["mib_per_s"] > 0 and m["read_s"] > 0
    assert m["peak_method"] in ("VmHWM", "ru_maxrss")


def test_a_bad_cell_is_reported_with_its_file_line() -> None:
    m = _run("--size-mib", "1", "--bad-cell-row", "12345")["metrics"]
    assert isinstance(m, dict)
    assert m["items"] == 0 and m["error_rows"] == [12_347]
    assert m["errors"] == ["series-iso.csv:row 12347:field d: 'ERR' in channel 'd' is not a number"]


def test_a_bad_cell_row_past_the_file_is_refused() -> None:
    res = CliRunner().invoke(build_app(), ["bench", "series-ingest", "--size-mib", "0.5", "--bad-cell-row", "99999"])
    assert res.exit_code != 0
    assert "bad cell row 99999 is outside the file's 10000 data rows" in str(res.exception)


def test_the_csv_is_seeded_and_the_layouts_differ(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.csv"
    assert write_series_csv(a, 0.2, "short", seed=1) == write_series_csv(b, 0.2, "short", seed=1) == 10_000
    write_series_csv(c, 0.2, "short", seed=2)
    assert a.read_bytes() == b.read_bytes() != c.read_bytes()
    line = a.read_text(encoding="ascii").splitlines()[1].split(",")
    assert line[0] == "0" and all(len(v) == 4 for v in line[1:]), line
    write_series_csv(b, 0.2, "iso")
    assert b.read_text(encoding="ascii").splitlines()[2].startswith("2024-01-01T00:00:00.100,")

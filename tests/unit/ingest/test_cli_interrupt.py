"""Ctrl-C during a CLI ingest: the rows committed before it stay, and the command says so and where the report is."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assetgrade.cli.app import build_app, exit_code_for
from assetgrade.cli.ingest import run_ingest
from assetgrade.ingest import manifest_items
from assetgrade.workspace import Workspace


def test_an_interrupted_ingest_says_what_it_committed_and_where_its_report_is(
        ws: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    m = tmp_path / "m.csv"
    m.write_text("asset_id,kind,text\n" + "".join(f"a-{i},log,entry {i}\n" for i in range(6)), encoding="utf-8")

    def until_ctrl_c() -> Iterator[object]:
        for i, item in enumerate(manifest_items(m)):
            if i == 4:
                raise KeyboardInterrupt  # the user presses Ctrl-C while the fifth row is read
            yield item

    with pytest.raises(KeyboardInterrupt):
        run_ingest(ws, "manifest", str(m), until_ctrl_c(), total=6, group_size=2)  # type: ignore[arg-type]
    err = capsys.readouterr().err
    assert "ingest manifest interrupted; committed before it: 4 assets, 4 evidence" in err
    path = err.split("report: ")[1].split()[0]
    report = json.loads(Path(path).read_text(encoding="utf-8"))
    assert report["status"] == "interrupted" and report["added"]["assets"] == 4
    again = run_ingest(ws, "manifest", str(m), manifest_items(m), total=6, quiet=True)  # the same command goes on
    assert again.added["assets"] == 2 and again.skipped_existing == 4


@pytest.mark.parametrize("value", ["0", "100001"])
def test_a_group_size_out_of_the_settings_range_is_a_usage_error(value: str, tmp_path: Path) -> None:
    m = tmp_path / "m.csv"
    m.write_text("asset_id,kind,text\na,log,x\n", encoding="utf-8")
    r = CliRunner().invoke(build_app(), ["ingest", "manifest", str(m), "-w", str(tmp_path / "ws"),
                                         "--group-size", value])
    text = " ".join(r.output.replace("│", " ").split())
    assert r.exit_code == 2 and "Invalid value for '--group-size'" in text
    assert not (tmp_path / "ws").exists()  # refused before the command ran


def test_asset_and_asset_col_together_are_refused_not_one_ignored(tmp_path: Path) -> None:
    from assetgrade.errors import ValidationError
    from assetgrade.ingest.series import SeriesOptions, series_items

    f = tmp_path / "s.csv"
    f.write_text("unit,cycle,x\nu1,1,0.5\nu1,2,0.6\nu2,1,0.7\nu2,2,0.8\n", encoding="utf-8")
    r = CliRunner().invoke(build_app(), ["ingest", "series", str(f), "--asset", "pump-1", "--asset-col", "unit",
                                         "-w", str(tmp_path / "ws")])
    assert isinstance(r.exception, ValidationError) and r.exception.where == "--asset"
    assert exit_code_for(r.exception) == 2
    assert not (tmp_path / "ws").exists()  # refused before the workspace was opened
    with pytest.raises(ValidationError, match="not both"):
        next(iter(series_items([f], SeriesOptions(asset_col="unit"), asset_id="pump-1")))

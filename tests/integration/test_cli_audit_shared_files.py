"""`assetgrade audit --grader` leaves out an asset labelled after training that holds a training asset's file."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from assetgrade.cli.app import build_app

from .test_cli_grading import TEXTS, _workspace

runner = CliRunner()


def test_audit_does_not_read_a_copy_of_a_training_file_as_out_of_sample(tmp_path: Path) -> None:
    app = build_app()
    ws = _workspace(tmp_path)
    assert runner.invoke(app, ["train", "-w", str(ws), "--folds", "2"]).exit_code == 0
    later = tmp_path / "later"
    later.mkdir()
    shutil.copy(tmp_path / "src" / "pump-00.csv", later / "copy.csv")  # the same bytes: the same stored blob
    shutil.copy(tmp_path / "src" / "pump-03.csv", later / "own.csv")
    (later / "own.csv").write_text((later / "own.csv").read_text() + "40,62.0,1.20\n")  # a file of its own
    with (later / "manifest.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["asset_id", "asset_type", "kind", "path", "text", "grade"])
        w.writeheader()
        w.writerow({"asset_id": "pump-copy", "asset_type": "pump", "kind": "series", "path": "copy.csv", "text": "",
                    "grade": "D"})
        w.writerow({"asset_id": "pump-own", "asset_type": "pump", "kind": "series", "path": "own.csv", "text": "",
                    "grade": "D"})
        w.writerow({"asset_id": "pump-own", "asset_type": "pump", "kind": "log", "path": "", "text": TEXTS[3],
                    "grade": "D"})
    r = runner.invoke(app, ["ingest", "manifest", str(later / "manifest.csv"), "-w", str(ws)])
    assert r.exit_code == 0, r.output
    out = tmp_path / "audit.json"
    r = runner.invoke(app, ["audit", "-w", str(ws), "--checks", "label_noise", "--json", str(out), "--grader"])
    assert "1 asset(s) the grader did not learn from hold an image or series file of one it did" in r.output
    ln = json.loads(out.read_text())["checks"]["label_noise"]
    assert "(24 out-of-fold, 1 graded, 1 sharing a training asset's file left out;" in ln["info"]["probs_from"]
    assert ln["info"]["n_scored"] == 25 and ln["info"]["not_scored"]["unusable_probabilities"]["n_items"] == 1

"""The grading CLI end to end on a tiny ingested workspace: train, grade --all, explain --html, evaluate."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from assetgrade.cli.app import build_app
from assetgrade.errors import ValidationError

runner = CliRunner()
TEXTS = ("routine inspection completed, all ok", "minor wear on drive belt", "oil leak at pump seal",
         "shaft cracked and bearing seized")


def _workspace(tmp_path: Path, n: int = 24) -> Path:
    rng = np.random.default_rng(0)
    src = tmp_path / "src"
    src.mkdir()
    rows = []
    for i in range(n):
        g = i % 4
        aid = f"pump-{i:02d}"
        t = np.arange(40.0)
        lines = ["cycle,temp,vib"] + [f"{x:g},{50 + g * 0.3 * x + rng.normal(0, 0.5):.3f},"
                                      f"{1 + g * 0.05 * x + rng.normal(0, 0.05):.4f}" for x in t]
        (src / f"{aid}.csv").write_text("\n".join(lines) + "\n")
        rows.append({"asset_id": aid, "asset_type": "pump", "kind": "series", "path": f"{aid}.csv", "text": "",
                     "grade": "ABCD"[g]})
        rows.append({"asset_id": aid, "asset_type": "pump", "kind": "log", "path": "", "text": TEXTS[g],
                     "grade": "ABCD"[g]})
    with (src / "manifest.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["asset_id", "asset_type", "kind", "path", "text", "grade"])
        w.writeheader()
        w.writerows(rows)
    app = build_app()
    ws = tmp_path / "ws"
    assert runner.invoke(app, ["init", str(ws)]).exit_code == 0
    r = runner.invoke(app, ["ingest", "manifest", str(src / "manifest.csv"), "-w", str(ws)])
    assert r.exit_code == 0, r.output
    with (ws / "assetgrade.yaml").open("a") as fh:
        fh.write("grader:\n  extractors: [text, sensors]\n  min_group_size: 10\n"
                 "  extractor_settings:\n    text: {embedder: none}\n")
    return ws


@pytest.fixture(scope="module")
def untrained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ingested workspace of ``_workspace``, built once for the module; copy it (``_copy``) before writing."""
    return _workspace(tmp_path_factory.mktemp("cli-grading"))


@pytest.fixture(scope="module")
def trained(untrained: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """(a copy of ``untrained`` after ``train --folds 2``, train's output): one train serves every test."""
    ws = tmp_path_factory.mktemp("cli-grading-trained") / "ws"
    shutil.copytree(untrained, ws)
    r = runner.invoke(build_app(), ["train", "-w", str(ws), "--folds", "2"])
    assert r.exit_code == 0, r.output
    return ws, r.output


def _copy(template: Path, tmp_path: Path, name: str = "ws") -> Path:
    """A private copy of a module's template workspace, for a test that writes to it."""
    shutil.copytree(template, tmp_path / name)
    return tmp_path / name


def test_train_grade_explain_evaluate(trained: tuple[Path, str], tmp_path: Path) -> None:
    app = build_app()
    ws = _copy(trained[0], tmp_path)
    r_output = trained[1]
    info = json.loads((ws / "models" / "grader" / "bundle.json").read_text())
    assert info["modalities"] == ["text", "sensors"] and info["n_train"] == 24 and info["folds"] == 2
    assert info["fusion"]["model"] == "latent" and set(info["fusion"]["temperatures"]) == {"text", "sensors"}
    assert "fusion: latent (temperatures: text" in r_output
    assert "each extractor on the label it learned (out-of-fold accuracy): text" in r_output
    said = " ".join(r_output.split())  # rich wraps long lines
    assert "learned (Learn-then-Test); review when the grade set holds more than 1 or lacks the chosen grade)" in said
    n_inv = info["fusion"]["monotone_violations"]
    assert info["fusion"]["monotone"] is False and f"{n_inv} inversion" in r_output
    table_png = ws / "reports" / "fusion_table.png"
    assert "fusion table" in r_output and table_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert table_png.stat().st_size > 5000

    r = runner.invoke(app, ["grade", "--all", "-w", str(ws), "--json"])
    assert r.exit_code == 0, r.output
    results = json.loads(r.output)
    assert len(results) == 24 and {x["decision"] for x in results} <= {"accept", "review"}
    assert np.mean([x["grade"] == "ABCD"[int(x["asset_id"][-2:]) % 4] for x in results]) >= 0.75

    from assetgrade.store.audit import list_events, verify_chain
    from assetgrade.workspace import Workspace

    with Workspace.open(ws) as w, w.session(readonly=True) as s:
        assert len(list_events(s, action="grade.decision", limit=1000)) == 24
        assert verify_chain(s).ok
    # --changed grades only what this model has not graded on the evidence as it is now
    r = runner.invoke(app, ["grade", "--all", "-w", str(ws), "--changed"])
    assert r.exit_code == 0, r.output
    assert "accept 0, review 0; 24 unchanged since this model graded them, skipped" in r.output
    (tmp_path / "more.csv").write_text("asset_id,kind,text\npump-05,log,shaft cracked again\n")
    assert runner.invoke(app, ["ingest", "manifest", str(tmp_path / "more.csv"), "-w", str(ws)]).exit_code == 0
    r = runner.invoke(app, ["grade", "--all", "-w", str(ws), "--changed", "--json"])
    assert r.exit_code == 0, r.output
    assert [x["asset_id"] for x in json.loads(r.output)] == ["pump-05"]
    with Workspace.open(ws) as w, w.session(readonly=True) as s:
        assert len(list_events(s, action="grade.decision", limit=1000)) == 25

    for bad in (tmp_path, tmp_path / "more.csv" / "r.html"):  # a folder; a file's "folder": refused before grading
        r = runner.invoke(app, ["explain", "pump-03", "-w", str(ws), "--html", str(bad)])
        assert r.exit_code != 0 and "--html" in str(r.exception) and "Asset pump-03" not in r.output, r.output
    # /proc passes the early check as root (os.access), and the write fails after grading: still named --html
    r = runner.invoke(app, ["explain", "pump-03", "-w", str(ws), "--html", "/proc/pump-03.html"])
    assert isinstance(r.exception, ValidationError) and r.exception.where == "--html", r.output
    html = tmp_path / "pump-03.html"
    r = runner.invoke(app, ["explain", "pump-03", "-w", str(ws), "--html", str(html)])
    assert r.exit_code == 0, r.output
    assert "Asset pump-03" in r.output and "Evidence:" in r.output and "Joint reading: text " in r.output
    page = html.read_text()
    assert "data:image/png;base64," in page and "shaft" in page and "<mark" in page
    assert "<h2>Joint reading</h2>" in page and "the fusion table grades assets read so" in page

    out = tmp_path / "eval.json"
    r = runner.invoke(app, ["evaluate", "-w", str(ws), "--folds", "2", "--json", str(out),
                            "--plots", str(tmp_path / "plots")])
    assert r.exit_code == 0, r.output
    body = json.loads(out.read_text())
    assert body["folds"] == 2 and 0.0 <= body["metrics"]["accuracy"] <= 1.0
    assert "each extractor on the label it learned" in r.output
    assert (tmp_path / "plots" / "reliability.png").stat().st_size > 1000
    assert (tmp_path / "plots" / "fusion_table.png").stat().st_size > 5000 and "fusion_table" in r.output

    # an ontology whose scale changed after training: grade refuses instead of recording grades it no longer has
    from assetgrade.ontology import loader

    text = (Path(loader.__file__).with_name("default.yaml")).read_text(encoding="utf-8")
    extra = "  - id: E\n    name: Scrap\n    description: Only the metal is worth anything.\n"
    (ws / "five.yaml").write_text(text.replace("  - id: D\n", extra + "  - id: D\n", 1), encoding="utf-8")
    r = runner.invoke(app, ["config", "set", "ontology", "five.yaml", "-w", str(ws)])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["grade", "pump-03", "-w", str(ws)])
    from assetgrade.cli.app import exit_code_for

    assert r.exception is not None and exit_code_for(r.exception) == 2  # type: ignore[arg-type]
    assert "trained on grades ['A', 'B', 'C', 'D']" in str(r.exception)
    assert "retrain" in str(r.exception)


def test_audit_reads_label_noise_from_the_trained_grader_when_asked(untrained: Path, trained: tuple[Path, str],
                                                                    tmp_path: Path) -> None:
    app = build_app()
    ws = _copy(untrained, tmp_path)
    out = tmp_path / "audit.json"
    args = ["audit", "-w", str(ws), "--checks", "label_noise,imbalance", "--json", str(out)]
    r = runner.invoke(app, [*args, "--grader"])
    assert r.exit_code == 0 and "no saved grader" not in r.output  # no grader yet: the check is skipped as before
    assert json.loads(out.read_text())["checks"]["label_noise"]["skipped"] is True
    ws = _copy(trained[0], tmp_path, "trained")  # the same workspace after train --folds 2
    args = ["audit", "-w", str(ws), "--checks", "label_noise,imbalance", "--json", str(out)]
    r = runner.invoke(app, args)  # opt-in: without --grader nothing changes
    assert json.loads(out.read_text())["checks"]["label_noise"]["skipped"] is True
    r = runner.invoke(app, [*args, "--grader"])
    assert "label_noise reads the out-of-sample distributions of grader-" in r.output
    doc = json.loads(out.read_text())["checks"]
    ln = doc["label_noise"]
    assert ln["skipped"] is False and ln["info"]["ordinal"] is True
    assert "(24 out-of-fold, 0 graded; its out-of-fold accuracy" in ln["info"]["probs_from"]
    assert doc["imbalance"]["summary"] == 1.0  # the grader's classes do not change the other checks


def test_grade_needs_an_id_or_all(tmp_path: Path) -> None:
    from assetgrade.cli.app import exit_code_for
    from assetgrade.errors import ValidationError

    app = build_app()
    ws = tmp_path / "ws"
    assert runner.invoke(app, ["init", str(ws)]).exit_code == 0
    r = runner.invoke(app, ["grade", "-w", str(ws)])
    assert isinstance(r.exception, ValidationError) and exit_code_for(r.exception) == 2
    r = runner.invoke(app, ["grade", "x", "-w", str(ws)])  # no trained grader yet
    assert r.exception is not None and "assetgrade train" in str(r.exception)


def test_review_suggest_lists_unlabelled_assets_to_label_next(trained: tuple[Path, str], tmp_path: Path) -> None:
    app = build_app()
    ws = _copy(trained[0], tmp_path)
    new = tmp_path / "new"
    new.mkdir()
    rows = [{"asset_id": f"new-{i}", "asset_type": "pump", "kind": "log", "path": "", "text": TEXTS[i % 4],
             "grade": ""} for i in range(6)]
    with (new / "manifest.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["asset_id", "asset_type", "kind", "path", "text", "grade"])
        w.writeheader()
        w.writerows(rows)
    r = runner.invoke(app, ["ingest", "manifest", str(new / "manifest.csv"), "-w", str(ws)])
    assert r.exit_code == 0, r.output
    out = tmp_path / "suggest.json"
    r = runner.invoke(app, ["review", "suggest", "-w", str(ws), "--k", "4", "--json", str(out)])
    assert r.exit_code == 0, r.output
    body = json.loads(out.read_text())
    ids = [s["asset_id"] for s in body["suggestions"]]
    assert body["labelled"] == 24 and body["assets"] == 30 and len(set(ids)) == 4
    assert all(i.startswith("new-") for i in ids) and "Label next" in r.output
    r = runner.invoke(app, ["review", "suggest", "-w", str(ws), "--strategy", "margin", "--per-class", "3"])
    assert r.exception is not None and "--per-class" in str(r.exception)
    r = runner.invoke(app, ["review", "suggest", "-w", str(ws), "--replace"])
    assert r.exception is not None and "--enqueue" in str(r.exception)
    # --enqueue stores the same round as label requests, listed until reviewed or withdrawn
    r = runner.invoke(app, ["review", "suggest", "-w", str(ws), "--k", "4", "--enqueue", "--actor", "carol",
                            "--json", str(out)])
    assert r.exit_code == 0, r.output
    body = json.loads(out.read_text())
    assert [s["asset_id"] for s in body["suggestions"]] == ids and body["enqueued"]["added"] == ids
    assert "4 added" in r.output
    listed = tmp_path / "requests.json"
    r = runner.invoke(app, ["review", "requests", "-w", str(ws), "--json", str(listed)])
    assert r.exit_code == 0, r.output
    rows = json.loads(listed.read_text())
    assert rows["total"] == 4 and [x["asset_id"] for x in rows["requests"]] == ids
    assert {x["requested_by"] for x in rows["requests"]} == {"carol"} and rows["requests"][0]["rank"] == 1
    r = runner.invoke(app, ["review", "withdraw", "-w", str(ws), ids[0], "new-x"])
    assert r.exit_code == 1 and "withdrew 1" in r.output and "new-x" in str(r.exception)  # exit 3 in the CLI
    r = runner.invoke(app, ["review", "withdraw", "-w", str(ws)])
    assert r.exception is not None and "--all" in str(r.exception)
    assert runner.invoke(app, ["review", "withdraw", "-w", str(ws), "--all"]).exit_code == 0
    r = runner.invoke(app, ["review", "requests", "-w", str(ws), "--status", "withdrawn", "--json", str(listed)])
    assert json.loads(listed.read_text())["total"] == 4


def test_grade_all_reports_an_asset_that_fails_and_grades_the_others(trained: tuple[Path, str], tmp_path: Path,
                                                                     monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # an unexpected exception while grading one asset (a bug, or input no check foresaw) used to end
    # `grade --all` with a traceback and nothing stored; now that asset is named and the rest are graded
    from sqlalchemy import select

    from assetgrade.grader import Grader
    from assetgrade.store.audit import list_events
    from assetgrade.store.schema import Prediction
    from assetgrade.workspace import Workspace

    app = build_app()
    ws = _copy(trained[0], tmp_path)
    real = Grader.grade_many

    def fragile(self, records, *args, **kwargs):  # type: ignore[no-untyped-def]
        if any(r.asset_id == "pump-05" for r in records):
            raise RuntimeError("shape mismatch in a feature block")
        return real(self, records, *args, **kwargs)

    monkeypatch.setattr(Grader, "grade_many", fragile)
    r = runner.invoke(app, ["grade", "--all", "-w", str(ws)])
    assert r.exit_code == 1, r.output
    said = " ".join(r.output.split())
    assert "pump-05: unexpected RuntimeError at test_cli_grading.py:" in said and "shape mismatch" in said
    assert "accept" in said and "1 not graded (listed above)" in said
    with Workspace.open(ws) as w, w.session(readonly=True) as s:
        graded = set(s.scalars(select(Prediction.asset_id)))
        assert len(list_events(s, action="grade.decision", limit=1000)) == 23
    assert len(graded) == 23 and "pump-05" not in graded
    r = runner.invoke(app, ["grade", "--all", "-w", str(ws), "--json"])
    assert r.exit_code == 1 and "pump-05" in r.output
    # one asset asked for by id: its error is raised as it is, not turned into a list
    r = runner.invoke(app, ["grade", "pump-05", "-w", str(ws)])
    assert isinstance(r.exception, RuntimeError)

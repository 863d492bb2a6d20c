"""The lifecycle CLI end to end: audit verify on a tampered chain, audit policy gate, golden sets, models, exports."""

from __future__ import annotations

import io
import json
import shutil
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from assetgrade.cli.app import build_app, exit_code_for
from assetgrade.errors import AssetgradeError
from assetgrade.lifecycle.registry import register_bundle_loader
from assetgrade.result import GradeResult
from assetgrade.store.records import AssetRecord
from assetgrade.store.repository import ProvenanceInfo, add_asset, add_evidence, add_label
from assetgrade.workspace import Workspace

runner = CliRunner()
GRADES = ("A", "B", "C", "D")


class RuleModel:
    """A tiny real model saved as JSON: grade by asset type, with per-asset exceptions."""

    def __init__(self, rules: dict[str, str]) -> None:
        self.rules = rules

    def save(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        (path / "rules.json").write_text(json.dumps(self.rules))

    @classmethod
    def load(cls, path: Path) -> RuleModel:
        return cls(json.loads((path / "rules.json").read_text()))

    def grade_many(self, records: Sequence[AssetRecord]) -> list[GradeResult]:
        out = []
        for r in records:
            g = self.rules.get(r.asset_id, self.rules.get(r.asset_type, "B"))
            probs = {x: 0.85 if x == g else 0.05 for x in GRADES}
            out.append(GradeResult(r.asset_id, probs, g, (g,), 0.9, 50.0, "accept", asset_type=r.asset_type))
        return out


register_bundle_loader("rules", RuleModel.load)


def _png(i: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (i % 256, 40, (3 * i) % 256)).save(buf, "PNG")
    return buf.getvalue()


def make_ws(path: Path, n: int = 20, synthetic: Sequence[int] = ()) -> Path:
    """``n`` assets (pumps A, valves C), split test for the first half; ``synthetic`` get an extra synthetic image."""
    ws = Workspace.init(path)
    with ws.session() as s:
        for i in range(n):
            aid, typ = f"a{i:02d}", ("pump" if i % 2 == 0 else "valve")
            add_asset(s, aid, asset_type=typ, attributes={"split": "test" if i < n // 2 else "train"})
            sha = ws.blobs.put_bytes(_png(i))
            add_evidence(s, asset_id=aid, kind="image", sha256=sha, blob_sha=sha, evidence_id=f"e{i:02d}",
                         provenance=ProvenanceInfo(source="cam-1"))
            if i in synthetic:
                ssha = ws.blobs.put_bytes(_png(500 + i))
                add_evidence(s, asset_id=aid, kind="image", sha256=ssha, blob_sha=ssha, evidence_id=f"e{i:02d}s",
                             provenance=ProvenanceInfo(origin="synthetic", generator="scratch-v1",
                                                       parent_evidence_id=f"e{i:02d}"))
            add_label(s, asset_id=aid, kind="grade", value="A" if typ == "pump" else "C", annotator="expert")
    ws.close()
    return path


def run(*args: object) -> tuple[int, str]:
    """Invoke the CLI in-process; assetgrade errors become exit codes and messages as in ``main``."""
    r = runner.invoke(build_app(), [str(a) for a in args])
    if isinstance(r.exception, AssetgradeError):
        return exit_code_for(r.exception), r.output + str(r.exception)
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        raise r.exception
    return r.exit_code, r.output


def test_audit_verify_detects_edit_deletion_reordering(tmp_path: Path) -> None:
    base = make_ws(tmp_path / "base", n=4)
    code, out = run("audit", "verify", "-w", base, "--json")
    doc = json.loads(out)
    assert code == 0 and doc["ok"] and doc["n_events"] == 12  # asset, evidence, label per asset
    head = doc["head"]
    tampering = {
        "edit": "UPDATE audit_events SET payload = json_set(payload, '$.asset_type', 'pump') WHERE seq = 4",
        "delete": "DELETE FROM audit_events WHERE seq = 5",
        # swap the contents of events 4 and 5, each keeping its own seq
        "reorder": "UPDATE audit_events SET ts = (SELECT ts FROM audit_events b WHERE b.seq = 9 - audit_events.seq),"
                   " action = (SELECT action FROM audit_events b WHERE b.seq = 9 - audit_events.seq),"
                   " entity = (SELECT entity FROM audit_events b WHERE b.seq = 9 - audit_events.seq),"
                   " entity_id = (SELECT entity_id FROM audit_events b WHERE b.seq = 9 - audit_events.seq),"
                   " payload = (SELECT payload FROM audit_events b WHERE b.seq = 9 - audit_events.seq),"
                   " prev_hash = (SELECT prev_hash FROM audit_events b WHERE b.seq = 9 - audit_events.seq),"
                   " hash = hash || 'x' WHERE seq IN (4, 5)",
        "truncate": "DELETE FROM audit_events WHERE seq >= 11",
    }
    expected = {"edit": (4, "edited"), "delete": (5, "missing"), "reorder": (4, "prev_hash"),
                "truncate": (12, "recorded head")}
    for name, sql in tampering.items():
        ws = tmp_path / name
        shutil.copytree(base, ws)
        with sqlite3.connect(ws / "assetgrade.db") as conn:
            conn.execute(sql)
        code, out = run("audit", "verify", "-w", ws, "--json", "--expect-head", head)
        doc = json.loads(out[: out.index("\n}") + 2])  # the JSON, then the error line
        seq, why = expected[name]
        assert code == 1, name
        assert doc["first_bad_seq"] == seq and why in doc["reason"], (name, doc)
    # the plain run names the event
    code, out = run("audit", "verify", "-w", tmp_path / "edit")
    assert code == 1 and "event 4" in out and "asset.add" in out


def test_audit_gate_on_synthetic_share(tmp_path: Path) -> None:
    ws = make_ws(tmp_path / "ws", n=10, synthetic=[0, 2])  # pumps: 2 synthetic of 7 images
    code, out = run("audit", "-w", ws, "--checks", "synthetic_share,imbalance", "--json", tmp_path / "a.json",
                    "--html", tmp_path / "a.html")
    assert code == 1 and "synthetic_share" in out
    rep = json.loads((tmp_path / "a.json").read_text())
    assert rep["failed"] == ["synthetic_share"] and rep["checks"]["imbalance"]["passed"]
    assert "FAILED" in (tmp_path / "a.html").read_text()
    code, out = run("audit", "-w", ws, "--checks", "synthetic_share", "--set", "synthetic_share.max_share=0.5")
    assert code == 0, out


def test_golden_models_promote_rollback_export(tmp_path: Path) -> None:
    ws = make_ws(tmp_path / "ws", n=20)
    code, out = run("golden", "freeze", "-w", ws, "--split", "test", "--actor", "lead")
    assert code == 0 and "10 assets" in out
    code, out = run("golden", "show", "-w", ws, "--json")
    assert code == 0 and json.loads(out)["grade_mix"] == {"A": 5, "C": 5} and json.loads(out)["verified"]
    for version, rules in (("v1", {"pump": "A", "valve": "C"}), ("v2", {"pump": "A", "valve": "C", "a01": "D",
                                                                       "a03": "D"})):
        RuleModel(rules).save(tmp_path / version)
        code, out = run("models", "register", tmp_path / version, "--version", version, "--loader", "rules",
                        "-w", ws)
        assert code == 0, out
    assert run("models", "promote", "v1", "-w", ws, "--actor", "lead")[0] == 0
    code, out = run("models", "promote", "v2", "-w", ws)
    assert code == 4 and "worse than champion" in out
    code, out = run("models", "promote", "v2", "-w", ws, "--force", "--reason", "urgent")
    assert code == 0
    code, out = run("models", "list", "-w", ws, "--json")
    assert {m["version"]: m["status"] for m in json.loads(out)} == {"v1": "retired", "v2": "champion"}
    code, out = run("models", "rollback", "-w", ws, "--reason", "regression")
    assert code == 0 and "v1 is the champion" in out
    code, out = run("audit", "events", "-w", ws, "--entity", "model", "--json")
    assert [e["action"] for e in json.loads(out)][-3:] == ["model.promotion_refused", "model.promote",
                                                            "model.rollback"]
    assert run("audit", "verify", "-w", ws)[0] == 0
    # regulator documents from the same records
    code, out = run("audit", "export", "-w", ws, "--out", tmp_path / "docs")
    assert code == 0
    doc = json.loads((tmp_path / "docs" / "model_documentation.json").read_text())
    for section in ("intended_use", "data_composition", "provenance", "metrics", "limitations", "human_oversight"):
        assert doc[section], section
    stats = json.loads(run("stats", "-w", ws, "--json")[1])
    comp = doc["data_composition"]["store"]
    assert comp["origin"] == stats["origin"] == {"real": 20} and comp["grade"] == stats["grade"]
    assert doc["model"]["version"] == "v1" and doc["metrics"]["golden_sets"]["default"]["overall"]["accuracy"] == 1.0
    assert [h["action"] for h in doc["human_oversight"]["model_history"]] == ["model.register", "model.promote",
                                                                             "model.rollback"]
    sheet = json.loads((tmp_path / "docs" / "datasheet.json").read_text())
    assert sheet["composition"]["totals"] == stats["totals"] and sheet["uses"]["golden_sets"][0]["n_items"] == 10
    html = (tmp_path / "docs" / "model_documentation.html").read_text()
    assert "Intended use" in html and "Human oversight" in html and "Data composition" in html


def test_golden_show_fails_after_change(tmp_path: Path) -> None:
    ws = make_ws(tmp_path / "ws", n=6)
    assert run("golden", "freeze", "a00", "a01", "-w", ws, "--name", "g")[0] == 0
    with sqlite3.connect(ws / "assetgrade.db") as conn:
        conn.execute("UPDATE labels SET value = 'D' WHERE asset_id = 'a01'")
    code, out = run("golden", "show", "g", "-w", ws)
    assert code == 1 and "a01" in out and "grade label changed" in out
    code, out = run("golden", "freeze", "a00", "-w", ws, "--name", "g")
    assert code == 4


@pytest.mark.parametrize("bad", ["nope"])
def test_unknown_model_is_named(tmp_path: Path, bad: str) -> None:
    ws = make_ws(tmp_path / "ws", n=2)
    code, out = run("models", "show", bad, "-w", ws)
    assert code == 3 and bad in out


LOGS = {"A": ["routine inspection, no defects found", "unit clean, no leak, no corrosion", "visual check ok"],
        "C": ["pitting corrosion on flange", "hydraulic leak at seal, replaced gasket", "fatigue crack near weld"]}


def test_retrain_with_real_grader(tmp_path: Path) -> None:
    """`assetgrade retrain` fits the real Grader (text modality, no embedder) on reviewed labels, golden held out."""
    import hashlib

    from assetgrade.store.results import add_review

    path = tmp_path / "ws"
    ws = Workspace.init(path)
    with ws.session() as s:
        for i in range(44):
            g, aid = ("A" if i % 2 == 0 else "C"), f"a{i:02d}"
            add_asset(s, aid, asset_type="pump" if i % 4 < 2 else "valve",
                      attributes={"split": "test" if i < 12 else "train"})
            text = f"{LOGS[g][i % 3]} (work order {i})"
            add_evidence(s, asset_id=aid, kind="log", sha256=hashlib.sha256(text.encode()).hexdigest(), text=text,
                         evidence_id=f"l{i:02d}")
            # imported labels of four training assets are wrong; reviewers correct them later
            add_label(s, asset_id=aid, kind="grade", value=("C" if g == "A" else "A") if i in (12, 13, 14, 15) else g,
                      annotator="import")
    ws.close()
    with (path / "assetgrade.yaml").open("a", encoding="utf-8") as fh:
        fh.write("grader:\n  extractors: [text]\n  folds: 3\n  min_group_size: 5\n"
                 "  extractor_settings: {text: {embedder: none}}\n")
    assert run("golden", "freeze", "-w", path, "--split", "test")[0] == 0
    code, out = run("retrain", "-w", path, "--version", "g1", "--promote", "--json")
    assert code == 0, out
    first = json.loads(out[out.index("{"):])
    assert first["n_train"] == 32 and first["n_golden_excluded"] == 12 and first["n_reviewed"] == 0
    assert first["promoted"] and first["before"] is None and first["after"]["overall"]["accuracy"] >= 0.9
    # the champion is the model that grades: its bundle is models/grader, under the Grader's own version id
    own = json.loads((path / "models" / "g1" / "bundle.json").read_text())["model_version"]
    assert own.startswith("grader-") and first["grading_model"]["installed"]
    assert json.loads((path / "models" / "grader" / "bundle.json").read_text())["model_version"] == own
    assert json.loads(run("models", "show", "g1", "-w", path, "--json")[1])["model_version"] == own
    ws = Workspace.open(path)
    with ws.session() as s:
        for aid, g in (("a12", "A"), ("a13", "C"), ("a14", "A"), ("a15", "C")):
            add_review(s, aid, reviewer="expert-1", expected_version=1, grade=g)
    ws.close()
    code, out = run("retrain", "-w", path, "--version", "g2", "--json")
    assert code == 0, out
    second = json.loads(out[out.index("{"):])
    assert second["parent"] == "g1" and second["n_reviewed"] == 4 and not second["promoted"]
    assert second["before"]["model_version"] == "g1" and second["after"]["model_version"] == "g2"
    assert second["comparison"] is not None
    code, out = run("models", "show", "g2", "-w", path, "--json")
    info = json.loads(out)
    assert info["parent_version"] == "g1" and info["lineage"]["n_reviewed_labels"] == 4
    assert info["manifest_hash"] and info["ontology_version"] and info["loader"] == "grader"
    assert (path / "models" / "g2" / "bundle.json").exists()
    # a golden set named but not there stops before training (it used to train on the real golden assets)
    code, out = run("retrain", "-w", path, "--version", "g3", "--golden", "none-such", "--promote", "--json")
    assert code == 3 and "none-such" in out, out
    assert run("models", "show", "g3", "-w", path, "--json")[0] == 3

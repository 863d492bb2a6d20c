"""A model that trained on golden assets: evaluate warns, promote refuses unless forced with a reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assetgrade.errors import ConflictError, ValidationError
from assetgrade.lifecycle.golden import freeze_golden_set
from assetgrade.lifecycle.registry import ModelRegistry, register_bundle_loader
from assetgrade.store.audit import list_events
from assetgrade.workspace import Workspace

from .conftest import TableModel, seed_assets

GOOD = {"pump": "A", "valve": "C"}


class TrainedTable(TableModel):
    """A TableModel that remembers the assets it was trained on, as a Grader does (``train_ids_``)."""

    def __init__(self, *args: object, train_ids: list[str] | None = None, **kw: object) -> None:
        super().__init__(*args, **kw)  # type: ignore[arg-type]
        self.train_ids_ = list(train_ids or [])

    def save(self, path: Path) -> None:
        super().save(path)
        (path / "train.json").write_text(json.dumps(self.train_ids_))

    @classmethod
    def load(cls, path: Path) -> TrainedTable:
        base = TableModel.load(path)
        return cls(base.by_type, base.overrides, base.conf, train_ids=json.loads((path / "train.json").read_text()))


register_bundle_loader("trained-table", TrainedTable.load)


@pytest.fixture
def reg(ws: Workspace) -> tuple[ModelRegistry, list[str]]:
    ids = seed_assets(ws, 24)
    with ws.session() as s:
        freeze_golden_set(s, ids[:10])
    return ModelRegistry(ws), ids


def test_promoting_a_model_trained_on_golden_assets_is_refused_unless_forced(
        reg: tuple[ModelRegistry, list[str]], ws: Workspace) -> None:
    r, ids = reg
    r.register(TrainedTable(GOOD, train_ids=ids), version="v1", loader="trained-table")  # all 24, golden too
    r.register(TrainedTable(GOOD, train_ids=ids[10:]), version="clean", loader="trained-table")
    assert r.trained_on_golden("v1") == ids[:10] and r.trained_on_golden("clean") == []
    with pytest.raises(ConflictError, match=r"'v1' was trained on 10 assets of golden set 'default'.*--force"):
        r.promote("v1", actor="lead")
    assert r.champion() is None
    with ws.session(readonly=True) as s:
        refused = list_events(s, action="model.promotion_refused")
    assert refused[-1].payload["trained_on_golden"] == 10
    with pytest.raises(ValidationError, match="reason"):
        r.promote("v1", force=True)
    res = r.promote("v1", force=True, reason="first model, no clean one yet", actor="lead")
    assert res.forced and res.trained_on_golden == 10 and r.champion().version == "v1"  # type: ignore[union-attr]
    with ws.session(readonly=True) as s:
        assert list_events(s, action="model.promote")[-1].payload["trained_on_golden"] == 10
    res = r.promote("clean", actor="lead")  # held the golden assets out: no refusal on that ground
    assert res.trained_on_golden == 0 and not res.forced


def test_models_evaluate_warns_when_the_model_trained_on_golden_assets(
        reg: tuple[ModelRegistry, list[str]], ws: Workspace) -> None:
    from typer.testing import CliRunner

    from assetgrade.cli.app import build_app

    r, ids = reg
    r.register(TrainedTable(GOOD, train_ids=ids[4:]), version="v1", loader="trained-table")
    r.register(TrainedTable(GOOD, train_ids=ids[10:]), version="clean", loader="trained-table")
    runner = CliRunner(mix_stderr=False) if "mix_stderr" in CliRunner.__init__.__code__.co_varnames else CliRunner()
    out = runner.invoke(build_app(), ["models", "evaluate", "v1", "-w", str(ws.path), "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["trained_on_golden"] == 6
    assert "v1 was trained on 6 of the 10 assets of golden set default" in " ".join(out.stderr.split())
    out = runner.invoke(build_app(), ["models", "evaluate", "clean", "-w", str(ws.path)])
    assert out.exit_code == 0 and "trained on" not in out.stderr

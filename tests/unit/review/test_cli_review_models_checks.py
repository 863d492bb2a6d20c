"""CLI checks: `models list --status` takes a model status only; `review withdraw` names ids with no request."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from assetgrade.cli.app import build_app, exit_code_for
from assetgrade.errors import NotFoundError, ValidationError
from assetgrade.lifecycle.registry import ModelRegistry
from assetgrade.store.repository import add_asset
from assetgrade.store.requests import RequestedLabel, add_label_requests, list_label_requests
from assetgrade.workspace import Workspace

runner = CliRunner()


def test_models_list_refuses_an_unknown_status(tmp_path: Path) -> None:
    Workspace.init(tmp_path / "ws").close()
    r = runner.invoke(build_app(), ["models", "list", "-w", str(tmp_path / "ws"), "--status", "bogus"])
    out = " ".join(r.output.split())  # a Click choice: a usage error before the workspace is opened
    assert r.exit_code == 2 and "Invalid value for '--status'" in out and "'bogus'" in out
    assert "'candidate', 'champion', 'retired'" in out
    with Workspace.open(tmp_path / "ws") as ws, pytest.raises(ValidationError, match="candidate, champion, retired"):
        ModelRegistry(ws).list("bogus")  # the Python API keeps its own check
    r = runner.invoke(build_app(), ["models", "list", "-w", str(tmp_path / "ws"), "--status", "retired"])
    assert r.exit_code == 0, r.output


def test_review_withdraw_of_ids_without_an_open_request_is_exit_3_naming_them(tmp_path: Path) -> None:
    with Workspace.init(tmp_path / "ws") as ws, ws.session() as s:
        for aid in ("a1", "a2"):
            add_asset(s, aid, asset_type="pump")
        add_label_requests(s, [RequestedLabel("a1", 1, "typiclust"), RequestedLabel("a2", 2, "typiclust")],
                           strategy="typiclust", model_version="m")
    r = runner.invoke(build_app(), ["review", "withdraw", "-w", str(tmp_path / "ws"), "a1", "nope", "zz"])
    assert isinstance(r.exception, NotFoundError) and exit_code_for(r.exception) == 3
    assert "nope, zz" in str(r.exception) and "a1" not in str(r.exception) and "withdrew 1" in r.output
    with Workspace.open(tmp_path / "ws") as ws, ws.session(readonly=True) as s:
        assert [q.asset_id for q in list_label_requests(s)[0]] == ["a2"]  # the known one was withdrawn
    r = runner.invoke(build_app(), ["review", "withdraw", "-w", str(tmp_path / "ws"), "a2"])
    assert r.exit_code == 0 and "withdrew 1" in r.output

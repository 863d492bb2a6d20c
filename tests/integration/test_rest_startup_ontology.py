"""The service loads the workspace ontology when it starts, not in the first request that names a currency.

Since the queue and prediction routes name the costs' currency (5f0f9dd), the first such request of each
server process loaded the ontology (about a second here), a latency spike in the review queue. A workspace
whose ontology does not load still starts; the requests that need it say what is wrong, as before.
"""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from assetgrade.rest.app import create_app
from assetgrade.workspace import Workspace


def test_the_ontology_is_loaded_at_start_up(tmp_path: Path) -> None:
    with Workspace.init(tmp_path / "ws") as ws:
        app = create_app(ws)
        state = app.state.assetgrade
        assert state._ontology is None  # creating the app reads nothing yet
        with TestClient(app) as client:
            assert state._ontology is not None  # loaded by the start-up, before any request
            assert client.get("/api/v1/health").status_code == 200


def test_a_workspace_whose_ontology_does_not_load_still_starts(tmp_path: Path) -> None:
    Workspace.init(tmp_path / "ws").close()
    (tmp_path / "ws" / "broken.yaml").write_text("grades: [A\n", encoding="utf-8")
    cfg = tmp_path / "ws" / "assetgrade.yaml"
    lines = [("ontology: broken.yaml" if line.startswith("ontology:") else line)
             for line in cfg.read_text(encoding="utf-8").splitlines()]
    cfg.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with Workspace.open(tmp_path / "ws") as ws:
        app = create_app(ws)
        with TestClient(app) as client:
            assert app.state.assetgrade._ontology is None
            assert client.get("/api/v1/health").status_code == 200

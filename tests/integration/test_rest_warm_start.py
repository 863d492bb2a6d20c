"""A service worker imports what its hot routes need at start-up, not in its first requests.

The first ``GET /api/v1/queue`` of a worker used to import :mod:`assetgrade.decision` (and scipy through
it) to name the costs' currency: about 0.7 s under the GIL, during which every other request of that
worker waited (``assetgrade bench service`` showed it as a 0.8-1.3 s tail). The check runs in a fresh
interpreter, since this test process has long imported those modules.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

_SCRIPT = r"""
import json, random, sys
from pathlib import Path
from fastapi.testclient import TestClient
from assetgrade.loadtest.load import _png, seed_load
from assetgrade.rest.app import create_app
from assetgrade.workspace import Workspace

root = Path(sys.argv[1])
ws = Workspace.init(root)
seeded = seed_load(ws, run_id="warm", n_assets=4, reviewers=1, stations=1)
ws.close()
app = create_app(Workspace.open(root))
rev = {"Authorization": "Bearer " + seeded["tokens"]["reviewer"][0][1]}
station = {"Authorization": "Bearer " + seeded["tokens"]["station"][0][1]}
ids = seeded["asset_ids"]
out = {}
with TestClient(app) as c:  # the lifespan (start-up) runs here
    def first(name, call):
        before = set(sys.modules)
        status = call().status_code
        out[name] = [status, sorted(m for m in set(sys.modules) - before
                                    if m.split(".")[0] in ("assetgrade", "scipy", "sklearn", "pandas", "torch"))]
    first("queue", lambda: c.get("/api/v1/queue", params={"limit": 20}, headers=rev))
    first("asset", lambda: c.get(f"/api/v1/assets/{ids[0]}", headers=rev))
    first("assets", lambda: c.get("/api/v1/assets", params={"limit": 20}, headers=rev))
    version = c.get(f"/api/v1/assets/{ids[1]}", headers=rev).json()["version"]
    first("review", lambda: c.post(f"/api/v1/assets/{ids[1]}/reviews", headers=rev,
                                   json={"expected_version": version, "grade": "A", "note": "warm"}))
    first("telemetry", lambda: c.post("/api/v1/telemetry", headers=station, json={"batch_id": "w1", "items": [
        {"kind": "prediction", "asset_id": ids[2], "payload": {"grade": "A", "confidence": 0.5}}]}))
    first("image", lambda: c.post(f"/api/v1/assets/{ids[3]}/images", content=_png(random.Random(0)),
                                  headers={**station, "Content-Type": "image/png"}))
print(json.dumps(out))
"""


def test_first_requests_of_a_worker_import_nothing_heavy(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-c", _SCRIPT, str(tmp_path / "ws")], capture_output=True, text=True,
                          timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert set(got) == {"queue", "asset", "assets", "review", "telemetry", "image"}
    for route, (status, imported) in got.items():
        assert 200 <= status < 300, (route, status)
        assert imported == [], f"first {route} request imported {imported[:10]} (warm them in rest.app._lifespan)"

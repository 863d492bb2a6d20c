"""Fixtures of the REST and web UI tests: a demo workspace, tokens of every role, a test client, and a served copy
of a workspace with a trained grader."""

from __future__ import annotations

import copy
import shutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from assetgrade.modalities.base import Finding
from assetgrade.rest import RestSettings, create_app, create_token
from assetgrade.rest.demo import DemoAsset, seed_demo
from assetgrade.result import GradeResult, ModalityEvidence
from assetgrade.store.results import add_prediction
from assetgrade.workspace import Workspace

SMALL_LIMITS = RestSettings(max_json_bytes=64 * 1024, max_upload_bytes=256 * 1024, token_cache_s=0.0,
                            session_secret="t" * 32)


@dataclass
class RestEnv:
    """A served workspace: the workspace, its demo assets, the plain tokens by name, and a client."""

    ws: Workspace
    assets: list[DemoAsset]
    tokens: dict[str, str]
    client: TestClient

    def auth(self, name: str) -> dict[str, str]:
        """The Authorization header of token ``name``."""
        return {"Authorization": f"Bearer {self.tokens[name]}"}

    def login(self, name: str) -> TestClient:
        """The client, logged in to the web UI as token ``name`` (any earlier session dropped); from now on it sends
        the service's ``Origin`` as a browser does (a cookie write without Origin or Sec-Fetch-Site is refused)."""
        self.client.cookies.clear()
        r = self.client.post("/ui/login", data={"token": self.tokens[name], "next": "/ui/queue"},
                             follow_redirects=False)
        assert r.status_code == 303, r.text
        self.client.headers["Origin"] = str(self.client.base_url).rstrip("/")
        return self.client


def add_text_prediction(s: Session, asset_id: str, evidence_id: str, spans: Sequence[tuple[int, int]]) -> None:
    """A review-decision prediction (B, 0.6) for ``asset_id`` whose text evidence finds a leak at each of ``spans``
    of the log entry ``evidence_id``: what the asset page highlights."""
    findings = tuple(Finding(modality="text", summary="leak", defect="leak", span=sp, evidence_id=evidence_id)
                     for sp in spans)
    add_prediction(s, asset_id, model_version="m1", grade="B", distribution={"A": 0.4, "B": 0.6},
                   conformal_set=["A", "B"], decision="review", expected_cost=0.6, payload=GradeResult(
                       asset_id=asset_id, probabilities={"A": 0.4, "B": 0.6}, grade="B", conformal_set=("A", "B"),
                       coverage=0.9, expected_cost=0.6, decision="review",
                       evidence=(ModalityEvidence("text", True, None, findings),)).to_dict())


def make_env(path: Path, n_assets: int) -> RestEnv:
    """A workspace with ``n_assets`` demo assets and tokens admin, alice and bob (reviewers), station-1."""
    ws = Workspace.init(path)
    assets = seed_demo(ws, n_assets=n_assets, seed=3)
    tokens = {}
    with ws.session() as s:
        for name, role in (("admin", "admin"), ("alice", "reviewer"), ("bob", "reviewer"), ("station-1", "station")):
            tokens[name], _ = create_token(s, name=name, role=role, actor="test")
    return RestEnv(ws, assets, tokens, TestClient(create_app(ws, SMALL_LIMITS)))


EnvTemplate = tuple[Path, list[DemoAsset], dict[str, str]]


@pytest.fixture(scope="session")
def env_templates(tmp_path_factory: pytest.TempPathFactory) -> Callable[[int], EnvTemplate]:
    """``make_env``'s closed workspace for n demo assets, built once a session (each xdist worker its own): seeding
    one costs about half a second of CPU, a copy a fiftieth. Never opened again; ``served_copy`` copies it."""
    built: dict[int, EnvTemplate] = {}

    def template(n_assets: int) -> EnvTemplate:
        if n_assets not in built:
            env = make_env(tmp_path_factory.mktemp(f"rest-template-{n_assets}") / "ws", n_assets)
            env.ws.close()
            built[n_assets] = (env.ws.path, env.assets, env.tokens)
        return built[n_assets]

    return template


def served_copy(template: EnvTemplate, path: Path) -> RestEnv:
    """A private copy of a template workspace at ``path``, opened, with a client of its own (as ``make_env``)."""
    src, assets, tokens = template
    shutil.copytree(src, path)
    ws = Workspace.open(path)
    return RestEnv(ws, copy.deepcopy(assets), dict(tokens), TestClient(create_app(ws, SMALL_LIMITS)))


@pytest.fixture(scope="module")
def demo_env(env_templates: Callable[[int], EnvTemplate], tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[RestEnv]:
    """A read-mostly environment shared by one test module (tests must not change it)."""
    env = served_copy(env_templates(8), tmp_path_factory.mktemp("rest") / "ws")
    with env.client:
        yield env
    env.ws.close()


@pytest.fixture
def fresh_env(env_templates: Callable[[int], EnvTemplate], tmp_path: Path) -> Iterator[RestEnv]:
    """A fresh environment for tests that write (a copy of the session's six-asset template)."""
    env = served_copy(env_templates(6), tmp_path / "ws")
    with env.client:
        yield env
    env.ws.close()


@pytest.fixture(scope="session")
def trained_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A workspace with a trained text grader and 8 unlabelled assets, built once a session (each xdist worker its
    own; five modules trained the same grader); every user copies it before serving or writing."""
    from .trained_workspace import seed_trained_workspace

    path = tmp_path_factory.mktemp("trained") / "ws"
    return path, seed_trained_workspace(path)


@pytest.fixture
def trained_env(trained_template: tuple[Path, dict[str, str]], tmp_path: Path) -> Iterator[RestEnv]:
    """A fresh copy of the trained workspace, served."""
    src, tokens = trained_template
    shutil.copytree(src, tmp_path / "ws")
    ws = Workspace.open(tmp_path / "ws")
    env = RestEnv(ws, [], tokens, TestClient(create_app(ws, SMALL_LIMITS)))
    with env.client:
        yield env
    ws.close()

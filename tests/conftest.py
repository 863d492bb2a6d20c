"""Shared fixtures: seeded generators, temporary workspaces, and the real-data folder (skipped when absent)."""

from __future__ import annotations

import os


def _worker_threads() -> int | None:
    """BLAS and OpenMP threads for one pytest-xdist worker: the cores shared out between the workers (at least 1);
    None outside xdist. ``-n 2`` on two cores ran every worker's OpenMP (scikit-learn's gradient boosting, LightGBM)
    and OpenBLAS on two threads, four on two cores, and their spin-waits cost many times the work: the four real-data
    text tests took 22 s of CPU and 72 s wall with the default threads, 5.9 s and 15 s with one (scikit-learn's own
    conftest shares the cores out between xdist workers in the same way)."""
    workers = os.environ.get("PYTEST_XDIST_WORKER_COUNT")
    if not workers:
        return None
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, cores // max(1, int(workers)))


_THREADS = _worker_threads()
if _THREADS is not None:  # before numpy, scipy and the rest load their thread pools; a value set by hand stays
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, str(_THREADS))

if os.environ.get("PYTEST_XDIST_WORKER"):
    # pytest-xdist starts its workers with COLUMNS=80 and LINES=24, and the CLI's consoles keep the width of their
    # making: a line naming a long tmp path wrapped inside the text a test looked for under `make test` (-n) and not
    # in a plain run. A worker now sees what a plain run sees (no terminal: PIPE_WIDTH, cli/console.py); a test that
    # needs a width sets COLUMNS itself.
    for _var in ("COLUMNS", "LINES"):
        os.environ.pop(_var, None)

import secrets  # noqa: E402
import shutil  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from assetgrade.datasets.paths import shared_data_dir  # noqa: E402
from assetgrade.errors import NotFoundError  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

# The PostgreSQL tests empty and refill their database. Each test session works in a schema of its
# own (dropped when the session ends), so two suites run at once on one machine do not meet.
PG_URL_ENVS = {
    "ASSETGRADE_TEST_PG_URL": "postgresql+psycopg://assetgrade:assetgrade@127.0.0.1:5432/assetgrade_test",
    "ASSETGRADE_TEST_PG_LOAD_URL": "postgresql+psycopg://assetgrade:assetgrade@127.0.0.1:5432/assetgrade_load_test",
}
_private_schemas: list[tuple[str, str]] = []  # (server URL, schema) to drop at the end


def _run_ddl(url: str, statement: str) -> bool:
    """Run one statement on the server at ``url``; False when it does not answer (or refuses)."""
    import sqlalchemy as sa

    try:
        engine = sa.create_engine(url, connect_args={"connect_timeout": 2})
        with engine.begin() as conn:
            conn.execute(sa.text(statement))
        engine.dispose()
    except Exception:
        return False
    return True


def _use_private_schema(env: str, default: str) -> None:
    """Point ``env`` at a fresh schema on its server; leave it alone when no server answers."""
    url = os.environ.get(env, default)
    schema = f"t_{os.getpid()}_{secrets.token_hex(4)}"
    if not _run_ddl(url, f'create schema "{schema}"'):
        return  # no server: the PostgreSQL tests skip and say why
    _private_schemas.append((url, schema))
    os.environ[env] = private_schema_url(url, schema)


def private_schema_url(url: str, schema: str) -> str:
    """``url`` with its connections' search path set to ``schema`` (a libpq ``options`` parameter).

    >>> private_schema_url("postgresql+psycopg://u:p@h:5432/db", "t_1")
    'postgresql+psycopg://u:p@h:5432/db?options=-csearch_path%3Dt_1'
    """
    import sqlalchemy as sa

    parsed = sa.engine.make_url(url)
    return parsed.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)


for _env, _default in PG_URL_ENVS.items():
    _use_private_schema(_env, _default)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Drop the session's private schemas and everything in them (left behind if the server went away)."""
    for url, schema in _private_schemas:
        _run_ddl(url, f'drop schema if exists "{schema}" cascade')


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded generator: tests are deterministic."""
    return np.random.default_rng(0)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared real data folder; the test is skipped with the reason when it is absent."""
    try:
        root = shared_data_dir()
    except NotFoundError as exc:  # ASSETGRADE_DATA set to a folder that is not there
        pytest.skip(f"real data not found: {exc}")
    if root is None:
        pytest.skip("real data not found: set ASSETGRADE_DATA or put the shared data at ../shared/data")
    return root


@pytest.fixture(params=["sqlite", "postgresql"])
def store_ws(request: pytest.FixtureRequest, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[Any]:
    """A fresh workspace on SQLite (a copy of one made once a session: tests/workspace_template.py), and on
    PostgreSQL (:func:`pg_ws`, skipped without a server)."""
    if request.param == "postgresql":
        yield request.getfixturevalue("pg_ws")
        return
    from tests.workspace_template import new_workspace

    w = new_workspace(tmp_path / "ws", tmp_path_factory)
    yield w
    w.close()


@pytest.fixture
def pg_ws(tmp_path: Path) -> Iterator[Any]:
    """A workspace on an emptied PostgreSQL database (emptied again afterwards); skipped unless
    ASSETGRADE_TEST_PG_URL names a server that answers (a folder's conftest may define its own)."""
    from tests.pg import PG_ENV, pg_url, pg_workspace

    url = pg_url(default=None)
    if url is None:
        pytest.skip(f"no PostgreSQL server answers: set {PG_ENV}")
    yield from pg_workspace(tmp_path, url)


@pytest.fixture(scope="session")
def text_workspace_copy(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """``copy(path, costs=CHF, unlabelled=0)``: a copy at ``path`` of :func:`tests.text_assets.train_text_workspace`'s
    workspace (a text grader trained by ``assetgrade train``), trained once per session (per xdist worker) for each
    ``costs`` and ``unlabelled``; a test writes to its own copy, never to the one trained."""
    from tests.text_assets import CHF, train_text_workspace

    trained: dict[tuple[str, int], Path] = {}

    def copy(path: Path, costs: str = CHF, unlabelled: int = 0) -> Path:
        if (costs, unlabelled) not in trained:
            trained[costs, unlabelled] = train_text_workspace(tmp_path_factory.mktemp("text-ws") / "ws", costs,
                                                              unlabelled)
        shutil.copytree(trained[costs, unlabelled], path)
        return path

    return copy


@pytest.fixture
def machine_threads() -> Iterator[None]:
    """BLAS and OpenMP on every core of the machine for the test, as outside pytest-xdist, where the workers share
    the cores out (:func:`_worker_threads`): for tests that a thread limit of one would make pass without checking
    anything (that code limits the threads to one, and gives the default count back afterwards)."""
    import scipy.linalg  # noqa: F401  (scipy's own OpenBLAS)
    import sklearn.cluster  # noqa: F401  (scikit-learn's OpenMP runtime): loaded now, so the limit reaches them
    from threadpoolctl import threadpool_limits

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    with threadpool_limits(limits=cores):
        yield

"""Executors: the local process pool (including a worker killed mid-shard) and Ray (skips without it)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from assetgrade.batch.backends import make_executor
from assetgrade.batch.jobs import run_batch
from assetgrade.batch.local_executor import LocalExecutor
from assetgrade.batch.ray_executor import RayExecutor, ray_available
from assetgrade.errors import AssetgradeError, MissingExtraError, ValidationError
from assetgrade.workspace import Workspace

sys.path.insert(0, str(Path(__file__).parent))  # spawned workers import the shard functions by module name
from agbatch_helpers import die_once, mark_started, square
from agcancel_helpers import running as _running


def test_local_executor_returns_every_shard_once() -> None:
    with LocalExecutor(workers=2) as ex:
        out = list(ex.map_shards(square, list(range(7))))
    assert sorted(out) == [(i, i * i) for i in range(7)]
    assert ex.restarts == 0


def test_local_executor_survives_a_killed_worker(tmp_path: Path) -> None:
    marker = str(tmp_path / "killed")
    with LocalExecutor(workers=2, max_restarts=2) as ex:
        out = list(ex.map_shards(die_once, [(marker, i) for i in range(6)]))
    assert Path(marker).read_text() == "killed"  # the worker really died once
    assert ex.restarts == 1
    assert sorted(out) == [(i, i * i) for i in range(6)]  # every shard exactly once


def test_a_caller_that_stops_taking_results_stops_the_pool_after_in_flight_shards(tmp_path: Path) -> None:
    # every shard used to be submitted at once: a driver slower at writing than the workers at computing let the
    # pool run ahead and hold every shard's result in memory (a whole large batch's grades)
    import time

    with LocalExecutor(workers=1, start_method="fork") as ex:
        results = ex.map_shards(mark_started, [(str(tmp_path), i) for i in range(40)])
        first = next(results)
        deadline = time.monotonic() + 60  # wait (not a timing assertion) until the pool has nothing left to run
        while ex._pool is not None and ex._pool._pending_work_items and time.monotonic() < deadline:  # type: ignore[attr-defined]
            time.sleep(0.02)
        started = sorted(int(p.name) for p in tmp_path.iterdir())
        assert first in (0, 1) and len(started) <= 2, started  # two per worker (LocalExecutor.in_flight)
        assert sorted([first, *results]) == list(range(40))  # taking the rest runs the rest, each once
    assert len(list(tmp_path.iterdir())) == 40


def test_local_executor_gives_up_after_max_restarts(tmp_path: Path) -> None:
    marker = str(tmp_path / "killed")
    with LocalExecutor(workers=1, max_restarts=0) as ex, pytest.raises(AssetgradeError, match="broke"):
        list(ex.map_shards(die_once, [(marker, i) for i in range(5)]))


@pytest.mark.skipif(os.name != "posix", reason="orphaned workers are found by their parent pid (POSIX)")
@pytest.mark.parametrize("start_method", ["spawn", "forkserver"])
def test_workers_exit_when_the_driver_is_killed(tmp_path: Path, start_method: str) -> None:
    import signal
    import subprocess
    import time

    pid_file = tmp_path / "worker.pid"
    driver = subprocess.Popen([sys.executable, "-c", (
        "import sys; sys.path.insert(0, sys.argv[1])\n"
        "from agbatch_helpers import hang\n"
        "from assetgrade.batch.local_executor import LocalExecutor\n"
        f"list(LocalExecutor(workers=1, start_method={start_method!r}).map_shards(hang, [sys.argv[2]]))\n"),
        str(Path(__file__).parent), str(pid_file)])
    worker = 0
    try:
        deadline = time.monotonic() + 60
        while not (pid_file.exists() and pid_file.read_text()):
            assert driver.poll() is None, "the driver stopped before its worker ran the shard"
            assert time.monotonic() < deadline, "the worker never started the shard"
            time.sleep(0.05)
        worker = int(pid_file.read_text())
        assert _running(worker)
        driver.send_signal(signal.SIGKILL)
        driver.wait(10)
        deadline = time.monotonic() + 10
        while _running(worker) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _running(worker), "the worker outlived its driver"
    finally:
        driver.kill()
        if worker and _running(worker):
            os.kill(worker, signal.SIGKILL)


@pytest.mark.skipif(os.name != "posix", reason="forkserver is POSIX-only")
def test_a_forkserver_pool_runs_its_shards() -> None:
    """Under forkserver a worker's parent is the fork server, not the driver: the watchdog must not end it."""
    pool = LocalExecutor(workers=1, start_method="forkserver", max_restarts=1)
    assert sorted(pool.map_shards(abs, [-1, -2])) == [1, 2]


def test_bad_settings_are_named() -> None:
    with pytest.raises(ValidationError, match="--backend"):
        make_executor("spark")
    with pytest.raises(ValidationError, match="workers"):
        LocalExecutor(workers=-1)


@pytest.mark.parametrize("backend", ["local", "ray"])
@pytest.mark.parametrize("workers", [0, -2])
def test_zero_or_negative_workers_are_refused_not_read_as_every_core(backend: str, workers: int) -> None:
    # 0 used to fall through ``workers or os.cpu_count()`` and start one worker per core (local) or a Ray
    # instance as wide as the machine; it is refused before anything starts, Ray installed or not
    with pytest.raises(ValidationError, match=r"--workers.*>= 1"):
        make_executor(backend, workers=workers)


def test_ray_backend_without_ray_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # as if the extra were not installed
    with pytest.raises(MissingExtraError, match=r"pip install 'assetgrade\[ray\]'"):
        make_executor("ray", workers=1)


NO_RAY = "the ray extra is not installed (pip install 'assetgrade[ray]')"


@pytest.mark.skipif(not ray_available(), reason=NO_RAY)
def test_local_rays_keep_their_files_in_temp_dir_and_a_second_one_starts_with_its_own_token() -> None:
    # Ray caches the auth token it read first: a second executor with another temp_dir (another workspace) started a
    # head with its own token, which the driver did not present, and failed with "Failed to start GCS".
    # Each instance keeps its token and session files under its own temp_dir, none in ~/.ray (one test for both:
    # each local Ray start costs seconds)
    import shutil

    home_ray = Path.home() / ".ray"
    had_home_ray = home_ray.exists()
    temps = [Path("/tmp") / f"agr-{os.getpid()}-t{i}" for i in range(2)]  # short: socket paths < 108 bytes
    try:
        for temp, shards in zip(temps, ([-3, 1, -2], [-2, 1]), strict=True):
            with RayExecutor(num_workers=1, temp_dir=temp) as ex:
                assert sorted(ex.map_shards(abs, shards)) == sorted(abs(s) for s in shards)
            assert (temp / "auth_token").stat().st_mode & 0o777 == 0o600
            assert any(temp.glob("session_*")), "Ray's session files belong under temp_dir"
            assert home_ray.exists() == had_home_ray, "Ray wrote to ~/.ray"
    finally:
        for temp in temps:
            shutil.rmtree(temp, ignore_errors=True)


@pytest.mark.skipif(not ray_available(), reason=NO_RAY)
def test_closing_a_ray_executor_puts_the_process_environment_back(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # its token settings stayed in os.environ: a later plain ray.init() in the process used token auth with them
    for k in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN_PATH", "RAY_TMPDIR"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "1")
    ex = RayExecutor(num_workers=1, temp_dir=tmp_path / "ray")
    assert os.environ["RAY_AUTH_MODE"] == "token" and os.environ["RAY_USAGE_STATS_ENABLED"] == "0"
    ex.close()
    assert [k for k in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN_PATH", "RAY_TMPDIR") if k in os.environ] == []
    assert os.environ["RAY_USAGE_STATS_ENABLED"] == "1"  # a value set before is restored, not dropped


@pytest.mark.skipif(not ray_available(), reason=NO_RAY)
def test_ray_executor_leaves_a_ray_it_did_not_start_running() -> None:
    # a caller's own ray.init (a cluster connection with its own settings) used to be shut down by close()
    import shutil

    import ray

    temp = Path("/tmp") / f"agr-{os.getpid()}-c"  # short: Ray's socket paths must stay < 108 bytes
    try:
        ex = RayExecutor(num_workers=1, temp_dir=temp)
        ray.init(num_cpus=1, _temp_dir=str(temp), include_dashboard=False, log_to_driver=False)
        assert sorted(ex.map_shards(abs, [-2, 1])) == [1, 2]
        ex.close()
        assert ray.is_initialized(), "close() shut down a Ray session the executor did not start"
        assert ray.get(ray.put(7)) == 7
    finally:
        ray.shutdown()
        shutil.rmtree(temp, ignore_errors=True)


@pytest.mark.slow
@pytest.mark.skipif(not ray_available(), reason=NO_RAY)
def test_ray_executor_runs_a_batch_and_keeps_files_in_its_temp_dir(batch_ws: Workspace) -> None:
    home_ray = Path.home() / ".ray"
    had_home_ray = home_ray.exists()
    temp = Path("/tmp") / f"agr-{os.getpid()}"  # short: Ray's socket paths must stay < 108 bytes
    try:
        with RayExecutor(num_workers=1, temp_dir=temp) as ex:
            rep = run_batch(batch_ws, "audit", ex, shard_size=8)
        assert (rep.n_shards, rep.shards_done, rep.written, rep.errors) == (4, 4, 24, [])  # at most 8 by id hash
        assert (temp / "auth_token").stat().st_mode & 0o777 == 0o600
        assert any(temp.glob("session_*")), "Ray's session files belong under temp_dir"
        assert home_ray.exists() == had_home_ray, "Ray wrote to ~/.ray"
    finally:
        import shutil

        shutil.rmtree(temp, ignore_errors=True)


def test_cli_batch_refuses_zero_workers_before_opening_anything(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from assetgrade.cli.app import build_app

    res = CliRunner().invoke(build_app(), ["batch", "grade", "-w", str(tmp_path / "no-such-ws"), "--workers", "0"],
                             env={"COLUMNS": "200"})
    assert res.exit_code == 2, res.output
    assert "--workers" in res.output and "greater than or equal to 1" in " ".join(res.output.split())
    assert not (tmp_path / "no-such-ws").exists()

"""The lifetime of `LocalExecutor.map_shards` generators: each call's shards are its own; none outlives its executor.

Two faults this pins down: stopping one generator early ended the shards of every other generator open on the same
executor (they shared one process pool, whose workers the stop ended), and a generator left open (kept in a variable,
never exhausted or closed) kept its shards running through ``close()``, which waited for them.
"""

from __future__ import annotations

import sys
from pathlib import Path

from assetgrade.batch.local_executor import LocalExecutor

sys.path.insert(0, str(Path(__file__).parent))  # spawned workers import the shard functions by module name
from agbatch_helpers import square
from agcancel_helpers import running, wait_for, zero_quick_then_wait


def _waiting(folder: Path, x: int = 1) -> int:
    """The pid of the worker running ``zero_quick_then_wait``'s shard ``x`` in ``folder``, once it has started."""
    wait_for(folder / f"started-{x}")
    pid = int((folder / f"started-{x}").read_text())
    assert running(pid)
    return pid


def test_stopping_one_generator_leaves_another_generator_s_shards_running(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    with LocalExecutor(workers=2, start_method="fork") as ex:
        gen_b = ex.map_shards(zero_quick_then_wait, [(str(b), 0), (str(b), 1)])
        assert next(gen_b) == 0
        b_pid = _waiting(b)  # b's shard 1 is running
        gen_a = ex.map_shards(zero_quick_then_wait, [(str(a), 0), (str(a), 1)])
        assert next(gen_a) == 0
        a_pid = _waiting(a)  # and so is a's
        gen_a.close()  # a gives up its shard 1...
        assert not running(a_pid)
        assert running(b_pid)  # ...and b's shard 1 runs on: it used to be killed with a's (one pool, both ended)
        (b / "go").write_text("go")
        assert list(gen_b) == [1]
        assert (b / "finished-1").exists() and not (a / "finished-1").exists()
        assert ex.restarts == 0
        assert sorted(ex.map_shards(square, [2, 3])) == [(2, 4), (3, 9)]


def test_closing_the_executor_stops_a_generator_left_open(tmp_path: Path) -> None:
    ex = LocalExecutor(workers=1, start_method="fork")
    results = ex.map_shards(zero_quick_then_wait, [(str(tmp_path), 0), (str(tmp_path), 1)])
    assert next(results) == 0
    pid = _waiting(tmp_path)
    ex.close()  # used to wait for shard 1, which waits for a go that never comes (a minute here, forever in real work)
    assert not running(pid)
    assert not (tmp_path / "finished-1").exists()
    assert list(results) == []  # the generator is closed: it yields nothing more
    assert ex.restarts == 0


def test_dropping_an_open_generator_stops_its_shards(tmp_path: Path) -> None:
    with LocalExecutor(workers=1, start_method="fork") as ex:
        results = ex.map_shards(zero_quick_then_wait, [(str(tmp_path), 0), (str(tmp_path), 1)])
        assert next(results) == 0
        pid = _waiting(tmp_path)
        del results  # the last reference: the generator is finalized (closed) at once, before the next line
        assert not running(pid)
        assert list(ex.map_shards(square, [3])) == [(3, 9)]

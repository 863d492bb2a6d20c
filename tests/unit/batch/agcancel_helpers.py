"""Module-level shard functions for the early-close and generator tests (worker processes import them by name, Ray by
value), and the waits and process checks those tests share."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

SLOW_S = 6.0
"""How long every shard but the first sleeps before leaving its ``finished-<x>`` file."""


def first_quick_then_slow(arg: tuple[str, int]) -> int:
    """The first shard to start returns ``x`` at once; any later one leaves ``<folder>/started-<x>``, sleeps
    :data:`SLOW_S` and then leaves ``<folder>/finished-<x>`` (which a cancelled shard never writes)."""
    folder, x = arg
    try:
        os.close(os.open(Path(folder) / "first", os.O_WRONLY | os.O_CREAT | os.O_EXCL))
        return x
    except FileExistsError:
        pass
    (Path(folder) / f"started-{x}").write_text("started")
    end = time.monotonic() + SLOW_S
    while time.monotonic() < end:  # short sleeps: an interrupt (Ray's cancel) is seen between them, as in real work
        time.sleep(0.05)
    (Path(folder) / f"finished-{x}").write_text("finished")
    return x


def first_quick_then_stubborn(arg: tuple[str, int, bool]) -> int:
    """As :func:`first_quick_then_slow`, but a slow shard ignores interrupts (KeyboardInterrupt: Ray's polite cancel)
    and, when the third item is true, SIGTERM (a pool worker's polite end): only killing its process stops it."""
    folder, x, ignore_term = arg
    try:
        os.close(os.open(Path(folder) / "first", os.O_WRONLY | os.O_CREAT | os.O_EXCL))
        return x
    except FileExistsError:
        pass
    if ignore_term:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    (Path(folder) / f"started-{x}").write_text("started")
    end = time.monotonic() + SLOW_S
    while time.monotonic() < end:
        try:
            time.sleep(0.05)
        except KeyboardInterrupt:
            (Path(folder) / f"interrupted-{x}").write_text("interrupted")
    (Path(folder) / f"finished-{x}").write_text("finished")
    return x


def running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie nobody reaped counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def wait_for(path: Path, limit_s: float = 60.0) -> None:
    """Wait (not a timing assertion) until ``path`` exists; AssertionError when it has not after ``limit_s``."""
    deadline = time.monotonic() + limit_s
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)


def zero_quick_then_wait(arg: tuple[str, int]) -> int:
    """Shard 0 returns 0 at once; any other shard ``x`` leaves ``<folder>/started-<x>`` holding its worker's pid,
    waits until ``<folder>/go`` exists (at most a minute), leaves ``<folder>/finished-<x>`` and returns ``x``.

    A test ends the wait by making the file, so nothing depends on how long a shard takes."""
    folder, x = Path(arg[0]), arg[1]
    if x == 0:
        return 0
    (folder / f".started-{x}").write_text(str(os.getpid()))
    (folder / f".started-{x}").replace(folder / f"started-{x}")  # whole: a test reads the pid once it is there
    end = time.monotonic() + 60.0
    while not (folder / "go").exists() and time.monotonic() < end:
        time.sleep(0.02)
    (folder / f"finished-{x}").write_text("finished")
    return x

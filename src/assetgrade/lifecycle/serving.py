"""The model that grades: a champion's bundle installed as ``<workspace>/models/grader``.

``grade``, ``explain``, ``batch``, ``serve`` and review rounds load ``models/grader``; the
registry keeps versions in ``models/<version>/``. :meth:`ModelRegistry.promote
<assetgrade.lifecycle.registry.ModelRegistry.promote>` and ``rollback`` install the new
champion there: :func:`stage_install` copies the bundle next to ``models/grader`` and checks it
before the registry's write transaction begins (a large bundle never holds the store's write
lock), then :meth:`Install.swap`, inside the transaction, swaps it in (one atomic exchange of the
two folders on Linux, :func:`exchange_folders`; else two renames in the same folder); the
registry change is then stored (with :attr:`Install.record` in its audit event) and
:meth:`Install.finish` called, or, when storing fails, :meth:`Install.undo` puts the replaced
folder back. A replaced ``models/grader`` that is no registered version (a grader saved by
``assetgrade train``) is kept as
``models/grader-replaced-<UTC time>/``; a registered one is deleted (the registry holds it).

Only bundles of the ``grader`` loader are installed; a model of another loader becomes
champion in the registry without changing what grades.
"""

from __future__ import annotations

import errno
import os
import shutil
import uuid
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assetgrade.errors import ConflictError, StoreError
from assetgrade.lifecycle.bundles import bundle_digest

if TYPE_CHECKING:
    from assetgrade.lifecycle.registry import ModelInfo
    from assetgrade.workspace import Workspace

__all__ = ["Install", "exchange_folders", "installing", "prepare_install", "registered_version_of",
           "stage_install"]


@dataclass
class Install:
    """A swap of ``models/grader``: staged (:func:`stage_install`), swapped in (:meth:`swap`), then finished or undone.

    ``record`` (JSON) says what was installed and what it replaced, for the audit event. The
    staged copy lies next to ``models/grader`` until :meth:`swap` renames it into place;
    :meth:`finish` and :meth:`undo` remove a copy never swapped in.

    Examples
    --------
    >>> nothing = Install({"dir": "models/grader", "installed": False, "why": "loader 'table'"})
    >>> nothing.swap(()).undo(); nothing.finish()  # nothing was staged: each does nothing
    >>> nothing.record["installed"]
    False
    """

    record: dict[str, Any]
    target: Path | None = None
    aside: Path | None = None
    discard_aside: bool = True
    incoming: Path | None = None
    """The staged copy, not yet swapped in (None once swapped, or when there is nothing to install)."""
    seen: tuple[Any, ...] | None = None
    """What ``models/grader`` looked like (file names, sizes, times) when its digest was taken."""
    _swapped: bool = field(default=False, repr=False)
    _done: bool = field(default=False, repr=False)

    def swap(self, registered: Collection[str]) -> Install:
        """Rename the staged copy into ``models/grader`` (``registered``: the bundle sha256s the registry holds).

        Call it inside the registry's write transaction: it only renames folders (no copying or
        hashing of the bundle), so the store's write lock is held for moments. ConflictError when
        ``models/grader`` changed since :func:`stage_install` looked at it.
        """
        if self.incoming is None or self.target is None or self._swapped or self._done:
            return self
        target, incoming = self.target, self.incoming
        if _look(target) != self.seen:
            raise ConflictError(f"{target} changed while the new champion was being copied in; retry")
        old = self.record["replaced_sha256"]
        aside: Path | None = None
        discard = True
        if old is not None:
            discard = old in registered
            if discard:
                aside = target.with_name(f".grader-outgoing-{uuid.uuid4().hex[:8]}")
            else:
                aside = target.with_name(f"grader-replaced-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%fZ')}")
                self.record["replaced_kept_at"] = f"{self.record['dir'].rsplit('/', 1)[0]}/{aside.name}"
        try:
            if aside is not None and exchange_folders(incoming, target):
                # one atomic step: models/grader never goes missing (the old bundle now lies at `incoming`)
                self.aside, self.discard_aside, self.incoming, self._swapped = incoming, discard, None, True
                try:
                    incoming.rename(aside)
                    self.aside = aside
                except OSError:  # keep it where it is; finish/undo still find it
                    if not discard:
                        self.record["replaced_kept_at"] = f"{self.record['dir'].rsplit('/', 1)[0]}/{incoming.name}"
                return self
            if aside is not None:
                target.rename(aside)
            try:
                incoming.rename(target)
            except OSError:
                if aside is not None:
                    aside.rename(target)
                raise
        except OSError as exc:
            raise StoreError(f"cannot install {self.record['version']!r} as {target}: {exc}") from exc
        self.aside, self.discard_aside, self.incoming, self._swapped = aside, discard, None, True
        return self

    def finish(self) -> None:
        """Delete the replaced bundle when the registry holds it (a kept one stays), or a copy never swapped in."""
        if not self._done:
            if self.aside is not None and self.discard_aside:
                shutil.rmtree(self.aside, ignore_errors=True)
            if self.incoming is not None:
                shutil.rmtree(self.incoming, ignore_errors=True)
        self._done = True

    def undo(self) -> None:
        """Put the replaced ``models/grader`` back (or remove the installed one when there was none)."""
        if self._done:
            return
        self._done = True
        if self.incoming is not None:  # staged, never swapped in
            shutil.rmtree(self.incoming, ignore_errors=True)
        if not self._swapped or self.target is None:
            return
        if self.aside is not None and self.target.exists() and exchange_folders(self.aside, self.target):
            shutil.rmtree(self.aside, ignore_errors=True)  # now holds the bundle being undone
            return
        gone = self.target.with_name(f".grader-undone-{uuid.uuid4().hex[:8]}")
        if self.target.exists():
            self.target.rename(gone)
        if self.aside is not None:
            self.aside.rename(self.target)
        shutil.rmtree(gone, ignore_errors=True)


_RENAME_EXCHANGE = 2  # linux/fs.h


def exchange_folders(a: Path, b: Path) -> bool:
    """Swap two folders in one atomic step (Linux ``renameat2`` with ``RENAME_EXCHANGE``); False where unsupported.

    With it, a reader of ``models/grader`` always finds a whole bundle there; elsewhere (another
    OS, an old kernel or C library, a file system without it) the caller falls back to two renames.
    """
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return False
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    at_fdcwd = -100
    if fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
        return False
    raise OSError(err, f"cannot exchange {a} and {b}: {os.strerror(err)}")


def _look(folder: Path) -> tuple[Any, ...] | None:
    """Names, sizes, modification times and inodes of the files under ``folder`` (None when it is absent): cheap."""
    if not folder.is_dir():
        return None
    out: list[Any] = [folder.stat().st_ino]
    for f in sorted(p for p in folder.rglob("*") if p.is_file()):
        st = f.stat()
        out.append((f.relative_to(folder).as_posix(), st.st_size, st.st_mtime_ns, st.st_ino))
    return tuple(out)


def stage_install(ws: Workspace, info: ModelInfo) -> Install:
    """Copy ``info``'s bundle next to ``ws.grader_dir`` and check it, without touching the store.

    Run it before the registry's write transaction (copying and hashing a large bundle must not
    hold the store's write lock), then :meth:`Install.swap` inside it. A non-``grader`` loader
    or a bundle already installed stages nothing (``record["installed"]`` is False and says why).
    """
    target = ws.grader_dir
    rel = target.relative_to(ws.path).as_posix()
    if info.loader != "grader":
        return Install({"dir": rel, "installed": False,
                        "why": f"loader {info.loader!r}: {rel} holds Grader bundles only; grading is unchanged"})
    src = info.bundle_dir if info.entry == "." else info.bundle_dir / info.entry
    digest = bundle_digest(src)
    if info.entry == "." and digest != info.bundle_sha256:
        raise StoreError(f"model bundle {src} changed since it was registered"
                         f" (sha256 {digest[:12]}... != {info.bundle_sha256[:12]}...)")
    seen = _look(target)
    old = bundle_digest(target) if seen is not None else None
    if _look(target) != seen:
        raise ConflictError(f"{target} changed while it was being read; retry")
    record: dict[str, Any] = {"dir": rel, "installed": old != digest, "version": info.version,
                              "model_version": info.model_version, "bundle_sha256": digest,
                              "replaced_sha256": old, "replaced_kept_at": None}
    if old == digest:
        record["why"] = f"{rel} already holds this bundle"
        return Install(record)
    incoming = target.with_name(f".grader-incoming-{uuid.uuid4().hex[:8]}")
    try:
        shutil.copytree(src, incoming)
        if bundle_digest(incoming) != digest:
            raise StoreError(f"the copy of {src} in {incoming} differs from it")
    except (OSError, StoreError) as exc:
        shutil.rmtree(incoming, ignore_errors=True)
        raise StoreError(f"cannot install {info.version!r} as {target}: {exc}") from exc
    return Install(record, target, incoming=incoming, seen=seen)


def prepare_install(ws: Workspace, info: ModelInfo, *, registered: Collection[str] = ()) -> Install:
    """:func:`stage_install` then :meth:`Install.swap`: install ``info``'s bundle as ``ws.grader_dir`` now."""
    staged = stage_install(ws, info)
    try:
        return staged.swap(registered)
    except BaseException:
        staged.undo()
        raise


@contextmanager
def installing() -> Iterator[Callable[[Install], Install]]:
    """Hold the :class:`Install` made inside the block: finished when the block ends well, undone when it raises.

    Open it around the staging and the registry's write session (``with installing() as hold:
    staged = hold(stage_install(ws, info))``, then ``with ws.session() as s: ... staged.swap(...)``)
    so that a refused change removes the staged copy and a failed commit, which leaves the
    session's block first, also undoes the swap.

    >>> with installing() as hold:
    ...     done = hold(Install({"installed": False}))
    >>> done._done
    True
    """
    held: list[Install] = []

    def hold(install: Install) -> Install:
        held.append(install)
        return install

    try:
        yield hold
    except BaseException:
        for install in held:
            install.undo()
        raise
    for install in held:
        install.finish()


def registered_version_of(ws: Workspace, model_version: str) -> ModelInfo | None:
    """The registry entry of the grader whose id is ``model_version`` (``grader-<hash>``), or None.

    A grader registered twice (as a re-registration) maps to each entry; the champion wins, then
    the newest. Tells a client of ``serve`` which registered version answers its requests.
    """
    from assetgrade.lifecycle.registry import ModelRegistry

    hits = [i for i in ModelRegistry(ws).list() if model_version in i.prediction_versions]
    if not hits:
        return None
    champions = [i for i in hits if i.is_champion]
    return champions[0] if champions else hits[-1]

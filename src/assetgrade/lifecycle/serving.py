"""The model that grades: a champion's bundle installed as ``<workspace>/models/grader``.

``grade``, ``explain``, ``batch``, ``serve`` and review rounds load ``models/grader``; the
registry keeps versions in ``models/<version>/``. :meth:`ModelRegistry.promote
<assetgrade.lifecycle.registry.ModelRegistry.promote>` and ``rollback`` install the new
champion there with :func:`prepare_install`: the bundle is copied next to ``models/grader``,
checked, and swapped in by two renames in the same folder; the registry change is then stored
(with :attr:`Install.record` in its audit event) and :meth:`Install.finish` called, or, when
storing fails, :meth:`Install.undo` puts the replaced folder back. A replaced ``models/grader``
that is no registered version (a grader saved by ``assetgrade train``) is kept as
``models/grader-replaced-<UTC time>/``; a registered one is deleted (the registry holds it).

Only bundles of the ``grader`` loader are installed; a model of another loader becomes
champion in the registry without changing what grades.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assetgrade.errors import StoreError
from assetgrade.lifecycle.bundles import bundle_digest

if TYPE_CHECKING:
    from assetgrade.lifecycle.registry import ModelInfo
    from assetgrade.workspace import Workspace

__all__ = ["Install", "installing", "prepare_install", "registered_version_of"]


@dataclass
class Install:
    """A swap of ``models/grader`` not yet final: :meth:`finish` once the registry change is stored, else :meth:`undo`.

    ``record`` (JSON) says what was installed and what it replaced, for the audit event.

    Examples
    --------
    >>> nothing = Install({"dir": "models/grader", "installed": False, "why": "loader 'table'"})
    >>> nothing.undo(); nothing.finish()  # nothing was swapped: both do nothing
    >>> nothing.record["installed"]
    False
    """

    record: dict[str, Any]
    target: Path | None = None
    aside: Path | None = None
    discard_aside: bool = True
    _done: bool = field(default=False, repr=False)

    def finish(self) -> None:
        """Delete the replaced bundle when the registry holds it (a kept one stays)."""
        if not self._done and self.aside is not None and self.discard_aside:
            shutil.rmtree(self.aside, ignore_errors=True)
        self._done = True

    def undo(self) -> None:
        """Put the replaced ``models/grader`` back (or remove the installed one when there was none)."""
        if self._done or self.target is None:
            return
        self._done = True
        gone = self.target.with_name(f".grader-undone-{uuid.uuid4().hex[:8]}")
        if self.target.exists():
            self.target.rename(gone)
        if self.aside is not None:
            self.aside.rename(self.target)
        shutil.rmtree(gone, ignore_errors=True)


def prepare_install(ws: Workspace, info: ModelInfo, *, registered: Collection[str] = ()) -> Install:
    """Install ``info``'s bundle as ``ws.grader_dir`` (``registered``: the bundle sha256s the registry holds).

    Returns the :class:`Install` to finish or undo; a non-``grader`` loader or a bundle already
    installed changes nothing (``record["installed"]`` is False and says why).
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
    old = bundle_digest(target) if target.is_dir() else None
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
    aside: Path | None = None
    discard = True
    if old is not None:
        discard = old in registered
        if discard:
            aside = target.with_name(f".grader-outgoing-{uuid.uuid4().hex[:8]}")
        else:
            aside = target.with_name(f"grader-replaced-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%fZ')}")
            record["replaced_kept_at"] = aside.relative_to(ws.path).as_posix()
    try:
        if aside is not None:
            target.rename(aside)
        try:
            incoming.rename(target)
        except OSError:
            if aside is not None:
                aside.rename(target)
            raise
    except OSError as exc:
        shutil.rmtree(incoming, ignore_errors=True)
        raise StoreError(f"cannot install {info.version!r} as {target}: {exc}") from exc
    return Install(record, target, aside, discard)


@contextmanager
def installing() -> Iterator[Callable[[Install], Install]]:
    """Hold the :class:`Install` made inside the block: finished when the block ends well, undone when it raises.

    Open it around the registry's write session (``with installing() as hold, ws.session() as s``) so
    that a failed commit, which leaves the session's block first, also undoes the swap.

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

"""A workspace folder: ``assetgrade.yaml``, the store (SQLite ``assetgrade.db`` or a URL), ``blobs/``, caches."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from assetgrade.config import CONFIG_NAME, WorkspaceConfig, load_config, save_config
from assetgrade.errors import ConflictError, NotFoundError, StoreError
from assetgrade.store.blobs import BlobStore
from assetgrade.store.engine import current_revision, head_revision, make_engine, upgrade
from assetgrade.store.writelock import WriterLock, sqlite_lock_path

if TYPE_CHECKING:
    from assetgrade.ontology import Ontology

__all__ = ["DB_NAME", "GRADER_DIR", "STORE_ENV", "SUBDIRS", "Workspace", "config_path"]

GRADER_DIR = "grader"
"""The folder under ``models/`` where ``assetgrade train`` saves the grader."""

DB_NAME = "assetgrade.db"
STORE_ENV = "ASSETGRADE_STORE"
SUBDIRS = ("blobs", "cache", "models", "reports")


def config_path(path: Path | str) -> Path:
    """The ``assetgrade.yaml`` of the workspace folder ``path``; NotFoundError naming the fix when there is none."""
    path = Path(path)
    if not (path / CONFIG_NAME).exists():
        raise NotFoundError(
            f"{path.resolve()} is not an assetgrade workspace (no {CONFIG_NAME}); run: assetgrade init {path}"
        )
    return path / CONFIG_NAME


class Workspace:
    """An opened workspace: settings, database engine, sessions and the blob store.

    Create one with :meth:`init`, open an existing one with :meth:`open`. The store URL is
    chosen in this order: the ``store_url`` argument (CLI ``--store``), the ``ASSETGRADE_STORE``
    environment variable, ``store_url`` in ``assetgrade.yaml``, the folder's ``assetgrade.db``.

    Examples
    --------
    >>> import tempfile
    >>> ws = Workspace.init(Path(tempfile.mkdtemp()) / "ws")
    >>> with ws.session() as s:
    ...     from assetgrade.store.repository import add_asset
    ...     _ = add_asset(s, "pump-7", asset_type="pump")
    >>> from assetgrade.store.repository import list_assets
    >>> with ws.session() as s:
    ...     [a.id for a in list_assets(s)]
    ['pump-7']
    """

    def __init__(self, path: Path, config: WorkspaceConfig, store_url: str | None = None) -> None:
        self.path = path.resolve()
        self.config = config
        self.store_url = self._resolve_store_url(store_url)
        self.engine: Engine = make_engine(self.store_url)
        # SQLite has one writer at a time. Writers (threads of this process, and other processes on
        # the same file) queue on a lock instead of on SQLite's busy handler, whose back-off sleeps
        # (up to 100 ms a try) make writes slow under concurrency; see store/writelock.py.
        self._write_lock: WriterLock | None = (
            WriterLock(sqlite_lock_path(self.store_url)) if self.store_url.startswith("sqlite") else None)
        blob_root = config.blob_root or str(self.path / "blobs")
        if "://" not in blob_root and not Path(blob_root).is_absolute():
            blob_root = str(self.path / blob_root)
        self.blobs = BlobStore(blob_root, verify_on_read=config.verify_blobs_on_read)

    def __repr__(self) -> str:
        return f"Workspace({str(self.path)!r})"

    def _resolve_store_url(self, override: str | None) -> str:
        url = override or os.environ.get(STORE_ENV) or self.config.store_url
        if not url:
            return f"sqlite:///{self.path / DB_NAME}"
        return url

    # -- folders ----------------------------------------------------------------------------
    @property
    def reports_dir(self) -> Path:
        """Where ingest and audit reports are written."""
        return self.path / "reports"

    @property
    def cache_dir(self) -> Path:
        """Scratch space for features and other recomputable things."""
        return self.path / "cache"

    @property
    def evidence_cache_path(self) -> Path:
        """The SQLite file that keeps graders' evidence rows across processes (``cache/evidence.sqlite``)."""
        return self.cache_dir / "evidence.sqlite"

    @property
    def evidence_cache_max_bytes(self) -> int:
        """The cap on :attr:`evidence_cache_path` (``evidence_cache_max_gb`` in ``assetgrade.yaml``), in bytes."""
        return int(self.config.evidence_cache_max_gb * 1e9)

    @property
    def models_dir(self) -> Path:
        """Saved graders and model artefacts."""
        return self.path / "models"

    @property
    def grader_dir(self) -> Path:
        """Where ``assetgrade train`` saves the workspace's grader (``models/grader``)."""
        return self.models_dir / GRADER_DIR

    def ontology(self) -> Ontology:
        """The workspace's ontology (``ontology:`` in the config, else the shipped default)."""
        from assetgrade.ontology import default_ontology, load_ontology

        path = self.config.ontology_path(self.path)
        return default_ontology() if path is None else load_ontology(path)

    # -- life cycle -------------------------------------------------------------------------
    @classmethod
    def init(cls, path: Path | str, store_url: str | None = None, *, blob_root: str | None = None) -> Workspace:
        """Create a workspace at ``path`` (folders, config, migrated database) and open it."""
        path = Path(path)
        if (path / CONFIG_NAME).exists():
            raise ConflictError(f"{path} is already an assetgrade workspace ({CONFIG_NAME} exists)")
        path.mkdir(parents=True, exist_ok=True)
        for sub in SUBDIRS:
            (path / sub).mkdir(exist_ok=True)
        config = WorkspaceConfig(store_url=store_url, blob_root=blob_root)
        ws = cls(path, config)
        upgrade(ws.engine)
        save_config(config, path / CONFIG_NAME)
        return ws

    @classmethod
    def open(cls, path: Path | str, store_url: str | None = None, *, check_schema: bool = True) -> Workspace:
        """Open the workspace at ``path``; errors say when it is missing or its schema is old."""
        path = Path(path)
        ws = cls(path, load_config(config_path(path)), store_url)
        if check_schema:
            rev = current_revision(ws.engine)
            if rev != head_revision():
                raise StoreError(
                    f"the store schema is at revision {rev or 'none'}, this version needs {head_revision()}:"
                    f" run: assetgrade db upgrade -w {path}"
                )
        return ws

    def upgrade(self) -> str:
        """Migrate the store to the newest schema; returns the revision."""
        return upgrade(self.engine)

    def close(self) -> None:
        """Release database connections."""
        self.engine.dispose()
        if self._write_lock is not None and not self._write_lock.held:
            self._write_lock.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- sessions ---------------------------------------------------------------------------
    @contextmanager
    def session(self, *, readonly: bool = False) -> Iterator[Session]:
        """A session that commits when the block ends and rolls back on an exception.

        ``readonly=True`` starts a deferred SQLite transaction that does not queue behind writers
        and rolls back at the end (objects loaded in it stay readable, detached).
        """
        bind = self.engine.execution_options(sqlite_begin="DEFERRED") if readonly else self.engine
        guard = self._write_lock if (self._write_lock is not None and not readonly) else nullcontext()
        with guard:
            session = Session(bind=bind, expire_on_commit=False)
            try:
                yield session
                if readonly:  # keep loaded objects usable after the block, discard any stray writes
                    session.expunge_all()
                    session.rollback()
                else:
                    session.commit()
            except BaseException:
                session.rollback()
                raise
            finally:
                session.close()

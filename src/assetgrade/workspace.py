"""A workspace folder: ``assetgrade.yaml``, the store (SQLite ``assetgrade.db`` or a URL), ``blobs/``, caches."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from assetgrade.config import CONFIG_NAME, ConfigProblem, WorkspaceConfig, load_config, save_config
from assetgrade.errors import ConflictError, NotFoundError, StoreError, ValidationError
from assetgrade.store.blobs import BlobStore
from assetgrade.store.engine import current_revision, head_revision, make_engine, schema_mismatch, upgrade
from assetgrade.store.writelock import WriterLock, sqlite_lock_path

if TYPE_CHECKING:
    from assetgrade.decision.costs import CostConfig
    from assetgrade.ontology import Ontology

__all__ = ["DB_NAME", "GRADER_DIR", "STORE_ENV", "SUBDIRS", "Workspace", "config_path", "sqlite_file",
           "workspace_costs"]

GRADER_DIR = "grader"
"""The folder under ``models/`` where ``assetgrade train`` saves the grader."""

DB_NAME = "assetgrade.db"
STORE_ENV = "ASSETGRADE_STORE"
SUBDIRS = ("blobs", "cache", "models", "reports")


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL; None for an in-memory database or another store.

    Examples
    --------
    >>> sqlite_file("sqlite:////tmp/ws/assetgrade.db"), sqlite_file("sqlite:///rel.db")
    (PosixPath('/tmp/ws/assetgrade.db'), PosixPath('rel.db'))
    >>> sqlite_file("sqlite://") is None, sqlite_file("postgresql+psycopg://h/db") is None
    (True, True)
    """
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception:
        return None
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    if parsed.database.startswith("file:"):  # a URI filename: leave it to SQLite
        return None
    return Path(parsed.database)


def config_path(path: Path | str) -> Path:
    """The ``assetgrade.yaml`` of the workspace folder ``path``; NotFoundError naming the fix when there is none."""
    path = Path(path)
    if path.is_file():
        raise NotFoundError(f"{path.resolve()} is a file, not a workspace folder (a folder holding {CONFIG_NAME})")
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
        self.store_url, self.store_source = self._resolve_store_url(store_url)
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

    def _resolve_store_url(self, override: str | None) -> tuple[str, str]:
        """The store URL and where it came from; a relative SQLite file in the config lies in the workspace."""
        if override:
            return override, "--store"
        if os.environ.get(STORE_ENV):
            return os.environ[STORE_ENV], f"${STORE_ENV}"
        url = self.config.store_url
        if not url:
            from sqlalchemy import URL  # escapes a '?', '#' or '%' in the folder's path, which a URL would misread

            return (URL.create("sqlite", database=str(self.path / DB_NAME)).render_as_string(),
                    f"the workspace's {DB_NAME}")
        file = sqlite_file(url)
        if file is not None and not file.is_absolute():  # keep the URL's query (?timeout=30)
            from sqlalchemy.engine import make_url

            url = make_url(url).set(database=str(self.path / file)).render_as_string(hide_password=False)
        return url, f"store_url in {CONFIG_NAME}"

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

    def costs(self) -> CostConfig:
        """The cost settings train, retrain and golden evaluations use: ``costs:`` on the ontology's grade scale.

        A section that names no grades takes the ontology's, and prices left out follow
        :func:`~assetgrade.decision.costs.default_prices` for that scale.
        A bad key or value is named where ``assetgrade.yaml`` writes it (file, line, column, key).
        """
        return workspace_costs(self.config, tuple(self.ontology().grades.names))

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
        if path.exists() and not path.is_dir():
            raise ValidationError(f"{path} is a file, not a folder; give a folder to create the workspace in",
                                  where="workspace")
        if (path / CONFIG_NAME).exists():
            raise ConflictError(f"{path} is already an assetgrade workspace ({CONFIG_NAME} exists)")
        try:
            path.mkdir(parents=True, exist_ok=True)
            for sub in SUBDIRS:
                (path / sub).mkdir(exist_ok=True)
        except OSError as exc:  # an ancestor that is a file, no permission, a read-only disk
            raise ValidationError(f"cannot create the workspace folder {path}: {exc.strerror or exc}",
                                  where="workspace") from exc
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
        file = sqlite_file(ws.store_url)
        if file is not None and not file.exists():  # connecting would create an empty database
            ws.close()
            raise NotFoundError(
                f"no database at {file} (the store named by {ws.store_source}); it is not created on open. "
                f"A team workspace needs its store URL ({STORE_ENV} or --store); a lost {DB_NAME} must be "
                "restored from a backup; `assetgrade init` creates a new workspace")
        if check_schema:
            rev = current_revision(ws.engine)
            if rev is None:
                ws.close()
                raise StoreError(
                    f"the store {ws.engine.url.render_as_string()} (named by {ws.store_source}) has no assetgrade "
                    f"tables: if it is the wrong database, fix {ws.store_source}; if it is a new, empty one, run: "
                    f"assetgrade db upgrade -w {path}")
            if rev != head_revision():
                ws.close()
                raise StoreError(schema_mismatch(rev, str(ws.engine.url), str(path)))
        return ws

    def upgrade(self) -> str:
        """Migrate the store to the newest schema; returns the revision.

        On SQLite the workspace's writer lock is held for the whole run: Alembic commits each
        migration on its own, so two runs could otherwise interleave between migrations, the second
        one replaying DDL the first had just applied (PostgreSQL runs take an advisory lock instead).
        """
        with self._write_lock if self._write_lock is not None else nullcontext():
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


def workspace_costs(config: WorkspaceConfig, grades: tuple[str, ...] | None) -> CostConfig:
    """The ``costs:`` section as a :class:`~assetgrade.decision.costs.CostConfig` on ``grades`` (the ontology's);
    a bad key or value is a :class:`~assetgrade.config.ConfigError` naming where the file writes it."""
    from assetgrade.decision.costs import CostConfig

    section = config.section("costs")
    try:
        return CostConfig.from_dict(section, where="costs", grades=grades)
    except ValidationError as exc:  # where: costs, then the dotted path of the field refused
        key = tuple(exc.where.split(".")) if exc.where else ("costs",)
        raise config.error([ConfigProblem(key, exc.reason)]) from exc

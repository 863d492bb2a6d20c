"""Content-addressed blob store: sha256 names, atomic dedup'd writes, any fsspec URL (local folder by default)."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import fsspec

from assetgrade.errors import NotFoundError, StoreError, ValidationError
from assetgrade.store.spool import SPOOL_PREFIX, Claim, new_temp, system_spool_dir, temp_in_use

__all__ = ["REFRESH_AFTER_S", "SPOOL_PREFIX", "BlobStore", "Spool", "sha256_bytes", "sha256_file",
           "system_spool_dir", "temp_in_use"]

REFRESH_AFTER_S = 3600.0
"""On an object store, a re-used blob older than this is written again (garbage collection's grace must exceed it)."""

_CHUNK = 1 << 20
_SHA_RE = re.compile(r"^[0-9a-f]{64}$")


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass(frozen=True)
class Spool:
    """A source's bytes, read once into a private temp file and hashed on the way (:meth:`BlobStore.spool`).

    Examples
    --------
    >>> import io
    >>> store = BlobStore("memory://doctest-spool")
    >>> spooled = store.spool(io.BytesIO(b"hello"))
    >>> spooled.size, spooled.sha[:8], spooled.path.read_bytes()
    (5, '2cf24dba', b'hello')
    >>> store.put_spool(spooled) == spooled.sha, spooled.path.exists()
    (True, False)
    """

    path: Path
    sha: str
    size: int
    hold: Claim | None = field(default=None, repr=False, compare=False)
    """The copy's share of its process's claim on the temp folder, kept until the copy is gone, so garbage
    collection leaves it be (no open file per copy)."""

    def open(self) -> IO[bytes]:
        """The copy, for reading (a validator reads the very bytes that will be stored)."""
        return self.path.open("rb")

    def discard(self) -> None:
        """Remove the copy, then its claim (nothing happens when it is gone already)."""
        self.path.unlink(missing_ok=True)
        if self.hold is not None:
            self.hold.close()
        if self.path.parent == system_spool_dir():  # leave no empty folder in the system temp folder
            with contextlib.suppress(OSError):  # not empty: other copies in flight
                self.path.parent.rmdir()


def _read_source(source: IO[bytes]) -> bytes:
    """The next chunk of a source being copied; its read errors are told apart from the store's."""
    try:
        return source.read(_CHUNK)
    except OSError as exc:  # the source's fault (EIO...), whatever its filename says
        raise _SourceReadError(exc) from exc


class _SourceReadError(Exception):
    """Carries a read error of the source file past the handler that turns write errors into StoreError."""

    def __init__(self, error: OSError) -> None:
        super().__init__(str(error))
        self.error = error


def _place(tmp: str, final: str) -> None:
    """Rename the written (and fsynced) temp file to its final name, durably.

    A rename lives in its folder, so the folder is fsynced too (and the folder above each fan-out
    folder this created), before the caller commits a store row naming the blob: after a power cut a
    committed row never names a blob whose rename was lost. (A write lost with its uncommitted row
    only leaves an orphan, which garbage collection removes.)
    """
    leaf = Path(final).parent
    created = [d for d in (leaf.parent, leaf) if not d.exists()]
    leaf.mkdir(parents=True, exist_ok=True)
    Path(tmp).replace(final)
    for folder in (leaf, *(d.parent for d in reversed(created))):
        _fsync_dir(folder)


def _fsync_dir(folder: Path) -> None:
    """fsync a folder's entries; a platform or file system that cannot (Windows, some network mounts) is let be."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except (PermissionError, IsADirectoryError):  # Windows cannot open a folder
        return
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):
            raise
    finally:
        os.close(fd)


class BlobStore:
    """Blobs named by their sha256, stored under ``root`` (a folder path or any fsspec URL).

    Writes are atomic (temp file + rename on a local disk; write then size check on object
    stores) and deduplicated (an existing blob is never rewritten). Blobs live at
    ``root/ab/cd/abcd...``.

    Parameters
    ----------
    root
        Folder path or fsspec URL (``file:///...``, ``memory://bucket``, ``s3://...``).
    verify_on_read
        Re-hash every blob read and raise :class:`StoreError` on a mismatch.

    Examples
    --------
    >>> store = BlobStore("memory://doctest-blobs")
    >>> sha = store.put_bytes(b"hello")
    >>> store.get_bytes(sha)
    b'hello'
    >>> store.exists(sha), sha[:8]
    (True, '2cf24dba')
    """

    def __init__(self, root: str | Path, *, verify_on_read: bool = False) -> None:
        self.url = str(root)
        self.verify_on_read = verify_on_read
        try:
            fs, path = fsspec.core.url_to_fs(self.url)
        except ValueError as exc:  # fsspec: "Protocol not known: ..."
            raise ValidationError(f"{self.url!r} is not a blob store location ({exc}); give a folder path or an "
                                  "fsspec URL such as file:///srv/blobs or s3://bucket/blobs",
                                  where="blob_root") from exc
        except ImportError as exc:  # fsspec names the package its protocol needs ("Install s3fs to access S3")
            raise StoreError(f"cannot open the blob store {self.url}: {exc}") from exc
        self.fs: Any = fs
        self.root: str = path.rstrip("/")
        protocol = fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,)
        self.is_local = bool({"file", "local"} & set(protocol))
        try:
            self.fs.makedirs(self.root, exist_ok=True)
        except OSError as exc:  # a file where the folder belongs, no permission, a read-only disk
            raise StoreError(f"cannot create the blob store folder {self.url}: {exc.strerror or exc}") from exc

    def __repr__(self) -> str:
        return f"BlobStore({self.url!r})"

    # -- naming -----------------------------------------------------------------------------
    def path_for(self, sha: str) -> str:
        """Storage path of blob ``sha`` (validated: 64 lower-case hex digits)."""
        if not isinstance(sha, str) or not _SHA_RE.match(sha):
            raise ValidationError(f"not a sha256 hex digest: {sha!r}", where="blob id")
        return f"{self.root}/{sha[:2]}/{sha[2:4]}/{sha}"

    def exists(self, sha: str) -> bool:
        """Whether blob ``sha`` is stored."""
        return bool(self.fs.exists(self.path_for(sha)))

    def size(self, sha: str) -> int:
        """The size in bytes of blob ``sha``, without reading it (NotFoundError when it is not stored)."""
        try:
            return int(self.fs.size(self.path_for(sha)))
        except FileNotFoundError as exc:
            raise NotFoundError(f"blob {sha} is not in the blob store {self.url}") from exc
        except OSError as exc:
            raise self._read_error(sha, exc) from exc

    # -- writing ----------------------------------------------------------------------------
    def put_bytes(self, data: bytes) -> str:
        """Store ``data``; returns its sha256. No write when it is already stored (its time stamp is refreshed)."""
        sha = sha256_bytes(data)
        final = self.path_for(sha)
        if self._reusable(final, len(data)):
            return sha
        try:
            if self.is_local:
                self._local_atomic(final, lambda fh: fh.write(data))
            else:
                self.fs.makedirs(final.rsplit("/", 1)[0], exist_ok=True)
                self.fs.pipe_file(final, data)
                self._check_size(final, len(data))
        except OSError as exc:
            raise self._write_error(exc) from exc
        return sha

    def put_file(self, path: Path | str) -> str:
        """Store a file's content, read once and hashed on the way (large files never sit in memory).

        The source is copied into a private temp file (:meth:`spool`) and that copy becomes the blob
        (:meth:`put_spool`), so the blob always holds the bytes its name hashes, also when the source is
        replaced while it is read. An OSError opening or reading the source is raised as it is (the
        input's fault); one writing the store is a StoreError naming the store.
        """
        with Path(path).open("rb") as fin:
            spooled = self.spool(fin)
        return self.put_spool(spooled)

    def spool(self, source: IO[bytes], *, head: bytes = b"") -> Spool:
        """Copy ``head`` then the rest of ``source`` into a private temp file, hashing the bytes on the way.

        The copy, ``<SPOOL_PREFIX><claim>-<random>.part``, lies in the store's ``tmp/`` folder on a local disk
        (so :meth:`put_spool` only renames it) and in :func:`system_spool_dir` for an object store. It is
        claimed while the :class:`Spool` lives (:mod:`assetgrade.store.spool`: one open file per process, not
        per copy); garbage collection removes the copy a killed ingest left once it is older than the grace
        period, never a claimed one. Whatever reads the copy (a validator,
        :meth:`put_spool`) reads the bytes ``sha`` names. Memory stays at one 1 MiB chunk (plus ``head``).
        """
        try:
            tmp, fout, claim = new_temp(self._tmp_dir())
        except OSError as exc:
            raise self._write_error(exc) from exc
        h, size = hashlib.sha256(), 0
        try:
            with fout:  # closed once written: the claim, not an open file, keeps the copy in flight
                chunk = head or _read_source(source)
                while chunk:
                    h.update(chunk)
                    size += len(chunk)
                    fout.write(chunk)
                    chunk = _read_source(source)
                fout.flush()
                if self.is_local:  # the copy becomes the blob by a rename
                    os.fsync(fout.fileno())
        except BaseException as exc:
            tmp.unlink(missing_ok=True)
            claim.close()
            if isinstance(exc, _SourceReadError):
                raise exc.error from None
            if isinstance(exc, OSError):
                raise self._write_error(exc) from exc
            raise
        return Spool(tmp, h.hexdigest(), size, claim)

    def put_spool(self, spooled: Spool) -> str:
        """Store a :meth:`spool` copy as blob ``spooled.sha``; the copy is gone afterwards, stored or not."""
        try:
            final = self.path_for(spooled.sha)
            if self._reusable(final, spooled.size):  # new, damaged, or old on an object store: written
                return spooled.sha
            try:
                if self.is_local:
                    _place(str(spooled.path), final)  # also over a damaged blob of another size, atomically
                else:
                    self.fs.makedirs(final.rsplit("/", 1)[0], exist_ok=True)
                    self.fs.put_file(str(spooled.path), final)
            except OSError as exc:
                raise self._write_error(exc) from exc
            if not self.is_local:
                self._check_size(final, spooled.size)
            return spooled.sha
        finally:
            spooled.discard()

    def _write_error(self, exc: OSError) -> StoreError:
        """A failed write to the store (read-only, full, gone) as a StoreError naming the store, not the input."""
        return StoreError(f"cannot write to the blob store {self.url}: {exc.strerror or exc}"
                          + (f" ({exc.filename})" if exc.filename else ""))

    def modified(self, path: str, info: dict[str, Any] | None = None) -> float | None:
        """A stored object's modification time in epoch seconds, or None when the store does not say."""
        data = info if info is not None else self.fs.info(path)
        for key in ("mtime", "LastModified", "last_modified", "updated", "created"):
            v = data.get(key)
            if v is None:
                continue
            if isinstance(v, int | float):
                return float(v)
            stamp = getattr(v, "timestamp", None)
            if callable(stamp):
                return float(stamp())
        return None

    def _reusable(self, final: str, size: int) -> bool:
        """Whether the blob already at ``final`` stands for content of ``size`` bytes, so nothing is written.

        Not when it is missing, or of another size (a damaged file, a partial copy left by another
        tool: rows must not name it), or, on an object store, older than :data:`REFRESH_AFTER_S` or of
        unknown age. Garbage collection keeps blobs younger than its grace period; a local disk
        refreshes a re-used blob's time stamp in place (done here), an object store cannot, so there
        an old blob is written again when an ingest re-uses it, and a collection whose grace period is
        at least that long (the default is 24 h) never deletes a blob an ingest in flight is about to
        name. A blob damaged without changing its size is caught only when read with verification.
        A blob that vanishes between the look and the refresh (garbage collection moved it aside) is
        written again, never named while gone.
        """
        try:
            info = self.fs.info(final)
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise self._write_error(exc) from exc
        if info.get("type", "file") != "file" or int(info.get("size") or 0) != size:
            return False
        if self.is_local:
            return self._refresh(final)
        stamp = self.modified(final, info)
        return stamp is not None and time.time() - stamp <= REFRESH_AFTER_S

    def _refresh(self, final: str) -> bool:
        """Mark a re-used blob as young (local disks), so garbage collection's grace period covers it again.

        False when the blob is gone (a collection moved it aside after the caller looked): the caller
        writes it again. A collection that moved it after the refresh sees it young and puts it back.
        """
        try:
            os.utime(final)
        except FileNotFoundError:
            return False
        except OSError:  # a read-only store: nothing to protect, a collector cannot delete there either
            pass
        return True

    def _tmp_dir(self) -> Path:
        """Where this store's temp files go: its own ``tmp/`` on a local disk, else :func:`system_spool_dir`."""
        return Path(self.root) / "tmp" if self.is_local else system_spool_dir()

    def _local_atomic(self, final: str, write: Any) -> None:
        tmp, fh, claim = new_temp(self._tmp_dir())
        try:
            with fh:
                write(fh)
                fh.flush()
                os.fsync(fh.fileno())
                _place(str(tmp), final)
        finally:
            tmp.unlink(missing_ok=True)
            claim.close()

    def _check_size(self, final: str, size: int) -> None:
        """After an object-store write: a blob of another size is removed (never left under its name), then refused."""
        got = self.fs.size(final)
        if got != size:
            with contextlib.suppress(OSError):
                self.fs.rm_file(final)
            raise StoreError(f"blob {final} was written with {got} bytes, expected {size}; it was removed")

    # -- reading ----------------------------------------------------------------------------
    def get_bytes(self, sha: str, *, verify: bool | None = None) -> bytes:
        """The bytes of blob ``sha``; re-hashed when ``verify`` (default: the store's setting).

        NotFoundError when it is not stored; StoreError (naming the blob) when it cannot be read or,
        verified, does not match its name.
        """
        path = self.path_for(sha)
        try:
            data: bytes = self.fs.cat_file(path)
        except FileNotFoundError as exc:
            raise NotFoundError(f"blob {sha} is not in the blob store {self.url}") from exc
        except OSError as exc:  # EIO, EACCES, a folder where the file should be: this blob, not the caller's bug
            raise self._read_error(sha, exc) from exc
        if (self.verify_on_read if verify is None else verify) and sha256_bytes(data) != sha:
            raise StoreError(f"blob {sha} is corrupt: its content hashes to {sha256_bytes(data)}")
        return data

    def open(self, sha: str) -> IO[bytes]:
        """A binary file object reading blob ``sha`` (no verification; use get_bytes for that)."""
        path = self.path_for(sha)
        try:
            fh: IO[bytes] = self.fs.open(path, "rb")
        except FileNotFoundError as exc:
            raise NotFoundError(f"blob {sha} is not in the blob store {self.url}") from exc
        except OSError as exc:
            raise self._read_error(sha, exc) from exc
        return fh

    def _read_error(self, sha: str, exc: OSError) -> StoreError:
        """A blob that is there but cannot be read, as a StoreError naming the blob and the store."""
        return StoreError(f"cannot read blob {sha} from the blob store {self.url}: {exc.strerror or exc}")

"""Spool copies named by the scheme before 8f84424 (an object store's ``tempfile.mkstemp`` copy
``assetgrade-blob-<random>.part`` in the system temp folder): garbage collection removes the ones an ingest of
that version left, with the same checks as today's copies (old enough, held by no writer, moved aside and its
age read again before the delete), and leaves other users' files alone."""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from pathlib import Path

import pytest
from tests.unit.store.spool_support import DAY, HOUR, make_old, object_store

from assetgrade.store.blob_gc import collect_blob_garbage
from assetgrade.store.blobs import BlobStore


def _old_versions_copy(data: bytes = b"x" * 1000) -> Path:
    """A spool copy as an object store's ingest wrote it before 8f84424 (blobs.py: ``tempfile.mkstemp``)."""
    fd, name = tempfile.mkstemp(prefix="assetgrade-blob-", suffix=".part")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    return Path(name)


def test_an_old_versions_spool_copy_is_collected_once_older_than_the_grace_period(system_tmp: Path) -> None:
    store = object_store("legacy-spool")
    left = _old_versions_copy()
    assert left.parent == system_tmp
    assert collect_blob_garbage(store, set(), grace_s=HOUR).stale_tmp == 0 and left.exists()  # young: kept
    make_old(left)
    dry = collect_blob_garbage(store, set(), grace_s=HOUR, dry_run=True)
    assert dry.stale_tmp == 1 and left.exists()
    rep = collect_blob_garbage(store, set(), grace_s=HOUR)
    assert rep.stale_tmp == 1 and rep.failed == 0
    assert not list(system_tmp.iterdir())  # nothing left, nothing moved aside


def test_a_copy_written_to_between_the_age_check_and_the_delete_is_put_back(
        system_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # an old version's ingest still writing its copy: it writes just after the collection read the copy's age
    store = object_store("legacy-spool")
    left = _old_versions_copy(b"first part")
    make_old(left)
    rename = os.rename
    writes: list[Path] = []

    def write_then_rename(src: str | Path, dst: str | Path) -> None:
        if Path(src) == left and not writes:
            with left.open("ab") as fh:
                fh.write(b", second part")
            writes.append(left)
        rename(src, dst)

    monkeypatch.setattr(os, "rename", write_then_rename)
    rep = collect_blob_garbage(store, set(), grace_s=HOUR)
    assert writes == [left]
    assert rep.stale_tmp == 0
    assert left.read_bytes() == b"first part, second part"  # back under its name, whole
    assert [p.name for p in system_tmp.iterdir()] == [left.name]


def test_a_copy_a_killed_collection_left_aside_is_settled(system_tmp: Path) -> None:
    store = object_store("legacy-spool")
    old, young = _old_versions_copy(b"old"), _old_versions_copy(b"young")
    make_old(old)
    aside = {p: p.with_name(f"{p.name}.{uuid.uuid4().hex}.gc-trash") for p in (old, young)}
    for p, trash in aside.items():
        p.rename(trash)
    rep = collect_blob_garbage(store, set(), grace_s=HOUR)
    assert rep.stale_tmp == 1
    assert sorted(p.name for p in system_tmp.iterdir()) == [young.name]  # the young one is back under its name
    assert young.read_bytes() == b"young"


@pytest.mark.skipif(not hasattr(os, "getuid") or os.getuid() != 0, reason="giving a file to another user needs root")
def test_another_users_copy_and_links_are_left_alone(system_tmp: Path, tmp_path: Path) -> None:
    # the system temp folder is shared: a collection run as root must not delete another user's ingest files
    store = object_store("legacy-spool")
    theirs = _old_versions_copy()
    os.chown(theirs, 54321, 54321)
    target = tmp_path / "precious.bin"
    target.write_bytes(b"not a spool copy")
    link = system_tmp / "assetgrade-blob-link.part"
    link.symlink_to(target)
    for p in (theirs, target):
        make_old(p)
    os.utime(link, (time.time() - 3 * DAY,) * 2, follow_symlinks=False)
    rep = collect_blob_garbage(store, set(), grace_s=HOUR)
    assert rep.stale_tmp == 0 and rep.failed == 0
    assert theirs.exists() and link.is_symlink() and target.read_bytes() == b"not a spool copy"


def test_a_local_store_leaves_the_system_temp_folder_alone(system_tmp: Path, tmp_path: Path) -> None:
    # only an object store spooled there; a local store's collection is about its own tmp/
    left = _old_versions_copy()
    make_old(left)
    assert collect_blob_garbage(BlobStore(tmp_path / "blobs"), set(), grace_s=HOUR).stale_tmp == 0
    assert left.exists()

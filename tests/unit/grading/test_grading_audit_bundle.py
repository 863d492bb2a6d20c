"""Audit of bundle saves: two saves into one folder take turns, so neither leaves its pickle under the other's json."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import Any

import pytest

from assetgrade.grading.bundle import load_bundle, save_bundle


def test_a_save_holds_the_folders_save_lock_while_its_files_change(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "grader"
    lock = tmp_path / "grader.save-lock"  # beside the folder: inside, a registry would copy and digest it
    save_bundle({"model": 1}, {"model_version": "v1"}, folder)
    real, seen = Path.write_text, []

    def probe(self: Path, *a: Any, **k: Any) -> int:
        if self.name == "bundle.json.tmp":  # mid-save: another process's save must wait here
            fd = os.open(lock, os.O_RDWR | os.O_CREAT)
            try:
                with pytest.raises(BlockingIOError):
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                seen.append(True)
            finally:
                os.close(fd)
        return real(self, *a, **k)

    # without a lock, a second save writing grader.pkl.tmp at this point had its pickle renamed into place
    # under this save's bundle.json: "grader.pkl does not match the sha256 in bundle.json", previous model gone
    monkeypatch.setattr(Path, "write_text", probe)
    save_bundle({"model": 2}, {"model_version": "v2"}, folder)
    monkeypatch.undo()
    assert seen == [True] and load_bundle(folder)[0] == {"model": 2}
    fd = os.open(lock, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # let go once the save is done
    finally:
        os.close(fd)
    assert sorted(p.name for p in folder.iterdir()) == ["bundle.json", "grader.pkl"]

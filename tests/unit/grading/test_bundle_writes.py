"""A saved bundle is replaced whole or not at all: a save that fails part-way leaves the previous one loadable."""

from __future__ import annotations

from pathlib import Path

import pytest

from assetgrade.grading.bundle import load_bundle, save_bundle


def test_a_save_that_fails_writing_bundle_json_keeps_the_previous_bundle(tmp_path: Path) -> None:
    save_bundle({"model": 1}, {"model_version": "v1"}, tmp_path)
    # bundle.json cannot be written (here: info JSON cannot encode; a full disk or Ctrl-C does the same);
    # the new pickle was already in place, so the saved model no longer loaded ("changed or corrupt")
    with pytest.raises(TypeError):
        save_bundle({"model": 2}, {"model_version": "v2", "bad": {(1, 2): "tuple key"}}, tmp_path)
    obj, info = load_bundle(tmp_path)
    assert obj == {"model": 1} and info["model_version"] == "v1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle.json", "grader.pkl"]  # no temporary files left


def test_a_failed_write_of_the_new_files_keeps_the_previous_bundle(tmp_path: Path) -> None:
    save_bundle({"model": 1}, {"model_version": "v1"}, tmp_path)
    (tmp_path / "bundle.json.tmp").mkdir()  # an OS-level failure on the second file: a folder in its place
    with pytest.raises(OSError):
        save_bundle({"model": 2}, {"model_version": "v2"}, tmp_path)
    assert load_bundle(tmp_path)[0] == {"model": 1}
    save_bundle({"model": 3}, {"model_version": "v3"}, tmp_path / "again")
    assert load_bundle(tmp_path / "again")[0] == {"model": 3}

"""A saved bundle is replaced whole or not at all: a save that fails before its pickle's rename leaves the previous one
loadable, and one interrupted or killed after it is finished (by the save itself, or by the next load)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assetgrade.errors import ValidationError
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


def test_ctrl_c_right_after_the_pickle_is_in_place_still_puts_its_bundle_json_there(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    save_bundle({"model": 1}, {"model_version": "v1"}, tmp_path)
    real_replace = Path.replace

    def replace_then_interrupt(self: Path, target: Path) -> Path:  # type: ignore[override]
        out = real_replace(self, target)
        if self.name == "grader.pkl.tmp":
            raise KeyboardInterrupt  # Ctrl-C between the two renames
        return out

    monkeypatch.setattr(Path, "replace", replace_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        save_bundle({"model": 2}, {"model_version": "v2"}, tmp_path)
    monkeypatch.undo()
    info = json.loads((tmp_path / "bundle.json").read_text())
    assert info["model_version"] == "v2"  # not v1's bundle.json over v2's pickle
    assert load_bundle(tmp_path)[0] == {"model": 2}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle.json", "grader.pkl"]


def test_a_save_killed_between_its_renames_is_finished_by_the_next_load(tmp_path: Path) -> None:
    save_bundle({"model": 1}, {"model_version": "v1"}, tmp_path)
    newer = tmp_path / "newer"
    save_bundle({"model": 2}, {"model_version": "v2"}, newer)
    # what a save killed (SIGKILL, power cut) after renaming its pickle leaves: v2's pickle, v1's bundle.json,
    # and v2's complete bundle.json.tmp
    (tmp_path / "grader.pkl").write_bytes((newer / "grader.pkl").read_bytes())
    (tmp_path / "bundle.json.tmp").write_text((newer / "bundle.json").read_text())
    obj, info = load_bundle(tmp_path)
    assert obj == {"model": 2} and info["model_version"] == "v2"
    assert json.loads((tmp_path / "bundle.json").read_text())["model_version"] == "v2"  # put in place
    assert not (tmp_path / "bundle.json.tmp").exists()


def test_a_stray_bundle_json_tmp_for_another_pickle_does_not_hide_a_damaged_pickle(tmp_path: Path) -> None:
    save_bundle({"model": 1}, {"model_version": "v1"}, tmp_path)
    (tmp_path / "bundle.json.tmp").write_text(json.dumps({"pickle_sha256": "0" * 64, "format": 1}))
    (tmp_path / "grader.pkl").write_bytes(b"damaged")
    with pytest.raises(ValidationError, match="does not match the sha256"):
        load_bundle(tmp_path)
    (tmp_path / "bundle.json.tmp").write_text('{"pickle_sha256": "trunc')  # one being written now
    with pytest.raises(ValidationError, match="does not match the sha256"):
        load_bundle(tmp_path)
    assert json.loads((tmp_path / "bundle.json").read_text())["model_version"] == "v1"

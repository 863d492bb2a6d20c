"""The grader keeps its training files' hashes, so a copy of one is known after its asset is deleted or changed.

docs/audit.md: ``Grader.fit`` stores ``train_files_`` (the sha256 of the training assets' image and
series files, :func:`~assetgrade.grading.training.file_hashes`) in the saved grader, and
:func:`~assetgrade.grading.out_of_sample.out_of_sample_proba` matches against it; a grader saved
before it was kept falls back to the training assets' current files (``training=``).
"""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path

from assetgrade.grader import Grader
from assetgrade.grading.out_of_sample import out_of_sample_proba
from assetgrade.grading.training import file_hashes
from assetgrade.store.records import AssetRecord

from .conftest import make_record


def _copy_of(aid: str, of: AssetRecord) -> AssetRecord:
    """A new asset (unseen id) holding ``of``'s stored photo (same sha256) and nothing else of it."""
    return AssetRecord(aid, of.asset_type, images=of.images, grade="D" if of.grade != "D" else "A")


def test_fit_keeps_the_training_files_and_the_saved_grader_has_them(
        grader: Grader, records: list[AssetRecord], tmp_path: Path) -> None:
    want = sorted({sha for r in records for sha in file_hashes(r)})
    assert len(want) == 2 * len(records)  # one photo and one series file each, none shared
    assert grader.train_files_ == tuple(want)
    assert Grader.load(grader.save(tmp_path / "grader")).train_files_ == tuple(want)


def test_a_copy_of_a_deleted_training_assets_file_is_not_out_of_sample(
        grader: Grader, records: list[AssetRecord]) -> None:
    fresh = make_record("fresh", image_level=1, text_grade="B", series_level=1, grade="B", seed=4242)
    # the training asset t003 was deleted since the fit: it is in neither records nor training=
    _, sources = out_of_sample_proba(grader, [_copy_of("copy", records[3]), fresh],
                                     training=[r for r in records if r.asset_id != "t003"])
    assert sources == ["shares-training-file", "graded"]


def test_a_copy_of_a_training_file_since_replaced_is_not_out_of_sample(
        grader: Grader, records: list[AssetRecord]) -> None:
    """Its asset now holds another photo: the file the grader learned from is still the copy's."""
    other = make_record("t004", image_level=2, text_grade="C", series_level=2, grade="C", seed=9999)
    now = [replace(r, images=other.images) if r.asset_id == "t004" else r for r in records]
    _, sources = out_of_sample_proba(grader, [_copy_of("copy", records[4])], training=now)
    assert sources == ["shares-training-file"]
    # and a new asset holding the replacement photo holds no file the grader saw
    _, sources = out_of_sample_proba(grader, [_copy_of("copy-new", other)], training=now)
    assert sources == ["graded"]


def test_a_grader_saved_before_it_kept_its_files_reads_the_training_records(
        grader: Grader, records: list[AssetRecord]) -> None:
    old = copy.copy(grader)
    del old.train_files_
    copied = _copy_of("copy", records[5])
    _, sources = out_of_sample_proba(old, [copied], training=records)
    assert sources == ["shares-training-file"]
    _, sources = out_of_sample_proba(old, [copied], training=[r for r in records if r.asset_id != "t005"])
    assert sources == ["graded"]  # its asset is gone: cannot be matched, as before

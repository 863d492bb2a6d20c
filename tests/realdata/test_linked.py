"""The linked multimodal benchmark: deterministic, split by piece, and no single modality fixes the grade.

The sample tests use the excerpts shipped in the package (and ELPV from its package), so they
run everywhere; the shared tests need ../shared/data and skip without it.
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import pandas as pd
import pytest

from assetgrade.datasets.cmapss import read_cmapss_table
from assetgrade.datasets.linked import (
    SAMPLES_DIR,
    _elpv_table,
    build_linked,
    grade_from_levels,
    maintie_severity,
    make_samples,
    rubric_proba,
    rul_level,
    sample_fleet,
    write_linked,
)
from assetgrade.errors import ValidationError

MODALITY_LABELS = ("image_level", "sensor_level", "log_level")


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    return build_linked(n_assets=80, seed=3, source="sample").frame()


def test_rubric_and_levels() -> None:
    assert grade_from_levels(0, 0, 0) == 0
    assert grade_from_levels(1, 1, 1) == 1
    assert grade_from_levels(3, 0, 0) == 2  # a fully defective cell is never better than C
    assert grade_from_levels(0, 3, 0) == 2
    assert grade_from_levels(2, 2, 2) == 3
    assert [rul_level(r) for r in (200, 125, 124, 75, 74, 30, 29, 0)] == [0, 0, 1, 1, 2, 2, 3, 3]
    assert maintie_severity({"entities": [{"type": "State/UndesirableState/FailedState"}]}) == 2
    assert maintie_severity({"entities": [{"type": "Process/UndesirableProcess"}]}) == 1
    assert maintie_severity({"entities": [{"type": "Activity/MaintenanceActivity/Replace"}]}) == 0


def test_rubric_proba_is_the_rubric_on_exact_levels_and_mixes_linearly() -> None:
    import itertools

    import numpy as np

    eye = np.eye(4)
    for v, s, t in itertools.product(range(4), range(4), range(3)):
        p = rubric_proba(eye[[v]], eye[[s]], eye[[t]])
        assert p.argmax() == grade_from_levels(v, s, t) and p.max() == pytest.approx(1.0)
    # a log distribution placing mass on grade D counts it as the highest log level (severe)
    assert rubric_proba(eye[[2]], eye[[2]], eye[[3]]).argmax() == grade_from_levels(2, 2, 2)
    rng = np.random.default_rng(0)
    q = [rng.dirichlet(np.ones(4), size=5) for _ in range(3)]
    p = rubric_proba(*q)
    assert np.allclose(p.sum(axis=1), 1.0)
    half = rubric_proba(0.5 * q[0] + 0.5 * eye[[0] * 5], q[1], q[2])
    assert np.allclose(half, 0.5 * p + 0.5 * rubric_proba(eye[[0] * 5], q[1], q[2]))
    with pytest.raises(ValidationError, match="sensors"):
        rubric_proba(q[0], q[1][:3], q[2])
    with pytest.raises(ValidationError, match="text"):
        rubric_proba(q[0], q[1], np.full((5, 4), np.nan))


def test_sample_is_deterministic(sample: pd.DataFrame) -> None:
    again = build_linked(n_assets=80, seed=3, source="sample").frame()
    pd.testing.assert_frame_equal(sample, again)
    other = build_linked(n_assets=80, seed=4, source="sample").frame()
    assert not sample[["elpv_file", "cut_cycle"]].equals(other[["elpv_file", "cut_cycle"]])


def test_no_single_modality_determines_the_grade(sample: pd.DataFrame) -> None:
    for col in MODALITY_LABELS:
        # the same label value leads to different grades
        assert sample.groupby(col)["grade"].nunique().max() > 1, col
        # the best grade guess from this label alone is often wrong
        best = sample.groupby(col)["grade"].agg(lambda s: s.value_counts().iloc[0]).sum()
        assert best / len(sample) < 0.85, col
    # ...but all three together do
    g = [grade_from_levels(*row) for row in sample[list(MODALITY_LABELS)].itertuples(index=False)]
    assert [("A", "B", "C", "D")[i] for i in g] == sample["grade"].tolist()


def test_pieces_do_not_cross_splits(sample: pd.DataFrame) -> None:
    for col in ("elpv_file", "group"):
        owners = sample.groupby(col)["split"].nunique()
        assert owners.max() == 1, col
    texts = sample.explode("maintie_indices").groupby("maintie_indices")["split"].nunique()
    assert texts.max() == 1
    assert set(sample["split"]) == {"train", "calibration", "test"}


def test_units_and_texts_stay_in_one_piece_group(sample: pd.DataFrame) -> None:
    # the CV group is the piece group: a held-out fold never shares a unit or a text with training
    units = sample.groupby(["cmapss_subset", "cmapss_unit"])["group"].nunique()
    assert units.max() == 1
    texts = sample.explode("maintie_indices").groupby("maintie_indices")["group"].nunique()
    assert texts.max() == 1
    assert sample.groupby("split")["group"].nunique().to_dict() == {"train": 3, "calibration": 3, "test": 3}


def test_too_many_piece_groups_is_a_clear_error() -> None:
    with pytest.raises(ValidationError, match="piece group"):
        build_linked(n_assets=40, seed=0, source="sample", piece_groups=50)


def test_records_load_real_bytes_and_series(tmp_path: Path) -> None:
    bench = build_linked(n_assets=12, seed=0, source="sample")
    rec, lab = bench.records[0], bench.labels[0]
    img = rec.images[0].load_bytes()
    assert img[:4] == b"\x89PNG" and hashlib.sha256(img).hexdigest() == rec.images[0].sha256
    ser = rec.series[0].load()
    assert len(ser) == lab.cut_cycle and "s11" in ser.columns
    assert 1 <= len(rec.logs) <= 3 and all(log.text for log in rec.logs)
    assert "grade" not in rec.attributes and "image_level" not in rec.attributes  # labels stay apart
    assert bench.modality_grades("vision")[0] == "ABCD"[lab.image_level]
    assert set(bench.modality_grades("text")) <= {"A", "B", "C"}
    assert bench.y().tolist() == [("A", "B", "C", "D").index(lb.grade) for lb in bench.labels]
    manifest = write_linked(bench, tmp_path)
    rows = list(csv.DictReader(manifest.open(encoding="utf-8")))
    assert len(rows) == sum(1 + 1 + len(r.logs) for r in bench.records)
    assert all((tmp_path / r["path"]).exists() for r in rows if r["path"])
    from assetgrade.ingest.manifest import KNOWN_COLUMNS

    assert set(rows[0]) <= set(KNOWN_COLUMNS)  # ingest reads every column (no notice)
    assert len(bench.split("test").records) + len(bench.split("train").records) < 12


def test_sample_files_are_small_and_licensed() -> None:
    total = sum(p.stat().st_size for p in SAMPLES_DIR.iterdir())
    assert total < 1.5 * 2**20
    assert (SAMPLES_DIR / "MAINTIE_LICENSE.md").read_text().startswith("MIT License")
    assert "public domain" in (SAMPLES_DIR / "NOTICE.md").read_text()


def test_sample_fleet_is_other_engines_than_the_assets() -> None:
    histories, end_rul = sample_fleet()
    assert len(histories) == len(end_rul) == 100 and min(end_rul) > 0
    bench = build_linked(n_assets=12, seed=0, source="sample")
    asset_series = bench.records[0].series[0].load()
    assert list(histories[0].columns) == list(asset_series.columns)  # what the sensors extractor reads
    train = read_cmapss_table(SAMPLES_DIR / "cmapss_train_FD001_sample.txt.gz")
    firsts = {tuple(r) for r in train[train["cycle"] == 1].iloc[:, 2:].to_numpy().round(4).tolist()}
    assert not any(tuple(h.iloc[0].to_numpy().round(4).tolist()) in firsts for h in histories)


def test_shipped_samples_are_made_from_the_shared_data(shared_data: Path, tmp_path: Path) -> None:
    for made in make_samples(shared_data, tmp_path):
        assert made.read_bytes() == (SAMPLES_DIR / made.name).read_bytes(), made.name


def test_shared_build_matches_real_labels(shared_data: Path) -> None:
    bench = build_linked(n_assets=300, seed=0, data_dir=shared_data)
    f = bench.frame()
    assert set(f["grade"]) == {"A", "B", "C", "D"}
    assert (f["sensor_level"] == f["rul"].map(rul_level)).all()
    table = read_cmapss_table(shared_data / "cmapss" / "train_FD001.txt.gz")
    life = table.groupby("unit")["cycle"].max()
    assert ((f["cut_cycle"] + f["rul"]) == f["cmapss_unit"].map(life)).all()
    assert (f["elpv_probability"] * 3).round().astype(int).equals(f["image_level"])
    for col in MODALITY_LABELS:
        assert f.groupby(col)["grade"].nunique().max() > 1
    assert (f["split"].value_counts() == pd.Series({"train": 180, "calibration": 60, "test": 60})).all()


def test_assets_with_several_cells_take_the_worst_level(tmp_path: Path) -> None:
    one = build_linked(n_assets=30, seed=5, source="sample")
    two = build_linked(n_assets=30, seed=5, source="sample", images_per_asset=3)
    elpv = {r["path"]: int(r["level"]) for _, r in _elpv_table()[1].iterrows()}
    for rec, lab in zip(two.records, two.labels, strict=True):
        files = lab.elpv_file.split(";")
        assert len(rec.images) == 3 and len(set(files)) == 3
        assert lab.image_level == max(elpv[f] for f in files) == elpv[files[0]]  # worst cell first
        assert round(lab.elpv_probability * 3) == lab.image_level
    every = [f for lab in two.labels for f in lab.elpv_file.split(";")]
    assert len(every) == len(set(every)) == 90  # no cell photographed for two assets
    assert all(len(r.images) == 1 for r in one.records)
    manifest = write_linked(two, tmp_path)
    rows = list(csv.DictReader(manifest.open(encoding="utf-8")))
    assert sum(r["kind"] == "image" for r in rows) == 90
    with pytest.raises(ValidationError, match="images_per_asset"):
        build_linked(n_assets=30, seed=5, source="sample", images_per_asset=0)
    with pytest.raises(ValidationError, match="of 9 images need more"):
        build_linked(n_assets=2000, seed=5, source="sample", images_per_asset=9)

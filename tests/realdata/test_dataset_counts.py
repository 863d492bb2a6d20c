"""Real data: each loader reads every unit, row, image and text the data set has (its README and paper figures).

Skipped with the reason when the shared data, or one data set in it, is absent.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from assetgrade.datasets.cmapss import load_cmapss
from assetgrade.datasets.maintie import load_maintie
from assetgrade.datasets.maintnorm import MAINTNORM_SPLITS, load_maintnorm
from assetgrade.datasets.neu import NEU_CLASSES, load_neu
from assetgrade.datasets.work_orders import load_work_orders

pytestmark = pytest.mark.realdata


def _set(shared_data: Path, name: str) -> Path:
    if not (shared_data / name).is_dir():
        pytest.skip(f"{name}/ not in the shared data at {shared_data}")
    return shared_data / name


@pytest.mark.parametrize(("subset", "counts"), [
    # train units, train rows, test units, test rows (Saxena et al. 2008; NASA readme)
    ("FD001", (100, 20_631, 100, 13_096)),
    ("FD002", (260, 53_759, 259, 33_991)),
])
def test_cmapss_every_unit_and_row(shared_data: Path, subset: str, counts: tuple[int, int, int, int]) -> None:
    data = load_cmapss(subset, _set(shared_data, "cmapss"))
    got = (data.train["unit"].nunique(), len(data.train), data.test["unit"].nunique(), len(data.test))
    assert got == counts and data.n_test_units == counts[2]


def test_neu_every_image_and_box(shared_data: Path) -> None:
    ds = load_neu(_set(shared_data, "neu-det"))
    assert ds.n_images == 1800 and {ds.labels.count(c) for c in NEU_CLASSES} == {300}
    assert len({r.evidence_id for r in ds.refs}) == 1800
    assert all(r.boxes for r in ds.refs) and sum(len(r.boxes) for r in ds.refs) == 4189


def test_maintie_every_gold_text(shared_data: Path) -> None:
    texts = load_maintie(_set(shared_data, "maintie"))
    assert len(texts) == 1076 and sum(len(t.entities) for t in texts) == 3397


@pytest.mark.parametrize(("subset", "texts", "tokens"), [
    # texts per split train/val/test (80/10/10 of 4,000 per company) and raw tokens (MaintNorm README table)
    ("combined", (9600, 1200, 1200), 63_422),
    ("company_a", (3200, 400, 400), 20_944),
    ("company_b", (3200, 400, 400), 21_919),
    ("company_c", (3200, 400, 400), 20_559),
])
def test_maintnorm_every_text_and_token(shared_data: Path, subset: str, texts: tuple[int, ...], tokens: int) -> None:
    root = _set(shared_data, "maintnorm")
    splits = [load_maintnorm(split, subset, root) for split in MAINTNORM_SPLITS]
    assert tuple(len(s) for s in splits) == texts
    assert sum(len(t.raw) for s in splits for t in s) == tokens


@pytest.mark.parametrize("variant", ["raw", "cleaned"])
def test_excavator_work_orders_every_row_read_or_named(shared_data: Path, variant: str) -> None:
    wo = load_work_orders(_set(shared_data, "excavator-work-orders"), variant=variant)
    # 5,485 rows: one (row 3454, 'won,t swing' with an unquoted comma) cannot be read and is named
    assert wo.n_entries == 5484 and sorted(wo.by_asset) == ["A", "B", "C", "D", "E"]
    assert [e.where for e in wo.errors] == [f"{shared_data / 'excavator-work-orders'}/"
                                            f"excavators{'' if variant == 'raw' else '-cleaned'}.csv:3454:Cost"]

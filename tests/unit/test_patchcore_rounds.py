"""PatchCore.fit builds its coreset in bounded rounds however the caller batches the photos."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import pairwise

import numpy as np
import numpy.typing as npt
import pytest

from assetgrade.modalities.vision import anomaly
from assetgrade.modalities.vision.anomaly import PatchCore, greedy_coreset


def _photos(n: int, h: int = 4, w: int = 4, d: int = 70, seed: int = 0) -> npt.NDArray[np.float32]:
    return np.random.default_rng(seed).normal(size=(n, h, w, d)).astype(np.float32)


def _extractor_rounds_before(photos: npt.NDArray[np.float32], coreset: int, buffer: int, seed: int) -> np.ndarray:
    """The memory bank the vision extractor built before the rounds moved into PatchCore.fit: it fed
    (buffer - coreset) // (patches per photo) photos per batch, and fit appended each batch to the bank
    and reduced (greedy coreset of bank + new patches) once at least ``buffer`` patches were held."""
    rng = np.random.default_rng(seed)
    per_photo = photos.shape[1] * photos.shape[2]
    step = max(1, (buffer - coreset) // per_photo)
    bank: np.ndarray | None = None
    buf: list[np.ndarray] = []
    held = 0
    for s in range(0, len(photos), step):
        buf.append(photos[s : s + step].reshape(-1, photos.shape[-1]))
        held += len(buf[-1])
        if held >= buffer:
            pool = np.concatenate(([bank] if bank is not None else []) + buf)
            bank = pool[greedy_coreset(pool, coreset, rng=rng, projection_dim=64)]
            buf, held = [], len(bank)
    if buf:
        pool = np.concatenate(([bank] if bank is not None else []) + buf)
        bank = pool[greedy_coreset(pool, coreset, rng=rng, projection_dim=64)]
    assert bank is not None
    return bank


@pytest.fixture
def pool_sizes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of rows of every array the greedy k-center step is given."""
    sizes: list[int] = []

    def recording(X: npt.NDArray[np.float32], m: int, **kw: object) -> npt.NDArray[np.int64]:
        sizes.append(len(X))
        return greedy_coreset(X, m, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(anomaly, "greedy_coreset", recording)
    return sizes


def test_one_call_with_every_photo_runs_bounded_rounds(pool_sizes: list[int]) -> None:
    """200 photos of 16 patches in one batch: 3,200 patches went to one k-center pass before."""
    photos = _photos(200)
    pc = PatchCore(coreset_size=20, buffer_size=100, seed=3).fit([photos])
    assert pc.n_patches_seen_ == 3200 and pc.bank_.shape == (20, 70)
    assert len(pool_sizes) > 1
    # a round holds the bank and the gathered photos (< buffer) plus one group of at most buffer - coreset
    assert max(pool_sizes) == pc.largest_pool_ <= 2 * 100 - 20


def test_one_call_equals_the_extractor_rounds_bit_for_bit() -> None:
    photos = _photos(37, seed=1)
    for coreset, buffer in ((20, 100), (10, 40), (16, 16), (30, 200)):
        before = _extractor_rounds_before(photos, coreset, buffer, seed=5)
        one_call = PatchCore(coreset_size=coreset, buffer_size=buffer, seed=5).fit([photos]).bank_
        np.testing.assert_array_equal(one_call, before)


def test_rounds_do_not_depend_on_how_the_caller_batches() -> None:
    photos = _photos(53, seed=2)

    def ragged() -> Iterator[npt.NDArray[np.float32]]:
        cuts = [0, 1, 9, 10, 30, 31, 53]
        for a, b in pairwise(cuts):
            yield photos[a:b]

    fits = [PatchCore(coreset_size=24, buffer_size=120, seed=0).fit(batches).bank_
            for batches in ([photos], (p[None] for p in photos), ragged())]
    np.testing.assert_array_equal(fits[0], fits[1])
    np.testing.assert_array_equal(fits[0], fits[2])


def test_a_photo_larger_than_a_group_is_a_round_of_its_own(pool_sizes: list[int]) -> None:
    photos = _photos(12, h=8, w=8, d=6)  # 64 patches a photo, more than buffer - coreset = 40
    pc = PatchCore(coreset_size=10, buffer_size=50, seed=0).fit([photos])
    assert pc.bank_.shape == (10, 6)
    assert max(pool_sizes) <= 50 - 1 + 64


def test_no_photos_is_refused() -> None:
    from assetgrade.errors import ValidationError

    with pytest.raises(ValidationError, match="no good-image patches"):
        PatchCore(coreset_size=5, buffer_size=10).fit([])

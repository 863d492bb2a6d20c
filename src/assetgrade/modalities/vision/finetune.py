"""CPU fine-tuning of the backbone's last blocks from cached activations, bounded by a time budget.

The frozen trunk runs once per image; its activations before the last ``n_blocks`` MBConv
blocks are kept in memory, and only those blocks, the 1x1 head convolution and a new linear
classifier are trained (AdamW, one-cycle learning rate, label smoothing). Augmentation is applied
to the cached activation maps: random flips and 90-degree rotations of the spatial grid
(a cheap stand-in for flipping the photo, since convolution features are close to
equivariant), so training never reruns the trunk. BatchNorm statistics stay frozen (small
batches on CPU). Training stops at ``epochs`` or as soon as ``time_budget_s`` is spent.
"""

from __future__ import annotations

import copy
import time
from typing import Any, Self

import numpy as np
import numpy.typing as npt

from assetgrade.errors import ValidationError
from assetgrade.modalities.vision.backbone import Backbone

__all__ = ["FineTuner"]


class FineTuner:
    """Train the last blocks of an EfficientNet-Lite plus a linear classifier on cached activations.

    Examples
    --------
    >>> ft = FineTuner(Backbone("lite0", image_size=64), n_classes=2, epochs=1)   # doctest: +SKIP
    >>> acts = ft.trunk_activations(np.zeros((4, 3, 64, 64), np.float32))      # doctest: +SKIP
    >>> ft.fit(acts, np.array([0, 1, 0, 1])).predict_proba(acts).shape         # doctest: +SKIP
    (4, 2)
    """

    def __init__(
        self,
        backbone: Backbone,
        *,
        n_classes: int,
        n_blocks: int = 2,
        epochs: int = 30,
        time_budget_s: float = 120.0,
        lr: float = 1e-3,
        batch_size: int = 32,
        weight_decay: float = 1e-4,
        label_smoothing: float = 0.1,
        augment: bool = True,
        seed: int = 0,
        threads: int = 2,
    ) -> None:
        n_total = len(backbone.torch_model._blocks)
        if not 0 <= n_blocks < n_total:
            raise ValidationError(f"n_blocks must be in 0..{n_total - 1}", where="finetune")
        self.backbone = backbone
        self.n_classes = n_classes
        self.n_blocks = n_blocks
        self.epochs = epochs
        self.time_budget_s = time_budget_s
        self.lr = lr
        self.batch_size = batch_size
        self.weight_decay = weight_decay
        self.label_smoothing = label_smoothing
        self.augment = augment
        self.seed = seed
        self.threads = threads

    @property
    def split(self) -> int:
        """Index of the first trained block (activations are cached at its input)."""
        return len(self.backbone.torch_model._blocks) - self.n_blocks

    def trunk_activations(self, batch: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Frozen-trunk activations (n, C, H, W) at the input of the first trained block."""
        import torch

        torch.set_num_threads(self.threads)
        m = self.backbone.torch_model
        with torch.no_grad():
            x = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32))
            x = m._swish(m._bn0(m._conv_stem(x)))
            for block in m._blocks[: self.split]:
                x = block(x)
        return x.numpy()  # type: ignore[no-any-return]

    def _build(self) -> Any:
        import torch
        from torch import nn

        m = self.backbone.torch_model
        blocks = nn.ModuleList([copy.deepcopy(b) for b in m._blocks[self.split :]])
        conv_head, bn1 = copy.deepcopy(m._conv_head), copy.deepcopy(m._bn1)
        fc = nn.Linear(bn1.num_features, self.n_classes)
        act = nn.ReLU6()

        class Top(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.blocks, self.conv_head, self.bn1, self.fc = blocks, conv_head, bn1, fc
                self.drop = nn.Dropout(0.2)

            def forward(self, x: torch.Tensor) -> torch.Tensor:
                for b in self.blocks:
                    x = b(x)
                x = act(self.bn1(self.conv_head(x))).mean(dim=(2, 3))
                return self.fc(self.drop(x))  # type: ignore[no-any-return]

        return Top()

    def fit(self, acts: npt.NDArray[np.float32], y: npt.ArrayLike) -> Self:
        """Train on cached activations and integer labels; stops at ``epochs`` or the time budget."""
        import torch
        from torch import nn

        yv = np.asarray(y, dtype=np.int64)
        if len(yv) != len(acts):
            raise ValidationError(f"{len(acts)} activations but {len(yv)} labels", where="finetune")
        torch.manual_seed(self.seed)
        rng = np.random.default_rng(self.seed)
        net = self._build()
        params = [
            {"params": [p for n, p in net.named_parameters() if not n.startswith("fc.")], "lr": self.lr * 0.3},
            {"params": net.fc.parameters(), "lr": self.lr},
        ]
        opt = torch.optim.AdamW(params, weight_decay=self.weight_decay)
        steps_per_epoch = max(1, int(np.ceil(len(yv) / self.batch_size)))
        sched = torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=[self.lr * 0.3, self.lr], total_steps=self.epochs * steps_per_epoch, pct_start=0.15
        )
        loss_fn = nn.CrossEntropyLoss(label_smoothing=self.label_smoothing)
        X = torch.from_numpy(np.ascontiguousarray(acts, dtype=np.float32))
        Y = torch.from_numpy(yv)
        t0 = time.perf_counter()
        self.epochs_run_ = 0
        self.stopped_by_budget_ = False
        torch.set_num_threads(self.threads)
        for _epoch in range(self.epochs):
            net.train()
            for mod in net.modules():
                if isinstance(mod, nn.BatchNorm2d):
                    mod.eval()
            order = rng.permutation(len(yv))
            for s in range(0, len(order), self.batch_size):
                idx = torch.from_numpy(order[s : s + self.batch_size])
                xb = X[idx]
                if self.augment:
                    if rng.random() < 0.5:
                        xb = torch.flip(xb, dims=(3,))
                    if rng.random() < 0.5:
                        xb = torch.flip(xb, dims=(2,))
                    k = int(rng.integers(4))
                    if k:
                        xb = torch.rot90(xb, k, dims=(2, 3))
                opt.zero_grad()
                loss = loss_fn(net(xb), Y[idx])
                loss.backward()
                opt.step()
                sched.step()
                if time.perf_counter() - t0 > self.time_budget_s:
                    self.stopped_by_budget_ = True
                    break
            if self.stopped_by_budget_:
                break
            self.epochs_run_ += 1
        self.train_seconds_ = time.perf_counter() - t0
        net.eval()
        self.net_ = net
        return self

    def predict_proba(self, acts: npt.NDArray[np.float32], *, tta: bool = False) -> npt.NDArray[np.float64]:
        """Class probabilities; ``tta`` averages over the 4 flips of the activation grid."""
        import torch

        X = torch.from_numpy(np.ascontiguousarray(acts, dtype=np.float32))
        views: list[Any] = [lambda t: t]
        if tta:
            views += [
                lambda t: torch.flip(t, dims=(3,)),
                lambda t: torch.flip(t, dims=(2,)),
                lambda t: torch.flip(t, dims=(2, 3)),
            ]
        with torch.no_grad():
            probs = [torch.softmax(self.net_(v(X)), dim=1).numpy() for v in views]
        return np.mean(probs, axis=0).astype(np.float64)  # type: ignore[no-any-return]

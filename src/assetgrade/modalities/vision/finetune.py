"""CPU fine-tuning of the backbone's last blocks from cached activations, bounded by a time budget.

The frozen trunk runs once per image; its activations before the last ``n_blocks`` MBConv
blocks are kept in memory, and only those blocks, the 1x1 head convolution and a new linear
classifier are trained, so training never reruns the trunk. Choices:

* **Augmentation** on the cached activation maps: a random element of the dihedral group
  (flips and 90-degree rotations of the spatial grid). This is a cheap stand-in for
  transforming the photo — convolution features are only approximately equivariant — and for
  square, symmetric inspection images (ELPV solar cells) the transforms preserve the label.
* **Loss**: cross-entropy with label smoothing (Szegedy et al., CVPR 2016), plus an optional
  ordinal term, the squared error of the expected grade ``sum_k k p_k`` against the true grade
  (scaled to 0..1), which penalises far-off grades more than neighbouring ones.
* **Optimiser**: AdamW (Loshchilov & Hutter, ICLR 2019) with linear warm-up and cosine
  annealing (SGDR, Loshchilov & Hutter 2017). The schedule runs on *progress* =
  max(step / total steps, elapsed / time budget), so the learning rate still anneals to zero
  when the time budget, not the epoch count, ends training.
* **Inner validation**: a stratified ``val_fraction`` of the training set is held out; the
  weights of the epoch with the lowest validation log-loss are kept (early stopping with
  ``patience``), and a softmax temperature is fitted on the same held-out part (Guo et al.,
  ICML 2017). The test data are never looked at.
* BatchNorm statistics stay frozen (small batches on the CPU).

``predict_proba(..., tta=True)`` averages the softmax over all 8 dihedral views of the grid.
"""

from __future__ import annotations

import copy
import math
import time
from typing import Any, Self

import numpy as np
import numpy.typing as npt

from assetgrade.errors import ValidationError
from assetgrade.modalities.vision.backbone import Backbone

__all__ = ["DIHEDRAL_VIEWS", "FineTuner", "dihedral"]

DIHEDRAL_VIEWS = 8
"""Number of grid symmetries used for augmentation and TTA (4 rotations x optional flip)."""


def dihedral(x: Any, view: int) -> Any:
    """Apply dihedral transform ``view`` (0..7: ``view % 4`` quarter turns, after a horizontal flip when >= 4)
    to the last two (spatial) axes of a torch tensor."""
    import torch

    if view >= 4:
        x = torch.flip(x, dims=(-1,))
    k = view % 4
    return torch.rot90(x, k, dims=(-2, -1)) if k else x


class FineTuner:
    """Train the last blocks of an EfficientNet-Lite plus a linear classifier on cached activations.

    Parameters
    ----------
    backbone
        The pretrained backbone; its torch model is copied, never modified.
    n_classes
        Number of classes (ordered worst-last when ``ordinal_weight`` > 0).
    n_blocks
        How many of the last MBConv blocks to train (0 trains only the head conv and classifier).
    epochs, time_budget_s
        Training stops at whichever comes first; the check is made after every step.
    val_fraction, patience
        Held-out share of the training set for early stopping and temperature scaling
        (0 disables both); stop after ``patience`` epochs without a better validation loss.
    ordinal_weight
        Weight of the expected-grade squared-error term (0 = plain cross-entropy).
    side_dim
        Width of optional side features (e.g. a one-hot cell type) concatenated to the pooled
        vector before the classifier; pass them as ``side=`` to ``fit`` and ``predict_proba``.

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
        n_blocks: int = 1,
        epochs: int = 30,
        time_budget_s: float = 120.0,
        lr: float = 5e-3,
        batch_size: int = 32,
        weight_decay: float = 0.05,
        label_smoothing: float = 0.1,
        ordinal_weight: float = 0.0,
        augment: bool = True,
        val_fraction: float = 0.1,
        patience: int = 6,
        side_dim: int = 0,
        seed: int = 0,
        threads: int = 2,
    ) -> None:
        n_total = len(backbone.torch_model._blocks)
        if not 0 <= n_blocks < n_total:
            raise ValidationError(f"n_blocks={n_blocks}; allowed: 0..{n_total - 1}", where="finetune")
        if not 0.0 <= val_fraction < 0.5:
            raise ValidationError(f"val_fraction must be in [0, 0.5), got {val_fraction}", where="finetune")
        self.backbone = backbone
        self.n_classes = n_classes
        self.n_blocks = n_blocks
        self.epochs = epochs
        self.time_budget_s = time_budget_s
        self.lr = lr
        self.batch_size = batch_size
        self.weight_decay = weight_decay
        self.label_smoothing = label_smoothing
        self.ordinal_weight = ordinal_weight
        self.augment = augment
        self.val_fraction = val_fraction
        self.patience = patience
        self.side_dim = side_dim
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
        fc = nn.Linear(bn1.num_features + self.side_dim, self.n_classes)
        act = nn.ReLU6()

        class Top(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.blocks, self.conv_head, self.bn1, self.fc = blocks, conv_head, bn1, fc
                self.drop = nn.Dropout(0.2)

            def forward(self, x: torch.Tensor, side: torch.Tensor | None = None) -> torch.Tensor:
                for b in self.blocks:
                    x = b(x)
                x = act(self.bn1(self.conv_head(x))).mean(dim=(2, 3))
                if side is not None:
                    x = torch.cat([x, side], dim=1)
                return self.fc(self.drop(x))  # type: ignore[no-any-return]

        return Top()

    def _split_val(self, y: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        idx = np.arange(len(y))
        if self.val_fraction <= 0 or len(y) < 20:
            return idx, idx[:0]
        rng = np.random.default_rng(self.seed + 7919)
        val: list[int] = []
        for c in np.unique(y):
            members = rng.permutation(idx[y == c])
            val += members[: round(len(members) * self.val_fraction)].tolist()
        val_arr = np.sort(np.array(val, dtype=np.int64))
        return np.setdiff1d(idx, val_arr), val_arr

    def _loss(self, logits: Any, target: Any) -> Any:
        import torch
        from torch import nn

        loss = nn.functional.cross_entropy(logits, target, label_smoothing=self.label_smoothing)
        if self.ordinal_weight > 0 and self.n_classes > 1:
            grades = torch.arange(self.n_classes, dtype=logits.dtype)
            expected = (torch.softmax(logits, dim=1) * grades).sum(dim=1)
            err = (expected - target.to(logits.dtype)) / (self.n_classes - 1)
            loss = loss + self.ordinal_weight * (err**2).mean()
        return loss

    def _logits(self, net: Any, X: Any, side: Any, views: range) -> Any:
        import torch

        out = []
        with torch.no_grad():
            for s in range(0, len(X), 256):
                sb = side[s : s + 256] if side is not None else None
                out.append(torch.stack([net(dihedral(X[s : s + 256], v), sb) for v in views]))
        return torch.cat(out, dim=1)  # (views, n, K)

    def fit(self, acts: npt.NDArray[np.float32], y: npt.ArrayLike, *, side: npt.ArrayLike | None = None) -> Self:
        """Train on cached activations and integer labels; stops at ``epochs``, the time budget,
        or when the inner validation loss has not improved for ``patience`` epochs."""
        import torch
        from torch import nn

        yv = np.asarray(y, dtype=np.int64)
        if len(yv) != len(acts):
            raise ValidationError(f"{len(acts)} activations but {len(yv)} labels", where="finetune")
        S = self._side(side, len(yv))
        torch.manual_seed(self.seed)
        torch.set_num_threads(self.threads)
        rng = np.random.default_rng(self.seed)
        tr, va = self._split_val(yv)
        self.train_index_, self.val_index_ = tr, va
        net = self._build()
        groups = [
            {"params": [p for n, p in net.named_parameters() if not n.startswith("fc.")], "lr": self.lr * 0.3},
            {"params": net.fc.parameters(), "lr": self.lr},
        ]
        opt = torch.optim.AdamW(groups, weight_decay=self.weight_decay)
        base = [g["lr"] for g in opt.param_groups]
        steps_per_epoch = max(1, math.ceil(len(tr) / self.batch_size))
        total = max(1, self.epochs * steps_per_epoch)
        X = torch.from_numpy(np.ascontiguousarray(acts, dtype=np.float32))
        Y = torch.from_numpy(yv)
        t0 = time.perf_counter()
        self.epochs_run_ = 0
        self.stopped_by_budget_ = False
        self.best_epoch_ = 0
        self.val_history_: list[float] = []
        best_loss, best_state, stale, step = math.inf, None, 0, 0
        for _epoch in range(self.epochs):
            net.train()
            for mod in net.modules():
                if isinstance(mod, nn.BatchNorm2d):
                    mod.eval()
            order = tr[rng.permutation(len(tr))]
            for s in range(0, len(order), self.batch_size):
                progress = max(step / total, (time.perf_counter() - t0) / max(self.time_budget_s, 1e-9))
                warm = min(1.0, (progress + 1e-3) / 0.05)
                factor = warm * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
                for g, b in zip(opt.param_groups, base, strict=True):
                    g["lr"] = b * factor
                idx = torch.from_numpy(order[s : s + self.batch_size])
                xb = X[idx]
                if self.augment:
                    xb = dihedral(xb, int(rng.integers(DIHEDRAL_VIEWS)))
                opt.zero_grad()
                loss = self._loss(net(xb, S[idx] if S is not None else None), Y[idx])
                loss.backward()
                opt.step()
                step += 1
                if time.perf_counter() - t0 > self.time_budget_s:
                    self.stopped_by_budget_ = True
                    break
            if not self.stopped_by_budget_:
                self.epochs_run_ += 1
            if len(va):
                net.eval()
                logits = self._logits(net, X[va], S[va] if S is not None else None, range(1)).mean(0)
                vloss = float(nn.functional.cross_entropy(logits, Y[va]))
                self.val_history_.append(round(vloss, 4))
                if vloss < best_loss:
                    best_loss, best_state, stale = vloss, copy.deepcopy(net.state_dict()), 0
                    self.best_epoch_ = len(self.val_history_)
                else:
                    stale += 1
                if stale >= self.patience:
                    break
            if self.stopped_by_budget_:
                break
        if best_state is not None:
            net.load_state_dict(best_state)
        net.eval()
        self.net_ = net
        self.temperature_ = 1.0
        if len(va):
            self.temperature_ = self._fit_temperature(
                self._logits(net, X[va], S[va] if S is not None else None, range(1)).mean(0), Y[va]
            )
        self.train_seconds_ = time.perf_counter() - t0
        return self

    @staticmethod
    def _fit_temperature(logits: Any, y: Any) -> float:
        from torch import nn

        grid = np.exp(np.linspace(np.log(0.3), np.log(5.0), 61))
        losses = [float(nn.functional.cross_entropy(logits / float(t), y)) for t in grid]
        return float(grid[int(np.argmin(losses))])

    def _side(self, side: npt.ArrayLike | None, n: int) -> Any:
        import torch

        if self.side_dim == 0:
            if side is not None:
                raise ValidationError("side features given but side_dim is 0", where="finetune")
            return None
        if side is None:
            raise ValidationError(f"side features of width {self.side_dim} are required", where="finetune")
        arr = np.asarray(side, dtype=np.float32).reshape(n, -1)
        if arr.shape[1] != self.side_dim:
            raise ValidationError(f"side features have width {arr.shape[1]}, expected {self.side_dim}", where="side")
        return torch.from_numpy(np.ascontiguousarray(arr))

    def predict_proba(
        self, acts: npt.NDArray[np.float32], *, tta: bool = False, side: npt.ArrayLike | None = None
    ) -> npt.NDArray[np.float64]:
        """Class probabilities (temperature-scaled); ``tta`` averages over the 8 dihedral views of the grid."""
        import torch

        X = torch.from_numpy(np.ascontiguousarray(acts, dtype=np.float32))
        S = self._side(side, len(X))
        logits = self._logits(self.net_, X, S, range(DIHEDRAL_VIEWS if tta else 1))
        probs = torch.softmax(logits / self.temperature_, dim=2).mean(0)
        return probs.numpy().astype(np.float64)  # type: ignore[no-any-return]

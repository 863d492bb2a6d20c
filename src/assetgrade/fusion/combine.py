"""Late fusion: one grade model stacked on the per-modality grade distributions and feature blocks.

:class:`Fuser` reads each modality's out-of-fold ``grade_proba``, its features and an explicit
absent flag (:mod:`assetgrade.fusion.design`, trained with modality dropout), or a latent-level
table over the modalities' readings (:mod:`assetgrade.fusion.latent`). Stacking over out-of-fold
outputs follows Wolpert (1992, "Stacked generalization"); the ordinal option decomposes an
ordered K-grade problem into K-1 binary "worse than grade k" models (:mod:`assetgrade.fusion.ordinal`).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from typing import Any, Literal, Self, get_args

import numpy as np
import numpy.typing as npt

from assetgrade.errors import ValidationError
from assetgrade.fusion.calibration import as_labels
from assetgrade.fusion.design import design_matrix, fit_scaling, modality_dropout, raw_columns
from assetgrade.fusion.folds import cross_val_blocks, grouped_folds, take_rows
from assetgrade.fusion.ordinal import ConstantCut, fit_ordinal, ordinal_proba
from assetgrade.modalities.base import EvidenceBlock
from assetgrade.seeds import SEED_MAX

# cross_val_blocks and grouped_folds come from fusion.folds
__all__ = ["Fuser", "cross_val_blocks", "cross_val_proba", "grouped_folds"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Model = Literal["logistic", "lightgbm", "latent", "auto"]
MODELS: tuple[str, ...] = get_args(Model)
"""The fusion models ``Fuser(model=...)`` accepts."""


def _real(value: Any) -> bool:
    """A real number, not a bool (YAML's ``yes``) nor a string."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)


class Fuser:
    """Stacked fusion of evidence blocks into a grade distribution, trained with modality dropout.

    Parameters
    ----------
    model : {"logistic", "lightgbm", "latent", "auto"}
        Multinomial logistic regression on standardised inputs, LightGBM (single-threaded:
        fusion inputs are small and threads only contend), or ``"latent"``: a table from the
        modalities' joint level readings to the grade, learned by EM
        (:class:`~assetgrade.fusion.latent.LatentLevelTable`, with one cross-validated
        temperature per modality); it reads only the modality distributions (every block needs
        ``grade_proba``), marginalises a missing modality exactly, and ignores ``ordinal``,
        ``use_features``, ``dropout`` and ``C``. ``"auto"``: latent when every block has a
        distribution and the joint table is small enough, else logistic (``model_`` says which).
    ordinal : bool
        Fit K-1 binary "grade worse than k" models (Frank & Hall 2001) instead of one multinomial.
    dropout : float
        Probability that a modality is blanked in each augmented copy of the training rows.
    dropout_copies : int
        How many augmented copies are added to the original rows (0 turns dropout off).
    use_features : bool
        Stack the feature blocks as well as the modality distributions (else distributions only).
    C : float
        Inverse L2 strength of the logistic model.
    n_estimators : int
        Boosting rounds of the LightGBM model.
    seed : int
    monotone : bool
        With the latent model: make the learned table stochastically monotone (a worse reading
        of any modality never makes a worse grade less likely; ``LatentLevelTable(monotone=True)``).

    Attributes
    ----------
    modalities_ : list[str]
    n_classes_ : int
    fill_ : dict[str, ndarray]
        Learned fill per modality (proba columns then feature columns).
    dropped_counts_ : dict[str, int]
        Rows in which each modality was blanked by dropout during ``fit``.
    feature_names_ : list[str]
    model_ : str
        The model fitted (``model`` itself unless it is ``"auto"``).
    table_ : LatentLevelTable
        With ``model="latent"`` only: the learned table (``table_.rubric()`` is P(grade | levels)).

    Examples
    --------
    >>> import numpy as np
    >>> from assetgrade.modalities.base import EvidenceBlock
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 3, 90)
    >>> ids = [f"a{i}" for i in range(90)]
    >>> feat = (y[:, None] + rng.normal(0, 0.3, (90, 2))).astype(float)
    >>> b = EvidenceBlock("vision", ids, ("f0", "f1"), feat, np.ones(90, bool))
    >>> fz = Fuser(dropout_copies=1).fit([b], y, n_classes=3)
    >>> fz.predict_proba([b]).shape
    (90, 3)
    """

    def __init__(
        self,
        *,
        model: Model = "logistic",
        ordinal: bool = False,
        dropout: float = 0.25,
        dropout_copies: int = 2,
        use_features: bool = True,
        C: float = 1.0,
        n_estimators: int = 200,
        seed: int = 0,
        monotone: bool = False,
    ) -> None:
        self.monotone = monotone
        self.model = model
        self.ordinal = ordinal
        self.dropout = dropout
        self.dropout_copies = dropout_copies
        self.use_features = use_features
        self.C = C
        self.n_estimators = n_estimators
        self.seed = seed

    # ---- design matrix -------------------------------------------------------------------------
    def _check_settings(self) -> None:
        """Every setting of the right type and range (a workspace's ``grader.fuser`` comes from YAML)."""
        if not isinstance(self.model, str) or self.model not in MODELS:
            raise ValidationError(f"model={self.model!r}; allowed: {', '.join(map(repr, MODELS))}",
                                  where="Fuser.model")
        for name in ("ordinal", "use_features", "monotone"):
            value = getattr(self, name)
            if not isinstance(value, bool | np.bool_):
                raise ValidationError(f"{name}={value!r} must be true or false", where=f"Fuser.{name}")
        for name, low, high in (("dropout_copies", 0, None), ("n_estimators", 1, None), ("seed", 0, SEED_MAX)):
            value = getattr(self, name)
            if (isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Integral) or int(value) < low
                    or (high is not None and int(value) > high)):
                allowed = f"an integer >= {low}" + (f" and <= {high}" if high is not None else "")
                raise ValidationError(f"{name}={value!r} must be {allowed}", where=f"Fuser.{name}")
        if not _real(self.dropout) or not 0 <= self.dropout < 1:
            raise ValidationError(f"dropout={self.dropout!r} must be a number in [0, 1)", where="Fuser.dropout")
        if not _real(self.C) or not 0 < self.C < float("inf"):
            raise ValidationError(f"C={self.C!r} must be a finite number > 0", where="Fuser.C")

    @staticmethod
    def _check_blocks(blocks: Sequence[EvidenceBlock]) -> list[str]:
        if not blocks:
            raise ValidationError("no evidence blocks given", where="blocks")
        ids = blocks[0].asset_ids
        names = [b.modality for b in blocks]
        if len(set(names)) != len(names):
            raise ValidationError(f"modalities repeat: {names}", where="blocks")
        for b in blocks[1:]:
            if b.asset_ids != ids:
                raise ValidationError(
                    f"block {b.modality!r} lists assets in another order or set than {blocks[0].modality!r}",
                    where=f"EvidenceBlock[{b.modality}].asset_ids",
                )
        return ids

    def _raw(self, b: EvidenceBlock, n_classes: int) -> FloatArray:
        """The block's raw columns in the fitted layout (:func:`~assetgrade.fusion.design.raw_columns`)."""
        return raw_columns(b, self.widths_[b.modality], n_classes)

    def _design(self, raws: dict[str, FloatArray], absent: dict[str, npt.NDArray[np.bool_]]) -> FloatArray:
        return design_matrix(self.modalities_, raws, absent, fill=self.fill_, mean=self.mean_, scale=self.scale_)

    # ---- fit / predict --------------------------------------------------------------------------
    def fit(self, blocks: Sequence[EvidenceBlock], y: npt.ArrayLike, *, n_classes: int | None = None) -> Self:
        """Fit on blocks (same assets, same order) and grade indices; returns self."""
        self._check_settings()
        ids = self._check_blocks(blocks)
        yy = np.asarray(y)
        k = int(n_classes if n_classes is not None else (yy.max() + 1 if yy.size else 0))
        yy = as_labels(yy, k)
        n = len(ids)
        if len(yy) != n:
            raise ValidationError(f"{n} assets but {len(yy)} labels", where="y")
        # the assets in asset-id order: dropout draws, the latent table's temperature folds and the
        # solvers follow row order, so the same assets listed in another order gave another fuser
        order = np.argsort(np.array([str(a) for a in ids]), kind="stable").astype(np.int64)
        if np.any(order != np.arange(n)):
            blocks = [take_rows(b, order) for b in blocks]
            yy = yy[order]
        if len(np.unique(yy)) < 2:
            raise ValidationError("need at least two distinct grades to fit", where="y")
        self.n_classes_ = k
        self.modalities_ = [b.modality for b in blocks]
        self.model_ = self._resolve(blocks, k)
        if self.model_ == "latent":
            return self._fit_latent(blocks, yy, k)
        self.widths_ = {
            b.modality: (k if b.grade_proba is not None else 0, b.features.shape[1] if self.use_features else 0)
            for b in blocks
        }
        self.feature_names_: list[str] = []
        raws: dict[str, FloatArray] = {b.modality: self._raw(b, k) for b in blocks}
        absent: dict[str, npt.NDArray[np.bool_]] = {b.modality: ~np.asarray(b.present, dtype=bool) for b in blocks}
        self.fill_: dict[str, FloatArray] = {}
        self.mean_: dict[str, FloatArray] = {}
        self.scale_: dict[str, FloatArray] = {}
        for b in blocks:
            m = b.modality
            self.fill_[m], self.mean_[m], self.scale_[m] = fit_scaling(raws[m])
            n_p, n_f = self.widths_[m]
            self.feature_names_ += [f"{m}:p_{j}" for j in range(n_p)]
            self.feature_names_ += [f"{m}:{name}" for name in b.feature_names[:n_f]]
            self.feature_names_.append(f"{m}:absent")
        # modality dropout: augmented copies with modalities blanked at random (never all of them)
        all_raws, all_abs, repeats, self.dropped_counts_ = modality_dropout(
            self.modalities_, raws, absent, copies=self.dropout_copies, rate=self.dropout,
            rng=np.random.default_rng(self.seed))
        X = self._design(all_raws, all_abs)
        Y = np.tile(yy, repeats)
        self.n_train_rows_ = len(Y)
        if self.ordinal:
            self.estimators_ = fit_ordinal(lambda: self._make_estimator(2), X, Y, k)
        else:
            self.estimators_ = [self._make_estimator(k).fit(X, Y)]
        self.classes_seen_ = np.unique(Y)
        return self

    @staticmethod
    def _latent_input(b: EvidenceBlock, n_classes: int) -> FloatArray:
        if b.grade_proba is None:
            raise ValidationError("the latent fusion model needs a grade distribution from every modality",
                                  where=f"EvidenceBlock[{b.modality}].grade_proba")
        gp = np.array(b.grade_proba, dtype=np.float64)
        if gp.shape[1] != n_classes:
            raise ValidationError(f"grade_proba has {gp.shape[1]} columns, expected {n_classes}",
                                  where=f"EvidenceBlock[{b.modality}].grade_proba")
        present = np.asarray(b.present, dtype=bool)
        gp[~present] = np.nan
        bad = np.flatnonzero(np.isfinite(gp).all(axis=1) & (gp < 0).any(axis=1))
        if len(bad):
            i = int(bad[0])
            raise ValidationError(f"asset {b.asset_ids[i]!r} has negative probabilities {gp[i].tolist()}",
                                  where=f"EvidenceBlock[{b.modality}].grade_proba")
        return gp

    @property
    def fitted_model(self) -> str:
        """The model fitted (``model_``); ``model`` for a Fuser pickled before ``model_`` existed."""
        return str(getattr(self, "model_", self.model))

    def _latent_inputs(self, blocks: Sequence[EvidenceBlock], n: int) -> list[FloatArray]:
        """Each fitted modality's distribution (NaN rows where absent or not given), in fit order."""
        given = {b.modality: b for b in blocks}
        return [self._latent_input(given[m], self.n_classes_) if m in given
                else np.full((n, self.n_classes_), np.nan) for m in self.modalities_]

    def _resolve(self, blocks: Sequence[EvidenceBlock], k: int) -> str:
        """The model to fit: ``auto`` is latent when every block has a distribution on some training asset
        and the table fits."""
        if self.model != "auto":
            return str(self.model)
        from assetgrade.fusion.latent import MAX_STATES

        def readable(b: EvidenceBlock) -> bool:
            if b.grade_proba is None:
                return False
            gp = np.asarray(b.grade_proba, dtype=np.float64)
            return bool((np.asarray(b.present, dtype=bool) & np.isfinite(gp).all(axis=1)).any())

        if all(readable(b) for b in blocks) and k ** len(blocks) <= MAX_STATES:
            return "latent"
        return "logistic"

    def _fit_latent(self, blocks: Sequence[EvidenceBlock], y: IntArray, k: int) -> Self:
        from assetgrade.fusion.latent import LatentLevelTable

        qs = [self._latent_input(b, k) for b in blocks]
        for b, q in zip(blocks, qs, strict=True):
            if not np.isfinite(q).all(axis=1).any():  # the table said only "modality 0"
                raise ValidationError("absent (or without a finite distribution) on every training asset: the latent "
                                      "table cannot learn its readings; leave the modality out or use "
                                      "model='logistic'", where=f"EvidenceBlock[{b.modality}]")
        self.widths_ = {b.modality: (k, 0) for b in blocks}
        self.feature_names_ = [f"{b.modality}:p_{j}" for b in blocks for j in range(k)]
        self.dropped_counts_ = {m: 0 for m in self.modalities_}
        self.n_train_rows_ = len(y)
        self.table_ = LatentLevelTable(temper=True, seed=self.seed, monotone=self.monotone).fit(qs, y, n_classes=k)
        self.estimators_ = []
        self.classes_seen_ = np.unique(y)
        return self

    def _make_estimator(self, k: int) -> Any:
        if self.model_ == "logistic":
            from sklearn.linear_model import LogisticRegression

            return LogisticRegression(C=self.C, max_iter=2000)
        import lightgbm as lgb

        return lgb.LGBMClassifier(
            n_estimators=self.n_estimators,
            learning_rate=0.05,
            num_leaves=15,
            min_child_samples=10,
            subsample=0.8,
            subsample_freq=1,
            colsample_bytree=0.8,
            random_state=self.seed,
            verbose=-1,
            n_jobs=1,
        )

    def predict_proba(self, blocks: Sequence[EvidenceBlock]) -> FloatArray:
        """Grade distribution per asset; a fitted modality missing from ``blocks`` counts as absent."""
        if not hasattr(self, "estimators_"):
            raise ValidationError("Fuser is not fitted; call fit first", where="Fuser")
        ids = self._check_blocks(blocks)
        n = len(ids)
        given = {b.modality: b for b in blocks}
        unknown = sorted(set(given) - set(self.modalities_))
        if unknown:
            raise ValidationError(f"modalities {unknown} were not seen in fit {self.modalities_}", where="blocks")
        if n == 0:  # scikit-learn refuses an empty X and the latent table cannot reshape one
            return np.zeros((0, self.n_classes_))
        if self.fitted_model == "latent":
            lp = np.clip(self.table_.predict_proba(self._latent_inputs(blocks, n)), 1e-6, None)
            out_l: FloatArray = lp / lp.sum(axis=1, keepdims=True)
            return out_l
        raws: dict[str, FloatArray] = {}
        absent: dict[str, npt.NDArray[np.bool_]] = {}
        for m in self.modalities_:
            n_p, n_f = self.widths_[m]
            if m in given:
                raws[m] = self._raw(given[m], self.n_classes_)
                absent[m] = ~np.asarray(given[m].present, dtype=bool)
            else:
                raws[m] = np.full((n, n_p + n_f), np.nan)
                absent[m] = np.ones(n, dtype=bool)
        X = self._design(raws, absent)
        k = self.n_classes_
        if self.ordinal:
            p = ordinal_proba(self.estimators_, X)
        else:
            est = self.estimators_[0]
            raw_p = est.predict_proba(X)
            p = np.zeros((n, k))
            p[:, np.asarray(est.classes_, dtype=np.int64)] = raw_p
        p = np.clip(p, 1e-6, None)
        out: FloatArray = p / p.sum(axis=1, keepdims=True)
        return out

    def readings(self, blocks: Sequence[EvidenceBlock], grades: Sequence[str]) -> list[dict[str, Any]] | None:
        """With the latent model, per asset: the most probable joint reading of the present modalities.

        Each item: ``levels`` (modality → grade name its level stands for), ``probability`` (of
        that reading given the evidence) and ``grade_mix`` (the learned table's grade distribution
        for assets read so). None for the other models, which have no readings to show.
        """
        if self.fitted_model != "latent":
            return None
        ids = self._check_blocks(blocks)
        out = []
        for levels, prob, mix in self.table_.top_readings(self._latent_inputs(blocks, len(ids))):
            out.append({
                "levels": {m: grades[lv] for m, lv in zip(self.modalities_, levels, strict=True) if lv is not None},
                "probability": round(prob, 12),
                "grade_mix": {g: round(float(p), 12) for g, p in zip(grades, mix, strict=True)},
            })
        return out

    def predict(self, blocks: Sequence[EvidenceBlock]) -> IntArray:
        """Most likely grade index per asset."""
        out: IntArray = self.predict_proba(blocks).argmax(axis=1).astype(np.int64)
        return out


_Constant = ConstantCut
"""Graders and fusers pickled before the split name ``assetgrade.fusion.combine._Constant``: keep it loadable."""
_take = take_rows  # the name this module gave it before the split


def cross_val_proba(
    make_fuser: Callable[[], Fuser],
    blocks: Sequence[EvidenceBlock],
    y: npt.ArrayLike,
    groups: Sequence[str],
    *,
    n_classes: int,
    n_splits: int = 5,
    seed: int = 0,
) -> FloatArray:
    """Out-of-fold fused distributions with grouped folds (no group on both sides of a split).

    A fold whose training part holds a single grade (a grade seen on one asset or one group, say)
    cannot fit a fuser; its held-out assets get the training part's grade frequencies with one
    added to every grade (Laplace's rule), which is all that part knows.
    """
    yy = as_labels(y, n_classes)
    n = len(blocks[0].asset_ids)
    if len(groups) != n or len(yy) != n:
        raise ValidationError(f"{n} assets, {len(yy)} labels, {len(groups)} groups", where="cross_val_proba")
    out = np.full((n, n_classes), np.nan)
    for tr, te in grouped_folds(groups, n_splits, seed):
        if len(np.unique(yy[tr])) < 2:
            prior = np.bincount(yy[tr], minlength=n_classes) + 1.0
            out[te] = prior / prior.sum()
            continue
        f = make_fuser().fit([take_rows(b, tr) for b in blocks], yy[tr], n_classes=n_classes)
        out[te] = f.predict_proba([take_rows(b, te) for b in blocks])
    return out


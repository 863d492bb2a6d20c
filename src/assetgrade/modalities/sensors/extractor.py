"""The sensor evidence extractor: window/trend/spectral features, events, health index and RUL per asset."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, Literal, Self

import numpy as np
import pandas as pd

from assetgrade.errors import AssetgradeError, NotFoundError, StoreError, ValidationError
from assetgrade.modalities.base import EvidenceBlock, Finding, Modality, register_extractor
from assetgrade.modalities.penalty import choose_penalty
from assetgrade.modalities.sensors.events import detect_events
from assetgrade.modalities.sensors.features import (
    STAT_NAMES,
    RegimeNormalizer,
    rolling_features,
    spectral_features_of_channels,
)
from assetgrade.modalities.sensors.grading import RulGradeMap, default_grade_names
from assetgrade.modalities.sensors.health import RulModel
from assetgrade.modalities.sensors.memo import SeriesMemo
from assetgrade.modalities.sensors.validate import check_series
from assetgrade.store.records import AssetRecord, SeriesRef

__all__ = ["RUL_FEATURES", "SENSOR_C_GRID", "SensorExtractor"]

RUL_FEATURES: tuple[str, ...] = ("health_index", "rul", "rul_lower", "rul_upper", "n_events")
_RUL_SUMMARY = "remaining useful life"

SENSOR_C_GRID: tuple[float, ...] = (0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
"""L2 strengths (inverse) the window-feature grade model chooses from with ``C="auto"``."""


@dataclass(frozen=True)
class _RulInput:
    """One series' RUL feature row at its last cycle, kept until the whole batch is predicted at once."""

    x: np.ndarray
    evidence_id: str
    window: tuple[float, float]


def _loaded(ref: SeriesRef) -> pd.DataFrame:
    """A series as ``fit`` reads it: loaded and checked, any length, every column."""
    return check_series(ref.load(), evidence_id=ref.evidence_id, min_length=1).frame


def _is_setting(name: str) -> bool:
    return name.lower().startswith("setting")


@register_extractor("sensors")
class SensorExtractor:
    """Sensor evidence per asset: a fixed-width feature block, event findings, RUL and a grade distribution.

    ``fit(records, grades)`` learns the channel list (channels present in at least half of the
    series), the operating regimes (columns named ``setting*``) and, when grades are given, a
    logistic-regression grade model; ``fit_rul(histories)`` trains the RUL model
    (:class:`~assetgrade.modalities.sensors.health.RulModel`) on run-to-failure histories, or
    ``rul_model=`` hands in one already trained on a fleet's histories (every ``fit``, the
    Grader's out-of-fold fits included, re-uses it as it is). With a RUL model the grade model
    reads the predicted RUL alone and learns the grade bands from the labels; without labels the
    grade distribution comes from the RUL interval through ``grade_map``; without a RUL model the
    grade model reads the window, trend and spectral features. An asset without a usable series
    gets NaN features, ``present=False`` and a quality flag.

    ``C`` is the inverse L2 strength of the window-feature grade model, or ``"auto"`` (default):
    chosen per fit from :data:`SENSOR_C_GRID` by 3-fold stratified log-loss grouped by ``fit``'s
    ``groups`` (each asset its own group when none are given), as the text extractor does
    (:func:`~assetgrade.modalities.penalty.choose_penalty`); the choice in ``C_``, the losses in
    ``C_losses_``. Below 30 labelled assets, or with one group, C = 1. The grade model that reads
    the predicted RUL alone (one standardised column) always uses C = 1: its penalty hardly moves it.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from assetgrade.store.records import AssetRecord, SeriesRef
    >>> df = pd.DataFrame({"vib": np.sin(np.arange(100.0))}, index=np.arange(100.0))
    >>> rec = AssetRecord("pump-1", series=(SeriesRef("e1", "0", load=lambda: df),))
    >>> ex = SensorExtractor().fit([rec])
    >>> block = ex.extract([rec, AssetRecord("pump-2")])
    >>> block.present.tolist(), "vib__slope30" in block.feature_names
    ([True, False], True)
    """

    modality: Modality = "sensors"

    def __init__(
        self,
        *,
        window: int = 30,
        slope_windows: Sequence[int] = (10, 30),
        recent_window: int = 40,
        n_bands: int = 4,
        z_threshold: float = 5.0,
        rms_ratio: float = 1.5,
        min_length: int = 5,
        time_unit: str = "cycles",
        grade_map: RulGradeMap | None = None,
        rul_settings: Mapping[str, Any] | None = None,
        rul_model: RulModel | None = None,
        C: float | Literal["auto"] = "auto",
        seed: int = 0,
    ) -> None:
        if C != "auto" and not (isinstance(C, int | float) and not isinstance(C, bool) and C > 0):
            raise ValidationError(f"C={C!r}; a positive number or 'auto'", where="SensorExtractor.C")
        self.C = C
        self.window = window
        self.slope_windows = tuple(slope_windows)
        self.recent_window = recent_window
        self.n_bands = n_bands
        self.z_threshold = z_threshold
        self.rms_ratio = rms_ratio
        self.min_length = min_length
        self.time_unit = time_unit
        self.grade_map = grade_map
        self.rul_settings = dict(rul_settings or {})
        self.rul_model = rul_model
        self.seed = seed

    # -- helpers --------------------------------------------------------------------------------
    def use_memo(self, memo: SeriesMemo | None) -> Self:
        """Share a :class:`~assetgrade.modalities.sensors.memo.SeriesMemo` of the fold-independent work
        (series load and check, spectral bands, the RUL model's input row) with other extractors of
        one training run; ``None`` drops it. The memo never changes a value, only how often it is computed."""
        self._memo = memo
        return self

    def _remembered(self, key: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
        memo: SeriesMemo | None = getattr(self, "_memo", None)  # unpickled extractors lack the attribute
        return compute() if memo is None else memo.get(key, compute, remember=(AssetgradeError,))

    @staticmethod
    def _series_of(record: AssetRecord) -> SeriesRef | None:
        return record.series[0] if record.series else None

    def _grade_map(self) -> RulGradeMap:
        if self.grade_map is not None:
            return self.grade_map
        names = default_grade_names()
        cap = float(self.rul_settings.get("cap", 125.0))
        return RulGradeMap(grades=names) if len(names) == 4 else RulGradeMap.for_grades(names, cap)

    # -- fitting --------------------------------------------------------------------------------
    def fit(self, records: Sequence[AssetRecord], grades: Sequence[str | None] | None = None, *,
            groups: Sequence[Any] | None = None) -> Self:
        """Learn the channel list, regimes and (with grades) a grade model; bad series are skipped and flagged.

        ``groups``: one label per record for choosing ``C`` (records sharing a group never fall
        on both sides of a fold); default: each asset its own group.
        """
        if groups is not None and len(groups) != len(records):
            raise ValidationError(f"{len(groups)} groups for {len(records)} records", where="SensorExtractor.fit")
        if grades is not None and len(grades) != len(records):
            raise ValidationError(f"{len(grades)} grades for {len(records)} records", where="SensorExtractor.fit")
        if self.rul_model is not None:
            if not hasattr(self.rul_model, "point_"):
                raise ValidationError("rul_model is not fitted: call RulModel.fit(histories) first",
                                      where="SensorExtractor.rul_model")
            self.rul_model_ = self.rul_model
        frames: list[pd.DataFrame] = []
        rates: list[float | None] = []
        self.fit_flags_: list[str] = []
        for r in records:
            ref = self._series_of(r)
            if ref is None:
                continue
            try:
                frames.append(self._remembered(("fit", ref.evidence_id, ref.sha256), partial(_loaded, ref)))
                rates.append(ref.sampling_rate_hz)
            except AssetgradeError as exc:
                self.fit_flags_.append(str(exc))
        if not frames and not hasattr(self, "rul_model_"):
            raise ValidationError("no usable sensor series among the records", where="SensorExtractor.fit")
        need = self.rul_model_.required_columns() if frames and hasattr(self, "rul_model_") else []
        if need and not any(set(need) <= set(map(str, f.columns)) for f in frames):
            lacking = sorted({c for f in frames for c in need if c not in f.columns})
            raise ValidationError(f"the RUL model needs channel(s) {lacking} that none of the {len(frames)} series "
                                  "has (train it on histories with these series' channel names)",
                                  where="SensorExtractor.rul_model")
        if frames:
            counts: dict[str, int] = {}
            for f in frames:
                for c in f.columns:
                    counts[str(c)] = counts.get(str(c), 0) + 1
            self.settings_ = [c for c in counts if _is_setting(c) and counts[c] == len(frames)]
            self.channels_ = [c for c in counts if not _is_setting(c) and counts[c] * 2 >= len(frames)]
            self.spectral_ = all(rt is not None and rt > 0 for rt in rates)
            usable = [f for f in frames if all(c in f.columns for c in self.settings_ + self.channels_)]
            self.normalizer_: RegimeNormalizer | None = None
            if self.settings_ and usable:
                self.normalizer_ = RegimeNormalizer(seed=self.seed).fit(
                    usable, settings=self.settings_, channels=self.channels_
                )
        self._set_feature_names()
        self.classifier_: Any = None
        self.classifier_reads_rul_ = False
        self.C_: float | None = None
        self.C_losses_: dict[float, float] = {}
        if grades is not None and len({g for g in grades if g is not None}) >= 2:
            self._fit_classifier(records, grades, groups)
        return self

    def _set_feature_names(self) -> None:
        names = [f"{c}__{s}" for c in self.channels_ for s in STAT_NAMES]
        names += [f"{c}__slope{w}" for c in self.channels_ for w in self.slope_windows]
        names += [f"{c}__delta" for c in self.channels_]
        if self.spectral_:
            names += [f"{c}__band{b}" for c in self.channels_ for b in range(self.n_bands)]
            names += [f"{c}__dominant_hz" for c in self.channels_]
        self.feature_names_ = (*names, *RUL_FEATURES)

    def _fit_classifier(self, records: Sequence[AssetRecord], grades: Sequence[str | None],
                        groups: Sequence[Any] | None) -> None:
        block = self.extract(records, _with_proba=False)
        names = list(self._grade_map().grades)
        rows = [i for i, g in enumerate(grades) if g is not None and block.present[i] and g in names]
        if len({grades[i] for i in rows}) < 2:
            return
        if hasattr(self, "rul_model_"):
            rows = [i for i in rows if np.isfinite(block.features[i, self._rul_column()])]
            if len({grades[i] for i in rows}) < 2:
                return
        y = [str(grades[i]) for i in rows]
        self.classifier_reads_rul_ = hasattr(self, "rul_model_")
        X = self._classifier_input(block.features[rows])
        penalty = getattr(self, "C", 1.0)  # extractors pickled before 2026-11-30 lack it: their C was 1
        if penalty == "auto" and not self.classifier_reads_rul_:
            kinds = sorted(set(y))
            yk = np.array([kinds.index(g) for g in y], dtype=np.int64)

            def fit_predict(tr: np.ndarray, te: np.ndarray, C: float) -> np.ndarray:
                model = self._new_classifier(C).fit(X[tr], yk[tr])
                out = np.zeros((len(te), len(kinds)))
                out[:, model.classes_] = model.predict_proba(X[te])
                return out

            grp = [groups[i] for i in rows] if groups is not None else [records[i].asset_id for i in rows]
            self.C_, self.C_losses_ = choose_penalty(fit_predict, yk, groups=grp, grid=SENSOR_C_GRID, fallback=1.0)
        else:
            self.C_ = 1.0 if penalty == "auto" else float(penalty)
        self.classifier_ = self._new_classifier(self.C_).fit(X, y)

    @staticmethod
    def _new_classifier(C: float) -> Any:
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        return make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=1000))

    def _reads_rul(self) -> bool:
        # extractors saved before 2026-11-29 lack the attribute: their grade model read the window features
        return bool(getattr(self, "classifier_reads_rul_", False))

    def _rul_column(self) -> int:
        return len(self.feature_names_) - len(RUL_FEATURES) + RUL_FEATURES.index("rul")

    def _classifier_input(self, feats: np.ndarray) -> np.ndarray:
        """The grade model's input: the predicted RUL when there is a RUL model, else the window features.

        The RUL point alone was measured better than the RUL together with the window features
        (which over-fit a few hundred labelled assets) on the linked benchmark: docs/sensors.md.
        """
        if self._reads_rul():
            return np.asarray(np.nan_to_num(feats[:, [self._rul_column()]]), dtype=float)
        return np.asarray(np.nan_to_num(feats[:, : -len(RUL_FEATURES)]), dtype=float)

    def fit_rul(
        self,
        histories: Sequence[pd.DataFrame],
        *,
        end_rul: Sequence[float] | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> Self:
        """Train the RUL model on run-to-failure histories (``end_rul``: life left after each one's last row)."""
        self.rul_model_ = RulModel(seed=self.seed, **self.rul_settings).fit(
            histories, end_rul=end_rul, progress=progress
        )
        if not hasattr(self, "channels_"):
            self.settings_ = list(self.rul_model_.settings_)
            self.channels_ = list(self.rul_model_.channels_)
            self.spectral_ = False
            self.normalizer_ = self.rul_model_.normalizer_ if self.settings_ else None
            self.classifier_ = None
            self.classifier_reads_rul_ = False
            self.fit_flags_ = []
            self._set_feature_names()
        return self

    # -- extraction -----------------------------------------------------------------------------
    def _one(self, ref: SeriesRef) -> tuple[np.ndarray, list[Finding], list[str], _RulInput | None]:
        """One series' feature row (RUL columns NaN), its event findings, quality flags and the RUL model's input."""
        need = [*self.settings_, *self.channels_]
        model = getattr(self, "rul_model_", None)
        key = ("one", ref.evidence_id, ref.sha256, ref.sampling_rate_hz, tuple(self.settings_), tuple(self.channels_),
               self.min_length, self.n_bands if self.spectral_ else None,
               id(model), getattr(model, "fingerprint_", None))  # the same object refitted is another model
        raw, qflags, spectral, rul_in, _ = self._remembered(key, lambda: (*self._fold_free(ref, need), model))
        z = self.normalizer_.transform(raw) if self.normalizer_ is not None else raw[self.channels_]
        roll = rolling_features(z, window=self.window, slope_windows=self.slope_windows, last_only=True).iloc[-1]
        names = [f"{c}__{s}" for c in self.channels_ for s in STAT_NAMES]
        names += [f"{c}__slope{w}" for c in self.channels_ for w in self.slope_windows]
        names += [f"{c}__delta" for c in self.channels_]
        vals = [*roll[names].tolist(), *spectral]
        findings = detect_events(
            z,
            evidence_id=ref.evidence_id,
            channels=self.channels_,
            baseline_window=self.window,
            recent_window=self.recent_window,
            z_threshold=self.z_threshold,
            rms_ratio=self.rms_ratio,
            time_unit=self.time_unit,
            raw=None if self.normalizer_ is not None else raw,
        )
        vals += [np.nan] * 4 + [float(len(findings))]
        return np.asarray(vals, dtype=float), findings, list(qflags), rul_in

    def _fold_free(self, ref: SeriesRef, need: list[str]) -> tuple[pd.DataFrame, list[str], list[float],
                                                                   _RulInput | None]:
        """What ``_one`` computes without the fitted normaliser: the checked frame, its flags, the
        spectral columns (empty unless ``spectral_``) and the RUL model's input (None without one).
        The key it is remembered under (in ``_one``) holds every setting it reads; the entry keeps
        the RUL model referenced so that model's ``id`` cannot be reused while the entry lives."""
        given = ref.load()
        checked = check_series(given, evidence_id=ref.evidence_id, channels=need, min_length=self.min_length)
        raw = checked.frame
        spectral: list[float] = []
        if self.spectral_:
            rate = ref.sampling_rate_hz or 1.0
            spec = spectral_features_of_channels(raw[self.channels_].to_numpy(dtype=float).T, rate,
                                                 n_bands=self.n_bands)
            spectral += [s[f"band{b}"] for s in spec for b in range(self.n_bands)]
            spectral += [s["dominant_hz"] for s in spec]
        rul_in: _RulInput | None = None
        flags = list(checked.flags)
        if hasattr(self, "rul_model_"):
            m = self.rul_model_
            trained = getattr(m, "row_time_", None)  # models saved before it was recorded: not checked
            why = trained.mismatch(given) if trained is not None else None
            if why:  # a remaining life counted in rows that mean another time would be wrong by that factor
                flags.append(f"{ref.evidence_id}: no remaining life: {why}")
            else:
                done = set(m.required_columns()) <= set(need)  # the model's columns passed the check above
                x = m.features(raw, ref.evidence_id, checked=done, last_only=True).to_numpy(float)[-1]
                rul_in = _RulInput(x, ref.evidence_id, (float(raw.index[0]), float(raw.index[-1])))
        return raw, flags, spectral, rul_in

    def _add_rul(self, rows: list[int], inputs: list[_RulInput], feats: np.ndarray, ruls: np.ndarray,
                 findings: list[list[Finding]]) -> None:
        """Predict RUL for every series at once (one call per LightGBM model) and add the RUL finding."""
        m = self.rul_model_
        p = m.predict_features(np.vstack([r.x for r in inputs]))
        gmap = self._grade_map()
        for k, (i, r) in enumerate(zip(rows, inputs, strict=True)):
            vals = [float(p.health_index[k]), float(p.rul[k]), float(p.lower[k]), float(p.upper[k])]
            feats[i, -5:-1] = vals
            ruls[i] = vals[1:]
            grade = gmap.grade_for(vals[1])
            findings[k].append(
                Finding(
                    modality="sensors",
                    summary=f"{_RUL_SUMMARY} {vals[1]:.0f} {self.time_unit} "
                    f"({p.coverage:.0%} interval {vals[2]:.0f}-{vals[3]:.0f}); "
                    f"health index {vals[0]:.2f}: grade {grade}",
                    severity=float(1.0 - vals[1] / m.cap),
                    confidence=p.coverage,
                    evidence_id=r.evidence_id,
                    window=r.window,
                    channels=tuple(m.channels_),
                    grade_hint=grade,
                )
            )

    def extract(self, records: Sequence[AssetRecord], *, _with_proba: bool = True) -> EvidenceBlock:
        """Evidence for each record in order; a missing or bad series leaves the asset absent and flagged."""
        if not hasattr(self, "feature_names_"):
            raise ValidationError("SensorExtractor is not fitted: call fit() or fit_rul() first", where="extract")
        n, width = len(records), len(self.feature_names_)
        feats = np.full((n, width), np.nan)
        present = np.zeros(n, dtype=bool)
        findings: dict[str, list[Finding]] = {}
        flags: dict[str, list[str]] = {}
        ruls = np.full((n, 3), np.nan)
        rul_rows: list[int] = []
        rul_inputs: list[_RulInput] = []
        unreadable: set[str] = set()
        for i, r in enumerate(records):
            ref = self._series_of(r)
            if ref is None:
                continue
            if len(r.series) > 1:
                flags.setdefault(r.asset_id, []).append(
                    f"{len(r.series) - 1} further series ignored; features from {ref.evidence_id}"
                )
            try:
                row, found, qflags, rul_in = self._one(ref)
            except AssetgradeError as exc:
                said = str(exc)
                flags.setdefault(r.asset_id, []).append(
                    said if ref.evidence_id in said else f"series {ref.evidence_id}: {said}")
                if isinstance(exc, NotFoundError | StoreError):  # missing or damaged on disk: read again next time
                    unreadable.add(r.asset_id)
                continue
            feats[i], present[i] = row, True
            findings[r.asset_id] = found
            if qflags:
                flags.setdefault(r.asset_id, []).extend(qflags)
            if rul_in is not None:
                rul_rows.append(i)
                rul_inputs.append(rul_in)
        if rul_inputs:
            self._add_rul(rul_rows, rul_inputs, feats, ruls, [findings[records[i].asset_id] for i in rul_rows])
        proba = self._proba(feats, present, ruls) if _with_proba else None
        if proba is not None and self.classifier_ is not None and self._reads_rul():
            self._hint_learned_grades(records, findings, proba)
        return EvidenceBlock(
            modality="sensors",
            asset_ids=[r.asset_id for r in records],
            feature_names=tuple(self.feature_names_),
            features=feats,
            present=present,
            findings=findings,
            quality_flags=flags,
            grade_proba=proba,
            unreadable=frozenset(unreadable),
        )

    def _hint_learned_grades(
        self, records: Sequence[AssetRecord], findings: dict[str, list[Finding]], proba: np.ndarray
    ) -> None:
        """The RUL finding names the grade the learned bands give, not the default thresholds' grade."""
        grades = self._grade_map().grades
        for i, r in enumerate(records):
            if r.asset_id not in findings or not np.all(np.isfinite(proba[i])):
                continue
            g = grades[int(np.argmax(proba[i]))]
            findings[r.asset_id] = [
                replace(f, grade_hint=g, summary=f"{f.summary.rsplit(': grade ', 1)[0]}: grade {g}")
                if f.summary.startswith(_RUL_SUMMARY) else f
                for f in findings[r.asset_id]
            ]

    def _proba(self, feats: np.ndarray, present: np.ndarray, ruls: np.ndarray) -> np.ndarray | None:
        gmap = self._grade_map()
        out = np.full((len(feats), len(gmap.grades)), np.nan)
        has_rul = hasattr(self, "rul_model_")
        # a grade model fitted before fit_rul reads the window features: the RUL interval is preferred then
        use_classifier = self.classifier_ is not None and (self._reads_rul() or not has_rul)
        if has_rul:
            present = present & np.isfinite(ruls).all(axis=1)
            if not use_classifier:
                if present.any():
                    out[present] = gmap.proba(ruls[present, 0], ruls[present, 1], ruls[present, 2],
                                              coverage=self.rul_model_.coverage)
                return out
        if not use_classifier:
            return None
        if present.any():
            p = self.classifier_.predict_proba(self._classifier_input(feats[present]))
            cols = [
                list(self.classifier_.classes_).index(g) if g in self.classifier_.classes_ else -1 for g in gmap.grades
            ]
            rows = np.zeros((int(present.sum()), len(gmap.grades)))
            for j, k in enumerate(cols):
                if k >= 0:
                    rows[:, j] = p[:, k]
            out[present] = rows
        return out

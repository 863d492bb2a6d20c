"""The sensor evidence extractor: window/trend/spectral features, events, health index and RUL per asset.

The grade model (its input, penalty and grade distribution) is in
:mod:`~assetgrade.modalities.sensors.grade_model`, the remaining-life columns, model input and
finding in :mod:`~assetgrade.modalities.sensors.rul_evidence`; ``RUL_FEATURES`` and
``SENSOR_C_GRID`` are importable from here as before.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any, Literal, Self

import numpy as np
import pandas as pd

from assetgrade.blas import serial_blas
from assetgrade.errors import AssetgradeError, NotFoundError, StoreError, ValidationError
from assetgrade.modalities.base import EvidenceBlock, Finding, Modality, register_extractor
from assetgrade.modalities.sensors.events import detect_events
from assetgrade.modalities.sensors.features import (
    MIN_SPECTRUM_SAMPLES,
    STAT_NAMES,
    RegimeNormalizer,
    rolling_features,
    spectral_features_of_channels,
)
from assetgrade.modalities.sensors.grade_model import (
    SENSOR_C_GRID,
    choose_c,
    classifier_input,
    grade_proba,
    new_classifier,
)
from assetgrade.modalities.sensors.grading import RulGradeMap, default_grade_names
from assetgrade.modalities.sensors.health import RulModel
from assetgrade.modalities.sensors.memo import SeriesMemo
from assetgrade.modalities.sensors.rul_evidence import (
    RUL_FEATURES,
    RulInput,
    add_rul,
    hint_learned_grades,
    rul_column,
    rul_input,
)
from assetgrade.modalities.sensors.settings import check_settings
from assetgrade.modalities.sensors.timing import row_step
from assetgrade.modalities.sensors.validate import check_series, nearly_constant
from assetgrade.store.records import AssetRecord, SeriesRef

__all__ = ["RUL_FEATURES", "SENSOR_C_GRID", "SensorExtractor"]


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

    ``grades`` is the grade scale, best first (default: the default ontology's); the Grader gives
    its own. The grade distribution has one column per grade, and ``fit`` refuses a label not on
    the scale (it used to drop it, so on another scale the grade model learned nothing).

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
        grades: Sequence[str] | None = None,
    ) -> None:
        if grades is not None and (isinstance(grades, str) or len(grades) < 2 or len(set(grades)) != len(grades)
                                   or not all(isinstance(g, str) and g for g in grades)):
            raise ValidationError(f"grades={grades!r}; allowed: two or more distinct names, best first",
                                  where="SensorExtractor.grades")
        self.grades = tuple(grades) if grades is not None else None
        self.C = C
        self.window = window
        self.slope_windows = slope_windows
        self.recent_window = recent_window
        self.n_bands = n_bands
        self.z_threshold = z_threshold
        self.rms_ratio = rms_ratio
        self.min_length = min_length
        self.time_unit = time_unit
        self.grade_map = grade_map
        self.rul_model = rul_model
        self.seed = seed
        check_settings(self, rul_settings)  # a file's quoted "30" or negative window used to fail inside extract
        self.slope_windows = tuple(slope_windows)
        self.rul_settings = dict(rul_settings or {})
        self._check_rul_settings()

    def _check_rul_settings(self) -> None:
        """The RUL model :meth:`fit_rul` will build, built now, so a bad ``rul_settings`` entry is named when the
        extractor is made (``config check``), not after the other modalities have trained."""
        import inspect

        try:
            RulModel(seed=self.seed, **self.rul_settings)
        except TypeError as exc:
            known = sorted(set(inspect.signature(RulModel.__init__).parameters) - {"self", "seed"})
            raise ValidationError(f"bad rul_settings {sorted(self.rul_settings)}: {exc}; known keys: {known}",
                                  where="SensorExtractor.rul_settings") from exc
        except ValidationError as exc:
            name = str(exc.where).removeprefix("RulModel.")
            where = "SensorExtractor.seed" if name == "seed" else f"SensorExtractor.rul_settings.{name}"
            raise ValidationError(exc.reason, where=where) from exc

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
        # extractors pickled before the setting existed lack it: they used the default ontology's grades
        names = getattr(self, "grades", None) or default_grade_names()
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
        names = list(self._grade_map().grades)
        off = [(records[i].asset_id, g) for i, g in enumerate(grades) if g is not None and g not in names]
        if off:  # they were left out without a word: on another scale the grade model learned nothing
            raise ValidationError(f"asset {off[0][0]!r} has grade {off[0][1]!r}, not on the scale {names} "
                                  f"({len(off)} such label(s)); pass grades= (the scale, best first) or a grade_map",
                                  where="SensorExtractor.fit")
        block = self.extract(records, _with_proba=False)
        rows = [i for i, g in enumerate(grades) if g is not None and block.present[i] and g in names]
        if len({grades[i] for i in rows}) < 2:
            return
        if hasattr(self, "rul_model_"):
            rows = [i for i in rows if np.isfinite(block.features[i, rul_column(len(self.feature_names_))])]
            if len({grades[i] for i in rows}) < 2:
                return
        y = [str(grades[i]) for i in rows]
        self.classifier_reads_rul_ = hasattr(self, "rul_model_")
        X = classifier_input(block.features[rows], reads_rul=self._reads_rul())
        penalty = getattr(self, "C", 1.0)  # extractors pickled before 2026-11-30 lack it: their C was 1
        grp = [groups[i] for i in rows] if groups is not None else [records[i].asset_id for i in rows]
        self.C_, self.C_losses_ = choose_c(X, y, grp, penalty=penalty, reads_rul=self.classifier_reads_rul_)
        with serial_blas():  # as the C search's fits: one BLAS thread was never slower (docs/performance.md)
            self.classifier_ = new_classifier(self.C_).fit(X, y)

    def _reads_rul(self) -> bool:
        # extractors saved before 2026-11-29 lack the attribute: their grade model read the window features
        return bool(getattr(self, "classifier_reads_rul_", False))

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
    def _one(self, ref: SeriesRef) -> tuple[np.ndarray, list[Finding], list[str], RulInput | None]:
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
                                                                   RulInput | None]:
        """What ``_one`` computes without the fitted normaliser: the checked frame, its flags, the
        spectral columns (empty unless ``spectral_``) and the RUL model's input (None without one).
        The key it is remembered under (in ``_one``) holds every setting it reads; the entry keeps
        the RUL model referenced so that model's ``id`` cannot be reused while the entry lives."""
        given = ref.load()
        checked = check_series(given, evidence_id=ref.evidence_id, channels=need, min_length=self.min_length)
        raw = checked.frame
        if self.channels_ and all(nearly_constant(raw[c].to_numpy()) for c in self.channels_):
            # its features would be zeros read as a steady machine: the grade model gave such a series a grade
            raise ValidationError(f"every channel the model reads is constant ({', '.join(self.channels_)}): a stuck"
                                  " or disconnected sensor says nothing of the asset's condition",
                                  where=f"series {ref.evidence_id}")
        spectral: list[float] = []
        flags = list(checked.flags)
        if self.spectral_:
            rate = ref.sampling_rate_hz
            if not rate or rate <= 0:  # as ingest records it: one over the median step of the time index
                step = row_step(raw)
                rate = 1.0 / step if step else None  # it used to be 1.0: dominant_hz in cycles per sample
                flags.append(f"{ref.evidence_id}: no sampling rate; "
                             + (f"{rate:.4g} Hz taken from the time index" if rate else "no spectral features"))
            if rate and len(raw) >= MIN_SPECTRUM_SAMPLES:
                spec = spectral_features_of_channels(raw[self.channels_].to_numpy(dtype=float).T, rate,
                                                     n_bands=self.n_bands)
                spectral += [s[f"band{b}"] for s in spec for b in range(self.n_bands)]
                spectral += [s["dominant_hz"] for s in spec]
            else:  # a series too short for a spectrum keeps its other features (it used to be left out whole)
                spectral += [np.nan] * (len(self.channels_) * (self.n_bands + 1))
                if rate:
                    flags.append(f"{ref.evidence_id}: {len(raw)} samples, a spectrum needs "
                                 f"{MIN_SPECTRUM_SAMPLES}: no spectral features")
        rul_in: RulInput | None = None
        if hasattr(self, "rul_model_"):
            rul_in, why = rul_input(self.rul_model_, given, raw, ref.evidence_id, need)
            if why is not None:
                flags.append(why)
        return raw, flags, spectral, rul_in

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
        rul_inputs: list[RulInput] = []
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
            add_rul(self.rul_model_, rul_rows, rul_inputs, feats, ruls,
                    [findings[records[i].asset_id] for i in rul_rows], grade_map=self._grade_map(),
                    time_unit=self.time_unit)
        proba = self._proba(feats, present, ruls) if _with_proba else None
        if proba is not None and self.classifier_ is not None and self._reads_rul():
            hint_learned_grades(records, findings, proba, self._grade_map().grades)
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

    def _proba(self, feats: np.ndarray, present: np.ndarray, ruls: np.ndarray) -> np.ndarray | None:
        return grade_proba(feats, present, ruls, grade_map=self._grade_map(), classifier=self.classifier_,
                           reads_rul=self._reads_rul(), rul_model=getattr(self, "rul_model_", None))

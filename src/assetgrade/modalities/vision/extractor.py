"""The vision evidence extractor: grade, defect types, anomaly score, heat-map regions and quality per asset."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal, Self

import numpy as np
import numpy.typing as npt

from assetgrade.errors import AssetgradeError, ValidationError
from assetgrade.modalities.base import EvidenceBlock, Finding, Modality, register_extractor
from assetgrade.modalities.vision.anomaly import SMOOTH_PX, AlarmThreshold, PatchCore, patch_features
from assetgrade.modalities.vision.backbone import Backbone, Engine
from assetgrade.modalities.vision.evidence_cache import EvidenceCache, ImageEvidence
from assetgrade.modalities.vision.features import pooled_views
from assetgrade.modalities.vision.heads import C_GRID, LinearProbe, MultiLabelProbe, OrdinalLogistic, select_head
from assetgrade.modalities.vision.heatmaps import cam_map, region_box
from assetgrade.modalities.vision.images import decode_image, preprocess, ref_where
from assetgrade.modalities.vision.mil import MILOrdinal, bag_max_proba
from assetgrade.modalities.vision.quality import (
    FLAG_FACTORS,
    MIN_FLAGGED,
    QUALITY_FEATURES,
    assess_quality,
    fit_flag_factors,
    flag_factor,
    temper,
    temper_labels,
)
from assetgrade.modalities.vision.settings import as_number, check_settings, check_views
from assetgrade.store.records import AssetRecord, ImageRef

__all__ = ["DEFAULT_AUGMENT", "MIN_GOOD_IMAGES", "ImageEvidence", "VisionExtractor", "check_views"]

DEFAULT_AUGMENT: tuple[str, ...] = ("hflip", "vflip")
"""Label-preserving views of each photo the heads train on and average over (with the photo itself)."""

MIN_GOOD_IMAGES = 4
"""Anomaly maps (PatchCore) are learned only from at least this many distinct readable photos of the best grade."""

def _default_grades() -> tuple[str, ...]:
    try:
        from assetgrade.ontology import default_ontology

        return tuple(default_ontology().grades.names)
    except Exception:  # the ontology is optional for this extractor
        return ("A", "B", "C", "D")


@register_extractor("vision")
class VisionExtractor:
    """Image evidence per asset: a grade head, a multi-label defect head, PatchCore anomaly, quality.

    An asset's grade is read as the grade of its worst photo. With one photo per asset the photo
    gets the asset's grade when training and gives the asset's distribution at extraction. When
    training assets have several photos (``mil="auto"``, the default, or ``mil=True``) the
    photos' own levels are latent and learned by EM under that worst-photo rule
    (:class:`~assetgrade.modalities.vision.mil.MILOrdinal`), and an asset's distribution is that
    of the worst of its photos' levels; ``mil=False`` gives every photo the asset's grade and
    takes the worst photo's distribution. Each photo is tempered by its quality flags first. Defect
    types come from the terms on labelled boxes (``ImageRef.boxes``); the anomaly memory bank
    from the distinct images of best-grade assets (at least ``MIN_GOOD_IMAGES``; copies of one photo
    count once), with a quarter of them held out to set the alarm threshold.

    ``C`` is the heads' inverse L2 strength; ``"auto"`` (default) picks it per fit by grouped
    cross-validated log-loss (:func:`~assetgrade.modalities.vision.heads.select_penalty`), the
    choice in ``C_``. The folds keep the photos of one asset together, and the assets of one of
    ``fit``'s ``groups`` (a site, a batch of copied photos) together when groups are given.
    ``grade_head`` is the photo grade head: ``"ordinal"`` (cumulative link,
    :class:`~assetgrade.modalities.vision.heads.OrdinalLogistic`), ``"logistic"`` (multinomial,
    :class:`~assetgrade.modalities.vision.heads.LinearProbe`) or ``"auto"`` (default): whichever
    has the lower grouped cross-validated log-loss on the same folds, ties to the ordinal head;
    the choice in ``grade_head_kind_``, the losses in ``head_losses_``. ``quality_factors``:
    ``"learned"`` (default) fits how much each quality flag lowers a photo's confidence from
    out-of-fold predictions on the training photos
    (:func:`~assetgrade.modalities.vision.quality.fit_flag_factors`; flags on fewer than 30
    photos, and multiple-instance fits, whose photo levels are latent, keep the defaults);
    ``"fixed"`` keeps :data:`~assetgrade.modalities.vision.quality.FLAG_FACTORS`. The factors in
    use are in ``flag_factors_``, the flags whose factor was learned in ``learned_flags_``.
    ``augment``: label-preserving views of every photo (``"hflip"``, ``"vflip"``, ``"rot+N"`` /
    ``"rot-N"`` degrees; default :data:`DEFAULT_AUGMENT`). The grade and defect heads train on each
    photo and its views (the views of a photo stay in its cross-validation fold), and a photo's
    probabilities are the mean over the photo and its views (test-time augmentation). ``()``
    turns it off. Each view is one more backbone pass per photo, remembered like the photo's own.

    Examples
    --------
    >>> ex = VisionExtractor(image_size=64)          # doctest: +SKIP
    >>> block = ex.fit(records, grades).extract(records)  # doctest: +SKIP
    """

    modality: Modality = "vision"

    def __init__(
        self,
        *,
        backbone: str = "lite0",
        image_size: int = 224,
        grades: Sequence[str] | None = None,
        engine: Engine = "auto",
        cache_dir: Path | None = None,
        C: float | Literal["auto"] = "auto",
        target_false_alarm: float = 0.01,
        coreset_size: int = 2000,
        seed: int = 0,
        batch_size: int = 16,
        mil: bool | Literal["auto"] = "auto",
        mil_rounds: int = 5,
        grade_head: Literal["auto", "ordinal", "logistic"] = "auto",
        quality_factors: Literal["learned", "fixed"] = "learned",
        augment: Sequence[str] = DEFAULT_AUGMENT,
    ) -> None:
        self.grade_head = grade_head
        self.quality_factors = quality_factors
        self.augment = (augment,) if isinstance(augment, str) else tuple(augment)
        self.mil = mil
        self.mil_rounds = mil_rounds
        self.backbone = backbone
        self.image_size = image_size
        self.grades = tuple(grades) if grades is not None else None
        self.engine = engine
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None  # a YAML setting is a string
        self.C = as_number(C)
        self.target_false_alarm = as_number(target_false_alarm)
        self.coreset_size = coreset_size
        self.seed = seed
        self.batch_size = batch_size
        check_settings(self)  # at construction, so ``config check`` sees a bad setting before any training

    def _views(self, refs: Sequence[ImageRef], base: npt.NDArray[Any]) -> list[npt.NDArray[Any]]:
        """Pooled features of ``refs`` (whose own features are ``base``) under each view of ``augment``;
        a view that cannot be computed for an image falls back to the image's own features."""
        views = getattr(self, "augment", ())
        if not views or not len(refs):
            return []
        feats, _ = pooled_views(refs, self._bb(), views, cache_root=self.cache_dir)
        return [np.where(np.isfinite(feats[v]).all(axis=1, keepdims=True), feats[v], base) for v in views]

    # -- per-image pass -------------------------------------------------------------------------
    def _bb(self) -> Backbone:
        if getattr(self, "_backbone", None) is None:
            onnx_dir = self.cache_dir / "onnx" if self.cache_dir is not None else None
            self._backbone = Backbone(self.backbone, image_size=self.image_size, engine=self.engine, cache_dir=onnx_dir)
        return self._backbone

    def _see(self, refs: Sequence[ImageRef]) -> tuple[list[ImageEvidence | None], dict[str, str]]:
        """Evidence per image: from the cache where seen before, else through the backbone in batches.

        Each photo is decoded, reduced to the network input, its size and its quality report, and let
        go before the next is decoded, so memory does not grow with the number or size of the photos
        (a thousand 12 MP photos are 36 GB decoded).
        """
        bb = self._bb()
        cache = EvidenceCache(self.cache_dir, bb.key)
        out: list[ImageEvidence | None] = [cache.get(ref.sha256) for ref in refs]
        errors: dict[str, str] = {}
        todo = [i for i, ev in enumerate(out) if ev is None]
        for start in range(0, len(todo), self.batch_size):
            # each photo is reduced to what is kept (network input, size, quality) as soon as it is decoded:
            # a batch of 16 decoded 60 MP photos alone would be about 3 GB
            kept: list[tuple[int, npt.NDArray[np.float32], tuple[int, int], Any]] = []
            for i in todo[start : start + self.batch_size]:
                try:
                    img = decode_image(refs[i].load_bytes(), where=ref_where(refs[i]))
                except (AssetgradeError, OSError) as exc:  # damaged on disk, or the blob is gone from the store
                    errors[refs[i].evidence_id] = str(exc)
                    continue
                kept.append((i, preprocess(img, self.image_size), img.size, assess_quality(img)))
                del img
            if not kept:
                continue
            o = bb.run(np.stack([x for _, x, _, _ in kept]))
            patches = patch_features(o.patch_maps)
            for j, (i, _, size, quality) in enumerate(kept):
                ev = ImageEvidence(o.pooled[j], tuple(m[j] for m in o.cam_maps), patches[j], size, quality)
                cache.put(refs[i].sha256, ev)
                out[i] = ev
        return out, errors

    # -- fit ------------------------------------------------------------------------------------
    def fit(self, records: Sequence[AssetRecord], grades: Sequence[str | None] | None = None, *,
            groups: Sequence[Any] | None = None) -> Self:
        """Train the heads on the images of records with a known grade (``grades`` or ``record.grade``).

        ``groups``: one label per record for choosing the head and ``C`` (records sharing a group
        never fall on both sides of a fold); by default each asset is its own group.
        """
        if groups is not None and len(groups) != len(records):
            raise ValidationError(f"{len(groups)} groups for {len(records)} records", where="VisionExtractor.fit")
        check_settings(self)  # again: a setting may have been changed since construction
        names = self.grades or _default_grades()
        self.grade_names_ = names
        labels = list(grades) if grades is not None else [r.grade for r in records]
        if len(labels) != len(records):
            raise ValidationError(f"{len(records)} records but {len(labels)} grades", where="VisionExtractor.fit")
        refs, y, terms_per_image, owner, fold_key = [], [], [], [], []
        for j, (rec, g) in enumerate(zip(records, labels, strict=True)):
            if g is None:
                continue
            if g not in names:
                raise ValidationError(f"unknown grade {g!r}; allowed {list(names)}", where=f"asset {rec.asset_id}")
            for ref in rec.images:
                refs.append(ref)
                owner.append(rec.asset_id)
                fold_key.append(groups[j] if groups is not None else rec.asset_id)
                y.append(names.index(g))
                terms_per_image.append({t for t, _ in ref.boxes})
        seen, self.fit_errors_ = self._see(refs)
        keep = [i for i, e in enumerate(seen) if e is not None]
        if len({y[i] for i in keep}) < 2:  # say which: no image at all read as one grade's images did
            had = sorted({names[y[i]] for i in keep}, key=names.index)
            found = ("no graded asset has an image" if not refs else
                     f"none of the {len(refs)} graded images could be read" if not keep else
                     f"{len(keep)} readable graded image(s), all of grade {had[0]}")
            raise ValidationError(f"need graded images from at least two grades to fit; {found}",
                                  where="VisionExtractor.fit")
        X0 = np.stack([seen[i].pooled for i in keep])  # type: ignore[union-attr]
        yk = np.array([y[i] for i in keep])
        owners = [owner[i] for i in keep]
        fold_keys = [fold_key[i] for i in keep]
        self.mil_ = self.mil is True or (self.mil == "auto" and len(set(owners)) < len(owners))
        # the heads train on every photo under every view: V blocks of rows, the photos in order
        n_views = 1 + len(self.augment)
        X = np.vstack([X0, *self._views([refs[i] for i in keep], X0)])
        # a photo's own level is latent under MIL, so its held-out prediction cannot score a quality factor
        learn_quality = self.quality_factors == "learned" and not self.mil_
        oof = self._choose_head(X, np.tile(yk, n_views), fold_keys * n_views, len(names), need_oof=learn_quality,
                                views=n_views)
        self.mil_rounds_ = 0
        if self.mil_:
            index = {a: j for j, a in enumerate(dict.fromkeys(owners))}
            bags = np.array([index[a] for a in owners])
            bag_levels = np.zeros(len(index), dtype=np.int64)
            bag_levels[bags] = yk
            mil = MILOrdinal(n_classes=len(names), C=self.C_, n_iter=self.mil_rounds,
                             head=self.grade_head_kind_).fit(X, bags, bag_levels, views=n_views)
            self.grade_head_: OrdinalLogistic | LinearProbe = mil.head_
            self.mil_rounds_ = mil.n_iter_
        elif self.grade_head_kind_ == "logistic":
            self.grade_head_ = LinearProbe(n_classes=len(names), C=self.C_).fit(X, np.tile(yk, n_views))
        else:
            self.grade_head_ = OrdinalLogistic(n_classes=len(names), C=self.C_).fit(X, np.tile(yk, n_views))
        self.flag_factors_: dict[str, float] = dict(FLAG_FACTORS)
        self.flag_counts_: dict[str, int] = {}
        if learn_quality and oof is not None:
            learned, self.flag_counts_ = fit_flag_factors(oof, yk, [seen[i].quality.flags for i in keep])  # type: ignore[union-attr]
            self.flag_factors_.update(learned)
        self.learned_flags_ = tuple(sorted(f for f, n in self.flag_counts_.items() if n >= MIN_FLAGGED))
        self.defect_terms_ = tuple(sorted(set().union(*[terms_per_image[i] for i in keep])))
        self.defect_head_: MultiLabelProbe | None = None
        if self.defect_terms_:
            Y = np.array([[t in terms_per_image[i] for t in self.defect_terms_] for i in keep], dtype=int)
            self.defect_head_ = MultiLabelProbe(C=self.C_).fit(X, np.tile(Y, (n_views, 1)))
        # one photo per content: a held-out copy of a memory-bank photo scores 0 and sets a threshold every
        # other good photo exceeds (the same reference photo filed under several assets)
        first: dict[str, int] = {}
        for i in keep:
            if y[i] == 0:
                first.setdefault(refs[i].sha256, i)
        good = list(first.values())
        self.anomaly_: PatchCore | None = None
        self.alarm_: AlarmThreshold | None = None
        self.fit_notes_: list[str] = []  # the Grader passes them on to its notes (train prints them)
        if len(good) < MIN_GOOD_IMAGES:
            self.fit_notes_.append(
                f"no anomaly model: {len(good)} distinct photo(s) of grade {self.grade_names_[0]} assets, it needs "
                f"{MIN_GOOD_IMAGES}; anomaly_ratio and anomaly_alarm_share read 0 (not measured) and no "
                "anomalous-region findings are made")
        else:
            rng = np.random.default_rng(self.seed)
            order = rng.permutation(good)
            n_hold = max(1, len(order) // 4)
            hold, bank = order[:n_hold], order[n_hold:]
            pc = PatchCore(coreset_size=self.coreset_size, buffer_size=max(10 * self.coreset_size, 1), seed=self.seed)
            # one photo at a time, no stacked copy: PatchCore.fit groups them into its bounded rounds
            pc.fit(seen[i].patches[None] for i in bank)  # type: ignore[index]
            scores, _ = pc.score(np.stack([seen[i].patches for i in hold]))  # type: ignore[union-attr]
            self.anomaly_ = pc
            self.alarm_ = PatchCore.threshold(scores, self.target_false_alarm)
            if not self.alarm_.guaranteed:
                self.fit_notes_.append(f"anomaly alarm threshold: {self.alarm_.explain()}")
        return self

    def _choose_head(self, X: npt.NDArray[Any], y: npt.NDArray[np.int64], folds_by: list[Any], k: int,
                     need_oof: bool, views: int = 1) -> npt.NDArray[np.float64] | None:
        """Set ``grade_head_kind_``, ``C_``, ``C_losses_`` (the chosen head's) and ``head_losses_``
        (:func:`~assetgrade.modalities.vision.heads.select_head`), and return the chosen head's
        out-of-fold predictions of the training photos, each the mean over its ``views`` (None when
        not measured). With the head and C both fixed nothing is measured unless ``need_oof``."""
        kinds = ("ordinal", "logistic") if self.grade_head == "auto" else (self.grade_head,)
        fixed = None if self.C == "auto" else float(self.C)
        self.head_losses_: dict[str, dict[float, float]] = {}
        if fixed is not None and len(kinds) == 1 and not need_oof:
            self.grade_head_kind_, self.C_, self.C_losses_ = kinds[0], fixed, {}
            return None
        choice = select_head(X, y, n_classes=k, heads=kinds, groups=folds_by,
                             grid=C_GRID if fixed is None else (fixed,), seed=self.seed,
                             fallback=0.02 if fixed is None else fixed, views=views)
        self.grade_head_kind_ = "logistic" if choice.head == "logistic" else "ordinal"
        self.C_, self.head_losses_ = choice.C, choice.losses
        self.C_losses_ = choice.losses[choice.head]
        return choice.oof

    @property
    def feature_names(self) -> tuple[str, ...]:
        """The fixed columns of the evidence block of this fitted extractor."""
        return (
            *(f"grade_p_{g}" for g in self.grade_names_),
            "expected_grade",
            *(f"defect_p_{t}" for t in self.defect_terms_),
            "anomaly_ratio",
            "anomaly_alarm_share",
            *(f"worst_{q}" for q in QUALITY_FEATURES),
            "n_images",
        )

    # -- extract --------------------------------------------------------------------------------
    def _see_in_chunks(self, records: Sequence[AssetRecord]) -> Iterator[
            tuple[int, AssetRecord, list[ImageEvidence | None], dict[str, str], list[npt.NDArray[Any]]]]:
        """Per record, in order: its index, the record, each image's evidence (None: unreadable), the
        errors by evidence id and the pooled features of its readable images under every view (the
        image's own first).

        The backbone runs over the images of many records at once (chunks of about ``batch_size``
        images, so memory stays bounded): a cold batch of one-photo assets costs a few batched
        passes instead of one pass per asset and view.
        """
        start = 0
        while start < len(records):
            stop, n_images = start, 0
            while stop < len(records) and (stop == start or n_images + len(records[stop].images) <= self.batch_size):
                n_images += len(records[stop].images)
                stop += 1
            refs = [ref for rec in records[start:stop] for ref in rec.images]
            seen, errors = self._see(refs)
            ok = [i for i, e in enumerate(seen) if e is not None]
            X = np.stack([seen[i].pooled for i in ok]) if ok else np.zeros((0, 0))  # type: ignore[union-attr]
            views = [X, *self._views([refs[i] for i in ok], X)] if ok else []
            row_of = {i: k for k, i in enumerate(ok)}
            at = 0
            for r in range(start, stop):
                rec = records[r]
                mine = range(at, at + len(rec.images))
                at += len(rec.images)
                rows = [row_of[i] for i in mine if i in row_of]
                ids = {ref.evidence_id for ref in rec.images}
                yield (r, rec, [seen[i] for i in mine], {k: v for k, v in errors.items() if k in ids},
                       [v[rows] for v in views] if rows else [])
            start = stop

    def extract(self, records: Sequence[AssetRecord]) -> EvidenceBlock:
        """One evidence row per record (NaN and present=False where a record has no usable image)."""
        if not hasattr(self, "grade_head_"):
            raise ValidationError("extract called before fit", where="VisionExtractor")
        names = self.feature_names
        K = len(self.grade_names_)
        feats = np.full((len(records), len(names)), np.nan)
        present = np.zeros(len(records), dtype=bool)
        proba_out = np.full((len(records), K), np.nan)
        findings: dict[str, list[Finding]] = {}
        flags: dict[str, list[str]] = {}
        unreadable: set[str] = set()
        for r, rec, seen, errors, views in self._see_in_chunks(records):
            pairs = [(ref, e) for ref, e in zip(rec.images, seen, strict=True) if e is not None]
            flags[rec.asset_id] = [f"unreadable:{k}" for k in errors]
            if errors:
                unreadable.add(rec.asset_id)
            findings[rec.asset_id] = []
            if not pairs:
                continue
            X = views[0]
            table = getattr(self, "flag_factors_", FLAG_FACTORS)
            factors = np.array([flag_factor(e.quality.flags, table) for _, e in pairs])
            gp = temper(np.mean([self.grade_head_.predict_proba(v) for v in views], axis=0), factors)
            expected = gp @ np.arange(K)
            worst = int(np.argmax(expected))
            dp = (temper_labels(np.mean([self.defect_head_.predict_proba(v) for v in views], axis=0), factors)
                  if self.defect_head_ else np.zeros((len(X), 0)))
            a_ratio: npt.NDArray[np.float64] = np.zeros(len(pairs))
            a_maps: list[Any] = [None] * len(pairs)
            if self.anomaly_ is not None and self.alarm_ is not None:
                scores, maps = self.anomaly_.score(np.stack([e.patches for _, e in pairs]))
                a_ratio = scores.astype(np.float64) / max(self.alarm_.value, 1e-12)
                a_maps = list(maps)
            q = np.stack([e.quality.as_vector() for _, e in pairs])
            q[:, -1] = factors  # the factor in use (learned or default)
            asset_p = bag_max_proba(gp) if getattr(self, "mil_", False) and len(pairs) > 1 else gp[worst]
            row = [
                *asset_p,
                float(asset_p @ np.arange(K)),
                *(dp.max(axis=0) if dp.size else []),
                a_ratio.max(),
                float(np.mean(a_ratio > 1.0)),
                *q[int(np.argmin(q[:, -1]))],
                len(pairs),
            ]
            feats[r] = row
            present[r] = True
            proba_out[r] = asset_p
            for j, (ref, e) in enumerate(pairs):
                flags[rec.asset_id] += [f"{ref.evidence_id}:{f}" for f in e.quality.flags]
                sev = float(expected[j] / max(K - 1, 1))
                for t_i, term in enumerate(self.defect_terms_):
                    if dp[j, t_i] >= 0.5:
                        w = self.defect_head_.models_[t_i]  # type: ignore[union-attr]
                        region = None
                        if not isinstance(w, float):
                            cw = w.coef_[0] / self.defect_head_.scaler_.scale_  # type: ignore[union-attr]
                            region = region_box(cam_map(e.cam_maps, cw), e.size)
                        findings[rec.asset_id].append(
                            Finding(
                                modality="vision",
                                summary=f"{term} seen in image {ref.evidence_id}",
                                defect=term,
                                severity=sev,
                                confidence=float(dp[j, t_i]),
                                evidence_id=ref.evidence_id,
                                region=region,
                            )
                        )
                if a_maps[j] is not None and a_ratio[j] > 1.0:
                    region = region_box(a_maps[j], e.size, smooth_px=SMOOTH_PX)
                    findings[rec.asset_id].append(
                        Finding(
                            modality="vision",
                            summary=f"anomalous region in image {ref.evidence_id} "
                            f"(threshold {self.alarm_.explain() if self.alarm_ else ''})",
                            severity=sev,
                            confidence=float(min(1.0, 0.5 + 0.5 * (a_ratio[j] - 1.0)) * factors[j]),
                            evidence_id=ref.evidence_id,
                            region=region,
                            grade_hint=self.grade_names_[int(np.argmax(gp[j]))],
                        )
                    )
        return EvidenceBlock("vision", [r.asset_id for r in records], names, feats, present, findings, flags, proba_out,
                             unreadable=frozenset(unreadable))

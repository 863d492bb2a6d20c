"""The linked multimodal benchmark: assets assembled from real, separately labelled public pieces.

No public data set links photos, maintenance logs and sensor histories of one asset, so this
benchmark links real pieces and says so plainly. Each benchmark asset gets

* one real **image**: an electroluminescence image of a solar cell from ELPV (Deitsch et al.
  2019; the ``elpv-dataset`` package), with its expert defect probability p in {0, 1/3, 2/3, 1};
  image level ``v = round(3 p)`` (0..3);
* one real **sensor history**: a C-MAPSS FD001 training unit (Saxena et al. 2008) cut at a cycle
  with known remaining life (RUL = last cycle − cut); sensor level ``s`` = 0 when RUL ≥ 125,
  1 when 75 ≤ RUL < 125, 2 when 30 ≤ RUL < 75, 3 when RUL < 30;
* one to three real **maintenance texts** from the MaintIE gold set (Bikaun et al. 2024), with a
  severity derived from their expert entity annotations: *severe* (2) when a text has a
  ``State/UndesirableState/FailedState`` entity (broken, blown, unserviceable, not working,
  cracked...) or a ``Property/UndesirableProperty`` (crack, hole); *moderate* (1) when it has
  another undesirable state (fault, error, worn, damaged, missing) or an
  ``Process/UndesirableProcess`` (leaking, weeping, overheating); *routine* (0) otherwise
  (replace, service, inspect...). The asset's log level ``t`` is the worst of its texts.

The true grade follows one documented rubric over those three real labels:
``points = v + s + t`` (0..8); A when points ≤ 1, B when ≤ 3, C when ≤ 5, D otherwise; and
never better than C when ``v == 3`` or ``s == 3`` (a fully defective cell or an engine near end
of life). No single modality determines the grade. The pieces are split into train /
calibration / test *before* assets are assembled, so no image, engine unit or text is shared
across splits. Within a split the pieces are further dealt into ``piece_groups`` disjoint
*piece groups* and each asset draws its unit and texts from one group only: a C-MAPSS unit (cut
at different cycles) or a text may serve several assets of the same group, never two groups.
Grouped cross-validation on :attr:`LinkedLabels.group` (the piece group) therefore never shows
an extractor a unit or a text of its held-out fold (with the unit as the group, shared texts
crossed folds and inflated the text extractor's out-of-fold accuracy).

The demo source (``source="sample"``) uses small excerpts shipped in
``assetgrade/datasets/samples/`` (20 FD001 training units, public domain; 200 MaintIE texts,
MIT licence) and ELPV from its package, so it works without the shared data folder. The 100
FD001 *test* units and their true remaining life are shipped too (:func:`sample_fleet`): never
benchmark assets, they stand for a fleet's history of earlier failures that a remaining-life
model learns from.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from assetgrade.datasets.linked_files import write_linked
from assetgrade.datasets.linked_rubric import (
    GRADES,
    RUL_BANDS,
    grade_from_levels,
    maintie_severity,
    rubric_proba,
    rul_level,
)
from assetgrade.datasets.linked_rubric import SEVERITY_NAMES as SEVERITY_NAMES
from assetgrade.datasets.linked_sources import (
    FLEET_RUL_CAP,
    elpv_table,
    load_sources,
    make_samples,
    sample_fleet,
)
from assetgrade.datasets.linked_sources import SAMPLE_CMAPSS as SAMPLE_CMAPSS
from assetgrade.datasets.linked_sources import SAMPLE_FLEET as SAMPLE_FLEET
from assetgrade.datasets.linked_sources import SAMPLE_FLEET_RUL as SAMPLE_FLEET_RUL
from assetgrade.datasets.linked_sources import SAMPLE_MAINTIE as SAMPLE_MAINTIE
from assetgrade.datasets.linked_sources import SAMPLES_DIR as SAMPLES_DIR
from assetgrade.errors import ValidationError
from assetgrade.store.records import AssetRecord, ImageRef, LogEntry, SeriesRef

__all__ = [
    "FLEET_RUL_CAP",
    "GRADES",
    "LinkedBenchmark",
    "LinkedLabels",
    "build_linked",
    "grade_from_levels",
    "maintie_severity",
    "make_samples",
    "rubric_proba",
    "rul_level",
    "sample_fleet",
    "write_linked",
]

_elpv_table = elpv_table  # the name it had here before the split
_SPLITS = ("train", "calibration", "test")
_MIN_HISTORY = 31
_REFERENCE_DATE = datetime(2024, 1, 1)


@dataclass(frozen=True)
class LinkedLabels:
    """The real labels behind one benchmark asset, kept apart from the record the extractors see.

    Examples
    --------
    >>> lab = LinkedLabels("lnk-00001", "train", "train-p0", "B", 1, "images/cell0001.png", 1/3, "mono",
    ...                    0, "FD001", 3, 60, 140, 1, (5,), 2)
    >>> lab.grade
    'B'
    """

    asset_id: str
    split: str
    group: str
    """The asset's piece group (``train-p0``...): no unit or text is shared across groups; use it as the CV group."""
    grade: str
    image_level: int
    elpv_file: str
    """The asset's ELPV cell file(s), ``;``-separated, worst cell first."""
    elpv_probability: float
    """The worst cell's defect probability (its level / 3)."""
    cell_type: str
    sensor_level: int
    cmapss_subset: str
    cmapss_unit: int
    cut_cycle: int
    rul: int
    log_level: int
    maintie_indices: tuple[int, ...]
    points: int


@dataclass
class LinkedBenchmark:
    """Records (with in-memory loaders), true grades and the per-modality real labels.

    Examples
    --------
    >>> bench = build_linked(n_assets=12, seed=0, source="sample")
    >>> len(bench.split("train").records), bench.records[0].modalities()
    (8, ('vision', 'text', 'sensors'))
    """

    records: list[AssetRecord]
    labels: list[LinkedLabels]
    seed: int
    source: str
    grades: tuple[str, ...] = GRADES

    def y(self) -> np.ndarray[Any, np.dtype[np.int64]]:
        """True grade indices, in record order."""
        return np.array([self.grades.index(lab.grade) for lab in self.labels], dtype=np.int64)

    def groups(self) -> list[str]:
        """CV groups (piece groups: no unit or text shared between two), in record order."""
        return [lab.group for lab in self.labels]

    def split(self, name: str) -> LinkedBenchmark:
        """The assets of one split (``train``, ``calibration`` or ``test``)."""
        if name not in _SPLITS:
            raise ValidationError(f"unknown split {name!r}; allowed: {_SPLITS}", where="split")
        keep = [i for i, lab in enumerate(self.labels) if lab.split == name]
        return LinkedBenchmark(
            [self.records[i] for i in keep], [self.labels[i] for i in keep], self.seed, self.source, self.grades
        )

    def modality_grades(self, modality: str) -> list[str]:
        """One modality's own real label per asset, as a grade name, for training its extractor.

        ``vision``: image level 0..3 → A..D; ``sensors``: sensor level 0..3 → A..D; ``text``: log
        level routine / moderate / severe → A / B / C. An extractor fitted on these learns its own
        modality's evidence; the fusion model then learns the rubric from the asset grades.
        """
        col = {"vision": "image_level", "sensors": "sensor_level", "text": "log_level"}.get(modality)
        if col is None:
            raise ValidationError(
                f"unknown modality {modality!r}; allowed: 'vision', 'sensors', 'text'", where="modality"
            )
        return [self.grades[int(getattr(lab, col))] for lab in self.labels]

    def frame(self) -> pd.DataFrame:
        """The labels as a table, one row per asset."""
        return pd.DataFrame([asdict(lab) for lab in self.labels])


def _split_ids(
    keys: Sequence[Any], strata: Sequence[int], fractions: Any, rng: np.random.Generator
) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {s: [] for s in _SPLITS}
    arr = np.asarray(strata)
    for level in sorted(set(arr.tolist())):
        idx = np.flatnonzero(arr == level)
        idx = idx[rng.permutation(len(idx))]
        cuts = np.floor(np.cumsum(fractions)[:-1] * len(idx)).astype(int)
        for s, part in zip(_SPLITS, np.split(idx, cuts), strict=True):
            out[s] += [keys[i] for i in part]
    return out


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _series_loader(frame: pd.DataFrame) -> Callable[[], pd.DataFrame]:
    def load() -> pd.DataFrame:
        return frame.copy()

    return load


def build_linked(
    n_assets: int = 1000,
    seed: int = 0,
    *,
    source: Literal["shared", "sample"] = "shared",
    data_dir: Path | None = None,
    fractions: Sequence[float] = (0.6, 0.2, 0.2),
    cmapss_subsets: Sequence[str] = ("FD001",),
    sensor_weights: Sequence[float] = (0.25, 0.25, 0.25, 0.25),
    log_weights: Sequence[float] = (0.45, 0.3, 0.25),
    piece_groups: int = 3,
    images_per_asset: int = 1,
) -> LinkedBenchmark:
    """Build the linked benchmark: ``n_assets`` assets, seeded, split by asset (pieces split first).

    Parameters
    ----------
    source
        ``"shared"``: the full C-MAPSS / MaintIE files in the shared data folder (``data_dir``
        or ``$ASSETGRADE_DATA``); ``"sample"``: the excerpts shipped with the package.
    fractions
        Train / calibration / test shares of the pieces and of the assets.
    sensor_weights, log_weights
        How often each sensor level (0..3) and log level (0..2) is drawn; images are drawn at
        random from ELPV (its own level mix).
    piece_groups
        Disjoint groups of units and texts per split (the CV groups, see the module docstring);
        use at least as many as the cross-validation folds.
    images_per_asset
        ELPV cells photographed per asset (distinct cells of the split); the asset's image level
        is its worst cell's (``elpv_file`` lists the cells, ``;``-separated, worst first). With 1
        the benchmark is the same as before this option existed.
    """
    if images_per_asset < 1:
        raise ValidationError(f"images_per_asset={images_per_asset} must be >= 1", where="images_per_asset")
    if n_assets < 3:
        raise ValidationError(f"n_assets={n_assets} must be >= 3", where="n_assets")
    if piece_groups < 1:
        raise ValidationError(f"piece_groups={piece_groups} must be >= 1", where="piece_groups")
    fr = np.asarray(fractions, dtype=np.float64)
    if fr.shape != (3,) or np.any(fr <= 0) or not np.isclose(fr.sum(), 1.0):
        raise ValidationError(f"fractions={list(fractions)} must be 3 positive shares summing to 1", where="fractions")
    sw = np.asarray(sensor_weights, dtype=np.float64) / np.sum(sensor_weights)
    lw = np.asarray(log_weights, dtype=np.float64) / np.sum(log_weights)
    rng = np.random.default_rng(seed)
    elpv_cells, elpv = elpv_table()
    units, texts = load_sources(source, data_dir, cmapss_subsets)
    severity = [maintie_severity(t) for t in texts]
    prepared = {k: f.sort_values("cycle").set_index("cycle").drop(columns=["unit"]) for k, f in units.items()}

    img_split = _split_ids(list(range(len(elpv))), elpv["level"].tolist(), fr, rng)
    unit_keys = sorted(units)
    unit_split = _split_ids(unit_keys, [0] * len(unit_keys), fr, rng)
    text_split = _split_ids(list(range(len(texts))), severity, fr, rng)
    n_per = np.floor(fr * n_assets).astype(int)
    n_per[0] += n_assets - int(n_per.sum())

    records: list[AssetRecord] = []
    labels: list[LinkedLabels] = []
    counter = 0
    for s_name, n_s in zip(_SPLITS, n_per, strict=True):
        imgs = list(img_split[s_name])
        k_img = images_per_asset
        if n_s * k_img > len(imgs):
            raise ValidationError(f"{n_s} {s_name} assets of {k_img} images need more than the {len(imgs)} "
                                  "ELPV images", where="n_assets")
        drawn = [imgs[i] for i in rng.permutation(len(imgs))[: n_s * k_img]]
        chosen_imgs = [drawn[a * k_img : (a + 1) * k_img] for a in range(n_s)]
        by_sev_all = {lv: [i for i in text_split[s_name] if severity[i] == lv] for lv in range(3)}
        # deal the split's units and texts (already shuffled) into disjoint piece groups
        pieces = [
            (unit_split[s_name][b::piece_groups], {lv: v[b::piece_groups] for lv, v in by_sev_all.items()})
            for b in range(piece_groups)
        ]
        for b, (units_b, sev_b) in enumerate(pieces):
            if not units_b or any(not v for v in sev_b.values()):
                raise ValidationError(
                    f"piece group {b} of the {s_name} split got no C-MAPSS unit or no text of some severity "
                    f"({len(unit_split[s_name])} units, {[len(v) for v in by_sev_all.values()]} texts by severity "
                    f"for {piece_groups} groups)",
                    where="piece_groups",
                )
        for a_i, cells in enumerate(chosen_imgs):
            block = a_i % piece_groups
            s_units, by_sev = pieces[block]
            counter += 1
            aid = f"lnk-{counter:05d}"
            cells = sorted(cells, key=lambda i: -int(elpv.iloc[i]["level"]))  # worst first (stable)
            row = elpv.iloc[cells[0]]
            v = int(row["level"])
            # sensor: a unit and a cut whose RUL falls in the drawn band
            s_lvl = int(rng.choice(4, p=sw))
            lo, hi = RUL_BANDS[s_lvl]
            for _ in range(50):
                key = s_units[int(rng.integers(len(s_units)))]
                life = len(prepared[key])
                rul_hi = min(hi, life - _MIN_HISTORY)
                if rul_hi >= lo:
                    break
            else:  # no unit lives long enough for the band: take the longest history the last one allows
                lo = rul_hi = max(life - _MIN_HISTORY, 0)
            rul = int(rng.integers(lo, rul_hi + 1))
            s_lvl = rul_level(rul)
            cut = life - rul
            full = prepared[key]
            hist = full.iloc[:cut]
            # logs: one text of the drawn level plus 0-2 routine texts
            t_lvl = int(rng.choice(3, p=lw))
            picks = [by_sev[t_lvl][int(rng.integers(len(by_sev[t_lvl])))]]
            for _ in range(int(rng.integers(0, 3))):
                picks.append(by_sev[0][int(rng.integers(len(by_sev[0])))])
            order = rng.permutation(len(picks))
            picks = [picks[i] for i in order]
            series_sha = _sha(
                key[0].encode()
                + np.ascontiguousarray(hist.index.to_numpy()).tobytes()
                + np.ascontiguousarray(hist.to_numpy()).tobytes()
            )
            n_logs = len(picks)
            logs = tuple(
                LogEntry(
                    evidence_id=f"{aid}-log{j + 1}",
                    text=str(texts[ti]["text"]),
                    date=_REFERENCE_DATE - timedelta(days=30 * (n_logs - j)),
                    origin="real",
                    attributes={"source": "MaintIE gold"},
                )
                for j, ti in enumerate(picks)
            )
            g = grade_from_levels(v, s_lvl, t_lvl)
            records.append(
                AssetRecord(
                    asset_id=aid,
                    asset_type=f"pv_{row['type']}",
                    attributes={"benchmark": "linked", "split": s_name},
                    images=tuple(
                        ImageRef(f"{aid}-img{j + 1}", elpv_cells.refs[i].sha256, elpv_cells.refs[i].load_bytes,
                                 origin="real")
                        for j, i in enumerate(cells)
                    ),
                    logs=logs,
                    series=(SeriesRef(f"{aid}-ser1", series_sha, _series_loader(hist), origin="real"),),
                    grade=GRADES[g],
                )
            )
            labels.append(
                LinkedLabels(
                    asset_id=aid,
                    split=s_name,
                    group=f"{s_name}-p{block}",
                    grade=GRADES[g],
                    image_level=v,
                    elpv_file=";".join(str(elpv.iloc[i]["path"]) for i in cells),
                    elpv_probability=float(row["probability"]),
                    cell_type=str(row["type"]),
                    sensor_level=s_lvl,
                    cmapss_subset=key[0],
                    cmapss_unit=key[1],
                    cut_cycle=int(cut),
                    rul=rul,
                    log_level=t_lvl,
                    maintie_indices=tuple(picks),
                    points=v + s_lvl + t_lvl,
                )
            )
    return LinkedBenchmark(records, labels, seed, source)

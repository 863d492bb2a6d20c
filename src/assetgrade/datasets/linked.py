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

import csv
import gzip
import hashlib
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from assetgrade.datasets.cmapss import read_cmapss_table, unit_histories
from assetgrade.datasets.paths import dataset_dir
from assetgrade.errors import NotFoundError, ValidationError
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

GRADES: tuple[str, ...] = ("A", "B", "C", "D")
SAMPLES_DIR = Path(__file__).resolve().parent / "samples"
SAMPLE_CMAPSS = "cmapss_train_FD001_sample.txt.gz"
SAMPLE_MAINTIE = "maintie_gold_sample.json"
SAMPLE_FLEET = "cmapss_test_FD001_sample.txt.gz"
SAMPLE_FLEET_RUL = "cmapss_RUL_FD001_sample.txt"
FLEET_RUL_CAP = 150.0
"""Cap of a fleet RUL model's target for these assets: above the rubric's highest band edge (125 cycles)."""
SEVERITY_NAMES = ("routine", "moderate", "severe")
_SPLITS = ("train", "calibration", "test")
_MIN_HISTORY = 31
_REFERENCE_DATE = datetime(2024, 1, 1)


def rul_level(rul: float) -> int:
    """Sensor health level from remaining useful life: 0 (≥125), 1 (75-124), 2 (30-74), 3 (<30)."""
    if rul >= 125:
        return 0
    if rul >= 75:
        return 1
    if rul >= 30:
        return 2
    return 3


_RUL_BANDS: tuple[tuple[int, int], ...] = ((125, 10_000), (75, 124), (30, 74), (0, 29))


def maintie_severity(entry: dict[str, Any]) -> int:
    """Severity of one MaintIE text from its gold entity types: 2 severe, 1 moderate, 0 routine."""
    types = [str(e.get("type", "")) for e in entry.get("entities", [])]
    if any(t.startswith(("State/UndesirableState/FailedState", "Property/UndesirableProperty")) for t in types):
        return 2
    if any(t.startswith(("State/UndesirableState", "Process/UndesirableProcess")) for t in types):
        return 1
    return 0


def grade_from_levels(image_level: int, sensor_level: int, log_level: int) -> int:
    """The rubric: grade index (0 = A .. 3 = D) from the three real labels (see the module docstring)."""
    points = image_level + sensor_level + log_level
    g = 0 if points <= 1 else 1 if points <= 3 else 2 if points <= 5 else 3
    if image_level == 3 or sensor_level == 3:
        g = max(g, 2)
    return g


def rubric_proba(
    vision: npt.ArrayLike, sensors: npt.ArrayLike, text: npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """Grade distribution implied by the rubric for independent level distributions per modality.

    Each argument is an (n, k) array of probabilities over one modality's levels (columns beyond
    the rubric's range -- sensor and image level 3, log level 2 -- count as the highest level).
    Returns P(grade) = sum over level triples of P(v) P(s) P(t) [rubric(v, s, t) = grade], the
    best any fusion model can do with these distributions when the rubric is known and the
    modalities are independent given their levels, as they are in the benchmark.

    >>> import numpy as np
    >>> p = rubric_proba([[0, 0, 0, 1]], [[1, 0, 0, 0]], [[0.5, 0.5, 0, 0]])
    >>> p.round(2).tolist()
    [[0.0, 0.0, 1.0, 0.0]]
    """
    arrs = [np.atleast_2d(np.asarray(a, dtype=np.float64)) for a in (vision, sensors, text)]
    n = arrs[0].shape[0]
    for name, a in zip(("vision", "sensors", "text"), arrs, strict=True):
        if a.shape[0] != n or not np.all(np.isfinite(a)) or np.any(a < 0):
            raise ValidationError(f"{name}: {a.shape[0]} rows of finite, non-negative probabilities expected "
                                  f"({n} rows in vision)", where=name)
    caps = (3, 3, 2)
    levels = []
    for a, cap in zip(arrs, caps, strict=True):
        lv = np.zeros((n, cap + 1))
        for j in range(a.shape[1]):
            lv[:, min(j, cap)] += a[:, j]
        levels.append(lv / np.clip(lv.sum(axis=1, keepdims=True), 1e-12, None))
    out = np.zeros((n, len(GRADES)))
    for v in range(4):
        for s in range(4):
            for t in range(3):
                out[:, grade_from_levels(v, s, t)] += levels[0][:, v] * levels[1][:, s] * levels[2][:, t]
    return out


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


# ---- sources ------------------------------------------------------------------------------------
def _elpv_table() -> tuple[Path, pd.DataFrame]:
    try:
        import elpv_dataset
    except ImportError as exc:  # pragma: no cover - a base dependency
        raise NotFoundError("the elpv-dataset package is not installed: pip install elpv-dataset") from exc
    root = Path(elpv_dataset.__file__).resolve().parent / "data"
    labels = root / "labels.csv"
    if not labels.exists():
        raise NotFoundError(f"ELPV labels not found at {labels}")
    data = np.genfromtxt(labels, dtype=["|S19", "<f8", "|S4"], names=["path", "probability", "type"])
    frame = pd.DataFrame(
        {
            "path": np.char.decode(data["path"]),
            "probability": data["probability"],
            "type": np.char.decode(data["type"]),
        }
    )
    frame["level"] = np.rint(frame["probability"] * 3).astype(int)
    return root, frame


def _load_sources(
    source: str, data_dir: Path | None, subsets: Sequence[str]
) -> tuple[dict[tuple[str, int], pd.DataFrame], list[dict[str, Any]]]:
    units: dict[tuple[str, int], pd.DataFrame] = {}
    if source == "sample":
        table = read_cmapss_table(SAMPLES_DIR / SAMPLE_CMAPSS)
        for u, frame in table.groupby("unit"):
            units[("FD001", int(u))] = frame.reset_index(drop=True)  # type: ignore[call-overload]
        texts = json.loads((SAMPLES_DIR / SAMPLE_MAINTIE).read_text(encoding="utf-8"))
    elif source == "shared":
        cm = dataset_dir("cmapss", None if data_dir is None else data_dir / "cmapss")
        for sub in subsets:
            path = next((p for p in (cm / f"train_{sub}.txt.gz", cm / f"train_{sub}.txt") if p.exists()), None)
            if path is None:
                raise NotFoundError(f"C-MAPSS train_{sub}.txt(.gz) not found in {cm}")
            table = read_cmapss_table(path)
            for u, frame in table.groupby("unit"):
                units[(sub, int(u))] = frame.reset_index(drop=True)  # type: ignore[call-overload]
        mi = dataset_dir("maintie", None if data_dir is None else data_dir / "maintie")
        texts = json.loads((mi / "data" / "gold_release.json").read_text(encoding="utf-8"))
    else:
        raise ValidationError(f"source={source!r}; allowed: 'shared', 'sample'", where="source")
    return units, texts


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


def _image_loader(path: Path) -> Callable[[], bytes]:
    return path.read_bytes


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
    elpv_root, elpv = _elpv_table()
    units, texts = _load_sources(source, data_dir, cmapss_subsets)
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
            lo, hi = _RUL_BANDS[s_lvl]
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
            img_paths = [elpv_root / str(elpv.iloc[i]["path"]) for i in cells]
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
                        ImageRef(f"{aid}-img{j + 1}", _sha(path.read_bytes()), _image_loader(path), origin="real")
                        for j, path in enumerate(img_paths)
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


def write_linked(bench: LinkedBenchmark, out_dir: str | Path, *, include_grades: bool = True) -> Path:
    """Write files + a CSV manifest (one row per evidence item) + ``labels.csv``; returns the manifest path.

    Manifest columns: ``asset_id, asset_type, kind (image|log|series), path, text, date, grade,
    origin`` (all manifest columns, so ingest reads every one); paths are relative to ``out_dir``
    (``images/``, ``series/`` as CSV). Each asset's split and its per-modality labels are in
    ``labels.csv``.
    """
    out = Path(out_dir)
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "series").mkdir(parents=True, exist_ok=True)
    manifest = out / "manifest.csv"
    cols = ["asset_id", "asset_type", "kind", "path", "text", "date", "grade", "origin"]
    with manifest.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=cols)
        w.writeheader()
        for rec in bench.records:
            base = {
                "asset_id": rec.asset_id,
                "asset_type": rec.asset_type,
                "grade": rec.grade if include_grades else "",
                "origin": "real",
            }
            for img in rec.images:
                rel = f"images/{img.evidence_id}.png"
                (out / rel).write_bytes(img.load_bytes())
                w.writerow({**base, "kind": "image", "path": rel, "text": "", "date": ""})
            for ser in rec.series:
                rel = f"series/{ser.evidence_id}.csv"
                ser.load().to_csv(out / rel)
                w.writerow({**base, "kind": "series", "path": rel, "text": "", "date": ""})
            for log in rec.logs:
                date = log.date.date().isoformat() if log.date else ""
                w.writerow({**base, "kind": "log", "path": "", "text": log.text, "date": date})
    bench.frame().to_csv(out / "labels.csv", index=False)
    return manifest


def _write_cmapss_rows(part: pd.DataFrame, path: Path) -> None:
    """C-MAPSS rows in their original whitespace layout, gzipped reproducibly (no time stamp)."""
    buf = io.StringIO()
    for row in part.itertuples(index=False):
        vals = [str(int(row[0])), str(int(row[1]))] + [repr(float(x)) for x in row[2:]]
        buf.write(" ".join(vals) + "\n")
    with gzip.GzipFile(path, "wb", mtime=0) as gz:
        gz.write(buf.getvalue().encode("ascii"))


def sample_fleet() -> tuple[list[pd.DataFrame], list[float]]:
    """The shipped fleet: each FD001 test unit's history (cycle-indexed) and the true RUL after its last cycle.

    These engines are never assets of the linked benchmark or the demo (both cut *training* units),
    so a remaining-life model trained on them has not seen any graded asset's future.
    """
    table = read_cmapss_table(SAMPLES_DIR / SAMPLE_FLEET)
    rul_path = SAMPLES_DIR / SAMPLE_FLEET_RUL
    rul = [float(v) for v in rul_path.read_text(encoding="ascii").split()]
    histories = unit_histories(table)
    if len(rul) != len(histories):
        raise ValidationError(f"{len(rul)} RUL values for {len(histories)} units", where=str(rul_path))
    return histories, rul


def make_samples(
    data_dir: Path | None = None,
    out_dir: Path = SAMPLES_DIR,
    *,
    n_units: int = 20,
    n_texts: int = 200,
    n_fleet_units: int = 100,
    seed: int = 0,
) -> list[Path]:
    """Write the shipped excerpts from the shared data (maintainers only): C-MAPSS units + MaintIE texts.

    ``n_units`` FD001 training units (the assets' histories), the first ``n_fleet_units`` FD001 test
    units with their true RUL (the fleet, :func:`sample_fleet`), ``n_texts`` MaintIE texts.
    """
    from assetgrade.datasets.cmapss import load_cmapss

    rng = np.random.default_rng(seed)
    cm = dataset_dir("cmapss", None if data_dir is None else data_dir / "cmapss")
    sub = load_cmapss("FD001", cm)
    table = sub.train
    keep_units = sorted(int(u) for u in table["unit"].unique())[:n_units]
    out_dir.mkdir(parents=True, exist_ok=True)
    cpath = out_dir / SAMPLE_CMAPSS
    _write_cmapss_rows(table[table["unit"].isin(keep_units)], cpath)
    fleet_units = [int(u) for u in sub.test_rul.index[:n_fleet_units]]
    fpath = out_dir / SAMPLE_FLEET
    _write_cmapss_rows(sub.test[sub.test["unit"].isin(fleet_units)], fpath)
    rpath = out_dir / SAMPLE_FLEET_RUL
    rpath.write_text("".join(f"{int(sub.test_rul[u])}\n" for u in fleet_units), encoding="ascii")
    mi = dataset_dir("maintie", None if data_dir is None else data_dir / "maintie")
    texts = json.loads((mi / "data" / "gold_release.json").read_text(encoding="utf-8"))
    sev = np.array([maintie_severity(t) for t in texts])
    share = {0: n_texts // 2, 1: n_texts // 4, 2: n_texts - n_texts // 2 - n_texts // 4}
    idx: list[int] = []
    for lv, k in share.items():
        pool = np.flatnonzero(sev == lv)
        idx += sorted(rng.choice(pool, size=min(k, len(pool)), replace=False).tolist())
    sample = [
        {
            "text": texts[i]["text"],
            "tokens": texts[i]["tokens"],
            "entities": texts[i]["entities"],
            "gold_release_index": i,
        }
        for i in sorted(idx)
    ]
    mpath = out_dir / SAMPLE_MAINTIE
    mpath.write_text(json.dumps(sample, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    return [cpath, fpath, rpath, mpath]

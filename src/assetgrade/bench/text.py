"""Maintenance-log benchmarks: normalisation, entities, negation, text-only classification, extraction speed.

Each function returns one :class:`BenchResult`; ``assetgrade bench text`` prints it as JSON.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from assetgrade.bench.report import BenchResult
from assetgrade.errors import NotFoundError, ValidationError

__all__ = [
    "HAND_SOURCE",
    "NEGATION_FIXTURE",
    "bench_classify",
    "bench_entities",
    "bench_extract",
    "bench_negation",
    "bench_normalize",
    "read_negation_sample",
]

NEGATION_FIXTURE = Path(__file__).resolve().parents[3] / "tests" / "fixtures" / "negation_sample.tsv"


def _progress(total: int, label: str) -> Any:
    from rich.console import Console
    from rich.progress import Progress

    prog = Progress(transient=True, console=Console(stderr=True))
    prog.start()
    task = prog.add_task(label, total=total)
    return prog, task


def bench_normalize(
    data_dir: Path | None = None,
    seed: int = 0,
    subset: str = "combined",
    limit: int | None = None,
    eval_split: str = "test",
    word_frequency: bool = True,
) -> BenchResult:
    """Train the normaliser on MaintNorm train+val and score the test split (P, R, ERR); MFR baseline beside it.

    ``eval_split="val"`` trains on train alone and scores validation (for development, so the
    test split is not looked at); ``word_frequency=False`` leaves the English word counts out.
    """
    from assetgrade.datasets.maintnorm import load_maintnorm
    from assetgrade.modalities.text.normalize import Normalizer, normalization_scores
    from assetgrade.ontology import default_ontology

    if eval_split not in ("test", "val"):
        raise ValidationError(f"eval split must be test or val, not {eval_split!r}", where="--eval-split")
    if data_dir is not None and data_dir.is_file():
        raise ValidationError("is one file; the normalise benchmark reads a MaintNorm folder with train.norm, "
                              "val.norm and test.norm (one file would be trained on and scored on itself)",
                              where=str(data_dir))
    t0 = time.perf_counter()
    train = load_maintnorm("train", subset, data_dir)
    if eval_split == "test":
        train = train + load_maintnorm("val", subset, data_dir)
    test = load_maintnorm(eval_split, subset, data_dir)
    for name, texts in (("train" if eval_split == "val" else "train+val", train), (eval_split, test)):
        if not texts:
            raise ValidationError(f"the {name} split of MaintNorm subset {subset!r} holds no texts",
                                  where=str(data_dir or "maintnorm"))
    if limit:
        train, test = train[:limit], test[: max(1, limit // 8)]
    prog, task = _progress(2, "normalise: fit, evaluate")
    try:
        t_fit = time.perf_counter()
        norm = Normalizer(abbreviations=default_ontology().abbreviations, seed=seed, word_frequency=word_frequency)
        norm.fit(train)
        fit_s = time.perf_counter() - t_fit
        prog.advance(task)
        t_pred = time.perf_counter()
        metrics = norm.evaluate(test)
        pred_s = time.perf_counter() - t_pred
        prog.advance(task)
    finally:
        prog.stop()
    # most-frequent-replacement baseline (lower-cased keys), as in the shared data README
    table: dict[str, Counter[str]] = defaultdict(Counter)
    for t in train:
        for r, g in zip(t.raw, t.gold, strict=True):
            table[r.lower()][g] += 1
    raw = [r for t in test for r in t.raw]
    gold = [g for t in test for g in t.gold]
    mfr = [table[r.lower()].most_common(1)[0][0] if r.lower() in table else r for r in raw]
    base = normalization_scores(raw, gold, mfr)
    return BenchResult(
        benchmark="text.normalize",
        dataset=f"maintnorm/{subset}",
        split="train+val -> test" if eval_split == "test" else "train -> val",
        seed=seed,
        metrics={k: round(v, 2) for k, v in metrics.items()},
        wall_s=time.perf_counter() - t0,
        extra={
            "texts_per_s": round(len(test) / max(pred_s, 1e-9), 1),
            "fit_s": round(fit_s, 2),
            "word_frequency": word_frequency,
            "n_train_texts": len(train),
            "n_test_texts": len(test),
            "baseline_mfr": {k: round(v, 2) for k, v in base.items()},
            "published": {"precision": 99.7, "recall": 97.5, "err": 95.8, "source": "MaintNorm, W-NUT 2024"},
        },
    )


PUBLISHED_ENTITY_F1 = {1: 89.88, 5: 87.39, 32: 71.58}


def bench_entities(
    data_dir: Path | None = None, seed: int = 0, granularities: Sequence[int] = (1, 5, 32), test_size: int = 108
) -> BenchResult:
    """CRF tagger on MaintIE gold: seeded random test split of ``test_size`` texts; micro F1 per granularity."""
    from assetgrade.datasets.maintie import GRANULARITIES, IEText, load_maintie
    from assetgrade.modalities.text.entities import EntityTagger

    bad = [g for g in granularities if g not in GRANULARITIES]
    if bad:
        raise ValidationError(f"granularity {bad[0]} is not one of {', '.join(map(str, GRANULARITIES))}",
                              where="--granularity")
    t0 = time.perf_counter()
    texts = load_maintie(data_dir)
    if test_size >= len(texts):
        raise ValidationError(f"the MaintIE data holds {len(texts)} text(s); the entities benchmark holds "
                              f"{test_size} out for test and needs more to train on", where=str(data_dir or "maintie"))
    order = np.random.default_rng(seed).permutation(len(texts))
    test = [texts[i] for i in order[:test_size]]
    train = [texts[i] for i in order[test_size:]]
    metrics: dict[str, Any] = {}
    extra: dict[str, Any] = {"n_train_texts": len(train), "n_test_texts": len(test), "published_f1_micro": {}}
    prog, task = _progress(len(granularities), "entities: train CRFs")
    try:
        for g in granularities:
            tr = [IEText(*t.coarse(g)) for t in train]
            te = [IEText(*t.coarse(g)) for t in test]
            t_fit = time.perf_counter()
            tagger = EntityTagger().fit(tr)
            fit_s = time.perf_counter() - t_fit
            t_pred = time.perf_counter()
            scores = tagger.evaluate(te)
            pred_s = time.perf_counter() - t_pred
            metrics[f"f1_micro_{g}"] = round(scores["f1_micro"], 2)
            metrics[f"precision_{g}"] = round(scores["precision"], 2)
            metrics[f"recall_{g}"] = round(scores["recall"], 2)
            extra[f"fit_s_{g}"] = round(fit_s, 2)
            extra[f"texts_per_s_{g}"] = round(len(te) / max(pred_s, 1e-9), 1)
            extra["support"] = int(scores["support"])
            if g in PUBLISHED_ENTITY_F1:
                extra["published_f1_micro"][str(g)] = PUBLISHED_ENTITY_F1[g]
            prog.advance(task)
    finally:
        prog.stop()
    extra["texts_per_s"] = min(v for k, v in extra.items() if k.startswith("texts_per_s_"))
    extra["published_source"] = "SpERT, MaintIE (LREC-COLING 2024), 108-text random test split"
    return BenchResult("text.entities", "maintie/gold", f"seeded random {test_size}-text test", seed, metrics,
                       time.perf_counter() - t0, extra)


def read_negation_sample(path: Path = NEGATION_FIXTURE) -> list[tuple[str, str, str, str]]:
    """(source, text, target, status) rows of the labelled negation sample (TSV, '#' comments)."""
    if not path.exists():
        raise NotFoundError(f"negation sample {path} does not exist")
    if path.is_dir():
        raise ValidationError("is a folder; the negation sample is one TSV file (source, text, target, status)",
                              where=str(path))
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError as exc:
        raise ValidationError(f"not UTF-8 (byte 0x{exc.object[exc.start]:02x} at offset {exc.start}); re-save it as "
                              "UTF-8", where=str(path)) from None
    rows = []
    for lineno, line in enumerate(lines, start=1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 4 or parts[3] not in ("confirmed", "negated", "uncertain"):
            raise ValidationError(f"expected source, text, target, status; got {line!r}", where=f"{path}:{lineno}")
        if parts[2].lower() not in parts[1].lower():
            raise ValidationError(f"target {parts[2]!r} not in text", where=f"{path}:{lineno}")
        rows.append((parts[0], parts[1], parts[2], parts[3]))
    if not rows:
        raise ValidationError("holds no labelled rows (source, text, target, status)", where=str(path))
    return rows


def _negation_scores(
    rows: Sequence[tuple[str, str, str, str]], status: Callable[[str, tuple[int, int]], str]
) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, f1_score

    gold, pred = [], []
    for _, text, target, lab in rows:
        i = text.lower().find(target.lower())
        gold.append(lab)
        pred.append(status(text, (i, i + len(target))))
    labels = ["confirmed", "negated", "uncertain"]
    per = f1_score(gold, pred, labels=labels, average=None, zero_division=0)
    out = {"accuracy": 100.0 * accuracy_score(gold, pred), "macro_f1": 100.0 * float(np.mean(per))}
    out.update({f"f1_{lab}": 100.0 * float(v) for lab, v in zip(labels, per, strict=True)})
    return out


HAND_SOURCE = "hand"
"""The source column of negation-sample rows written by hand (not taken from a real log): scored apart."""


def bench_negation(path: Path | None = None, seed: int = 0) -> BenchResult:
    """Status accuracy and per-status F1 on the labelled sample; plain NegEx beside the adapted one.

    The headline figures score the rows taken from real logs; rows whose source is ``hand``
    (written by the team, such as the checklist answers none of the real sources holds) are
    scored apart in ``extra["hand_added"]``, alone and together with the real rows.
    """
    from assetgrade.modalities.text.negation import NegationDetector

    t0 = time.perf_counter()
    where = path or NEGATION_FIXTURE
    every = read_negation_sample(where)
    rows = [r for r in every if r[0] != HAND_SOURCE]
    hand = [r for r in every if r[0] == HAND_SOURCE]
    if not rows:
        raise ValidationError(f"holds only rows whose source is {HAND_SOURCE!r} (written by hand); the benchmark's "
                              "headline scores rows from real logs", where=str(where))
    det = NegationDetector()
    metrics = _negation_scores(rows, det.status)
    t_pred = time.perf_counter()
    for _, text, target, _ in rows:
        i = text.lower().find(target.lower())
        det.status(text, (i, i + len(target)))
    pred_s = time.perf_counter() - t_pred
    plain = NegationDetector(adapted=False).status
    extra: dict[str, Any] = {
        "texts_per_s": round(len(rows) / max(pred_s, 1e-9), 1),
        "n_texts": len(rows),
        "status_counts": dict(Counter(r[3] for r in rows)),
        "baseline_plain_negex": _rounded(_negation_scores(rows, plain)),
    }
    if hand:
        extra["hand_added"] = {
            "n_texts": len(hand),
            "status_counts": dict(Counter(r[3] for r in hand)),
            "metrics": _rounded(_negation_scores(hand, det.status)),
            "baseline_plain_negex": _rounded(_negation_scores(hand, plain)),
            "metrics_with_real_rows": _rounded(_negation_scores(every, det.status)),
            "baseline_plain_negex_with_real_rows": _rounded(_negation_scores(every, plain)),
        }
    return BenchResult(
        "text.negation", "negation_sample (real work orders, MaintIE, MaintNorm texts)", "all (rules, no training)",
        seed, _rounded(metrics), time.perf_counter() - t0, extra,
    )


def _rounded(metrics: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 2) for k, v in metrics.items()}


def _classify_folds(y: Any, groups: Any, folds: int, seed: int, label_column: str,
                    group_column: str | None) -> list[tuple[Any, Any]]:
    """Seeded stratified (grouped) folds; a data set too small for them is refused, not a scikit-learn traceback."""
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    if groups is None:
        largest = max(Counter(y.tolist()).values())
        if folds > largest:
            raise ValidationError(f"{folds} folds, but the largest class of {label_column!r} has {largest} rows "
                                  f"({len(y)} texts kept); lower --folds", where="--folds")
        cv: Any = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
        return [(tr, te) for tr, te in cv.split(np.zeros(len(y)), y) if len(te)]
    n_groups = len(set(groups.tolist()))
    if n_groups < 2:
        raise ValidationError(f"grouped folds need at least 2 groups; column {group_column!r} holds one "
                              f"({groups[0]!r}) on every kept row", where="--group-column")
    cv = StratifiedGroupKFold(n_splits=min(folds, n_groups), shuffle=True, random_state=seed)
    return [(tr, te) for tr, te in cv.split(np.zeros(len(y)), y, groups) if len(te)]


def bench_classify(
    path: Path,
    text_column: str,
    label_column: str,
    group_column: str | None = None,
    seed: int = 0,
    folds: int = 5,
    min_count: int = 20,
    dataset: str = "csv",
) -> BenchResult:
    """Text-only classification with grouped, seeded, stratified CV (TF-IDF word+char n-grams, logistic regression).

    Rows that cannot be read (bad quoting, more cells than columns, no group) are counted in
    ``bad_rows`` and named (first 20) in ``bad_row_errors``; rows without text or label
    (empty, ``NA``), labelled ``Unspecified`` or of a class with fewer than ``min_count`` rows
    are counted in ``dropped``.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.pipeline import make_pipeline, make_union

    from assetgrade.datasets.work_orders import read_labelled_texts

    t0 = time.perf_counter()
    if not path.exists():
        raise NotFoundError(f"CSV {path} does not exist")
    if label_column in (text_column, group_column):
        raise ValidationError(f"the label column {label_column!r} is also the text or group column: the score would "
                              "measure copying the label", where="--label-column")
    table = read_labelled_texts(path, text_column, label_column, group_column)
    dropped = dict(table.dropped)
    dropped["unspecified"] = sum(lab == "Unspecified" for lab in table.labels)
    counts = Counter(lab for lab in table.labels if lab != "Unspecified")
    keep = {lab for lab, n in counts.items() if n >= min_count}
    rows = [i for i, lab in enumerate(table.labels) if lab in keep]
    dropped["rare_class"] = sum(n for lab, n in counts.items() if lab not in keep)
    if len(keep) < 2:
        unread = f"; {len(table.errors)} row(s) could not be read, first: {table.errors[0]}" if table.errors else ""
        raise ValidationError(
            f"fewer than 2 classes with >= {min_count} rows in {label_column!r} ({len(counts)} class(es) among "
            f"{len(table.labels)} labelled rows: {dict(counts.most_common(5))}); lower --min-count or pick "
            "another --label-column" + unread, where=str(path))
    texts = [table.texts[i] for i in rows]
    y = np.array([table.labels[i] for i in rows], dtype=object)
    groups = None if table.groups is None else np.array([table.groups[i] for i in rows], dtype=object)
    splits = _classify_folds(y, groups, folds, seed, label_column, group_column)
    pred = np.empty(len(y), dtype=object)
    pred_s = 0.0
    for tr, te in splits:
        model = make_pipeline(
            make_union(
                TfidfVectorizer(lowercase=True, ngram_range=(1, 2), min_df=1, sublinear_tf=True),
                TfidfVectorizer(lowercase=True, analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True),
            ),
            LogisticRegression(C=10.0, max_iter=3000, class_weight="balanced"),
        )
        model.fit([texts[i] for i in tr], y[tr])
        t_pred = time.perf_counter()
        pred[te] = model.predict([texts[i] for i in te])
        pred_s += time.perf_counter() - t_pred
    majority = Counter(y.tolist()).most_common(1)[0][1] / len(y)
    metrics = {
        "accuracy": round(100.0 * accuracy_score(y, pred), 2),
        "macro_f1": round(100.0 * f1_score(y, pred, average="macro"), 2),
    }
    return BenchResult(
        "text.classify",
        f"{dataset}:{path.name}",
        f"{len(splits)}-fold {'grouped by ' + group_column if group_column else 'stratified'} CV",
        seed,
        metrics,
        time.perf_counter() - t0,
        {
            "texts_per_s": round(len(y) / max(pred_s, 1e-9), 1),
            "label_column": label_column,
            "text_column": text_column,
            "n_rows": table.n_rows,
            "n_texts": len(y),
            "n_classes": len(keep),
            "min_count": min_count,
            "folds_requested": folds,
            "dropped": dropped,
            "bad_rows": len(table.errors),
            "bad_row_errors": [str(e) for e in table.errors[:20]],
            "notices": table.notices,
            "baseline_majority_accuracy": round(100.0 * majority, 2),
            "model": "tf-idf word 1-2 + char 2-5 grams, logistic regression (balanced)",
        },
    )


_EXTRACT_SHOWN = ("n_entries", "total_cost", "n_repairs", "n_replacements", "n_recurring", "fm_leak", "fm_breakage",
                  "fm_crack", "days_since_last_repair")
"""The per-asset features ``bench text --task extract`` prints."""


def bench_extract(data_dir: Path | None = None, seed: int = 0, embedder: str = "hashing") -> BenchResult:
    """Excavator work orders → per-asset records → TextExtractor; log entries per second of extraction."""
    from assetgrade.datasets.work_orders import load_work_orders
    from assetgrade.modalities.text.extractor import TextExtractor
    from assetgrade.store.records import AssetRecord

    if embedder not in ("minilm", "hashing", "none"):
        raise ValidationError(f"unknown embedder {embedder!r}; allowed: minilm, hashing, none", where="--embedder")
    t0 = time.perf_counter()
    wo = load_work_orders(data_dir)
    dataset = f"csv:{data_dir.name}" if data_dir is not None and data_dir.is_file() else "excavator-work-orders/cleaned"
    if not wo.n_entries:  # else it printed a speed of 0 entries/s
        first = f"; {len(wo.errors)} bad row(s), first: {wo.errors[0]}" if wo.errors else ""
        raise ValidationError(f"no work order could be read from {dataset}{first}", where=str(data_dir or dataset))
    records = [AssetRecord(asset_id=a, asset_type="excavator", logs=tuple(es)) for a, es in sorted(wo.by_asset.items())]
    ext = TextExtractor(embedder=embedder).fit(records)
    if ext.embedder_ is not None:
        ext.embedder_.clear_cache()  # time extraction of texts the model has not seen
    t_ext = time.perf_counter()
    block = ext.extract(records)
    ext_s = time.perf_counter() - t_ext
    names = block.feature_names
    found = [f for v in block.findings.values() for f in v]
    per_asset = {a: {k: round(float(v), 1) for k, v in zip(names, row, strict=True) if k in _EXTRACT_SHOWN}
                 for a, row in zip(block.asset_ids, block.features, strict=True)}
    return BenchResult(
        "text.extract", dataset, "all assets", seed,
        {
            "entries_per_s": round(wo.n_entries / max(ext_s, 1e-9), 1),
            "n_findings": len(found),
            "findings_by_status": dict(sorted(Counter(f.status for f in found).items())),
            "confirmed_by_defect": dict(sorted(Counter(
                f.defect or "unlinked" for f in found if f.status == "confirmed").items())),
        },
        time.perf_counter() - t0,
        {
            "texts_per_s": round(wo.n_entries / max(ext_s, 1e-9), 1),
            "embedder": embedder,
            "n_entries": wo.n_entries,
            "n_assets": len(records),
            "bad_rows": [str(e) for e in wo.errors],
            "assets": per_asset,
        },
    )

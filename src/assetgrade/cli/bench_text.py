"""``assetgrade bench text``: maintenance-log benchmarks (normalise, entities, negation, classify, extract)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, get_args

import typer

from assetgrade.cli.choices import Embedder, EvalSplit
from assetgrade.cli.jsonout import json_output
from assetgrade.cli.options import SEED_MAX, at_least, valid_seed

__all__ = ["register"]

Task = Literal["normalize", "entities", "negation", "classify", "extract"]
TextDataset = Literal["maintnorm", "maintie", "csv", "excavator", "fixture"]
TASKS: tuple[str, ...] = get_args(Task)
DATASETS: tuple[str, ...] = get_args(TextDataset)
TASK_DATASETS: dict[str, tuple[str, ...]] = {
    "normalize": ("maintnorm",),
    "entities": ("maintie",),
    "negation": ("fixture",),
    "classify": ("excavator", "csv"),
    "extract": ("excavator",),
}
"""The data sets each task reads (the first is its default)."""


def register(app: typer.Typer) -> None:
    """Add the ``text`` benchmark command to the ``bench`` sub-app."""

    @app.command("text")
    def bench_text(
        task: Annotated[Task, typer.Option(help="the benchmark to run")] = "normalize",
        dataset: Annotated[TextDataset | None, typer.Option(
            help="the data set; it must fit the task: " + "; ".join(f"{t}: {', '.join(d)}"
                                                                   for t, d in TASK_DATASETS.items())
            + " (default: the first)")] = None,
        data_dir: Annotated[
            Path | None, typer.Option("--data-dir", help="data folder or file (CSV for classify, TSV for negation)")
        ] = None,
        text_column: Annotated[str, typer.Option(help="CSV text column")] = "OriginalShorttext",
        label_column: Annotated[str, typer.Option(help="CSV label column")] = "FM",
        group_column: Annotated[str | None, typer.Option(help="CSV group column for grouped CV")] = None,
        granularity: Annotated[list[int] | None, typer.Option(help="entity granularity 1, 5, 32 (repeatable)")] = None,
        embedder: Annotated[Embedder, typer.Option(help="extract task: the sentence embedder")] = "hashing",
        folds: Annotated[int, typer.Option(callback=at_least(2), help="classify: CV folds")] = 5,
        min_count: Annotated[int, typer.Option(callback=at_least(1),
                                               help="classify: drop classes with fewer rows")] = 20,
        json_path: Annotated[Path | None, typer.Option("--json", help="also write the JSON object here"
                                                       " ('-': stdout only)",
                                                       callback=json_output(printed_anyway=True))] = None,
        seed: Annotated[int, typer.Option(callback=valid_seed(), help=f"random seed, 0..{SEED_MAX}")] = 0,
        eval_split: Annotated[
            EvalSplit, typer.Option(help="normalize: test (train on train+val) or val (train on train)")
        ] = "test",
        word_frequency: Annotated[
            bool, typer.Option(help="normalize: English word counts in the candidate ranker")
        ] = True,
    ) -> None:
        """Run one maintenance-log benchmark and print one JSON object."""
        from assetgrade.bench import text as bt
        from assetgrade.bench.report import write_result
        from assetgrade.datasets.paths import dataset_dir
        from assetgrade.errors import ValidationError

        fits = TASK_DATASETS[task]
        if dataset is not None and dataset not in fits:
            raise ValidationError(f"{dataset!r} does not fit --task {task}, which reads {' or '.join(fits)}",
                                  where="--dataset")
        if task == "negation" and data_dir is not None and data_dir.is_dir():
            raise ValidationError(f"{data_dir} is a folder; --task negation reads one TSV file (source, text, "
                                  "target, status)", where="--data-dir")
        if task == "normalize":
            result = bt.bench_normalize(data_dir, seed, eval_split=eval_split, word_frequency=word_frequency)
        elif task == "entities":
            result = bt.bench_entities(data_dir, seed, tuple(granularity or (1, 5, 32)))
        elif task == "negation":
            result = bt.bench_negation(data_dir, seed)
        elif task == "extract":
            result = bt.bench_extract(data_dir, seed, embedder)
        else:
            if dataset in (None, "excavator"):
                path = dataset_dir("excavator-work-orders", data_dir)
                if path.is_dir():
                    path = path / "excavators-cleaned.csv"
                group: str | None = group_column or "Asset"
                name = "excavator"
            else:
                if data_dir is None:
                    raise ValidationError("--dataset csv needs --data-dir FILE (a CSV)", where="--data-dir")
                path, name = data_dir, "csv"
                group = group_column
            result = bt.bench_classify(
                path, text_column, label_column, group, seed, folds=folds, min_count=min_count, dataset=name
            )
        typer.echo(write_result(result, json_path))

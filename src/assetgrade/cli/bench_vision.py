"""``assetgrade bench vision`` and ``assetgrade bench anomaly``: real-image benchmarks printing one JSON object."""

from __future__ import annotations

from pathlib import Path

import typer

from assetgrade.cli.choices import AnomalyDataset, Backbone, ImageDataset, NeuClass, VisionBenchHead
from assetgrade.cli.jsonout import json_output
from assetgrade.cli.options import SEED_MAX, at_least, interval, output_folder, positive, valid_seed

__all__ = ["register"]


def _penalty(text: str) -> float | None:
    """``--C``: a positive number, or ``auto`` (None: chosen per training fold)."""
    from assetgrade.errors import ValidationError

    if text.strip().lower() == "auto":
        return None
    try:
        value = float(text)
    except ValueError:
        raise ValidationError(f"--C {text!r}: give a positive number or 'auto'", where="--C") from None
    if not value > 0:
        raise ValidationError(f"--C {text!r} must be positive", where="--C")
    return value


def _side(param: typer.CallbackParam, value: int) -> int:
    """An input side for the backbone: a multiple of 32 in 32..1024, checked before any image is read."""
    from assetgrade.errors import ValidationError

    if not (32 <= value <= 1024 and value % 32 == 0):
        raise ValidationError(f"{value} is not allowed; it must be a multiple of 32 in 32..1024",
                              where=f"--{(param.name or 'size').replace('_', '-')}")
    return value


def register(app: typer.Typer) -> None:
    """Add the vision and anomaly benchmarks to the ``bench`` sub-app."""

    @app.command("vision")
    def bench_vision(
        dataset: ImageDataset = typer.Option("neu", help="elpv, neu, or folder (--data-dir DIR/<class>/<images>)"),
        data_dir: Path | None = typer.Option(None, help="data folder (default: shared data / installed package)"),
        folds: int = typer.Option(5, callback=at_least(2), help="stratified K-fold cross-validation by asset"),
        json_path: Path | None = typer.Option(None, "--json", callback=json_output(printed_anyway=True),
                                              help="also write the JSON result here ('-': stdout only)"),
        out_dir: Path | None = typer.Option(None, callback=output_folder(),
                                            help="where PNG plots go (default: beside --json)"),
        backbone: Backbone = typer.Option("lite0", help="EfficientNet-Lite backbone"),
        image_size: int = typer.Option(224, callback=_side, help="input side for the linear heads (multiple of 32)"),
        head: VisionBenchHead = typer.Option(
            "auto",
            help="auto (= logistic; with --finetune: finetune-auto), logistic, ordinal or finetune; all are reported",
        ),
        C: str = typer.Option(
            "0.02", "--C", help="inverse L2 strength of the linear heads, or 'auto': chosen inside each training "
            "fold from 0.001 / 0.003 / 0.02 / 0.1 by grouped 3-fold log-loss"
        ),
        finetune: bool = typer.Option(False, "--finetune", help="fine-tune the last blocks per fold on the CPU"),
        finetune_size: int = typer.Option(224, callback=_side, help="input side for fine-tuning (multiple of 32)"),
        finetune_blocks: int = typer.Option(1, callback=at_least(0), help="how many last MBConv blocks to train"),
        finetune_epochs: int = typer.Option(12, callback=at_least(1),
                                            help="epochs per fold (stops earlier at the budget)"),
        finetune_budget: float = typer.Option(60.0, callback=positive(), help="training seconds per fold"),
        tta: bool = typer.Option(False, "--tta", help="test-time augmentation (flips)"),
        augment: bool = typer.Option(
            False, "--augment", help="also train the linear heads on the flipped views and average over them "
            "(the vision extractor's default); the headline is then <head>+aug"
        ),
        per_class: int | None = typer.Option(None, callback=at_least(1),
                                             help="use only N images per class (quick runs)"),
        seed: int = typer.Option(0, callback=valid_seed(), help=f"random seed, in [0, {SEED_MAX}]"),
        cache_dir: Path | None = typer.Option(None, help="feature cache root (default ~/.cache/assetgrade)"),
        no_heatmaps: bool = typer.Option(False, "--no-heatmaps", help="skip the CAM peak-in-box measurement"),
        images_per_asset: int = typer.Option(
            1, callback=at_least(1),
            help="1: one image per asset (the default); N >= 2: deal the images into assets of N graded "
            "by their worst image and compare the plain and multiple-instance (MIL) heads at the asset level "
            "(ordered labels only)"
        ),
        mil_rounds: int = typer.Option(5, callback=at_least(1),
                                       help="with --images-per-asset: EM rounds of the MIL head"),
    ) -> None:
        """Grade / defect-type accuracy, QWK, ECE, throughput on ELPV, NEU or an image folder."""
        from assetgrade.bench.report import write_result
        from assetgrade.bench.vision import VisionBenchConfig, run_vision_bench

        cfg = VisionBenchConfig(
            dataset=dataset,
            data_dir=data_dir,
            folds=folds,
            seed=seed,
            backbone=backbone,
            image_size=image_size,
            head=head,
            C=_penalty(C),
            finetune=finetune,
            finetune_size=finetune_size,
            finetune_blocks=finetune_blocks,
            finetune_epochs=finetune_epochs,
            finetune_budget_s=finetune_budget,
            tta=tta,
            augment=augment,
            per_class=per_class,
            cache_dir=cache_dir,
            out_dir=out_dir or (json_path.parent if json_path else None),
            heatmaps=not no_heatmaps,
        )
        if images_per_asset != 1:
            from assetgrade.bench.vision_mil import run_vision_mil_bench

            typer.echo(write_result(run_vision_mil_bench(cfg, images_per_asset, mil_rounds), json_path))
            return
        typer.echo(write_result(run_vision_bench(cfg), json_path))

    @app.command("anomaly")
    def bench_anomaly(
        good: Path | None = typer.Option(None, help="folder of known-good images"),
        defect: Path | None = typer.Option(None, help="folder of defective images"),
        dataset: AnomalyDataset | None = typer.Option(None, help="neu: use NEU-DET with --good-class as good"),
        good_class: NeuClass = typer.Option("patches", help="the NEU class treated as good"),
        data_dir: Path | None = typer.Option(None, help="NEU-DET folder (default: shared data)"),
        json_path: Path | None = typer.Option(None, "--json", callback=json_output(printed_anyway=True),
                                              help="also write the JSON result here ('-': stdout only)"),
        out_dir: Path | None = typer.Option(None, callback=output_folder(),
                                            help="where PNGs go (default: beside --json)"),
        target_false_alarm: float = typer.Option(
            0.01, callback=interval(0.0, 1.0, low_open=True, high_open=True),
            help="share of good images allowed to alarm, in (0, 1)",
        ),
        coreset_size: int = typer.Option(2000, callback=at_least(1), help="memory-bank size (patches)"),
        image_size: int = typer.Option(224, callback=_side, help="input side (multiple of 32)"),
        per_class: int | None = typer.Option(
            None, callback=at_least(5),
            help="NEU: at most N images per class (at least 5: the good class needs 5 images)"
        ),
        seed: int = typer.Option(0, callback=valid_seed(), help=f"random seed, in [0, {SEED_MAX}]"),
        cache_dir: Path | None = typer.Option(None, help="cache root for the ONNX graph"),
    ) -> None:
        """PatchCore-style anomaly detection against known-good images: image AUROC and alarm rates."""
        from assetgrade.bench.anomaly import AnomalyBenchConfig, run_anomaly_bench
        from assetgrade.bench.report import write_result

        cfg = AnomalyBenchConfig(
            good=good,
            defect=defect,
            dataset=dataset,
            good_class=good_class,
            data_dir=data_dir,
            target_false_alarm=target_false_alarm,
            coreset_size=coreset_size,
            image_size=image_size,
            per_class=per_class,
            seed=seed,
            cache_dir=cache_dir,
            out_dir=out_dir or (json_path.parent if json_path else None),
        )
        typer.echo(write_result(run_anomaly_bench(cfg), json_path))

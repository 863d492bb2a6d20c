"""``assetgrade bench fusion``: the Grader on the linked multimodal benchmark, one JSON object and a PNG."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import typer

from assetgrade.cli.choices import Fuser, FusionSource, RulFleet, VisionHead, VisionQuality
from assetgrade.cli.jsonout import json_output
from assetgrade.cli.options import SEED_MAX, at_least, output_file, plot_beside, valid_seed

__all__ = ["register"]


VisionMil = Literal["auto", "on", "off"]
"""``--vision-mil``: the vision extractor's ``mil`` as a word (auto, True, False)."""


def _mil_setting(text: VisionMil) -> bool | str:
    """The extractor's ``mil`` for a ``--vision-mil`` word (Click has checked it is one of VisionMil).

    >>> from typing import get_args
    >>> [_mil_setting(w) for w in get_args(VisionMil)]
    ['auto', True, False]
    """
    settings: dict[str, bool | str] = {"auto": "auto", "on": True, "off": False}
    return settings[text]


MAX_SEEDS = 1000
"""The most seeds ``--seeds`` may name (checked before a range is spelled out)."""


def _seed_list(text: str) -> list[int]:
    """``0,1,2`` or ``0-4`` (or a mix: ``0-2,7``) as a list of seeds."""
    from assetgrade.errors import ValidationError

    seeds: list[int] = []
    for part in (p.strip() for p in text.split(",")):
        try:
            if "-" in part.lstrip("-"):
                a, b = part.split("-", 1)
                lo, hi = int(a), int(b)
                if hi < lo:
                    raise ValueError(part)
            else:
                lo = hi = int(part)
        except ValueError:
            msg = f"{part!r} in {text!r} is not a seed or a range such as 0-4"
            raise ValidationError(msg, where="--seeds") from None
        if not 0 <= lo <= hi <= SEED_MAX:  # checked before a range is spelled out
            raise ValidationError(f"{part!r} in {text!r} is outside [0, {SEED_MAX}]", where="--seeds")
        if len(seeds) + hi - lo + 1 > MAX_SEEDS:  # each seed is a full benchmark run
            raise ValidationError(f"{text!r} names more than {MAX_SEEDS} seeds; each is a whole run", where="--seeds")
        seeds.extend(range(lo, hi + 1))
    return seeds


def register(app: typer.Typer) -> None:
    """Add the fusion benchmark to the ``bench`` sub-app."""

    @app.command("fusion")
    def bench_fusion(
        json_path: Path | None = typer.Option(None, "--json", help="also write the JSON result here ('-': stdout only)",
                                               callback=json_output(printed_anyway=True)),
        seed: int = typer.Option(0, callback=valid_seed(), help=f"random seed, in [0, {SEED_MAX}]"),
        seeds: str | None = typer.Option(
            None, help="several runs, e.g. '0-4' or '0,3,7': one fresh benchmark draw, split and grader per seed, "
            "their test predictions pooled for calibration and coverage (replaces --seed)"
        ),
        n_assets: int = typer.Option(600, callback=at_least(1),
                                     help="linked assets to build (60/20/20 train/calibration/test)"),
        folds: int = typer.Option(3, callback=at_least(2), help="grouped folds for the out-of-fold training"),
        piece_groups: int | None = typer.Option(
            None, callback=at_least(2),
            help="disjoint groups of engine units and texts per split, the CV groups (default: the "
            "larger of 3 and --folds; a different count deals different pieces to the assets)"
        ),
        source: FusionSource = typer.Option("shared", help="'shared' (full C-MAPSS + MaintIE) or 'sample' (shipped)"),
        data_dir: Path | None = typer.Option(None, help="shared data (default: $ASSETGRADE_DATA or ../shared/data)"),
        coreset_size: int = typer.Option(500, callback=at_least(1), help="vision PatchCore memory-bank size"),
        review_on_contradiction: bool = typer.Option(
            False, help="send contradictions to review (the linked modalities are independent by construction)"
        ),
        oof_calibration: bool = typer.Option(
            False, "--oof-calibration", help="calibrate out-of-fold on train + calibration instead of on the split"
        ),
        png: Path | None = typer.Option(None, help="risk-coverage PNG, with --seeds the pooled reliability diagram "
                                        "(default: beside --json, else none)", callback=output_file()),
        rul_fleet: RulFleet = typer.Option(
            "auto", help="histories for the sensors' RUL model: 'cmapss-test' (the 100 FD001 test units, never "
            "benchmark assets; from the shared data, or the package's copy with --source sample), 'none' (window "
            "features only) or 'auto' (the first)"
        ),
        fuser: Fuser = typer.Option(
            "auto", help="fusion model: 'latent' (a table from the joint modality levels to the grade, learned by "
            "EM), 'logistic' (on the modality distributions), 'lightgbm', or 'auto' (the Grader's default: latent "
            "when every modality gives a distribution, else logistic)"
        ),
        monotone: bool = typer.Option(
            False, "--monotone", help="latent fusion: make the learned table stochastically monotone in every "
            "modality's level (a worse reading never makes a worse grade less likely)"
        ),
        images_per_asset: int = typer.Option(
            1, callback=at_least(1), help="ELPV cells photographed per asset; the image level is the worst cell's"
        ),
        vision_mil: VisionMil = typer.Option(
            "auto", help="vision head with several photos per asset: 'auto' (multiple-instance learning when "
            "assets have several photos), 'on' or 'off' (every photo labelled with the asset's image level)"
        ),
        vision_head: VisionHead = typer.Option(
            "auto", help="vision grade head: 'ordinal' (cumulative link), 'logistic' (multinomial) or 'auto' (the "
            "one with the lower grouped cross-validated log-loss, chosen per fit)"
        ),
        vision_quality: VisionQuality = typer.Option(
            "learned", help="how much a quality flag lowers a photo's confidence: 'learned' (from out-of-fold "
            "predictions on the training photos) or 'fixed' (the documented defaults)"
        ),
        vision_augment: str = typer.Option(
            "hflip,vflip", help="label-preserving views of each photo the vision heads train on and average over "
            "(comma-separated: hflip, vflip, rot+N, rot-N), or 'none'"
        ),
    ) -> None:
        """Fused grader vs each single modality on the linked benchmark's test split."""
        from assetgrade.bench.fusion import run_fusion_benchmark, run_fusion_seeds
        from assetgrade.bench.report import write_result
        from assetgrade.cli.grading import status

        seed_list = _seed_list(seeds) if seeds is not None else None
        png = plot_beside(json_path, png)
        settings: dict[str, Any] = dict(
            n_assets=n_assets, folds=folds, piece_groups=piece_groups, source=source, data_dir=data_dir,
            coreset_size=coreset_size, review_on_contradiction=review_on_contradiction,
            split_calibration=not oof_calibration,
            rul_fleet=None if rul_fleet == "none" else rul_fleet, fuser=fuser, monotone=monotone,
            images_per_asset=images_per_asset, vision_mil=_mil_setting(vision_mil), vision_head=vision_head,
            vision_quality=vision_quality,
            vision_augment=() if vision_augment.strip().lower() == "none"
            else tuple(v.strip() for v in vision_augment.split(",") if v.strip()),
        )
        with status("bench fusion") as step:
            if seed_list is not None:
                result = run_fusion_seeds(seed_list, progress=step, png=png, **settings)
            else:
                result = run_fusion_benchmark(seed=seed, png=png, progress=step, **settings)
        typer.echo(write_result(result, json_path))

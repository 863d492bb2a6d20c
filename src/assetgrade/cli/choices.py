"""The fixed sets of words CLI options take, as ``Literal`` types Typer turns into Click choices.

Declared as a ``Literal``, an option lists its values in ``--help`` and a typo is a usage error
(exit 2, ``Invalid value for '--status'``) before any work starts. The library keeps its own check
for callers of the Python API.

Each set mirrors the library's constant named beside it. The constants are not imported here
because their modules pull in SQLAlchemy or NumPy, which would add a second or more to every
``assetgrade`` call, ``--help`` included; ``tests/unit/test_cli_choices.py`` fails when a set
here and its library constant differ, so the library stays the one source of truth.

Examples
--------
>>> from typing import get_args
>>> get_args(ModelStatus)
('candidate', 'champion', 'retired')
"""

from __future__ import annotations

from typing import Literal

__all__ = [
    "AnomalyDataset",
    "Backbone",
    "Backend",
    "Embedder",
    "EvalSplit",
    "Fuser",
    "FusionSource",
    "ImageDataset",
    "LabelAs",
    "LabelNoiseMethod",
    "LabelRequestStatus",
    "LogLevel",
    "ModelStatus",
    "NeuClass",
    "NumericTime",
    "Origin",
    "Role",
    "RulFleet",
    "SensorsDataset",
    "SynthMode",
    "VisionBenchHead",
    "VisionHead",
    "VisionQuality",
]

ModelStatus = Literal["candidate", "champion", "retired"]
"""``models list --status``: ``store.lifecycle_schema.MODEL_STATUSES``."""

LabelRequestStatus = Literal["open", "done", "withdrawn"]
"""``review requests --status``: ``store.requests.LABEL_REQUEST_STATUSES``."""

Role = Literal["admin", "reviewer", "station"]
"""``tokens create --role``: ``store.auth_schema.ROLES``."""

Origin = Literal["real", "synthetic", "augmented"]
"""``ingest ... --origin``: ``store.schema.ORIGINS``."""

NumericTime = Literal["auto", "number"]
"""``ingest series --numeric-time``, ``sensors fit-rul --numeric-time``: ``ingest.series_options.NUMERIC_TIME``."""

LabelAs = Literal["defect", "grade", "none"]
"""``ingest folder --label-as``: checked by ``ingest.folders.folder_items``."""

Backend = Literal["local", "ray"]
"""``batch ... --backend``: checked by ``batch.backends.make_executor``."""

LogLevel = Literal["critical", "error", "warning", "info", "debug", "trace"]
"""``serve --log-level``: uvicorn's ``uvicorn.config.LOG_LEVELS`` (another name failed inside uvicorn)."""

SynthMode = Literal["defects", "augmented", "mixed"]
"""``bench fidelity --synth``: ``bench.fidelity.SYNTH_MODES``."""

Fuser = Literal["logistic", "lightgbm", "latent", "auto"]
"""``bench fusion --fuser``: ``fusion.combine.MODELS``."""

FusionSource = Literal["shared", "sample"]
"""``bench fusion --source``: the ``source`` of ``datasets.linked.build_linked``."""

RulFleet = Literal["cmapss-test", "none", "auto"]
"""``bench fusion --rul-fleet``: checked by ``bench.fusion.run_fusion_benchmark`` (``none`` is None there)."""

VisionHead = Literal["ordinal", "logistic", "auto"]
"""``bench fusion --vision-head``: the vision extractor's ``grade_head``."""

VisionQuality = Literal["learned", "fixed"]
"""``bench fusion --vision-quality``: the vision extractor's ``quality_factors``."""

ImageDataset = Literal["elpv", "neu", "folder"]
"""``bench vision|active|label-noise --dataset``: checked by ``bench.vision`` and ``bench.review_data``."""

VisionBenchHead = Literal["auto", "logistic", "ordinal", "finetune"]
"""``bench vision --head``: checked by ``bench.vision``."""

Backbone = Literal["lite0", "lite2"]
"""``bench vision --backbone``: the keys of ``modalities.vision.backbone.BACKBONES``."""

LabelNoiseMethod = Literal["prune_by_noise_rate", "prune_by_class", "both", "confident_joint"]
"""``bench label-noise --method``: ``bench.label_noise.METHODS``."""

NeuClass = Literal["crazing", "inclusion", "patches", "pitted_surface", "rolled-in_scale", "scratches"]
"""``bench anomaly --good-class``: ``datasets.neu.NEU_CLASSES``."""

AnomalyDataset = Literal["neu"]
"""``bench anomaly --dataset``: checked by ``bench.anomaly`` (otherwise --good/--defect folders)."""

SensorsDataset = Literal["cmapss"]
"""``bench sensors --dataset``: checked by ``bench.sensors.run_sensors_benchmark``."""

Embedder = Literal["minilm", "hashing", "none"]
"""``bench text --embedder``: checked by ``bench.text.bench_extract``."""

EvalSplit = Literal["test", "val"]
"""``bench text --eval-split``: checked by ``bench.text.bench_normalize``."""

"""A small workspace with a trained grader: labelled and unlabelled assets with maintenance logs, for label rounds."""

from __future__ import annotations

import hashlib
from pathlib import Path

from assetgrade.rest import create_token
from assetgrade.store.repository import ProvenanceInfo, add_asset, add_evidence, add_label
from assetgrade.workspace import Workspace

WORDS = {"A": "no defects, runs clean", "B": "light wear and minor scratches", "C": "corrosion and a slow oil leak",
         "D": "fatigue crack, severe leak, seized bearing"}
N_LABELLED = 24
N_UNLABELLED = 8
ROLES = {"admin": "admin", "alice": "reviewer", "station-1": "station"}


def unlabelled_ids() -> list[str]:
    """The assets without a grade label, the ones a round may ask for."""
    return [f"new-{i:02d}" for i in range(N_UNLABELLED)]


def seed_trained_workspace(path: Path) -> dict[str, str]:
    """Create a workspace at ``path`` with 24 labelled and 8 unlabelled pumps, a text-only grader saved in
    ``models/grader``, and tokens admin, alice (reviewer) and station-1; returns the plain tokens by name."""
    from assetgrade.grader import Grader

    with Workspace.init(path) as ws:
        with ws.session() as s:
            for i in range(N_LABELLED + N_UNLABELLED):
                labelled = i < N_LABELLED
                aid, g = (f"pump-{i:02d}" if labelled else f"new-{i - N_LABELLED:02d}"), "ABCD"[i % 4]
                add_asset(s, aid, asset_type="pump", value=1000.0)
                other = WORDS["ABCD"[i // 4 % 4]]  # the unlabelled ones mix two grades' words
                text = f"Inspection {i}: {WORDS[g]}." if labelled else f"Check {i}: {WORDS[g]}, {other}."
                add_evidence(s, asset_id=aid, kind="log", sha256=hashlib.sha256(text.encode()).hexdigest(), text=text,
                             evidence_id=f"{aid}/log", provenance=ProvenanceInfo(source="cmms"))
                if labelled:
                    add_label(s, asset_id=aid, kind="grade", value=g, annotator="expert")
            tokens = {name: create_token(s, name=name, role=role, actor="test")[0] for name, role in ROLES.items()}
        Grader(extractors=("text",), folds=2, seed=0,
               extractor_settings={"text": {"embedder": "hashing"}}).fit(ws).save(ws.models_dir / "grader")
    return tokens

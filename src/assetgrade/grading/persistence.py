"""Saving a trained Grader to a bundle folder and loading it back, with the bundle's description checked."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from assetgrade.errors import ValidationError
from assetgrade.grading.bundle import PICKLE_NAME, load_bundle, read_bundle_info, save_bundle

if TYPE_CHECKING:
    from assetgrade.grader import Grader

__all__ = ["labels_position", "load_grader", "save_grader"]

G = TypeVar("G", bound="Grader")


def save_grader(grader: Grader, path: Path) -> Path:
    """Write ``grader`` to the folder ``path`` (``grader.pkl`` + ``bundle.json``); returns the folder.

    Extractors' runtime sessions (an ONNX backbone) are left out of the pickle and rebuilt on load;
    ``grader.bundle_sha_`` becomes the saved pickle's sha256.
    """
    held = {m: getattr(ex, "_backbone", None) for m, ex in grader.extractors_.items()}
    try:
        for m, ex in grader.extractors_.items():  # runtime sessions are rebuilt on load
            if held[m] is not None:
                ex._backbone = None  # type: ignore[attr-defined]
        grader.__dict__.pop("bundle_sha_", None)  # a property of the saved file, not of what is pickled
        folder = save_bundle(grader, {**grader.info(), **labels_position(grader)}, Path(path))
    finally:
        for m, ex in grader.extractors_.items():
            if held[m] is not None:
                ex._backbone = held[m]  # type: ignore[attr-defined]
    grader.bundle_sha_ = str(read_bundle_info(folder)["pickle_sha256"])
    return folder


def labels_position(grader: Grader) -> dict[str, int | str | None]:
    """What ``bundle.json`` records beside :meth:`Grader.info <assetgrade.grader.Grader.info>`: ``labels_seq`` and
    ``labels_seq_hash``, the audit chain position just before fit read a workspace's labels (None: given records,
    or a grader pickled before fit kept it), which registration copies into the lineage for the retrain trigger."""
    return {"labels_seq": getattr(grader, "labels_seq_", None), "labels_seq_hash": getattr(grader, "labels_seq_hash_",
                                                                                              None)}


def load_grader(cls: type[G], path: Path) -> G:
    """The ``cls`` instance saved in the bundle folder ``path`` (the pickle's sha256 is checked first).

    Refuses another kind of object, and a ``bundle.json`` whose model version, manifest hash or
    grades differ from the pickle's (the bundle was edited by hand).
    """
    obj, info = load_bundle(Path(path))
    if not isinstance(obj, cls):
        raise ValidationError(f"{path} holds a {type(obj).__name__}, not a Grader", where=str(path))
    for key, have in (("model_version", getattr(obj, "version_", None)),
                      ("manifest_hash", getattr(obj, "manifest_hash_", None)),
                      ("grades", list(getattr(obj, "grades_", ()) or ()))):
        if key in info and info[key] != have:  # the pickle is hashed; bundle.json's description is checked here
            raise ValidationError(f"bundle.json says {key} {info[key]!r} but {PICKLE_NAME} holds {have!r}: the "
                                  "bundle was edited; save the grader again", where=str(Path(path) / "bundle.json"))
    obj.bundle_sha_ = str(info["pickle_sha256"])
    return obj

"""Saving and loading a trained Grader: a folder with ``grader.pkl`` and a readable ``bundle.json``.

``bundle.json`` records the model version, the training data's manifest hash, the ontology
version, the code version (``assetgrade.__version__`` and the git commit when the package runs
from a checkout), the extractor settings, the out-of-fold metrics and the sha256 of
``grader.pkl``; :func:`load_bundle` refuses a pickle whose hash does not match. A pickle runs
code when loaded: load only bundles you (or your pipeline) wrote.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import pickle
from pathlib import Path
from typing import Any

from assetgrade.errors import NotFoundError, ValidationError
from assetgrade.store.writelock import WriterLock
from assetgrade.version import code_version, git_commit

__all__ = [
    "BUNDLE_FORMAT", "INFO_NAME", "PICKLE_NAME", "code_version", "git_commit", "load_bundle", "read_bundle_info",
    "save_bundle", "save_lock_path",
]

BUNDLE_FORMAT = 1
PICKLE_NAME = "grader.pkl"
INFO_NAME = "bundle.json"


def save_bundle(obj: Any, info: dict[str, Any], path: Path, *, pickle_name: str = PICKLE_NAME) -> Path:
    """Write ``obj`` (pickled as ``pickle_name``) and ``info`` (JSON, with the pickle's sha256) into folder ``path``."""
    path = Path(path)
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    body = {**info, "format": BUNDLE_FORMAT, "pickle_sha256": hashlib.sha256(data).hexdigest()}
    text = json.dumps(body, indent=2, sort_keys=True, default=str)
    # Both files are written in full beside the old ones before either replaces its old one, so a failure
    # (an exception, Ctrl-C, a full disk) before the pickle's rename leaves the previous bundle loadable.
    # The pickle's rename commits the save: once it is done, bundle.json.tmp follows it whatever happens
    # (Ctrl-C included), and a process killed between the two renames leaves bundle.json.tmp describing
    # the new pickle, which load_bundle then puts in place (_finish_interrupted_save).
    path.mkdir(parents=True, exist_ok=True)
    tmp_pickle, tmp_info = path / (pickle_name + ".tmp"), path / (INFO_NAME + ".tmp")
    # Two saves into one folder at once (a scheduled retrain beside a manual train) shared these temp names:
    # one's pickle could be renamed into place under the other's bundle.json, a bundle no process could load,
    # with the previous one gone. Saves into one folder now take turns on a lock file beside it (flock: let go
    # when a process dies; threads only where there is no flock).
    lock = WriterLock(save_lock_path(path))
    try:
        with lock:
            written = False
            try:
                tmp_pickle.write_bytes(data)
                tmp_info.write_text(text, encoding="utf-8")
                written = True
                tmp_pickle.replace(path / pickle_name)
            finally:
                if written and not tmp_pickle.exists():  # renamed: committed, even if interrupted just after
                    tmp_info.replace(path / INFO_NAME)
                else:
                    tmp_pickle.unlink(missing_ok=True)
                    tmp_info.unlink(missing_ok=True)
    finally:
        lock.close()
    return path


def save_lock_path(path: Path) -> Path:
    """The lock file that saves into the bundle folder ``path`` take in turn: ``<folder>.save-lock`` beside it
    (inside, it would become part of the bundle a registry copies and digests).

    >>> save_lock_path(Path("/ws/models/grader")).as_posix()
    '/ws/models/grader.save-lock'
    """
    path = Path(path).absolute()
    return path.with_name(path.name + ".save-lock")


def _finish_interrupted_save(path: Path, data: bytes) -> dict[str, Any] | None:
    """The info of a save that was killed between its two renames, now put in place; None when there is none.

    Such a save left the new pickle (``data``) beside the old ``bundle.json`` and a complete
    ``bundle.json.tmp`` whose sha256 is the pickle's. Another save may be writing that file now:
    a ``bundle.json.tmp`` that does not parse or names another pickle is not touched.
    """
    tmp = Path(path) / (INFO_NAME + ".tmp")
    try:
        info: dict[str, Any] = json.loads(tmp.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(info, dict) or info.get("pickle_sha256") != hashlib.sha256(data).hexdigest():
        return None
    with contextlib.suppress(FileNotFoundError):  # the save itself (or another reader) finished it first
        tmp.replace(Path(path) / INFO_NAME)
    return info


def read_bundle_info(path: Path) -> dict[str, Any]:
    """The ``bundle.json`` of a saved Grader."""
    p = Path(path) / INFO_NAME
    if not p.exists():
        raise NotFoundError(f"no saved grader at {Path(path).resolve()} ({INFO_NAME} missing); run: assetgrade train")
    try:
        info: dict[str, Any] = json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValidationError(f"not valid JSON: {exc}", where=str(p)) from exc
    return info


def load_bundle(path: Path, *, pickle_name: str = PICKLE_NAME) -> tuple[Any, dict[str, Any]]:
    """(unpickled object, info) from a folder written by :func:`save_bundle`; checks the pickle's hash."""
    info = read_bundle_info(path)
    if info.get("format") != BUNDLE_FORMAT:
        raise ValidationError(f"bundle format {info.get('format')!r}, this version reads {BUNDLE_FORMAT}",
                              where=str(Path(path) / INFO_NAME))
    pk = Path(path) / pickle_name
    if not pk.exists():
        raise NotFoundError(f"{pk} is missing")
    data = pk.read_bytes()
    if hashlib.sha256(data).hexdigest() != info.get("pickle_sha256"):
        again = read_bundle_info(path)  # a save_bundle between our two reads: the new bundle.json follows at once
        if again != info and hashlib.sha256(data).hexdigest() == again.get("pickle_sha256"):
            info = again
        elif (finished := _finish_interrupted_save(Path(path), data)) is not None:
            info = finished
        else:
            raise ValidationError(f"{pickle_name} does not match the sha256 in bundle.json (changed or corrupt)",
                                  where=str(pk))
    try:
        obj = pickle.loads(data)
    except (ImportError, AttributeError, TypeError, pickle.UnpicklingError, EOFError) as exc:
        # classes another release of assetgrade (or of a library it pickled) had, or renamed since
        raise ValidationError(
            f"cannot unpickle {pickle_name} ({type(exc).__name__}: {exc}); it was saved by assetgrade "
            f"{info.get('code_version') or 'of an unknown version'}, this is {code_version()}: load it with that "
            "release, or train again", where=str(pk)) from exc
    return obj, info

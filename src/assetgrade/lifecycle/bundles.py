"""Model bundles: the loader registry, the bundle folder digest, the code version, and JSON-safe values.

A bundle is a folder under ``<workspace>/models/<version>/`` that a *loader* turns back into a
model with ``grade_many(records)``. ``grader`` (``Grader.load``) is built in; others are
registered with :func:`register_bundle_loader` or named as ``module:attribute``.
"""

from __future__ import annotations

import hashlib
import importlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from assetgrade.errors import NotFoundError, ValidationError
from assetgrade.version import __version__, git_commit

__all__ = [
    "bundle_digest", "bundle_info", "bundle_model_version", "check_grader_bundle", "code_version",
    "register_bundle_loader", "resolve_loader",
]

_LOADERS: dict[str, Callable[[Path], Any]] = {}


def _grader_load(path: Path) -> Any:
    """``Grader.load`` (imported when first used)."""
    from assetgrade.grader import Grader

    return Grader.load(path)


_LOADERS["grader"] = _grader_load


def register_bundle_loader(name: str, load: Callable[[Path], Any]) -> None:
    """Register ``load(path) -> model`` under ``name`` (``grader`` is built in)."""
    _LOADERS[name] = load


def resolve_loader(spec: str) -> Callable[[Path], Any]:
    """The loader registered as ``spec``, or the ``module:attribute`` it names."""
    if spec in _LOADERS:
        return _LOADERS[spec]
    if ":" not in spec:
        raise ValidationError(f"unknown bundle loader {spec!r}; known: {sorted(_LOADERS)} or 'module:attr'",
                              where="loader")
    mod, attr = spec.split(":", 1)
    try:
        obj: Any = importlib.import_module(mod)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError, ValueError, TypeError) as exc:  # ValueError, TypeError: '', '.relative'
        raise ValidationError(f"cannot import bundle loader {spec!r}: {exc}", where="loader") from exc
    if not callable(obj):
        raise ValidationError(f"bundle loader {spec!r} is a {type(obj).__name__}, not a function of the bundle "
                              "folder", where="loader")
    return obj  # type: ignore[no-any-return]


def code_version() -> tuple[str, str | None]:
    """(``assetgrade.__version__``, git commit of the package's checkout or None)."""
    return __version__, git_commit()


def bundle_digest(path: Path) -> str:
    """sha256 over the sorted relative paths and contents of every file under ``path``."""
    if not path.is_dir():
        raise NotFoundError(f"model bundle folder {path} not found")
    h = hashlib.sha256()
    for f in sorted(p for p in path.rglob("*") if p.is_file()):
        h.update(f.relative_to(path).as_posix().encode("utf-8") + b"\0")
        h.update(hashlib.sha256(f.read_bytes()).digest())
    return h.hexdigest()


def bundle_info(folder: Path) -> dict[str, Any]:
    """A bundle folder's ``bundle.json`` as a mapping ({} when it has none, or none that is a JSON object)."""
    from assetgrade.grading.bundle import INFO_NAME

    try:
        info = json.loads((folder / INFO_NAME).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return {}
    return info if isinstance(info, dict) else {}


def bundle_model_version(folder: Path) -> str | None:
    """``model_version`` in a bundle folder's ``bundle.json`` (a saved Grader's own ``version_``), or None."""
    value = bundle_info(folder).get("model_version")
    return str(value) if value else None


def check_grader_bundle(folder: Path, *, shown: Path | None = None) -> None:
    """Refuse a Grader bundle that ``Grader.load`` would refuse for its files, without unpickling it.

    ``bundle.json`` must be a JSON object of this bundle format, and ``grader.pkl`` must exist and
    match the sha256 that ``bundle.json`` records (a truncated or edited pickle does not). The
    ValidationError names the file as it lies under ``shown`` (the folder the user gave), when given.
    """
    from assetgrade.grading.bundle import BUNDLE_FORMAT, INFO_NAME, PICKLE_NAME

    where = Path(shown) if shown is not None else Path(folder)
    info_path = Path(folder) / INFO_NAME
    try:
        info = json.loads(info_path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ValidationError(f"no {INFO_NAME}: not a saved Grader (give --loader for another kind of model)",
                              where=str(where)) from exc
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ValidationError(f"unreadable or not JSON: {exc}", where=str(where / INFO_NAME)) from exc
    if not isinstance(info, dict):
        raise ValidationError(f"holds a JSON {type(info).__name__}, not an object", where=str(where / INFO_NAME))
    if info.get("format") != BUNDLE_FORMAT:
        raise ValidationError(f"bundle format {info.get('format')!r}; this version of assetgrade reads"
                              f" {BUNDLE_FORMAT}", where=str(where / INFO_NAME))
    pk = Path(folder) / PICKLE_NAME
    h = hashlib.sha256()
    try:
        with pk.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    except OSError as exc:
        raise ValidationError(f"missing or unreadable: {exc.strerror or exc}", where=str(where / PICKLE_NAME)) \
            from exc
    if h.hexdigest() != info.get("pickle_sha256"):
        raise ValidationError(f"does not match the pickle_sha256 in {INFO_NAME} (truncated, changed or corrupt)",
                              where=str(where / PICKLE_NAME))

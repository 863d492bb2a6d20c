"""Registering a model version: checking its name, copying or saving its bundle, recording its lineage.

The bundle is copied (or saved) into a hidden ``models/.incoming-<id>/`` folder outside any
store transaction and renamed to ``models/<version>/`` inside the transaction that stores the
``model_versions`` row and its ``model.register`` audit event, so a crash leaves no half bundle
under the version's name and a large copy never holds the store's write lock.
:class:`~assetgrade.lifecycle.registry.ModelRegistry` calls these; use it.
"""

from __future__ import annotations

import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assetgrade.errors import ConflictError, NotFoundError, StoreError, ValidationError
from assetgrade.jsonsafe import jsonable
from assetgrade.lifecycle.bundles import bundle_digest, bundle_info, check_grader_bundle, code_version
from assetgrade.lifecycle.versions import version_row
from assetgrade.store.audit import append_event, lock_chain
from assetgrade.store.lifecycle_schema import ModelVersion

if TYPE_CHECKING:
    from assetgrade.workspace import Workspace

__all__ = ["RESERVED_VERSIONS", "check_name", "check_new_version", "register_model"]

RESERVED_VERSIONS = frozenset({"grader", "champion"})
"""Names no version may take: ``models/grader`` is the model that grades, and ``models show champion`` means the
current champion (a version named so could never be shown)."""


def check_name(value: str, what: str, *, where: str) -> None:
    """Refuse ``value`` as the name of a ``what`` (a model version, a golden set): ValidationError naming ``where``.

    A name is a word, never a path: at most 100 printable characters, no slash or backslash, no
    leading dot, no surrounding spaces.

    >>> check_name("v1", "model version", where="version")
    >>> check_name("a/b", "golden set", where="--name")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    assetgrade.errors.ValidationError: --name: bad golden set name 'a/b': at most 100 printable characters, ...
    """
    if (not value or len(value) > 100 or value.startswith(".") or value != value.strip()
            or any(c in value for c in "/\\") or not value.isprintable()):
        raise ValidationError(f"bad {what} name {value!r}: at most 100 printable characters, no slash or"
                              " backslash, no leading dot or surrounding spaces", where=where)


def check_new_version(ws: Workspace, version: str) -> None:
    """Refuse ``version`` as the name of a new version: a bad or reserved name (ValidationError), or one taken.

    :func:`register_model` checks it; call it before long work (training) whose result gets that name.
    """
    check_name(version, "model version", where="version")
    if version in RESERVED_VERSIONS:
        why = ("models/grader is the model that grades" if version == "grader"
               else "'models show champion' shows the current champion")
        raise ValidationError(f"model version name {version!r} is reserved ({why}); pick another",
                              where="version")
    with ws.session(readonly=True) as s:
        if s.get(ModelVersion, version) is not None:
            raise ConflictError(f"model version {version!r} is already registered")
    dest = ws.models_dir / version
    if dest.exists():
        raise ConflictError(f"{dest} exists but is not registered; move it away or pick another version")


def register_model(
    ws: Workspace, model: Any, *, version: str | None = None, loader: str = "grader", entry: str = ".",
    manifest_hash: str | None = None, ontology_version: str | None = None,
    metrics: dict[str, Any] | None = None, parent_version: str | None = None,
    lineage: dict[str, Any] | None = None, notes: str | None = None, actor: str = "system",
) -> str:
    """Register a bundle folder (copied in) or a model with ``save(path)`` (saved into the bundle folder).

    Lineage not given is read from the model's ``manifest_hash_``, ``ontology_version_``,
    ``metrics_`` and ``version_`` attributes where it has them; the model's own version id
    (``version_``, or ``model_version`` in a bundle folder's ``bundle.json``) is kept as
    ``lineage["model_version"]``, and when it was trained (``trained_at_``, or ``trained_at`` in
    ``bundle.json``) as ``lineage["trained_at"]``, when it read its labels (``labels_as_of_`` /
    ``labels_as_of``) as ``lineage["labels_as_of"]``, and the audit chain position then (``labels_seq_`` /
    ``labels_seq``, with its hash) as ``lineage["labels_seq"]`` and ``lineage["labels_seq_hash"]``: the
    new-labels trigger counts from it. ``lineage`` given wins over all these. Returns the version's name.
    """
    src: Path | None = None
    if isinstance(model, str | Path):
        src = Path(model)
        if src.exists() and not src.is_dir():
            raise ValidationError(f"{src} is a file, not a bundle folder (a saved model folder, e.g. from"
                                  " Grader.save)", where="bundle")
        if not src.is_dir():
            raise NotFoundError(f"model bundle folder {src} not found")
    version = version or getattr(model, "version_", None) or datetime.now(UTC).strftime("m%Y%m%d-%H%M%S-%f")
    version = str(version)
    if entry != "." and (Path(entry).is_absolute() or ".." in Path(entry).parts):
        raise ValidationError(f"entry {entry!r} must be a path inside the bundle", where="entry")
    check_new_version(ws, version)
    dest = ws.models_dir / version
    if parent_version is not None:
        with ws.session(readonly=True) as s:
            version_row(s, parent_version)
    # Copy (or save) into a hidden folder of our own first, outside any store transaction: a large
    # bundle never holds the write lock, a crash mid-copy leaves no half bundle under the version's
    # name, and a concurrent registration of the same name cannot delete our copy.
    staging = ws.models_dir / f".incoming-{uuid.uuid4().hex[:12]}"
    try:
        try:
            if isinstance(model, str | Path):
                shutil.copytree(Path(model), staging)
            else:
                staging.mkdir(parents=True)
                model.save(staging if entry == "." else staging / entry)
        except OSError as exc:
            raise StoreError(f"cannot write model bundle {dest}: {exc}") from exc
        if loader == "grader" and isinstance(model, str | Path):
            check_grader_bundle(staging if entry == "." else staging / entry, shown=src)
        digest = bundle_digest(staging)
        # a saved folder describes itself in bundle.json (a Grader's: its id, training data, ontology and
        # the code that trained it, perhaps another release than this one); a model object by its attributes
        saved = bundle_info(staging if entry == "." else staging / entry)

        def described(attr: str, key: str) -> Any:  # the model object's attribute, else bundle.json's
            return (getattr(model, attr, None) if src is None else None) or saved.get(key)

        own = described("version_", "model_version")
        trained = described("trained_at_", "trained_at")  # when fitting ended: the new-labels trigger's fallback
        as_of = described("labels_as_of_", "labels_as_of")  # when fit read the labels: the trigger's fallback
        lineage = {**({"model_version": str(own)} if own else {}),
                   **({"trained_at": str(trained)} if trained else {}),
                   **({"labels_as_of": str(as_of)} if as_of else {}),
                   **_labels_position(model if src is None else None, saved), **(lineage or {})}
        code, commit = code_version()
        code = str(described("code_version_", "code_version") or code)[:100]
        manifest_hash = manifest_hash or described("manifest_hash_", "manifest_hash")
        ontology_version = ontology_version or described("ontology_version_", "ontology_version")
        row = ModelVersion(
            version=version, status="candidate", created_by=actor, loader=loader, entry=entry,
            bundle_sha256=digest,
            manifest_hash=_short(manifest_hash, "manifest_hash"),
            ontology_version=_short(ontology_version, "ontology_version"),
            code_version=code, git_commit=commit, parent_version=parent_version,
            metrics=jsonable(_mapping(metrics if metrics is not None else getattr(model, "metrics_", None),
                                      "metrics")),
            golden={}, lineage=jsonable(lineage), notes=notes,
        )
        moved = False
        try:
            with ws.session() as s:
                lock_chain(s)  # two registrations of one name serialise; the second is refused below
                if s.get(ModelVersion, version) is not None:
                    raise ConflictError(f"model version {version!r} is already registered")
                if dest.exists():
                    raise ConflictError(f"{dest} exists but is not registered; move it away or pick another"
                                        " version")
                try:
                    staging.rename(dest)
                except OSError as exc:
                    raise StoreError(f"cannot write model bundle {dest}: {exc}") from exc
                moved = True
                s.add(row)
                s.flush()
                append_event(s, actor=actor, action="model.register", entity="model", entity_id=version,
                             payload={"bundle_sha256": digest, "manifest_hash": row.manifest_hash,
                                      "ontology_version": row.ontology_version, "code_version": code,
                                      "git_commit": commit, "parent_version": parent_version, "loader": loader})
        except BaseException:
            if moved:
                shutil.rmtree(dest, ignore_errors=True)
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return version


def _labels_position(model: Any, saved: dict[str, Any]) -> dict[str, Any]:
    """``labels_seq`` and ``labels_seq_hash`` for the lineage, from the model object's ``labels_seq_`` /
    ``labels_seq_hash_`` when it has a position, else from ``bundle.json`` (``saved``); {} when neither records one.

    Grader.fit on a workspace records them: the audit chain's last event just before it read the labels, from
    which the new-labels trigger counts (:func:`~assetgrade.lifecycle.triggers.labels_seq` checks the hash).
    Both come from one place; a position that is not a whole number >= 0 is left out (the trigger counts by time).

    >>> _labels_position(None, {"labels_seq": 7, "labels_seq_hash": "ab"})
    {'labels_seq': 7, 'labels_seq_hash': 'ab'}
    >>> _labels_position(None, {"labels_seq": 0, "labels_seq_hash": None}), _labels_position(None, {"labels_seq": None})
    ({'labels_seq': 0, 'labels_seq_hash': None}, {})
    """
    seq, digest = getattr(model, "labels_seq_", None), getattr(model, "labels_seq_hash_", None)
    if seq is None:
        seq, digest = saved.get("labels_seq"), saved.get("labels_seq_hash")
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
        return {}
    return {"labels_seq": seq, "labels_seq_hash": None if digest is None else str(digest)}


def _short(value: Any, what: str) -> str | None:
    """A lineage hash (64 characters at most) or None; anything else is a ValidationError naming ``what``."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > 64:
        raise ValidationError(f"must be a text of at most 64 characters, not {str(value)[:80]!r}", where=what)
    return value


def _mapping(value: Any, what: str) -> dict[str, Any]:
    """``value`` when it is a mapping (None: {}); anything else is a ValidationError naming ``what``."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValidationError(f"must be a mapping, not {type(value).__name__}", where=what)
    return value

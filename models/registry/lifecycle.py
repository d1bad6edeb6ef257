"""A version's life in the registry: register, mark complete or rejected, alias, promote.

A version is registered together with the tag `los_state=incomplete` (one transaction), and only
`mark_complete` (or `mark_rejected`) changes it, at the end of a training run. `challenger` and
`champion` are only ever moved to a complete version (`mark_complete`, `promote`), so a run
killed at any point leaves at most unaliased `incomplete` versions behind.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import tempfile
from dataclasses import dataclass
from importlib.metadata import version as installed_version
from pathlib import Path
from typing import Any

import pandas as pd

from los.errors import ModelNotFoundError, PromotionRefusedError
from los.targets import REGISTERED_PREFIX
from models.bundle import FORMATS, ModelBundle
from models.registry.client import Registry, connected, fluent_tracking
from models.registry.integrity import digests
from models.registry.sqlite_read import SqliteRegistryReader, VersionNotFoundError

log = logging.getLogger(__name__)

CHAMPION = "champion"
CHALLENGER = "challenger"
# What a logged model needs to score: the versions installed here (pinned by uv.lock, read from
# the installed packages' metadata), so pyproject.toml stays the one place they are written.
PIP_REQUIREMENTS = [
    f"{name}=={installed_version(name)}" for name in ("lightgbm", "pandas", "numpy", "scipy")
]

STATE_TAG = "los_state"
INCOMPLETE = "incomplete"
COMPLETE = "complete"
REJECTED = "rejected"
REJECTED_REASON_TAG = "los_rejected_reason"
FORMAT_TAG = "los_bundle_format"
CHECKSUM_TAG = "los_bundle_sha256"
SUPPORTED_FORMATS = FORMATS  # "2": a group recalibration (models/bundle.py)


class _NoPickleWarning(logging.Filter):
    """Drop MLflow's warning that a `python_model` object is pickled: ours is a stateless shell
    and the model itself is loaded from plain files (`booster.txt`, `bundle.json`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "serialized using CloudPickle" not in record.getMessage()


@dataclass(frozen=True)
class ModelIdentity:
    """Which registered model version produced a score."""

    name: str
    version: str
    alias: str | None
    run_id: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        """For JSON responses and output columns."""
        return {"name": self.name, "version": self.version, "alias": self.alias}


def log_bundle(
    bundle: ModelBundle,
    registered_name: str,
    input_example: pd.DataFrame,
    artifacts: dict[str, Any] | None = None,
    *,
    complete: bool = True,
    signature: Any = None,
    registry: Registry | None = None,
) -> ModelIdentity:
    """Log the bundle as a pyfunc model in the active run and register it.

    The version is created with its tags (`artifacts`, JSON-encoded), `los_state=incomplete`
    and the bundle format, in one registry transaction. With `complete=True` it is then marked
    complete and aliased `challenger` at once; a training run passes `complete=False` and calls
    `mark_complete` when the whole run has finished. `signature` (an MLflow `ModelSignature`)
    replaces the one inferred from the example.
    """
    # mlflow is heavy (~3 s to import): only when a model is logged (models/registry/client.py)
    import mlflow
    from mlflow.models import infer_signature

    # imports mlflow.pyfunc at its top: the same reason
    from models.pyfunc import BundlePyfunc

    store = connected(registry)
    with tempfile.TemporaryDirectory() as tmp, fluent_tracking(store):
        bundle_dir = bundle.save(Path(tmp) / "bundle")
        example = input_example.head(5)
        if signature is None:
            signature = infer_signature(
                example, pd.Series([0.5] * len(example), name="probability")
            )
        quiet, pyfunc_log = _NoPickleWarning(), logging.getLogger("mlflow.pyfunc")
        pyfunc_log.addFilter(quiet)
        try:
            info = mlflow.pyfunc.log_model(
                name=registered_name,
                python_model=BundlePyfunc(),
                artifacts={"bundle": str(bundle_dir)},
                pip_requirements=PIP_REQUIREMENTS,
                signature=signature,
                input_example=example,
            )
        finally:
            pyfunc_log.removeFilter(quiet)
        checksums = json.dumps(digests(bundle_dir), sort_keys=True)
        tags = {key: json.dumps(value, default=str) for key, value in (artifacts or {}).items()}
        tags.update({STATE_TAG: INCOMPLETE, FORMAT_TAG: bundle.format, CHECKSUM_TAG: checksums})
        said = io.StringIO()  # MLflow prints "Successfully registered model ..." to stderr
        with contextlib.redirect_stderr(said):
            mv = mlflow.register_model(
                info.model_uri, registered_name, await_registration_for=60, tags=tags
            )
        active = mlflow.active_run()
    log.debug("mlflow: %s", said.getvalue().strip())
    version = str(mv.version)
    run_id = active.info.run_id if active is not None else None
    if complete:
        mark_complete(registered_name, version, registry=store)
        return ModelIdentity(registered_name, version, CHALLENGER, run_id)
    return ModelIdentity(registered_name, version, None, run_id)


def _set_tags(client: Any, name: str, version: str, tags: dict[str, Any] | None) -> None:
    """Each of `tags` on the version, JSON-encoded."""
    for key, value in (tags or {}).items():
        client.set_model_version_tag(name, version, key, json.dumps(value, default=str))


def mark_complete(
    registered_name: str,
    version: str,
    tags: dict[str, Any] | None = None,
    *,
    registry: Registry | None = None,
) -> None:
    """Set `tags` (JSON-encoded), then `los_state=complete`, then the `challenger` alias."""
    client = connected(registry).client
    _set_tags(client, registered_name, version, tags)
    client.set_model_version_tag(registered_name, version, STATE_TAG, COMPLETE)
    client.set_registered_model_alias(registered_name, CHALLENGER, version)


def mark_rejected(
    registered_name: str,
    version: str,
    reason: str,
    tags: dict[str, Any] | None = None,
    *,
    registry: Registry | None = None,
) -> None:
    """Mark a version that must never be loaded or promoted (no alias), with the reason."""
    client = connected(registry).client
    _set_tags(client, registered_name, version, tags)
    client.set_model_version_tag(registered_name, version, REJECTED_REASON_TAG, reason[:4000])
    client.set_model_version_tag(registered_name, version, STATE_TAG, REJECTED)


def version_state(
    registered_name: str, version: str, *, registry: Registry | None = None
) -> str | None:
    """The `los_state` tag of a version (None for versions registered before the tag existed)."""
    return model_version(registered_name, version, registry=registry).tags.get(STATE_TAG)


def promote(registered_name: str, version: str, *, registry: Registry | None = None) -> None:
    """Move the `champion` alias to `version`; refused unless the version is complete, and for
    a version whose latest recorded decision is a rejection (`models.decisions`: only a new
    decision, recorded first, can promote it)."""
    store = connected(registry)
    mv = model_version(registered_name, version, registry=store)
    problem = promotion_problem(registered_name, version, mv, registry=store)
    if problem is not None:
        raise PromotionRefusedError(f"champion not moved: {problem}")
    store.client.set_registered_model_alias(registered_name, CHAMPION, str(mv.version))


def promotion_problem(
    registered_name: str,
    version: str,
    mv: Any = None,
    *,
    new_decision: bool = False,
    registry: Registry | None = None,
) -> str | None:
    """Why `champion` may not move to this version (None if it may); `new_decision`: a person
    is deciding again, so an earlier rejection does not stand in the way."""
    # models.decisions imports this package at its top: importing it here breaks the cycle
    from models.decisions import KIND_TAG, REJECT

    mv = mv if mv is not None else model_version(registered_name, version, registry=registry)
    problem = unusable(registered_name, mv)
    if problem is None and not new_decision and (mv.tags or {}).get(KIND_TAG) == REJECT:
        problem = (
            f"model {registered_name} version {mv.version} was rejected by a person; "
            "only a new decision (`los promote`) can promote it"
        )
    return problem


def withdraw_champion(
    registered_name: str, version: str, *, registry: Registry | None = None
) -> bool:
    """Remove the `champion` alias if it points at `version` (a person rejected the version being
    served); True if it did. The service then says the target has no champion."""
    store = connected(registry)
    try:
        current = resolve(registered_name, CHAMPION, registry=store).version
    except ModelNotFoundError:
        return False
    if current != str(version):
        return False
    store.client.delete_registered_model_alias(registered_name, CHAMPION)
    return True


def model_version(
    registered_name: str, alias_or_version: str, *, registry: Registry | None = None
) -> Any:
    """The MLflow `ModelVersion` behind an alias or version number (`ModelNotFoundError` if
    there is none)."""
    client = connected(registry).client
    try:
        if isinstance(client, SqliteRegistryReader) and alias_or_version.lower() != "latest":
            return client.find_version(registered_name, alias_or_version)  # MLflow not imported
        if alias_or_version.isdigit():
            return client.get_model_version(registered_name, alias_or_version)
        return client.get_model_version_by_alias(registered_name, alias_or_version)
    except Exception as exc:
        if not _not_found(exc):
            raise
        raise ModelNotFoundError(
            f"no model '{registered_name}' with alias or version '{alias_or_version}'"
        ) from exc


def _not_found(exc: Exception) -> bool:
    """A failed look-up: the SQLite reader's, or MLflow's (imported only on this error path: a
    reader of a local registry never imports MLflow, `models.registry.sqlite_read`)."""
    if isinstance(exc, VersionNotFoundError):
        return True
    from mlflow.exceptions import MlflowException  # heavy: see `log_bundle`

    return isinstance(exc, MlflowException)


def unusable(registered_name: str, mv: Any, allow_incomplete: bool = False) -> str | None:
    """Why a version must not be loaded or promoted (None if it may)."""
    tags = mv.tags or {}
    state = tags.get(STATE_TAG)
    what = f"model {registered_name} version {mv.version}"
    if state == INCOMPLETE and not allow_incomplete:
        return (
            f"{what} is incomplete (its training run has not finished, or was killed); "
            "incomplete versions are never loaded or promoted"
        )
    if state == REJECTED:
        reason = tags.get(REJECTED_REASON_TAG, "no reason recorded")
        return f"{what} was rejected at registration: {reason}"
    if state not in (None, INCOMPLETE, COMPLETE):
        return f"{what} has an unknown state '{state}'"
    fmt = tags.get(FORMAT_TAG)
    if fmt is not None and fmt not in SUPPORTED_FORMATS:
        return (
            f"{what} has bundle format {fmt}, which this version of the code cannot read "
            f"(supported: {', '.join(sorted(SUPPORTED_FORMATS))})"
        )
    return None


def resolve(
    registered_name: str, alias_or_version: str = CHAMPION, *, registry: Registry | None = None
) -> ModelIdentity:
    """Find the version behind an alias (or check a version number exists)."""
    mv = model_version(registered_name, alias_or_version, registry=registry)
    alias = None if alias_or_version.isdigit() else alias_or_version
    return ModelIdentity(registered_name, str(mv.version), alias, mv.run_id)


def registered_names(
    prefix: str = REGISTERED_PREFIX, *, registry: Registry | None = None
) -> list[str]:
    """Names of the product's registered models."""
    client = connected(registry).client
    found = client.search_registered_models(filter_string=f"name LIKE '{prefix}%'")
    return sorted(m.name for m in found)

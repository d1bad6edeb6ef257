"""The MLflow model registry: log, register, alias (`challenger`, `champion`) and load bundles.

Invariants (docs/service.md "Faults"):

- A version is registered together with the tag `los_state=incomplete` (one transaction), and only
  `mark_complete` (or `mark_rejected`) changes it, at the end of a training run. `challenger` and
  `champion` are only ever moved to a complete version (`mark_complete`, `promote`), so a run
  killed at any point leaves at most unaliased `incomplete` versions behind.
- `load_bundle` refuses versions that are not complete (`incomplete`, `rejected`), that declare a
  bundle format this code does not know, whose files changed since registration (SHA-256 tag),
  whose `booster.txt` LightGBM cannot parse, or whose booster does not match its feature list,
  with a one-line `ModelLoadError`. Versions registered before these tags existed (no
  `los_state` tag) load as before, with the same file checks.
- LightGBM aborts the whole process on some malformed model files (a truncated `booster.txt`
  ends in `terminate called`, not an exception), so `booster.txt` is first parsed by a throwaway
  child process (`_probe_booster`, ~30 ms) and only then by this one.
- `connect` never creates a SQLite registry unless asked to (`create=True`, used by training):
  a missing or empty database file is a `RegistryUnavailableError`, not a new empty registry.
  Readers hold no pooled connections, so a registry file replaced at the path is the one read
  (`store_identity` tells a poller that it was replaced).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from los.errors import (
    LosError,
    ModelLoadError,
    ModelNotFoundError,
    PromotionRefusedError,
    RegistryUnavailableError,
)
from los.targets import REGISTERED_PREFIX, STAY_DISTRIBUTION
from models.bundle import BOOSTER_FILE, BUNDLE_FILE, FORMATS, ModelBundle
from models.stay_model import DAY_COLUMN

log = logging.getLogger(__name__)


class _NoPickleWarning(logging.Filter):
    """Drop MLflow's warning that a `python_model` object is pickled: ours is a stateless shell
    and the model itself is loaded from plain files (`booster.txt`, `bundle.json`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "serialized using CloudPickle" not in record.getMessage()


EXPERIMENT = "los"
CHAMPION = "champion"
CHALLENGER = "challenger"
PIP_REQUIREMENTS = ["lightgbm==4.7.0", "pandas==3.1.1", "numpy==2.4.6", "scipy==1.17.1"]

STATE_TAG = "los_state"
INCOMPLETE = "incomplete"
COMPLETE = "complete"
REJECTED = "rejected"
REJECTED_REASON_TAG = "los_rejected_reason"
FORMAT_TAG = "los_bundle_format"
CHECKSUM_TAG = "los_bundle_sha256"
SUPPORTED_FORMATS = FORMATS  # "2": a group recalibration (models/bundle.py)
ROUNDTRIP_TOLERANCE = 1e-9


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


@dataclass(frozen=True)
class LoadedModel:
    """A bundle with the registry identity it was loaded as."""

    bundle: ModelBundle
    identity: ModelIdentity


def sqlite_path(tracking_uri: str) -> Path | None:
    """The database file of a SQLite URI (None for other stores and in-memory databases)."""
    if not tracking_uri.startswith("sqlite:"):
        return None
    from sqlalchemy.engine import make_url

    database = make_url(tracking_uri).database
    if not database or database == ":memory:":
        return None
    return Path(database)


def require_registry(tracking_uri: str) -> None:
    """Raise `RegistryUnavailableError` unless a SQLite registry file exists and is not empty.

    MLflow would otherwise create an empty database (and its directory) at a mistyped path, and a
    service would then report "no models" instead of "wrong path". Other stores pass.
    """
    path = sqlite_path(tracking_uri)
    if path is None:
        return
    if not path.is_file():
        where = "its directory does not exist" if not path.parent.is_dir() else "no such file"
        raise RegistryUnavailableError(f"registry database not found: {path} ({where})")
    if path.stat().st_size == 0:
        raise RegistryUnavailableError(f"registry database is empty (0 bytes): {path}")


def store_identity(tracking_uri: str) -> tuple[int, int] | None:
    """(device, inode) of a SQLite registry file, which changes when another file is put at the
    path (a copy, a restore, `mv new.db mlflow.db`); None for other stores.

    Raises `RegistryUnavailableError` when the file is missing or empty (e.g. deleted).
    """
    path = sqlite_path(tracking_uri)
    if path is None:
        return None
    try:
        require_registry(tracking_uri)
        found = path.stat()
    except FileNotFoundError:  # deleted while we looked
        raise RegistryUnavailableError(
            f"registry database not found: {path} (no such file)"
        ) from None
    return found.st_dev, found.st_ino


def describe_registry_error(exc: BaseException) -> str:
    """One line, fit for `/ready` and the log: no traceback, no SQL, no parameters."""
    lines = str(exc).strip().splitlines() or [""]
    first = lines[0][:300]
    if isinstance(exc, LosError):
        return first
    text = first.lower()
    kind = type(exc).__name__
    if "database is locked" in text or "database table is locked" in text:
        return f"registry database is locked by another process ({kind}: {first})"
    if "unable to open database file" in text:
        return f"registry database cannot be opened ({kind}: {first})"
    if "file is not a database" in text:
        return f"registry file is not a SQLite database ({kind}: {first})"
    return f"{kind}: {first}"


def connect(tracking_uri: str, artifact_root: Path | None = None, *, create: bool = False) -> str:
    """Point MLflow at the tracking/registry store; returns the experiment id.

    With `create=False` (readers: the service, `los score`, ...) a missing or empty SQLite file
    raises `RegistryUnavailableError` and nothing is written; the experiment id is "" if the
    store has none. With `create=True` (training) the store and experiment are created if needed,
    and with a local SQLite store artifacts go under `artifact_root` (the data directory) rather
    than MLflow's default `./mlruns` in whatever directory the command runs from.
    """
    if not create:
        require_registry(tracking_uri)
        # Readers open the SQLite file afresh for every query instead of keeping pooled
        # connections: a pooled connection keeps reading a deleted or replaced file's old inode,
        # so a service would follow a registry that is no longer at the path.
        os.environ.setdefault("MLFLOW_SQLALCHEMYSTORE_POOLCLASS", "NullPool")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    import mlflow

    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # we pass pip requirements explicitly; MLflow still warns it cannot find pip's version
    logging.getLogger("mlflow.utils.environment").setLevel(logging.ERROR)
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    experiment = mlflow.get_experiment_by_name(EXPERIMENT)
    if experiment is not None:
        return str(experiment.experiment_id)
    if not create:
        return ""
    location = None
    if artifact_root is not None and tracking_uri.startswith("sqlite:"):
        artifact_root.mkdir(parents=True, exist_ok=True)
        location = artifact_root.resolve().as_uri()
    return str(mlflow.create_experiment(EXPERIMENT, artifact_location=location))


def log_bundle(
    bundle: ModelBundle,
    registered_name: str,
    input_example: pd.DataFrame,
    artifacts: dict[str, Any] | None = None,
    *,
    complete: bool = True,
    signature: Any = None,
) -> ModelIdentity:
    """Log the bundle as a pyfunc model in the active run and register it.

    The version is created with its tags (`artifacts`, JSON-encoded), `los_state=incomplete`
    and the bundle format, in one registry transaction. With `complete=True` it is then marked
    complete and aliased `challenger` at once; a training run passes `complete=False` and calls
    `mark_complete` when the whole run has finished. `signature` (an MLflow `ModelSignature`)
    replaces the one inferred from the example.
    """
    import mlflow
    from mlflow.models import infer_signature

    from models.pyfunc import BundlePyfunc

    with tempfile.TemporaryDirectory() as tmp:
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
        checksums = json.dumps(_checksums(bundle_dir), sort_keys=True)
    tags = {key: json.dumps(value, default=str) for key, value in (artifacts or {}).items()}
    tags.update({STATE_TAG: INCOMPLETE, FORMAT_TAG: bundle.format, CHECKSUM_TAG: checksums})
    said = io.StringIO()  # MLflow prints "Successfully registered model ..." to stderr
    with contextlib.redirect_stderr(said):
        mv = mlflow.register_model(
            info.model_uri, registered_name, await_registration_for=60, tags=tags
        )
    log.debug("mlflow: %s", said.getvalue().strip())
    version = str(mv.version)
    active = mlflow.active_run()
    run_id = active.info.run_id if active is not None else None
    if complete:
        mark_complete(registered_name, version)
        return ModelIdentity(registered_name, version, CHALLENGER, run_id)
    return ModelIdentity(registered_name, version, None, run_id)


def mark_complete(registered_name: str, version: str, tags: dict[str, Any] | None = None) -> None:
    """Set `tags` (JSON-encoded), then `los_state=complete`, then the `challenger` alias."""
    import mlflow

    client = mlflow.MlflowClient()
    for key, value in (tags or {}).items():
        client.set_model_version_tag(registered_name, version, key, json.dumps(value, default=str))
    client.set_model_version_tag(registered_name, version, STATE_TAG, COMPLETE)
    client.set_registered_model_alias(registered_name, CHALLENGER, version)


def mark_rejected(
    registered_name: str, version: str, reason: str, tags: dict[str, Any] | None = None
) -> None:
    """Mark a version that must never be loaded or promoted (no alias), with the reason."""
    import mlflow

    client = mlflow.MlflowClient()
    for key, value in (tags or {}).items():
        client.set_model_version_tag(registered_name, version, key, json.dumps(value, default=str))
    client.set_model_version_tag(registered_name, version, REJECTED_REASON_TAG, reason[:4000])
    client.set_model_version_tag(registered_name, version, STATE_TAG, REJECTED)


def version_state(registered_name: str, version: str) -> str | None:
    """The `los_state` tag of a version (None for versions registered before the tag existed)."""
    return _model_version(registered_name, version).tags.get(STATE_TAG)


def promote(registered_name: str, version: str) -> None:
    """Move the `champion` alias to `version`; refused unless the version is complete, and for
    a version whose latest recorded decision is a rejection (`models.decisions`: only a new
    decision, recorded first, can promote it)."""
    import mlflow

    mv = _model_version(registered_name, version)
    problem = promotion_problem(registered_name, version, mv)
    if problem is not None:
        raise PromotionRefusedError(f"champion not moved: {problem}")
    mlflow.MlflowClient().set_registered_model_alias(registered_name, CHAMPION, str(mv.version))


def promotion_problem(
    registered_name: str, version: str, mv: Any = None, *, new_decision: bool = False
) -> str | None:
    """Why `champion` may not move to this version (None if it may); `new_decision`: a person
    is deciding again, so an earlier rejection does not stand in the way."""
    from models.decisions import KIND_TAG, REJECT

    mv = mv if mv is not None else _model_version(registered_name, version)
    problem = _unusable(registered_name, mv)
    if problem is None and not new_decision and (mv.tags or {}).get(KIND_TAG) == REJECT:
        problem = (
            f"model {registered_name} version {mv.version} was rejected by a person; "
            "only a new decision (`los promote`) can promote it"
        )
    return problem


def withdraw_champion(registered_name: str, version: str) -> bool:
    """Remove the `champion` alias if it points at `version` (a person rejected the version being
    served); True if it did. The service then says the target has no champion."""
    import mlflow

    try:
        current = resolve(registered_name, CHAMPION).version
    except ModelNotFoundError:
        return False
    if current != str(version):
        return False
    mlflow.MlflowClient().delete_registered_model_alias(registered_name, CHAMPION)
    return True


def _model_version(registered_name: str, alias_or_version: str) -> Any:
    import mlflow
    from mlflow.exceptions import MlflowException

    client = mlflow.MlflowClient()
    try:
        if alias_or_version.isdigit():
            return client.get_model_version(registered_name, alias_or_version)
        return client.get_model_version_by_alias(registered_name, alias_or_version)
    except MlflowException as exc:
        raise ModelNotFoundError(
            f"no model '{registered_name}' with alias or version '{alias_or_version}'"
        ) from exc


def _unusable(registered_name: str, mv: Any, allow_incomplete: bool = False) -> str | None:
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


def resolve(registered_name: str, alias_or_version: str = CHAMPION) -> ModelIdentity:
    """Find the version behind an alias (or check a version number exists)."""
    mv = _model_version(registered_name, alias_or_version)
    alias = None if alias_or_version.isdigit() else alias_or_version
    return ModelIdentity(registered_name, str(mv.version), alias, mv.run_id)


def _checksums(directory: Path) -> dict[str, str]:
    return {
        name: hashlib.sha256((directory / name).read_bytes()).hexdigest()
        for name in (BOOSTER_FILE, BUNDLE_FILE)
    }


_PROBE = """
import ctypes, sys
lib = ctypes.cdll.LoadLibrary(sys.argv[1])
lib.LGBM_GetLastError.restype = ctypes.c_char_p
handle, iterations = ctypes.c_void_p(), ctypes.c_int(0)
path = sys.argv[2].encode()
if lib.LGBM_BoosterCreateFromModelfile(path, ctypes.byref(iterations), ctypes.byref(handle)):
    print((lib.LGBM_GetLastError() or b"").decode(errors="replace").splitlines()[0][:300])
    sys.exit(3)
lib.LGBM_BoosterFree(handle)
"""


def _probe_booster(path: Path, where: str) -> None:
    """Parse `path` with LightGBM's C library in a child process first (see the module doc)."""
    import lightgbm

    library = getattr(getattr(lightgbm.basic, "_LIB", None), "_name", None)
    library = library or str(Path(lightgbm.__file__).parent / "lib" / "lib_lightgbm.so")
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", _PROBE, library, str(path)],  # no site: ~20 ms
        capture_output=True,
        timeout=120,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    if done.returncode == 0:
        return
    if done.returncode == 3:
        last = (done.stdout.decode(errors="replace").strip().splitlines() or ["unknown error"])[-1]
        why = "".join(ch if ch.isprintable() else "?" for ch in last)[:200]
    else:
        why = f"the LightGBM parser crashed (exit status {done.returncode})"
    raise ModelLoadError(f"{where} cannot be loaded: {BOOSTER_FILE} is not a valid model ({why})")


def _check_files(directory: Path, mv: Any, where: str) -> None:
    """Files unchanged since registration (when recorded), and a booster LightGBM can parse."""
    recorded = (mv.tags or {}).get(CHECKSUM_TAG)
    if recorded:
        try:
            expected = json.loads(recorded)
        except ValueError:
            expected = {}
        found = _checksums(directory)
        changed = sorted(name for name in found if expected.get(name) != found[name])
        if changed:
            raise ModelLoadError(
                f"{where} cannot be loaded: {', '.join(changed)} changed since registration "
                "(checksum mismatch)"
            )
    _probe_booster(directory / BOOSTER_FILE, where)


def check_bundle(bundle: ModelBundle, where: str = "the model") -> None:
    """Structural checks a loaded bundle must pass before it scores anything.

    The booster must take exactly the encoder's columns, in order (a `bundle.json` whose feature
    list does not belong to its `booster.txt` fails here, not on a patient's request); the stay
    distribution's booster takes them and then the day in hospital (`models.stay_model`).
    """
    booster_features = list(bundle.booster.feature_name())
    expected = bundle.feature_names
    if bundle.label_target.kind == STAY_DISTRIBUTION:  # its hazard also reads the day
        expected = [*expected, DAY_COLUMN]
    if booster_features != expected:
        extra = sorted(set(expected) - set(booster_features))
        missing = sorted(set(booster_features) - set(expected))
        raise ModelLoadError(
            f"{where}: its feature list does not match its booster "
            f"({len(expected)} features in bundle.json, {len(booster_features)} in the booster; "
            f"unknown to the booster: {extra[:5]}, missing: {missing[:5]})"
        )
    if not (0.0 <= bundle.threshold <= 1.0 and np.isfinite(bundle.high_cut)):
        raise ModelLoadError(f"{where}: threshold {bundle.threshold} is not a probability")


def load_bundle(
    registered_name: str, alias_or_version: str = CHAMPION, *, allow_incomplete: bool = False
) -> tuple[ModelBundle, ModelIdentity]:
    """Load a registered bundle by alias or version, from any process.

    Raises `ModelNotFoundError` when there is no such version and `ModelLoadError` when there is
    one that must not or cannot be used (see the module doc); `allow_incomplete` is for the
    training run's own check of a version it has just registered.
    """
    import mlflow

    mv = _model_version(registered_name, alias_or_version)
    alias = None if alias_or_version.isdigit() else alias_or_version
    identity = ModelIdentity(registered_name, str(mv.version), alias, mv.run_id)
    problem = _unusable(registered_name, mv, allow_incomplete)
    if problem is not None:
        raise ModelLoadError(problem)
    where = f"model {registered_name} version {identity.version}"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            local = mlflow.artifacts.download_artifacts(  # the bundle's two files only
                artifact_uri=f"models:/{registered_name}/{identity.version}/artifacts/bundle",
                dst_path=tmp,
            )
            directory = Path(local)
            _check_files(directory, mv, where)
            bundle = ModelBundle.load(directory)
    except ModelLoadError:
        raise
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [""])[0][:300]
        raise ModelLoadError(f"{where} cannot be loaded: {type(exc).__name__}: {first}") from exc
    check_bundle(bundle, where)
    return bundle, identity


def verify_version(
    registered_name: str,
    version: str,
    rows: pd.DataFrame,
    expected: np.ndarray,
    tolerance: float = ROUNDTRIP_TOLERANCE,
) -> float:
    """Load `version` back from the registry as another process would, score `rows`, and check
    the probabilities equal `expected` (the in-memory model's); returns the largest difference.

    Raises `ModelLoadError` when the version cannot be loaded, scored, or scores differently.
    """
    bundle, _ = load_bundle(registered_name, version, allow_incomplete=True)
    where = f"model {registered_name} version {version}"
    try:
        got = np.asarray(bundle.probability(bundle.encode(rows), rows), dtype=float)
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [""])[0][:300]
        raise ModelLoadError(f"{where} cannot score: {type(exc).__name__}: {first}") from exc
    want = np.asarray(expected, dtype=float)
    if got.shape != want.shape or not np.all(np.isfinite(got)):
        raise ModelLoadError(f"{where} scored {len(rows)} rows into unusable probabilities")
    diff = float(np.max(np.abs(got - want))) if len(want) else 0.0
    if diff > tolerance:
        raise ModelLoadError(
            f"{where} scores differently once loaded back (largest difference {diff:.3g})"
        )
    return diff


def local_artifact_dir(registered_name: str, version: str) -> Path | None:
    """The bundle directory of a version in a local (file) artifact store, else None."""
    import mlflow
    from mlflow.utils.file_utils import local_file_uri_to_path

    uri = mlflow.MlflowClient().get_model_version_download_uri(registered_name, version)
    if not uri.startswith("file:"):
        return None
    return Path(local_file_uri_to_path(uri)) / "artifacts" / "bundle"


def registered_names(prefix: str = REGISTERED_PREFIX) -> list[str]:
    """Names of the product's registered models."""
    import mlflow

    client = mlflow.MlflowClient()
    found = client.search_registered_models(filter_string=f"name LIKE '{prefix}%'")
    return sorted(m.name for m in found)


def in_target_order(models: dict[str, LoadedModel]) -> dict[str, LoadedModel]:
    """`long_stay` first, `nctr` last, other targets (e.g. `long_stay_21`) between, by name."""
    order = {"long_stay": 0, "nctr": 2}
    return dict(sorted(models.items(), key=lambda kv: (order.get(kv[0], 1), kv[0])))


def load_models(alias_or_version: str = CHAMPION) -> dict[str, LoadedModel]:
    """Load every registered model that has `alias_or_version`, keyed by target name.

    Raises ModelNotFoundError when none has it, and ModelLoadError when one has it but that
    version cannot be used (a target is never silently left out).
    """
    models: dict[str, LoadedModel] = {}
    for name in registered_names():
        try:
            bundle, identity = load_bundle(name, alias_or_version)
        except ModelNotFoundError:
            continue
        models[bundle.target] = LoadedModel(bundle, identity)
    if not models:
        raise ModelNotFoundError(
            f"no registered model has alias or version '{alias_or_version}': run `make train`"
        )
    return in_target_order(models)

"""The explicit MLflow client of one registry URI, and the store checks made before opening one.

Every registry call goes through a `Registry` (one `MlflowClient(tracking_uri=uri,
registry_uri=uri)`), so two registries used in one process never see each other's models, and
MLflow's process-wide tracking and registry URIs are never set, except inside `fluent_tracking`
(see there). `connect(uri)` opens a `Registry` and makes it this process's connected one: the
registry functions use it when no `registry=` is passed (the CLI, the service and training
connect once at their start).

`connect` never creates a SQLite registry unless asked to (`create=True`, used by training): a
missing or empty database file is a `RegistryUnavailableError`, not a new empty registry.
Readers hold no pooled connections, so a registry file replaced at the path is the one read
(`models.registry.integrity.store_identity` tells a poller that it was replaced). A reader of a
local SQLite registry gets a `SqliteRegistryReader` as its client (`models.registry.sqlite_read`:
the same answers without importing MLflow, about 2 s of a short command).
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from los.errors import LosError, RegistryUnavailableError
from models.registry.sqlite_read import open_reader

EXPERIMENT = "los"

_connected: Registry | None = None


@dataclass(frozen=True)
class Registry:
    """One registry store: its URI, the MLflow client bound to it, and the `los` experiment id
    ("" when a reader opened a store that has none)."""

    uri: str
    # mlflow.MlflowClient, or for a reader of a local SQLite registry the `SqliteRegistryReader`
    # that answers the same questions without MLflow; typed loosely so importing stays light
    client: Any
    experiment_id: str


def sqlite_path(tracking_uri: str) -> Path | None:
    """The database file of a SQLite URI (None for other stores and in-memory databases)."""
    if not tracking_uri.startswith("sqlite:"):
        return None
    plain = "sqlite:///"  # the usual form, read as SQLAlchemy does without importing it (~0.2 s)
    if tracking_uri.startswith(plain) and "?" not in tracking_uri:
        database: str | None = tracking_uri[len(plain) :]
    else:
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


def open_registry(
    tracking_uri: str, artifact_root: Path | None = None, *, create: bool = False
) -> Registry:
    """A `Registry` for `tracking_uri` (used for both tracking and the model registry).

    With `create=False` (readers: the service, `los score`, ...) a missing or empty SQLite file
    raises `RegistryUnavailableError` and nothing is written. With `create=True` (training) the
    store and experiment are created if needed, and with a local SQLite store artifacts go under
    `artifact_root` (the data directory) rather than MLflow's default `./mlruns` in whatever
    directory the command runs from.
    """
    if not create:
        require_registry(tracking_uri)
        # Readers open the SQLite file afresh for every query instead of keeping pooled
        # connections: a pooled connection keeps reading a deleted or replaced file's old inode,
        # so a service would follow a registry that is no longer at the path. MLflow reads this
        # only from the environment, when it creates a store's engine.
        os.environ.setdefault("MLFLOW_SQLALCHEMYSTORE_POOLCLASS", "NullPool")
        path = sqlite_path(tracking_uri)
        reader = open_reader(tracking_uri, path) if path is not None else None
        if reader is not None:  # a local SQLite registry: read without importing MLflow
            return Registry(tracking_uri, reader, reader.experiment_id(EXPERIMENT) or "")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    # mlflow is heavy (~3 s to import): imported only when a registry is opened, so the
    # modules that only name registry types (scorer, serving schemas) stay fast to import.
    import mlflow

    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # we pass pip requirements explicitly; MLflow still warns it cannot find pip's version
    logging.getLogger("mlflow.utils.environment").setLevel(logging.ERROR)
    client = mlflow.MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    experiment = client.get_experiment_by_name(EXPERIMENT)
    if experiment is not None:
        return Registry(tracking_uri, client, str(experiment.experiment_id))
    if not create:
        return Registry(tracking_uri, client, "")
    location = None
    if artifact_root is not None and tracking_uri.startswith("sqlite:"):
        artifact_root.mkdir(parents=True, exist_ok=True)
        location = artifact_root.resolve().as_uri()
    made = client.create_experiment(EXPERIMENT, artifact_location=location)
    return Registry(tracking_uri, client, str(made))


def connect(tracking_uri: str, artifact_root: Path | None = None, *, create: bool = False) -> str:
    """Open the registry at `tracking_uri` (`open_registry`) and make it this process's connected
    one; returns the experiment id ("" if a reader's store has none)."""
    global _connected
    opened = open_registry(tracking_uri, artifact_root, create=create)
    _connected = opened
    return opened.experiment_id


def connected(registry: Registry | None = None) -> Registry:
    """`registry` if given, else the one `connect` opened last in this process."""
    if registry is not None:
        return registry
    if _connected is None:
        raise RegistryUnavailableError("no registry connected (models.registry.connect)")
    return _connected


def read_run_text(run_id: str, path: str, registry: Registry | None = None) -> str:
    """The text of a training run's artifact (`path` inside the run), from this registry."""
    import mlflow  # heavy: see `open_registry`

    store = connected(registry)
    with tempfile.TemporaryDirectory() as tmp:
        local = mlflow.artifacts.download_artifacts(
            run_id=run_id,
            artifact_path=path,
            dst_path=tmp,
            tracking_uri=store.uri,
            registry_uri=store.uri,
        )
        return Path(local).read_text("utf-8")


@contextmanager
def fluent_tracking(registry: Registry | None = None) -> Iterator[Registry]:
    """Point MLflow's process-wide tracking and registry URIs at this registry, and restore them
    (and the MLFLOW_* variables MLflow writes into the environment) on exit.

    The one place product code touches MLflow's global state: `mlflow.start_run`, the fluent
    `mlflow.log_*` calls of an active run and `mlflow.pyfunc.log_model` take no client or URI
    and act on the global tracking URI; they are used only inside this block (a training run).
    """
    import mlflow  # heavy: see `open_registry`

    store = connected(registry)
    names = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")
    saved_env = {name: os.environ.get(name) for name in names}
    saved_tracking, saved_registry = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    mlflow.set_tracking_uri(store.uri)
    mlflow.set_registry_uri(store.uri)
    try:
        yield store
    finally:
        mlflow.set_tracking_uri(saved_tracking)
        mlflow.set_registry_uri(saved_registry)
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

"""The MLflow model registry: log, register, alias (`challenger`, `champion`) and load bundles."""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from los.errors import ModelNotFoundError
from models.bundle import ModelBundle

log = logging.getLogger(__name__)

EXPERIMENT = "los"
CHAMPION = "champion"
CHALLENGER = "challenger"
PIP_REQUIREMENTS = ["lightgbm==4.7.0", "pandas==3.1.1", "numpy==2.4.6", "scipy==1.17.1"]


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


def connect(tracking_uri: str, artifact_root: Path | None = None) -> str:
    """Point MLflow at the tracking/registry store; returns the experiment id.

    With a local SQLite store, artifacts go under `artifact_root` (the data directory) rather
    than MLflow's default `./mlruns` in whatever directory the command runs from.
    """
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
) -> ModelIdentity:
    """Log the bundle as a pyfunc model in the active run, register it, alias it `challenger`."""
    import mlflow
    from mlflow.models import infer_signature

    from models.pyfunc import BundlePyfunc

    with tempfile.TemporaryDirectory() as tmp:
        bundle_dir = bundle.save(Path(tmp) / "bundle")
        example = input_example.head(5)
        signature = infer_signature(example, pd.Series([0.5] * len(example), name="probability"))
        info = mlflow.pyfunc.log_model(
            name=registered_name,
            python_model=BundlePyfunc(),
            artifacts={"bundle": str(bundle_dir)},
            pip_requirements=PIP_REQUIREMENTS,
            signature=signature,
            input_example=example,
            registered_model_name=registered_name,
            await_registration_for=60,
        )
    version = str(info.registered_model_version)
    client = mlflow.MlflowClient()
    client.set_registered_model_alias(registered_name, CHALLENGER, version)
    for key, value in (artifacts or {}).items():
        client.set_model_version_tag(registered_name, version, key, json.dumps(value, default=str))
    active = mlflow.active_run()
    run_id = active.info.run_id if active is not None else None
    return ModelIdentity(registered_name, version, CHALLENGER, run_id)


def promote(registered_name: str, version: str) -> None:
    """Move the `champion` alias to `version`."""
    import mlflow

    mlflow.MlflowClient().set_registered_model_alias(registered_name, CHAMPION, version)


def resolve(registered_name: str, alias_or_version: str = CHAMPION) -> ModelIdentity:
    """Find the version behind an alias (or check a version number exists)."""
    import mlflow
    from mlflow.exceptions import MlflowException

    client = mlflow.MlflowClient()
    try:
        if alias_or_version.isdigit():
            mv = client.get_model_version(registered_name, alias_or_version)
            alias = None
        else:
            mv = client.get_model_version_by_alias(registered_name, alias_or_version)
            alias = alias_or_version
    except MlflowException as exc:
        raise ModelNotFoundError(
            f"no model '{registered_name}' with alias or version '{alias_or_version}'"
        ) from exc
    return ModelIdentity(registered_name, str(mv.version), alias, mv.run_id)


def load_bundle(
    registered_name: str, alias_or_version: str = CHAMPION
) -> tuple[ModelBundle, ModelIdentity]:
    """Load a registered bundle by alias or version, from any process."""
    import mlflow

    identity = resolve(registered_name, alias_or_version)
    with tempfile.TemporaryDirectory() as tmp:
        local = mlflow.artifacts.download_artifacts(
            artifact_uri=f"models:/{registered_name}/{identity.version}", dst_path=tmp
        )
        bundle = ModelBundle.load(Path(local) / "artifacts" / "bundle")
    return bundle, identity


def registered_names(prefix: str = "los-") -> list[str]:
    """Names of the product's registered models."""
    import mlflow

    client = mlflow.MlflowClient()
    found = client.search_registered_models(filter_string=f"name LIKE '{prefix}%'")
    return sorted(m.name for m in found)


def load_models(alias_or_version: str = CHAMPION) -> dict[str, LoadedModel]:
    """Load every registered model that has `alias_or_version`, keyed by target name.

    Raises ModelNotFoundError when none has it.
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
    order = {"long_stay": 0, "nctr": 2}
    return dict(sorted(models.items(), key=lambda kv: (order.get(kv[0], 1), kv[0])))

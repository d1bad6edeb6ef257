"""Loading registered bundles: one version by alias or number, every target's, and the files.

`load_bundle` refuses versions that are not complete (`incomplete`, `rejected`), that declare a
bundle format this code does not know, whose files changed since registration (SHA-256 tag),
whose `booster.txt` LightGBM cannot parse, or whose booster does not match its feature list,
with a one-line `ModelLoadError`. Versions registered before these tags existed (no `los_state`
tag) load as before, with the same file checks.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

from los.errors import ModelLoadError, ModelNotFoundError
from models.bundle import BOOSTER_FILE, BUNDLE_FILE, ModelBundle
from models.registry.client import Registry, connected
from models.registry.integrity import check_bundle, check_files
from models.registry.lifecycle import (
    CHAMPION,
    CHECKSUM_TAG,
    ModelIdentity,
    model_version,
    registered_names,
    unusable,
)


@dataclass(frozen=True)
class LoadedModel:
    """A bundle with the registry identity it was loaded as."""

    bundle: ModelBundle
    identity: ModelIdentity


def load_bundle(
    registered_name: str,
    alias_or_version: str = CHAMPION,
    *,
    allow_incomplete: bool = False,
    registry: Registry | None = None,
) -> tuple[ModelBundle, ModelIdentity]:
    """Load a registered bundle by alias or version, from any process.

    Raises `ModelNotFoundError` when there is no such version and `ModelLoadError` when there is
    one that must not or cannot be used (see the module doc); `allow_incomplete` is for the
    training run's own check of a version it has just registered.
    """
    store = connected(registry)
    mv = model_version(registered_name, alias_or_version, registry=store)
    alias = None if alias_or_version.isdigit() else alias_or_version
    identity = ModelIdentity(registered_name, str(mv.version), alias, mv.run_id)
    problem = unusable(registered_name, mv, allow_incomplete)
    if problem is not None:
        raise ModelLoadError(problem)
    where = f"model {registered_name} version {identity.version}"
    try:
        # where the version's files are stored, asked of this registry's client: a `models:/`
        # URI would be resolved against MLflow's global registry URI, not this one
        stored = store.client.get_model_version_download_uri(registered_name, identity.version)
        with tempfile.TemporaryDirectory() as tmp:
            directory = _fetch_bundle(f"{stored.rstrip('/')}/artifacts/bundle", Path(tmp), store)
            check_files(directory, (mv.tags or {}).get(CHECKSUM_TAG), where)
            bundle = ModelBundle.load(directory)
    except ModelLoadError:
        raise
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [""])[0][:300]
        raise ModelLoadError(f"{where} cannot be loaded: {type(exc).__name__}: {first}") from exc
    check_bundle(bundle, where)
    return bundle, identity


def _fetch_bundle(uri: str, tmp: Path, store: Registry) -> Path:
    """A private copy of the bundle's files in `tmp`, checked and loaded from there (a file
    changed in the store after its check is never the one loaded). Files in a local store are
    copied directly (MLflow would copy them too, after a ~2 s import); others are downloaded
    by MLflow."""
    if uri.startswith("file:"):
        source = Path(url2pathname(urlparse(uri).path))
        directory = tmp / "bundle"
        directory.mkdir()
        for name in (BOOSTER_FILE, BUNDLE_FILE):
            shutil.copyfile(source / name, directory / name)
        return directory
    # mlflow is heavy (~3 s to import): only when a model is downloaded
    import mlflow

    local = mlflow.artifacts.download_artifacts(
        artifact_uri=uri, dst_path=str(tmp), tracking_uri=store.uri
    )
    return Path(local)


def local_artifact_dir(
    registered_name: str, version: str, *, registry: Registry | None = None
) -> Path | None:
    """The bundle directory of a version in a local (file) artifact store, else None."""
    from mlflow.utils.file_utils import local_file_uri_to_path  # heavy: see `load_bundle`

    uri = connected(registry).client.get_model_version_download_uri(registered_name, version)
    if not uri.startswith("file:"):
        return None
    return Path(local_file_uri_to_path(uri)) / "artifacts" / "bundle"


def in_target_order(models: dict[str, LoadedModel]) -> dict[str, LoadedModel]:
    """`long_stay` first, `nctr` last, other targets (e.g. `long_stay_21`) between, by name."""
    order = {"long_stay": 0, "nctr": 2}
    return dict(sorted(models.items(), key=lambda kv: (order.get(kv[0], 1), kv[0])))


def load_models(
    alias_or_version: str = CHAMPION, *, registry: Registry | None = None
) -> dict[str, LoadedModel]:
    """Load every registered model that has `alias_or_version`, keyed by target name.

    Raises ModelNotFoundError when none has it, and ModelLoadError when one has it but that
    version cannot be used (a target is never silently left out).
    """
    store = connected(registry)
    models: dict[str, LoadedModel] = {}
    for name in registered_names(registry=store):
        try:
            bundle, identity = load_bundle(name, alias_or_version, registry=store)
        except ModelNotFoundError:
            continue
        models[bundle.target] = LoadedModel(bundle, identity)
    if not models:
        raise ModelNotFoundError(
            f"no registered model has alias or version '{alias_or_version}': run `make train`"
        )
    return in_target_order(models)

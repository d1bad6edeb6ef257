"""Tests of models.registry's explicit client per URI: two real SQLite registries in one process
stay apart, and product calls leave MLflow's global tracking URI (and the environment) alone."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import lightgbm as lgb
import mlflow
import numpy as np
import pandas as pd
import pytest

from features.build import FeatureSpec, derive_features
from features.encoder import FeatureEncoder
from los.errors import ModelNotFoundError
from models import registry
from models.bundle import ModelBundle
from models.calibration import PlattCalibrator
from tests.factories import random_admissions

NAME = "los-long-stay"


@pytest.fixture(scope="module")
def tiny() -> tuple[ModelBundle, pd.DataFrame]:
    """A small real bundle (40 trees on 600 generated admissions) and rows to score."""
    admissions = random_admissions(600, seed=5)
    spec = FeatureSpec()
    features = derive_features(admissions, spec)
    encoder = FeatureEncoder(spec).fit(features)
    x = encoder.transform(features)
    rng = np.random.default_rng(5)
    y = (rng.random(len(x)) < 1 / (1 + np.exp(-0.04 * (features["age"] - 60)))).astype(float)
    data = lgb.Dataset(
        x, label=y, feature_name=encoder.columns_, categorical_feature=encoder.categorical_indices
    )
    params = {"objective": "binary", "num_leaves": 7, "verbosity": -1, "seed": 1}
    booster = lgb.train({**params, "min_data_in_leaf": 20, "num_threads": 1}, data, 40)
    calibrator = PlattCalibrator().fit(booster.predict(x, raw_score=True), y)
    bundle = ModelBundle("long_stay", booster, encoder, calibrator, 0.3, 0.6, float(y.mean()))
    return bundle, admissions.head(20)


@pytest.fixture()
def untouched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """MLflow's default store for this test: a SQLite file no product call may create."""
    default = tmp_path / "default" / "untouched.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{default}")
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    return default


def _global_uris() -> tuple[str | None, ...]:
    """MLflow's process-wide URIs and the variables it writes them to (for subprocesses)."""
    env = (os.environ.get("MLFLOW_TRACKING_URI"), os.environ.get("MLFLOW_REGISTRY_URI"))
    return (mlflow.get_tracking_uri(), mlflow.get_registry_uri(), *env)


def _register(store: registry.Registry, bundle: ModelBundle, rows: pd.DataFrame) -> str:
    with registry.fluent_tracking(store), mlflow.start_run(experiment_id=store.experiment_id):
        identity = registry.log_bundle(bundle, NAME, rows, registry=store)
    return identity.version


def test_two_registries_in_one_process_do_not_leak_into_each_other(
    tmp_path: Path, untouched: Path, tiny: tuple[ModelBundle, pd.DataFrame]
) -> None:
    bundle, rows = tiny
    before = _global_uris()
    a = registry.open_registry(f"sqlite:///{tmp_path / 'a.db'}", tmp_path / "art-a", create=True)
    b = registry.open_registry(f"sqlite:///{tmp_path / 'b.db'}", tmp_path / "art-b", create=True)

    assert _register(a, bundle, rows) == "1"
    registry.promote(NAME, "1", registry=a)
    assert [_register(b, bundle, rows) for _ in range(2)] == ["1", "2"]

    assert registry.resolve(NAME, registry.CHAMPION, registry=a).version == "1"
    assert registry.resolve(NAME, registry.CHALLENGER, registry=a).version == "1"
    assert registry.resolve(NAME, registry.CHALLENGER, registry=b).version == "2"
    with pytest.raises(ModelNotFoundError):  # a's champion is not b's
        registry.resolve(NAME, registry.CHAMPION, registry=b)
    with pytest.raises(ModelNotFoundError):
        registry.load_models(registry=b)
    loaded = registry.load_models(registry=a)["long_stay"]
    assert loaded.identity.version == "1"
    expected = bundle.probability(bundle.encode(rows), rows)
    assert registry.verify_version(NAME, "2", rows, expected, registry=b) == 0.0
    assert not registry.withdraw_champion(NAME, "1", registry=b)
    assert registry.resolve(NAME, registry.CHAMPION, registry=a).version == "1"
    local_a = registry.local_artifact_dir(NAME, "1", registry=a)
    local_b = registry.local_artifact_dir(NAME, "1", registry=b)
    assert local_a is not None and local_b is not None
    assert local_a.is_relative_to(tmp_path / "art-a") and local_b.is_relative_to(tmp_path / "art-b")

    assert _global_uris() == before
    assert not untouched.exists()


def test_connect_uses_its_own_client_and_leaves_mlflow_global_uri_alone(
    tmp_path: Path, untouched: Path, tiny: tuple[ModelBundle, pd.DataFrame]
) -> None:
    bundle, rows = tiny
    uri = f"sqlite:///{tmp_path / 'c.db'}"
    before_tracking, before_registry = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    experiment = registry.connect(uri, tmp_path / "art-c", create=True)
    assert registry.connected().uri == uri and registry.connected().experiment_id == experiment
    version = _register(registry.connected(), bundle, rows)
    registry.promote(NAME, version)  # the connected registry, no `registry=`
    assert registry.load_models()["long_stay"].identity.version == version
    assert registry.registered_names() == [NAME]
    other = registry.open_registry(f"sqlite:///{tmp_path / 'd.db'}", create=True)
    assert registry.registered_names(registry=other) == []  # opening is not connecting
    assert registry.connected().uri == uri

    assert mlflow.get_tracking_uri() == before_tracking
    assert mlflow.get_registry_uri() == before_registry
    assert os.environ["MLFLOW_TRACKING_URI"] == f"sqlite:///{untouched}"
    assert "MLFLOW_REGISTRY_URI" not in os.environ
    assert not untouched.exists()


def test_fluent_tracking_points_mlflow_at_the_registry_only_inside_the_block(
    tmp_path: Path, untouched: Path
) -> None:
    store = registry.Registry(f"sqlite:///{tmp_path / 'e.db'}", None, "")  # no store needed
    before = _global_uris()
    with pytest.raises(RuntimeError), registry.fluent_tracking(store):
        assert mlflow.get_tracking_uri() == store.uri == mlflow.get_registry_uri()
        raise RuntimeError("a failed training run")
    assert _global_uris() == before


def test_a_reader_never_creates_a_registry(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "mlflow.db"
    with pytest.raises(registry.RegistryUnavailableError, match="not found"):
        registry.open_registry(f"sqlite:///{missing}")
    assert not missing.parent.exists()


def test_a_logged_model_requires_the_versions_pinned_in_pyproject() -> None:
    """`PIP_REQUIREMENTS` is read from the installed packages: it must equal the pins."""
    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text("utf-8"))
    pins = dict(line.split("==") for line in pyproject["project"]["dependencies"])
    assert [
        f"{name}=={pins[name]}" for name in ("lightgbm", "pandas", "numpy", "scipy")
    ] == registry.PIP_REQUIREMENTS

"""Shared fixtures: small generated data, a fast training config and a real trained registry."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from los.config import Settings, TrainingConfig


@dataclass(frozen=True)
class TrainedRegistry:
    """A real MLflow registry (SQLite) holding champion models trained on generated data."""

    settings: Settings
    data_dir: Path
    data_path: Path
    admissions: pd.DataFrame
    truth: pd.DataFrame
    summary: object  # training.register.RunSummary

    @property
    def env(self) -> dict[str, str]:
        """Environment for a subprocess (`los ...`, the server) using this registry."""
        return {
            **os.environ,
            "LOS_DATA_DIR": str(self.data_dir),
            "MLFLOW_TRACKING_URI": self.settings.tracking_uri,
        }


def fast_config(**overrides: object) -> TrainingConfig:
    """A training config small enough for tests (fewer trees, fewer bootstrap draws)."""
    base = {
        # settings as given, no search (the search has its own tests: tests/unit/test_tune.py)
        "lightgbm": {
            "n_estimators": 150,
            "learning_rate": 0.1,
            "min_child_samples": 50,
            "tune": False,
        },
        "evaluation": {"n_bootstrap": 30, "shap_sample": 300},
        "gates": {"min_group_size": 50},
        # flags only unless a test asks for the stay distribution (the session registry and
        # tests/integration/test_stay_distribution.py do): it is trained and tested there
        "targets": {"stay_distribution": False},
    }
    targets = {**base["targets"], **overrides.pop("targets", {})}  # type: ignore[dict-item]
    base.update(overrides, targets=targets)  # type: ignore[arg-type]
    return TrainingConfig.model_validate(base)


@pytest.fixture(scope="session")
def generated() -> tuple[pd.DataFrame, pd.DataFrame]:
    """20k generated spells and their true probabilities (session-wide, read-only)."""
    from features.generate import generate_admissions

    data = generate_admissions(20_000, seed=7)
    return data.admissions, data.truth


@pytest.fixture(scope="session")
def trained_registry(
    tmp_path_factory: pytest.TempPathFactory, generated: tuple[pd.DataFrame, pd.DataFrame]
) -> Iterator[TrainedRegistry]:
    """Train and register every target once per session into a temporary SQLite registry."""
    from features.load import write_frame
    from training.register import train_and_register

    data_dir = tmp_path_factory.mktemp("registry")
    admissions, truth = generated
    data_path = write_frame(admissions, data_dir / "admissions.parquet")
    settings = Settings(los_data_dir=data_dir, mlflow_tracking_uri=None)
    summary = train_and_register(
        admissions,
        fast_config(targets={"stay_distribution": True}),
        settings,
        data_dir / "reports",
    )
    yield TrainedRegistry(settings, data_dir, data_path, admissions, truth, summary)


@pytest.fixture(scope="session")
def held_registry(tmp_path_factory: pytest.TempPathFactory) -> TrainedRegistry:
    """A registry whose NCTR version is held for review and whose `long_stay` is champion
    (tests/held_registry.py); tests that change it work on `private_copy`s."""
    from tests.held_registry import train_held

    return train_held(tmp_path_factory.mktemp("held"))

"""Two runs logging the same extract at the same moment: the one whose dataset insert loses the
race is linked to the row the other wrote, not failed (seen in the two-trainings-at-once test
as `UNIQUE constraint failed: datasets.experiment_id, datasets.name, datasets.digest`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from mlflow.exceptions import MlflowException
from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

from models import registry
from training.run_record import log_extract
from training.split import SplitBoundaries

DATES = ("2024-01-01", "2024-06-01", "2024-08-01", "2024-10-01", "2025-01-01")
BOUNDARIES = SplitBoundaries(*(pd.Timestamp(d) for d in DATES))
EXTRACT = pd.DataFrame({"spell_id": ["S1", "S2", "S3"], "age": [70, 81, 92]})


def _race_once(monkeypatch: pytest.MonkeyPatch, other_run: str, error: str) -> list[str]:
    """The store's first `log_inputs` lets `other_run` log the same datasets first, then fails
    as SQLite does when it loses that race; later calls go through."""
    real = SqlAlchemyStore.log_inputs
    calls: list[str] = []

    def racing(self: SqlAlchemyStore, run_id: str, datasets: Any = None, models: Any = None) -> Any:
        calls.append(run_id)
        if len(calls) == 1:
            real(self, other_run, datasets=datasets)
            raise MlflowException(error)
        return real(self, run_id, datasets=datasets, models=models)

    monkeypatch.setattr(SqlAlchemyStore, "log_inputs", racing)
    return calls


def _dataset_digests(run_id: str) -> list[str]:
    run = registry.connected().client.get_run(run_id)
    return [d.dataset.digest for d in run.inputs.dataset_inputs]


@pytest.fixture
def registry_with_a_run(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A fresh registry (MLflow's fluent calls pointed at it) and an ended run in it: (the
    experiment, that run's id), the other run of the race."""
    import mlflow

    experiment = registry.connect(f"sqlite:///{tmp_path / 'm.db'}", tmp_path / "art", create=True)
    with registry.fluent_tracking():
        other = mlflow.start_run(experiment_id=experiment)
        mlflow.end_run()
        yield experiment, other.info.run_id


def test_the_run_that_loses_the_insert_race_is_linked_to_the_other_runs_row(
    registry_with_a_run: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlflow

    experiment, other = registry_with_a_run
    calls = _race_once(
        monkeypatch,
        other,
        "(sqlite3.IntegrityError) UNIQUE constraint failed: datasets.experiment_id, "
        "datasets.name, datasets.digest",
    )
    with mlflow.start_run(experiment_id=experiment) as run:
        log_extract(EXTRACT, BOUNDARIES, rows_in_hospital=0)
    assert calls == [run.info.run_id, run.info.run_id]
    mine, theirs = _dataset_digests(run.info.run_id), _dataset_digests(other)
    assert mine == theirs and len(mine) == 1


def test_any_other_store_error_still_stops_the_run(
    registry_with_a_run: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlflow

    experiment, other = registry_with_a_run
    calls = _race_once(monkeypatch, other, "disk I/O error")
    with (
        pytest.raises(MlflowException, match="disk I/O error"),
        mlflow.start_run(experiment_id=experiment),
    ):
        log_extract(EXTRACT, BOUNDARIES, rows_in_hospital=0)
    assert len(calls) == 1

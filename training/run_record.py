"""What the training run logs to MLflow: settings, a readable name, the extract, and test metrics.

- Settings: the configuration as parameters and `config.json`; each target's chosen LightGBM
  settings as parameters and its search table as `tuning/<target>.json`.
- Name: the targets trained, the extract's admission window and the time, e.g.
  `long_stay, nctr | admissions 2023-01-01 to 2024-12-31 | trained 2026-11-30 20:15 UTC`.
- Input: the extract as an MLflow dataset (`mlflow.log_input`, context `training`) whose digest is
  the extract's own (SHA-256 of its rows, cut to MLflow's 36-character field; the full value is the
  input tag `extract_sha256`) and whose tags give the window of each period.
- Metrics: `<target>.test_<metric>` on the test period, each linked to its own target's logged
  model only (MLflow 3 attaches a run's unlinked metrics to every model of the run).

All of it runs inside the active run (`mlflow.start_run`).
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime
from typing import Any

import pandas as pd

from los.config import TrainingConfig
from training.pipeline import TrainingResult
from training.split import SplitBoundaries
from training.version_record import window_text

log = logging.getLogger(__name__)

DIGEST_LENGTH = 32  # hex characters; MLflow's dataset digest column holds 36
DATASET_CONTEXT = "training"
SCHEMA_ROWS = 1000  # MLflow infers a schema from these (all 200k rows: ~13 s)


def flatten(prefix: str, value: Any, out: dict[str, Any]) -> dict[str, Any]:
    """Nested settings as `a.b.c` keys."""
    if isinstance(value, dict):
        for k, v in value.items():
            flatten(f"{prefix}.{k}" if prefix else k, v, out)
    else:
        out[prefix] = value
    return out


def extract_sha256(admissions: pd.DataFrame) -> str:
    """SHA-256 of the extract: its column names and every row's values, in order."""
    digest = hashlib.sha256("\x1f".join(map(str, admissions.columns)).encode())
    rows = pd.util.hash_pandas_object(admissions, index=False).to_numpy()
    digest.update(rows.tobytes())
    return digest.hexdigest()


def run_name(targets: list[str], window: dict[str, str], at: datetime) -> str:
    """`long_stay, nctr | admissions 2023-01-01 to 2024-12-31 | trained 2026-11-30 20:15 UTC`."""
    return (
        f"{', '.join(targets)} | admissions {window_text(window)} | "
        f"trained {at.strftime('%Y-%m-%d %H:%M')} UTC"
    )


def log_settings(config: TrainingConfig) -> None:
    """The configuration, as parameters (values cut to 500 characters) and `config.json`."""
    import mlflow

    params = flatten("", config.model_dump(mode="json"), {})
    mlflow.log_params({k: str(v)[:500] for k, v in params.items()})
    mlflow.log_dict(config.model_dump(mode="json"), "config.json")


def log_extract(
    admissions: pd.DataFrame, boundaries: SplitBoundaries, rows_in_hospital: int
) -> str:
    """Log the extract as the run's training dataset; returns its full SHA-256."""
    import mlflow
    from mlflow.data.pandas_dataset import PandasDataset, from_pandas

    class Extract(PandasDataset):  # type: ignore[misc]
        """Schema from the first rows; digest and profile are the whole extract's."""

        @property
        def profile(self) -> dict[str, int]:
            return {"num_rows": len(admissions), "num_elements": int(admissions.size)}

    sha = extract_sha256(admissions)
    window = boundaries.as_dict()
    sample = admissions.head(SCHEMA_ROWS)
    named = from_pandas(
        sample, name=f"admissions {window_text(window)}", digest=sha[:DIGEST_LENGTH]
    )
    dataset = Extract(sample, named.source, name=named.name, digest=named.digest)
    tags = {f"window.{k}": v for k, v in window.items()}
    tags.update(
        {
            "extract_sha256": sha,
            "rows": str(len(admissions)),
            "rows_in_hospital_skipped": str(rows_in_hospital),
        }
    )
    for attempt in (1, 2):
        try:
            mlflow.log_input(dataset, context=DATASET_CONTEXT, tags=tags)
            break
        except mlflow.exceptions.MlflowException as exc:
            # two runs logging the same extract at once: both found no dataset row and the
            # other's insert won (the store rolled this one back); the retry finds that row
            if attempt == 2 or "unique" not in str(exc).lower():
                raise
            log.info("the extract's dataset row was added by another run at once; linking it")
    return sha


def log_training(
    result: TrainingResult,
    admissions: pd.DataFrame,
    started: datetime,
    extra_tags: dict[str, Any] | None = None,
) -> None:
    """After fitting: the run's name, its extract, features, window, tags and the searches."""
    import mlflow

    prepared = result.prepared
    window = prepared.boundaries.as_dict()
    mlflow.set_tag(
        "mlflow.runName", run_name([t.target.name for t in result.targets], window, started)
    )
    log_extract(admissions, prepared.boundaries, prepared.rows_in_hospital)
    mlflow.log_dict(
        {"features": prepared.encoder.columns_, "categorical": prepared.encoder.spec_.categorical},
        "features.json",
    )
    mlflow.log_dict(window, "data_window.json")
    mlflow.set_tags(
        {
            "rows_in_hospital_skipped": prepared.rows_in_hospital,
            "targets_skipped": ",".join(s.target.name for s in result.skipped),
            "data_window": window_text(window),
            **(extra_tags or {}),
        }
    )
    for tr in result.targets:
        mlflow.log_param(f"{tr.target.name}.target_definition", tr.target.definition_json)
        if tr.search is not None:  # the chosen LightGBM settings and the search table
            mlflow.log_params(tr.search.mlflow_params(tr.target.name))
            mlflow.log_dict(tr.search.to_dict(), f"tuning/{tr.target.name}.json")


def log_target_metrics(result: TrainingResult, model_ids: dict[str, str | None]) -> None:
    """Each target's test metrics, linked to that target's logged model only.

    Call after every model of the run is logged: MLflow copies the run's metrics that exist when
    a model is logged onto it.
    """
    import mlflow

    for tr in result.targets:
        metrics = {
            f"{tr.target.name}.test_{k}": float(v)
            for k, v in tr.evaluation.overall.to_dict().items()
        }
        mlflow.log_metrics(metrics, model_id=model_ids.get(tr.target.name))

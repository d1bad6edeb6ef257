"""Training at the edge: run the pipeline inside an MLflow run, register, gate and promote."""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from evaluation.gates import GateResult
from evaluation.report import ReportContext, write_reports
from los.config import Settings, TrainingConfig
from los.errors import LosError
from models import registry
from models.bundle import ModelBundle
from models.explain import global_explanation
from training.pipeline import Progress, TrainingResult, train_all
from training.targets import Target

log = logging.getLogger(__name__)


@dataclass
class TargetOutcome:
    """What happened to one target's new version."""

    target: str
    registered_name: str
    version: str
    promoted: bool
    gates: list[GateResult]
    metrics: dict[str, Any]


@dataclass
class RunSummary:
    """Printed by `los train`."""

    run_id: str
    outcomes: list[TargetOutcome] = field(default_factory=list)
    report_dir: Path | None = None
    rows_in_hospital: int = 0
    data_window: dict[str, str] = field(default_factory=dict)
    result: TrainingResult | None = field(default=None, repr=False)  # for benchmarks and tests


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> dict[str, Any]:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}" if prefix else k, v, out)
    else:
        out[prefix] = value
    return out


def _current_champion(target: Target) -> ModelBundle | None:
    try:
        bundle, _ = registry.load_bundle(target.registered_name, registry.CHAMPION)
    except LosError:
        return None
    except Exception as exc:  # an unreadable champion must not block training
        log.warning("current champion of %s could not be loaded: %s", target.name, exc)
        return None
    return bundle


def train_and_register(
    admissions: pd.DataFrame,
    config: TrainingConfig,
    settings: Settings,
    report_dir: Path | None = None,
    progress: Progress = lambda msg: None,
    extra_tags: dict[str, Any] | None = None,
) -> RunSummary:
    """Train every target, log the run, register each version as `challenger`, promote on gates.

    Versions are registered only after every target has trained, so a run that fails while
    training registers nothing; `champion` moves only after every version and the reports are
    logged, so a run that fails later leaves new `challenger` versions and `champion` untouched.
    """
    import mlflow

    experiment = registry.connect(settings.tracking_uri, settings.los_data_dir / "mlartifacts")
    with mlflow.start_run(experiment_id=experiment) as run:
        run_id = run.info.run_id
        params = _flatten("", config.model_dump(mode="json"), {})
        mlflow.log_params({k: str(v)[:500] for k, v in params.items()})
        mlflow.log_dict(config.model_dump(mode="json"), "config.json")
        result: TrainingResult = train_all(admissions, config, _current_champion, progress)
        prepared = result.prepared
        mlflow.log_dict(
            {
                "features": prepared.encoder.columns_,
                "categorical": prepared.encoder.spec_.categorical,
            },
            "features.json",
        )
        mlflow.log_dict(prepared.boundaries.as_dict(), "data_window.json")
        mlflow.set_tags(
            {"rows_in_hospital_skipped": prepared.rows_in_hospital, **(extra_tags or {})}
        )
        for tr in result.targets:
            mlflow.log_metrics(
                {
                    f"{tr.target.name}.test_{k}": float(v)
                    for k, v in tr.evaluation.overall.to_dict().items()
                }
            )

        progress("registering models")
        out_dir = report_dir or Path(tempfile.mkdtemp(prefix="los-report-"))
        summary = RunSummary(
            run_id,
            report_dir=out_dir,
            rows_in_hospital=prepared.rows_in_hospital,
            data_window=prepared.boundaries.as_dict(),
            result=result,
        )
        example = prepared.admissions.drop(
            columns=[
                c
                for c in (
                    "discharge_datetime",
                    "discharge_ready_datetime",
                    "discharge_destination",
                    "discharge_pathway",
                )
                if c in prepared.admissions
            ]
        ).head(5)
        identities: dict[str, registry.ModelIdentity] = {}
        for tr in result.targets:
            overall = tr.evaluation.overall.to_dict()
            tr.bundle.metadata["test_metrics"] = overall
            tr.bundle.metadata["run_id"] = run_id
            identities[tr.target.name] = registry.log_bundle(
                tr.bundle,
                tr.target.registered_name,
                example,
                artifacts={
                    "test_metrics": overall,
                    "gates": {g.name: g.to_dict() for g in tr.gates},
                    "data_window": prepared.boundaries.as_dict(),
                    "threshold": tr.bundle.threshold,
                },
            )

        progress("writing reports")
        context = ReportContext(
            title=f"Training run {run_id}",
            models={
                tr.target.name: {
                    **tr.bundle.metadata,
                    **identities[tr.target.name].to_dict(),
                    "alias": "champion" if tr.passed else "challenger",
                }
                for tr in result.targets
            },
            data_window=prepared.boundaries.as_dict(),
        )
        evaluations = {tr.target.name: tr.evaluation for tr in result.targets}
        explanations = {
            tr.target.name: global_explanation(
                tr.bundle,
                prepared.x[tr.test_index],
                config.evaluation.shap_sample,
                config.seed,
            )
            for tr in result.targets
        }
        paths = write_reports(evaluations, context, out_dir, explanations)
        for path in paths:
            mlflow.log_artifact(str(path), "reports")

        progress("promoting")
        for tr in result.targets:
            identity = identities[tr.target.name]
            if tr.passed:  # only after the version and its reports are safely logged
                registry.promote(tr.target.registered_name, identity.version)
            summary.outcomes.append(
                TargetOutcome(
                    tr.target.name,
                    tr.target.registered_name,
                    identity.version,
                    tr.passed,
                    tr.gates,
                    tr.evaluation.overall.to_dict(),
                )
            )
        mlflow.log_dict(
            {o.target: {"version": o.version, "promoted": o.promoted} for o in summary.outcomes},
            "registration.json",
        )
    log.info("training run %s registered %d model versions", run_id, len(summary.outcomes))
    return summary

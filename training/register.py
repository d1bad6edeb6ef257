"""Training at the edge: the pipeline inside an MLflow run, as named stages.

`train_and_register` runs these stages in order; what a run killed between two of them leaves
behind is in docs/service.md "Faults":

1. `train_all`: train every target (nothing registered yet); `log_training`: the run's name,
   extract (dataset input), features, window and searches (`training.run_record`);
2. `register_version`: each version registered with `los_state=incomplete` and no alias, then
   each target's test metrics linked to its own model (`log_target_metrics`);
3. `check_roundtrip`: each version loaded back from the registry and scored on known rows (the
   `registry_roundtrip` gate: a version that cannot be loaded back, or scores differently, is
   never promoted);
4. `write_report_files`, then `log_reports`: the reports written, then logged to the run;
5. `record_version`: each version's gates as short tags and a table, then `complete` and
   `challenger` (or `rejected` when step 3 failed), with its promotion review as tags
   (`training.promotion`);
6. `promote_passed`: `champion` moves to the versions whose gates all passed (the others are held
   for review), and each version's description says how the run left it; `registration.json`.

Targets the extract cannot train are skipped with a one-line reason (`RunSummary.skipped`);
the others still train and register.

`challenger` and `champion` only ever point at complete versions, so a kill before step 5
leaves unaliased `incomplete` versions (which `models.registry` never loads or promotes) and
the previous aliases untouched. The fault tests stop or damage a run between stages by wrapping
these functions from the test side (tests/reliability/fault_hooks.py).
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from evaluation.findings import Finding
from evaluation.gates import GateResult
from evaluation.report import ReportContext, write_reports
from los.config import Settings, TrainingConfig
from los.errors import ModelNotFoundError
from los.schema import LABEL_COLUMNS
from los.targets import Target
from models import registry
from models.bundle import ModelBundle
from models.explain import global_explanation
from training.pipeline import Progress, SkippedTarget, TargetRun, TrainingResult, train_all
from training.promotion import Review, review
from training.run_record import log_settings, log_target_metrics, log_training
from training.stay_fit import StayRun
from training.stay_register import register_stay, stay_record
from training.versions import (
    ROUNDTRIP_GATE,
    ROUNDTRIP_ROWS,
    promote_version,
    record_version,
    register_version,
    roundtrip,
    roundtrip_gate,
)

log = logging.getLogger(__name__)

__all__ = ["ROUNDTRIP_GATE", "RunSummary", "TargetOutcome", "train_and_register"]

Identities = dict[str, registry.ModelIdentity]


@dataclass
class TargetOutcome:
    """What happened to one target's new version."""

    target: str
    registered_name: str
    version: str
    promoted: bool
    gates: list[GateResult]
    metrics: dict[str, Any]
    review: Review | None = None  # what holds it back from champion, if anything
    title: str = ""  # e.g. "NCTR", for console lines
    findings: list[Finding] = field(default_factory=list)  # every group beyond its band


@dataclass
class RunSummary:
    """Printed by `los train`."""

    run_id: str
    outcomes: list[TargetOutcome] = field(default_factory=list)
    report_dir: Path | None = None
    rows_in_hospital: int = 0
    data_window: dict[str, str] = field(default_factory=dict)
    result: TrainingResult | None = field(default=None, repr=False)  # for benchmarks and tests
    skipped: list[SkippedTarget] = field(default_factory=list)  # targets the data cannot train
    stay: StayRun | None = None  # the length-of-stay distribution model, when trained


def _current_champion(target: Target) -> ModelBundle | None:
    try:
        bundle, _ = registry.load_bundle(target.registered_name, registry.CHAMPION)
    except ModelNotFoundError:
        return None
    except Exception as exc:  # an unreadable champion must not block training
        log.warning("current champion of %s could not be loaded: %s", target.name, exc)
        return None
    return bundle


def _unlabelled(result: TrainingResult) -> pd.DataFrame:
    admissions = result.prepared.admissions
    return admissions.drop(columns=[c for c in LABEL_COLUMNS if c in admissions])


def register_all(result: TrainingResult, run_id: str, example: pd.DataFrame) -> Identities:
    """Stage 2: every version registered `incomplete`; then each target's metrics on its model."""
    identities: Identities = {}
    model_ids: dict[str, str | None] = {}
    for tr in result.targets:
        identities[tr.target.name], model_ids[tr.target.name] = register_version(
            tr, run_id, example
        )
    log_target_metrics(result, model_ids)
    return identities


def check_roundtrip(result: TrainingResult, identities: Identities, example: pd.DataFrame) -> None:
    """Stage 3: the `registry_roundtrip` gate of every version, added to its gates."""
    unlabelled = _unlabelled(result)
    for tr in result.targets:
        known = pd.concat([example, unlabelled.iloc[tr.test_index[:ROUNDTRIP_ROWS]]])
        tr.evaluation.gates.append(roundtrip_gate(tr, identities[tr.target.name], known))


def write_report_files(
    result: TrainingResult,
    identities: Identities,
    run_id: str,
    out_dir: Path,
    config: TrainingConfig,
) -> list[Path]:
    """Stage 4a: metrics.json, report.html, the model card (and explanations) in `out_dir`."""
    prepared = result.prepared
    context = ReportContext(
        title=f"Training run {run_id}",
        models={
            tr.target.name: {
                **tr.bundle.metadata,
                **identities[tr.target.name].to_dict(),
                "alias": "champion" if tr.passed else _alias_if_kept(tr),
            }
            for tr in result.targets
        },
        data_window=prepared.boundaries.as_dict(),
        notes=[f"Not trained: {s.message}." for s in result.skipped],
    )
    evaluations = {tr.target.name: tr.evaluation for tr in result.targets}
    explanations = {
        tr.target.name: global_explanation(
            tr.bundle, prepared.x[tr.test_index], config.evaluation.shap_sample, config.seed
        )
        for tr in result.targets
    }
    distribution = result.stay.evaluation if result.stay is not None else None
    return write_reports(evaluations, context, out_dir, explanations, distribution=distribution)


def log_reports(paths: list[Path]) -> None:
    """Stage 4b: the report files logged to the run (`reports/`)."""
    import mlflow

    for path in paths:
        mlflow.log_artifact(str(path), "reports")


def record_versions(
    result: TrainingResult, identities: Identities, reviews: dict[str, Review], run_id: str
) -> None:
    """Stage 5: the run is complete, its versions become visible (`challenger`) or rejected."""
    for tr in result.targets:
        record_version(tr, identities[tr.target.name], reviews[tr.target.name], run_id)


def promote_passed(
    result: TrainingResult, identities: Identities, reviews: dict[str, Review]
) -> list[TargetOutcome]:
    """Stage 6: `champion` for every version whose gates all passed; the outcomes."""
    outcomes = []
    for tr in result.targets:
        identity = identities[tr.target.name]
        promote_version(tr, identity, reviews[tr.target.name])
        outcomes.append(
            TargetOutcome(
                tr.target.name,
                tr.target.registered_name,
                identity.version,
                tr.passed,
                tr.gates,
                tr.evaluation.overall.to_dict(),
                reviews[tr.target.name],
                tr.target.title,
                tr.evaluation.findings,
            )
        )
    return outcomes


def log_registration(summary: RunSummary) -> None:
    """What the run registered, promoted and skipped (`registration.json`)."""
    import mlflow

    mlflow.log_dict(
        {
            **{
                o.target: {
                    "version": o.version,
                    "promoted": o.promoted,
                    "blocking": o.review.blocking if o.review else [],
                }
                for o in summary.outcomes
            },
            **{s.target.name: {"skipped": s.reason} for s in summary.skipped},
            **({summary.stay.target.name: stay_record(summary.stay)} if summary.stay else {}),
        },
        "registration.json",
    )


def train_and_register(
    admissions: pd.DataFrame,
    config: TrainingConfig,
    settings: Settings,
    report_dir: Path | None = None,
    progress: Progress = lambda msg: None,
    extra_tags: dict[str, Any] | None = None,
) -> RunSummary:
    """Train every target, log the run, register, verify, and promote the versions that pass.

    See the module doc for the stages and what an interrupted run leaves behind.
    """
    # mlflow is heavy (~3 s to import): imported by a training run only, not by importing this
    import mlflow

    experiment = registry.connect(
        settings.tracking_uri, settings.los_data_dir / "mlartifacts", create=True
    )
    started = datetime.now(UTC)
    # mlflow.start_run and the fluent log calls act on MLflow's global tracking URI: set for
    # this run only (`registry.fluent_tracking` restores it)
    with (
        registry.fluent_tracking(),
        mlflow.start_run(
            experiment_id=experiment, run_name=f"los train {started:%Y-%m-%d %H:%M}"
        ) as run,
    ):
        run_id = run.info.run_id
        log_settings(config)
        result = train_all(admissions, config, _current_champion, progress)
        log_training(result, admissions, started, extra_tags)

        progress("registering models")
        example = _unlabelled(result).head(5)
        identities = register_all(result, run_id, example)

        progress("loading the registered versions back to check them")
        check_roundtrip(result, identities, example)
        if result.stay is not None:  # its own stages: register, check, complete, promote
            progress("registering the length-of-stay distribution")
            stay = register_stay(result.stay, run_id, example)
            alias = stay.alias or "none (rejected)"
            progress(f"{stay.name} version {stay.version}: {alias}")

        progress("writing reports")
        out_dir = report_dir or Path(tempfile.mkdtemp(prefix="los-report-"))
        log_reports(write_report_files(result, identities, run_id, out_dir, config))

        progress("promoting")
        reviews = {
            tr.target.name: review(tr.gates, tr.evaluation.findings, tr.target.outcome)
            for tr in result.targets
        }
        record_versions(result, identities, reviews, run_id)
        summary = RunSummary(
            run_id,
            outcomes=promote_passed(result, identities, reviews),
            report_dir=out_dir,
            rows_in_hospital=result.prepared.rows_in_hospital,
            data_window=result.prepared.boundaries.as_dict(),
            result=result,
            skipped=list(result.skipped),
            stay=result.stay,
        )
        log_registration(summary)
    log.info("training run %s registered %d model versions", run_id, len(summary.outcomes))
    return summary


def _alias_if_kept(tr: TargetRun) -> str:
    checked = roundtrip(tr)
    if checked is not None and not checked.passed:
        return "none (rejected)"
    return "challenger (held for review)"

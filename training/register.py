"""Training at the edge: run the pipeline inside an MLflow run, register, verify, gate, promote.

Order of steps, and what a run killed at any point leaves behind (docs/service.md "Faults"):

1. train every target (nothing registered yet);
2. register each version with `los_state=incomplete` and no alias;
3. load each version back from the registry and score known rows (the `registry_roundtrip`
   gate: a version that cannot be loaded back, or scores differently, is never promoted);
4. write and log the reports;
5. mark each version `complete` and alias it `challenger` (or `rejected` when step 3 failed),
   with its promotion review as tags (`training.promotion`: `gates.status=passed|held`, the
   failed gates and blocking fairness findings);
6. move `champion` to the versions whose gates all passed; the others are held for review.

Targets the extract cannot train are skipped with a one-line reason (`RunSummary.skipped`);
the others still train and register.

`challenger` and `champion` only ever point at complete versions, so a kill before step 5
leaves unaliased `incomplete` versions (which `models.registry` never loads or promotes) and
the previous aliases untouched.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from evaluation.findings import Finding
from evaluation.gates import GateResult
from evaluation.report import ReportContext, write_reports
from los.config import Settings, TrainingConfig
from los.errors import ConfigError, ModelNotFoundError
from los.schema import LABEL_COLUMNS
from los.targets import Target
from models import registry
from models.bundle import BOOSTER_FILE, BUNDLE_FILE, ModelBundle
from models.explain import global_explanation
from training.pipeline import Progress, SkippedTarget, TargetRun, TrainingResult, train_all
from training.promotion import Review, review

log = logging.getLogger(__name__)

ROUNDTRIP_GATE = "registry_roundtrip"
ROUNDTRIP_ROWS = 25

# Fault injection for the reliability tests (docs/service.md "Faults"); read only in `fault_point`.
FAULT_KILL_ENV = "LOS_FAULT_KILL_AT"
FAULT_CORRUPT_ENV = "LOS_FAULT_CORRUPT_REGISTERED"
FAULT_STAGES = ("after_fit", "after_register", "mid_reports", "before_promote")
FAULT_CORRUPTIONS = ("booster", "bundle")


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


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> dict[str, Any]:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}" if prefix else k, v, out)
    else:
        out[prefix] = value
    return out


def fault_point(stage: str, registered: registry.ModelIdentity | None = None) -> None:
    """Test hook: the one place the fault-injection variables are read (unset in normal use).

    `LOS_FAULT_KILL_AT=<stage>` kills this process with SIGKILL (no clean-up, no `finally`) when
    the run reaches `stage` (one of `FAULT_STAGES`). `LOS_FAULT_CORRUPT_REGISTERED=booster|bundle`
    damages the stored files of each version just registered (local artifact store only):
    `booster` overwrites `booster.txt` with garbage, `bundle` renames a feature in `bundle.json`.
    At stage `start` a misspelt value is refused, so a test never passes because nothing was
    injected.
    """
    kill_at = os.environ.get(FAULT_KILL_ENV)
    corrupt = os.environ.get(FAULT_CORRUPT_ENV)
    if stage == "start":
        if kill_at and kill_at not in FAULT_STAGES:
            raise ConfigError(f"{FAULT_KILL_ENV}={kill_at}: not one of {', '.join(FAULT_STAGES)}")
        if corrupt and corrupt not in FAULT_CORRUPTIONS:
            raise ConfigError(
                f"{FAULT_CORRUPT_ENV}={corrupt}: not one of {', '.join(FAULT_CORRUPTIONS)}"
            )
        return
    if corrupt and registered is not None:
        _corrupt_registered(registered, corrupt)
    if kill_at == stage:
        log.warning("fault injection: killing the training run at %s", stage)
        sys.stdout.flush()
        sys.stderr.flush()
        os.kill(os.getpid(), signal.SIGKILL)


def _corrupt_registered(identity: registry.ModelIdentity, what: str) -> None:
    directory = registry.local_artifact_dir(identity.name, identity.version)
    if directory is None:
        raise ConfigError(f"{FAULT_CORRUPT_ENV} needs a local artifact store")
    if what == "booster":
        (directory / BOOSTER_FILE).write_text("this is not a LightGBM model\n")
    else:
        state = json.loads((directory / BUNDLE_FILE).read_text())
        state["encoder"]["numeric"][0] = "feature_from_another_version"
        (directory / BUNDLE_FILE).write_text(json.dumps(state))
    log.warning(
        "fault injection: corrupted %s of %s version %s", what, identity.name, identity.version
    )


def _current_champion(target: Target) -> ModelBundle | None:
    try:
        bundle, _ = registry.load_bundle(target.registered_name, registry.CHAMPION)
    except ModelNotFoundError:
        return None
    except Exception as exc:  # an unreadable champion must not block training
        log.warning("current champion of %s could not be loaded: %s", target.name, exc)
        return None
    return bundle


def _roundtrip_gate(
    tr: TargetRun, identity: registry.ModelIdentity, rows: pd.DataFrame
) -> GateResult:
    """Load the registered version back and score `rows`: it must match the trained model."""
    version = identity.version
    try:
        expected = tr.bundle.probability(tr.bundle.encode(rows), rows)
        diff = registry.verify_version(identity.name, version, rows, expected)
    except Exception as exc:
        detail = registry.describe_registry_error(exc)
        log.warning(
            "%s version %s failed the registry round trip: %s", identity.name, version, detail
        )
        return GateResult(
            ROUNDTRIP_GATE,
            None,
            registry.ROUNDTRIP_TOLERANCE,
            False,
            f"version {version} cannot be used once loaded back from the registry: {detail}",
        )
    return GateResult(
        ROUNDTRIP_GATE,
        diff,
        registry.ROUNDTRIP_TOLERANCE,
        True,
        f"version {version} loaded back from the registry scores {len(rows)} known rows as "
        f"trained (largest difference {diff:.1g})",
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

    See the module doc for the order of steps and what an interrupted run leaves behind.
    """
    # mlflow is heavy (~3 s to import): imported by a training run only, not by importing this
    import mlflow

    fault_point("start")
    experiment = registry.connect(
        settings.tracking_uri, settings.los_data_dir / "mlartifacts", create=True
    )
    # mlflow.start_run and the fluent log calls act on MLflow's global tracking URI: set for
    # this run only (`registry.fluent_tracking` restores it)
    with registry.fluent_tracking(), mlflow.start_run(experiment_id=experiment) as run:
        run_id = run.info.run_id
        params = _flatten("", config.model_dump(mode="json"), {})
        mlflow.log_params({k: str(v)[:500] for k, v in params.items()})
        mlflow.log_dict(config.model_dump(mode="json"), "config.json")
        result: TrainingResult = train_all(admissions, config, _current_champion, progress)
        fault_point("after_fit")
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
            {
                "rows_in_hospital_skipped": prepared.rows_in_hospital,
                "targets_skipped": ",".join(s.target.name for s in result.skipped),
                **(extra_tags or {}),
            }
        )
        for tr in result.targets:
            mlflow.log_metrics(
                {
                    f"{tr.target.name}.test_{k}": float(v)
                    for k, v in tr.evaluation.overall.to_dict().items()
                }
            )
            if tr.search is not None:  # the chosen LightGBM settings and the search table
                mlflow.log_params(tr.search.mlflow_params(tr.target.name))
                mlflow.log_dict(tr.search.to_dict(), f"tuning/{tr.target.name}.json")

        progress("registering models")
        out_dir = report_dir or Path(tempfile.mkdtemp(prefix="los-report-"))
        summary = RunSummary(
            run_id,
            report_dir=out_dir,
            rows_in_hospital=prepared.rows_in_hospital,
            data_window=prepared.boundaries.as_dict(),
            result=result,
            skipped=list(result.skipped),
        )
        unlabelled = prepared.admissions.drop(
            columns=[c for c in LABEL_COLUMNS if c in prepared.admissions]
        )
        example = unlabelled.head(5)
        identities: dict[str, registry.ModelIdentity] = {}
        for tr in result.targets:
            overall = tr.evaluation.overall.to_dict()
            tr.bundle.metadata["test_metrics"] = overall
            tr.bundle.metadata["run_id"] = run_id
            identity = registry.log_bundle(
                tr.bundle,
                tr.target.registered_name,
                example,
                artifacts={
                    "test_metrics": overall,
                    "data_window": prepared.boundaries.as_dict(),
                    "threshold": tr.bundle.threshold,
                },
                complete=False,
            )
            identities[tr.target.name] = identity
            fault_point("after_register", identity)

        progress("loading the registered versions back to check them")
        for tr in result.targets:
            known = pd.concat([example, unlabelled.iloc[tr.test_index[:ROUNDTRIP_ROWS]]])
            tr.evaluation.gates.append(_roundtrip_gate(tr, identities[tr.target.name], known))

        progress("writing reports")
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
                tr.bundle,
                prepared.x[tr.test_index],
                config.evaluation.shap_sample,
                config.seed,
            )
            for tr in result.targets
        }
        paths = write_reports(evaluations, context, out_dir, explanations)
        fault_point("mid_reports")
        for path in paths:
            mlflow.log_artifact(str(path), "reports")

        progress("promoting")
        reviews = {
            tr.target.name: review(tr.gates, tr.evaluation.findings, tr.target.outcome)
            for tr in result.targets
        }
        for tr in result.targets:  # the run is complete: its versions become visible
            identity = identities[tr.target.name]
            gates = {
                "gates": {g.name: g.to_dict() for g in tr.gates},
                **reviews[tr.target.name].tags(),
            }
            roundtrip = next(g for g in tr.gates if g.name == ROUNDTRIP_GATE)
            if roundtrip.passed:
                registry.mark_complete(identity.name, identity.version, gates)
            else:
                registry.mark_rejected(identity.name, identity.version, roundtrip.detail, gates)
        fault_point("before_promote")
        for tr in result.targets:
            identity = identities[tr.target.name]
            if tr.passed:  # only after the version and its reports are safely logged
                registry.promote(identity.name, identity.version)
            summary.outcomes.append(
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
            },
            "registration.json",
        )
    log.info("training run %s registered %d model versions", run_id, len(summary.outcomes))
    return summary


def _alias_if_kept(tr: TargetRun) -> str:
    roundtrip = next((g for g in tr.gates if g.name == ROUNDTRIP_GATE), None)
    if roundtrip is not None and not roundtrip.passed:
        return "none (rejected)"
    return "challenger (held for review)"

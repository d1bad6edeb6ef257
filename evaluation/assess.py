"""Assess registered models on a labelled extract (`los evaluate`) and write the reports.

Each model is labelled by its own target definition, as saved in its bundle
(`models.bundle.ModelBundle.label_target`), never by the configuration given now: a model
trained to count 7+ day stays is judged on 7+ day stays even when `long_stay_days` has since
changed. `EvaluationOutput.scope` says in one line which registered models are evaluated (and
with which definition) and why any configured target or loaded model is not; nothing is left
out silently.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from evaluation.evaluate import TargetEvaluation, evaluate_target
from evaluation.gates import gate_evaluation
from evaluation.report import ReportContext, write_reports
from los.config import TrainingConfig
from los.targets import Target, label, targets_from_config
from models.explain import GlobalExplanation, global_explanation, sample_rows
from models.registry import LoadedModel
from models.scorer import Scorer
from models.stay_scores import is_stay_model


@dataclass(frozen=True)
class EvaluationOutput:
    """Where the reports went and what they cover."""

    paths: list[Path]
    evaluations: dict[str, TargetEvaluation]
    rows: dict[str, int]
    scope: str = ""  # one line: what is evaluated, by which definition, and what is not and why
    skipped: dict[str, str] = field(default_factory=dict)  # target -> why it is not evaluated


def _evaluated_words(model: LoadedModel, configured: Target | None) -> str:
    """`los-long-stay version 3 (7+ day stays (deaths kept))`, with where the definition comes
    from when that matters."""
    target = model.bundle.label_target
    words = target.counts
    if not model.bundle.definition_recorded:
        words += ", derived from its name: saved before definitions were recorded"
    if configured is not None and configured.definition != target.definition:
        words += f"; the config now says {configured.counts}, not used for this model"
    return f"{model.identity.name} version {model.identity.version} ({words})"


def scope_line(
    models: dict[str, LoadedModel],
    evaluated: list[str],
    skipped: dict[str, str],
    configured: dict[str, Target],
) -> str:
    """One line: the registered models evaluated, each by its own definition, then every
    configured target or loaded model not evaluated, and why."""
    done = "; ".join(_evaluated_words(models[n], configured.get(n)) for n in evaluated)
    line = f"evaluating {done or 'nothing'}"
    if skipped:
        line += "; not evaluated: " + "; ".join(f"{n} ({why})" for n, why in skipped.items())
    return line


def _rows_for(
    admissions: pd.DataFrame, model: LoadedModel, period: Literal["test", "all"]
) -> np.ndarray:
    """Rows to evaluate: the model's test period onwards, or every row."""
    admitted = pd.to_datetime(admissions["admission_datetime"])
    if period == "test":
        start = model.bundle.metadata.get("data_window", {}).get("test_start")
        if start:
            mask = (admitted >= pd.Timestamp(start)).to_numpy()
            if mask.any():
                return mask
    return np.ones(len(admissions), dtype=bool)


def evaluate_models(
    admissions: pd.DataFrame,
    models: dict[str, LoadedModel],
    config: TrainingConfig,
    out_dir: str | Path,
    period: Literal["test", "all"] = "test",
    probabilities: dict[str, np.ndarray] | None = None,
    progress: Callable[[str], None] = lambda stage: None,
) -> EvaluationOutput:
    """Evaluate every loaded model on the labelled rows of `admissions`; write reports.

    `probabilities`: each target's probability per row when already scored (e.g. partitioned
    on a cluster by `scale.partitioned`); scored here otherwise. `progress` is told each stage
    as it starts (the CLI prints it)."""
    # flags only: the stay distribution is evaluated by `training.stay_fit` when trained
    models = {n: m for n, m in models.items() if not is_stay_model(m)}
    configured = {t.name: t for t in targets_from_config(config.targets)}
    skipped = {
        name: "configured, but no registered model was loaded for it"
        for name in configured
        if name not in models
    }
    if probabilities is None:
        progress(f"scoring {len(admissions):,} spells with {len(models)} model(s)")
        scores = Scorer(models).score(admissions, reasons=False)
        probabilities = {name: s.probability for name, s in scores.items()}
    evaluations: dict[str, TargetEvaluation] = {}
    explanations: dict[str, GlobalExplanation] = {}
    rows: dict[str, int] = {}
    for name, model in models.items():
        target = model.bundle.label_target  # the model's own definition, not the config's
        y = label(admissions, target).to_numpy()
        keep = _rows_for(admissions, model, period) & ~np.isnan(y)
        if keep.sum() == 0:
            skipped[name] = f"no labelled spells in the {period} period of this extract"
            continue
        progress(f"evaluating {name} on {int(keep.sum()):,} spells (metrics, fairness by group)")
        ev = evaluate_target(
            name,
            admissions.loc[keep],
            y[keep],
            probabilities[name][keep],
            model.bundle.threshold,
            config,
            outcome=target.outcome,
        )
        gate_evaluation(ev, None, config.gates)
        evaluations[name] = ev
        rows[name] = int(keep.sum())
        sample = np.flatnonzero(keep)[
            sample_rows(int(keep.sum()), config.evaluation.shap_sample, config.seed)
        ]
        progress(f"explaining {name} (SHAP on {len(sample):,} spells)")
        history = admissions if "discharge_datetime" in admissions else None
        x = model.bundle.encode(admissions.iloc[sample], history=history)
        explanations[name] = global_explanation(model.bundle, x, len(sample), config.seed)
    scope = scope_line(models, list(evaluations), skipped, configured)
    context = ReportContext(
        title="Model evaluation",
        models={
            n: {**m.bundle.metadata, **m.identity.to_dict()}
            for n, m in models.items()
            if n in evaluations
        },
        data_window={
            "evaluated_from": str(pd.to_datetime(admissions["admission_datetime"]).min()),
            "evaluated_to": str(pd.to_datetime(admissions["admission_datetime"]).max()),
            "period": period,
        },
        notes=[scope[0].upper() + scope[1:] + "."],
    )
    progress(f"writing reports to {out_dir}")
    paths = write_reports(evaluations, context, out_dir, explanations)
    return EvaluationOutput(paths, evaluations, rows, scope, skipped)

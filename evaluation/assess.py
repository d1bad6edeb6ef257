"""Assess registered models on a labelled extract (`los evaluate`) and write the reports."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from evaluation.evaluate import TargetEvaluation, evaluate_target
from evaluation.gates import gate_evaluation
from evaluation.report import ReportContext, write_reports
from los.config import TrainingConfig
from los.targets import label, targets_from_config
from models.explain import GlobalExplanation, global_explanation, sample_rows
from models.registry import LoadedModel
from models.scorer import Scorer


@dataclass(frozen=True)
class EvaluationOutput:
    """Where the reports went and what they cover."""

    paths: list[Path]
    evaluations: dict[str, TargetEvaluation]
    rows: dict[str, int]


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
) -> EvaluationOutput:
    """Evaluate every loaded model on the labelled rows of `admissions`; write reports.

    `probabilities`: each target's probability per row when already scored (e.g. partitioned
    on a cluster by `scale.partitioned`); scored here otherwise."""
    targets = {t.name: t for t in targets_from_config(config.targets)}
    if probabilities is None:
        scores = Scorer(models).score(admissions, reasons=False)
        probabilities = {name: s.probability for name, s in scores.items()}
    evaluations: dict[str, TargetEvaluation] = {}
    explanations: dict[str, GlobalExplanation] = {}
    rows: dict[str, int] = {}
    for name, model in models.items():
        target = targets.get(name)
        if target is None:
            continue
        y = label(admissions, target, config.targets).to_numpy()
        keep = _rows_for(admissions, model, period) & ~np.isnan(y)
        if keep.sum() == 0:
            continue
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
        history = admissions if "discharge_datetime" in admissions else None
        x = model.bundle.encode(admissions.iloc[sample], history=history)
        explanations[name] = global_explanation(model.bundle, x, len(sample), config.seed)
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
    )
    paths = write_reports(evaluations, context, out_dir, explanations)
    return EvaluationOutput(paths, evaluations, rows)

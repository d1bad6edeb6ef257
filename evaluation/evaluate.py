"""Evaluate one target's predictions: overall metrics, fairness by group, gates -> metrics.json."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from evaluation.fairness import assess_fairness
from evaluation.finding_words import outcome_words
from evaluation.findings import Finding
from evaluation.gates import GateResult
from evaluation.group_metrics import Breakdown, groups_to_dict
from evaluation.metrics import OverallMetrics, calibration_curve, overall_metrics
from los.config import TrainingConfig

if TYPE_CHECKING:
    from evaluation.stay_evaluation import DistributionEvaluation


@dataclass
class TargetEvaluation:
    """Everything measured for one target on one set of rows."""

    target: str
    overall: OverallMetrics
    groups: dict[str, Breakdown] = field(default_factory=dict)
    gates: list[GateResult] = field(default_factory=list)
    calibration: list[dict[str, float]] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)  # beyond band: evaluation.findings

    @property
    def outcome(self) -> str:
        """What the target counts, for sentences (e.g. `NCTR`, `21+ day stay`)."""
        return str(self.extras.get("outcome") or outcome_words(self.target))

    def to_dict(self) -> dict[str, Any]:
        """The per-target block of metrics.json (CONTRACT §4), plus the fairness findings
        (groups beyond their band, `fail` or `not_conclusive`) and calibration curves kept
        apart from the contract's `groups` block."""
        out: dict[str, Any] = {
            "overall": self.overall.to_dict(),
            "groups": groups_to_dict(self.groups),
            "gates": {g.name: g.to_dict() for g in self.gates},
            "findings": [f.to_dict(self.outcome) for f in self.findings],
        }
        if self.calibration:
            out["calibration_curve"] = self.calibration
        if self.extras.get("group_calibration"):
            out["group_calibration"] = self.extras["group_calibration"]
        return out


def evaluate_target(
    target: str,
    admissions: pd.DataFrame,
    y: np.ndarray,
    p: np.ndarray,
    threshold: float,
    config: TrainingConfig,
    outcome: str | None = None,
) -> TargetEvaluation:
    """Overall metrics and group metrics for calibrated probabilities `p` on labelled rows.

    `extras` keeps what the report draws: the labels and probabilities (`y`, `p`), per-group
    calibration curves, and `outcome` (what the target counts, in words, for the findings'
    sentences).
    """
    bins = config.evaluation.calibration_bins
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    fairness = assess_fairness(admissions, y, p, threshold, config)
    return TargetEvaluation(
        target=target,
        overall=overall_metrics(y, p, threshold, bins),
        groups=fairness.groups,
        calibration=calibration_curve(y, p, bins),
        extras={
            "y": y,
            "p": p,
            "group_calibration": fairness.curves,
            "outcome": outcome,
        },
    )


def _clean(value: Any) -> Any:
    """NaN/inf -> None so metrics.json is strict JSON."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, float | np.floating):
        return None if not math.isfinite(float(value)) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def metrics_document(
    evaluations: dict[str, TargetEvaluation], distribution: DistributionEvaluation | None = None
) -> dict[str, Any]:
    """The whole metrics.json document: one block per target, and the stay distribution's
    evaluation under `distribution` when there is one."""
    document = {name: _clean(ev.to_dict()) for name, ev in evaluations.items()}
    if distribution is not None:
        document["distribution"] = _clean(distribution.to_dict())
    return document


def write_metrics(
    evaluations: dict[str, TargetEvaluation],
    path: str | Path,
    distribution: DistributionEvaluation | None = None,
) -> Path:
    """Write metrics.json (strict JSON, NaN as null)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    document = metrics_document(evaluations, distribution)
    p.write_text(json.dumps(document, indent=2, allow_nan=False))
    return p

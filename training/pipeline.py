"""The training pipeline as named steps: prepare -> per target fit, calibrate, evaluate, gate."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from evaluation.evaluate import TargetEvaluation, evaluate_target
from evaluation.gates import GateResult, all_passed, performance_gates
from los.config import TrainingConfig
from models.bundle import ModelBundle
from training.calibrate import choose_threshold, fit_calibrator, high_band_cut
from training.fit import fit_booster
from training.prepare import PreparedData, prepare
from training.split import check_periods
from training.targets import Target, label, targets_from_config

log = logging.getLogger(__name__)

Progress = Callable[[str], None]


@dataclass
class TargetRun:
    """One trained target: its model, test-period evaluation and test rows."""

    target: Target
    bundle: ModelBundle
    evaluation: TargetEvaluation
    test_index: np.ndarray
    y_test: np.ndarray
    p_test: np.ndarray
    labelled: dict[str, int] = field(default_factory=dict)

    @property
    def gates(self) -> list[GateResult]:
        """Gate results so far (performance and fairness)."""
        return self.evaluation.gates

    @property
    def passed(self) -> bool:
        """Whether every gate passed."""
        return all_passed(self.evaluation.gates)


@dataclass
class TrainingResult:
    """A whole training run: the prepared data and every target's run."""

    prepared: PreparedData
    targets: list[TargetRun]


def fit_target(
    prepared: PreparedData,
    target: Target,
    config: TrainingConfig,
    progress: Progress = lambda msg: None,
) -> TargetRun:
    """Fit, calibrate, choose the threshold and evaluate one target on the test period."""
    y_all = label(prepared.admissions, target, config.targets)
    check_periods(prepared.period, y_all, target.name)
    known = y_all.notna().to_numpy()
    y = y_all.to_numpy()

    def rows(name: str) -> np.ndarray:
        return np.flatnonzero(prepared.mask(name) & known)

    tr, va, ca, te = (rows(n) for n in ("train", "validation", "calibration", "test"))
    progress(f"fitting {target.name}")
    booster = fit_booster(
        prepared.x[tr],
        y[tr],
        prepared.x[va],
        y[va],
        feature_names=prepared.encoder.columns_,
        categorical=prepared.encoder.categorical_indices,
        config=config.lightgbm,
        seed=config.seed,
    )
    progress(f"calibrating {target.name}")
    raw_cal = np.asarray(booster.predict(prepared.x[ca], raw_score=True))
    calibrator = fit_calibrator(raw_cal, y[ca])
    p_cal = calibrator.transform(raw_cal)
    threshold = choose_threshold(p_cal, y[ca], config.threshold)
    bundle = ModelBundle(
        target=target.name,
        booster=booster,
        encoder=prepared.encoder,
        calibrator=calibrator,
        threshold=threshold,
        high_cut=high_band_cut(p_cal, threshold),
        base_rate=float(np.mean(y[tr])),
        metadata={
            "target": target.name,
            "description": target.description,
            "registered_name": target.registered_name,
            "data_window": prepared.boundaries.as_dict(),
            "best_iteration": booster.best_iteration,
            "threshold_rule": config.threshold.model_dump(),
            "seed": config.seed,
        },
    )
    progress(f"evaluating {target.name}")
    p_test = bundle.probability(prepared.x[te])
    evaluation = evaluate_target(
        target.name, prepared.admissions.iloc[te], y[te], p_test, threshold, config
    )
    counts = {"train": len(tr), "validation": len(va), "calibration": len(ca), "test": len(te)}
    bundle.metadata["rows"] = counts
    return TargetRun(target, bundle, evaluation, te, y[te], p_test, counts)


def champion_auroc(
    run: TargetRun, champion: ModelBundle | None, test: pd.DataFrame
) -> float | None:
    """The current champion's AUROC on the same test rows (None without a champion)."""
    if champion is None:
        return None
    from evaluation.metrics import safe_auroc

    p = champion.probability(champion.encode(test))
    return safe_auroc(run.y_test, p)


def train_all(
    admissions: pd.DataFrame,
    config: TrainingConfig,
    champions: Callable[[Target], ModelBundle | None] = lambda t: None,
    progress: Progress = lambda msg: None,
) -> TrainingResult:
    """Train every configured target and attach its gate results.

    `champions` returns the current champion bundle of a target (or None), so the registry stays
    at the edge; fairness gates come from `evaluation.fairness`.
    """
    from evaluation.fairness import fairness_gates

    progress("deriving features")
    prepared = prepare(admissions, config)
    runs = []
    for target in targets_from_config(config.targets):
        run = fit_target(prepared, target, config, progress)
        test_rows = prepared.admissions.iloc[run.test_index]
        champ = champion_auroc(run, champions(target), test_rows)
        run.evaluation.gates = performance_gates(
            run.evaluation.overall, champ, config.gates
        ) + fairness_gates(run.evaluation, config.gates)
        runs.append(run)
    return TrainingResult(prepared, runs)

"""The training pipeline as named steps: prepare -> per target fit, calibrate, evaluate, gate.

A new version is compared with the current champion only when both label alike (the same
`los.targets.Target.definition`). When they differ (e.g. `long_stay_days` changed from 7 to 10,
so both live under `los-long-stay`) nothing is compared: the `auroc_vs_champion` gate is
replaced by a failed `target_definition` gate whose one line names both definitions, so the
version is registered but held, and the champion stays; `los promote` refuses it too while that
champion stands (`training.promotion.definition_problem`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from evaluation.evaluate import TargetEvaluation, evaluate_target
from evaluation.gates import GateResult, all_passed, gate_evaluation
from evaluation.metrics import safe_auroc
from features.memory import release_unused_memory
from los.config import TrainingConfig
from los.errors import DataQualityError
from los.targets import Target, definition_conflict, label, targets_from_config, untrainable
from models.bundle import ModelBundle
from models.calibration import calibrate
from training.calibrate import choose_threshold, fit_calibrator, high_band_cut
from training.mitigation import check_targets, fit_group_recalibration
from training.prepare import PreparedData, prepare
from training.split import class_counts
from training.stay_fit import AGREEMENT_DAYS, StayRun, fit_stay
from training.tune import SearchResult, tune_booster

log = logging.getLogger(__name__)

Progress = Callable[[str], None]
DEFINITION_GATE = "target_definition"
COMPARISON_GATE = "auroc_vs_champion"


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
    search: SearchResult | None = None  # how the LightGBM settings were chosen

    @property
    def gates(self) -> list[GateResult]:
        """Gate results so far (performance and fairness)."""
        return self.evaluation.gates

    @property
    def passed(self) -> bool:
        """Whether every gate passed."""
        return all_passed(self.evaluation.gates)


@dataclass(frozen=True)
class SkippedTarget:
    """A configured target that this extract cannot train, and why (one line)."""

    target: Target
    reason: str

    @property
    def message(self) -> str:
        """`<target> skipped: <reason>`, as printed and logged."""
        return f"{self.target.name} skipped: {self.reason}"


@dataclass
class TrainingResult:
    """A whole training run: the prepared data, every trained target's run, and the targets
    skipped because the data cannot train them."""

    prepared: PreparedData
    targets: list[TargetRun]
    skipped: list[SkippedTarget] = field(default_factory=list)
    stay: StayRun | None = None  # the length-of-stay distribution model, when trained


def why_untrainable(prepared: PreparedData, target: Target, config: TrainingConfig) -> str | None:
    """The one-line reason `target` cannot be trained on `prepared` (None when it can)."""
    y = label(prepared.admissions, target)
    return untrainable(
        target, class_counts(prepared.period, y), config.targets.min_cases_per_period
    )


def fit_target(
    prepared: PreparedData,
    target: Target,
    config: TrainingConfig,
    progress: Progress = lambda msg: None,
) -> TargetRun:
    """Fit, calibrate, choose the threshold and evaluate one target on the test period."""
    reason = why_untrainable(prepared, target, config)
    if reason is not None:
        raise DataQualityError(f"{target.name} cannot be trained: {reason}")
    y_all = label(prepared.admissions, target)
    known = y_all.notna().to_numpy()
    y = y_all.to_numpy()

    def rows(name: str) -> np.ndarray:
        return np.flatnonzero(prepared.mask(name) & known)

    tr, va, ca, te = (rows(n) for n in ("train", "validation", "calibration", "test"))
    progress(f"fitting {target.name}")
    booster, search = tune_booster(
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
    cal_rows = prepared.admissions.iloc[ca]  # a chosen mitigation reads their groups
    recal, mitigation = fit_group_recalibration(
        target.name, calibrator.log_odds(raw_cal), y[ca], cal_rows, config
    )
    p_cal = calibrate(raw_cal, calibrator, recal, cal_rows)
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
            "lightgbm": search.summary(),
            "threshold_rule": config.threshold.model_dump(),
            "seed": config.seed,
            **mitigation,
        },
        group_recalibrator=recal,
        target_definition=target,
    )
    progress(f"evaluating {target.name}")
    p_test = bundle.probability(prepared.x[te], prepared.admissions.iloc[te])
    evaluation = evaluate_target(
        target.name,
        prepared.admissions.iloc[te],
        y[te],
        p_test,
        threshold,
        config,
        outcome=target.outcome,
    )
    counts = {"train": len(tr), "validation": len(va), "calibration": len(ca), "test": len(te)}
    bundle.metadata["rows"] = counts
    return TargetRun(target, bundle, evaluation, te, y[te], p_test, counts, search=search)


def definition_gate(target: Target, champion: ModelBundle | None) -> GateResult | None:
    """The failed `target_definition` gate when the champion labels differently from `target`
    (None without a champion or when both label alike)."""
    if champion is None:
        return None
    conflict = definition_conflict(champion.label_target, target)
    if conflict is None:
        return None
    return GateResult(DEFINITION_GATE, None, None, False, f"not compared: {conflict}")


def champion_auroc(
    run: TargetRun, champion: ModelBundle | None, test: pd.DataFrame
) -> float | None:
    """The current champion's AUROC on the same test rows (None without a champion, and when
    the champion labels differently: a comparison across definitions means nothing)."""
    if champion is None or definition_gate(run.target, champion) is not None:
        return None
    p = champion.probability(champion.encode(test), test)
    return safe_auroc(run.y_test, p)


def train_all(
    admissions: pd.DataFrame,
    config: TrainingConfig,
    champions: Callable[[Target], ModelBundle | None] = lambda t: None,
    progress: Progress = lambda msg: None,
) -> TrainingResult:
    """Train every configured target the data can train, and attach its gates and findings.

    A target the extract cannot train (a class missing or too rare in a period) is skipped with
    a one-line reason and the others still train; if none can, the run stops with every reason.
    `champions` returns the current champion bundle of a target (or None), so the registry stays
    at the edge.
    """
    check_targets(config)
    progress("deriving features")
    prepared = prepare(admissions, config)
    runs, skipped = [], []
    for target in targets_from_config(config.targets):
        reason = why_untrainable(prepared, target, config)
        if reason is not None:
            skipped.append(SkippedTarget(target, reason))
            log.info("%s", skipped[-1].message)
            progress(skipped[-1].message)
            continue
        run = fit_target(prepared, target, config, progress)
        test_rows = prepared.admissions.iloc[run.test_index]
        champion = champions(target)
        gate_evaluation(run.evaluation, champion_auroc(run, champion, test_rows), config.gates)
        refused = definition_gate(target, champion)
        if refused is not None:  # in place of the comparison that cannot be made
            run.evaluation.gates = [
                refused if g.name == COMPARISON_GATE else g for g in run.evaluation.gates
            ]
            log.warning("%s: %s", target.name, refused.detail)
            progress(f"{target.name}: {refused.detail}")
        runs.append(run)
        release_unused_memory(len(admissions))  # the target's fit and evaluation copies
    if not runs:
        raise DataQualityError(
            "no target can be trained on this extract: " + "; ".join(s.message for s in skipped)
        )
    stay = None
    if config.targets.stay_distribution:
        progress("fitting the length-of-stay distribution")
        flags = {
            run.target.days: (run.test_index, run.y_test, run.p_test)
            for run in runs
            if run.target.kind == "long_stay"
            and run.target.days in AGREEMENT_DAYS
            and not run.target.exclude_deaths  # the curve counts deaths as stays
        }
        nctr = next((run.bundle for run in runs if run.target.kind == "nctr"), None)
        stay = fit_stay(prepared, admissions, config, flags, nctr, progress)
    return TrainingResult(prepared, runs, skipped, stay)

"""Fit the length-of-stay distribution model (issue 13 item 1; CONTRACT §7; METHODS "Stay
distribution per patient").

Patient-day rows (`training.stay_days`): every spell, ended or still in hospital (censored),
one row per day in hospital, with the non-event rows sampled to at most `ROWS_PER_SPELL` per
spell on average and weighted back.

Split and calibration: the flag models' temporal periods. The booster learns on the training
period with early stopping on the validation period's (weighted) patient-days; a Platt
calibrator of the hazard's log-odds is fitted on every patient-day of the calibration period,
which makes the summed hazards match the observed discharges day by day there, so the curve's
calibration at 3/7/14/21 days follows from the hazards' calibration. When within its day a stay
ends (`models.within_day`) is estimated from the training period's ended stays and kept in the
bundle, so quantiles are read on the continuous scale stays are measured on.

Test: every spell admitted in the test period, the ended ones and those still in hospital at the
data's end (censored; `evaluation.stay_metrics` weights for them). Leaving the latter out
drops long stays admitted near the end and overstates the interval's coverage (on 200,000
generated spells the true curve covers 0.807 of the ended spells against 0.800 of all).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from evaluation.gates import GateResult
from evaluation.metrics import safe_auroc
from evaluation.stay_evaluation import DistributionEvaluation, evaluate_distribution
from los.config import TrainingConfig
from los.schema import DIED_DESTINATION
from los.targets import NCTR_DELAY_DAYS, Target, stay_distribution_target
from models.bundle import ModelBundle
from models.calibration import PlattCalibrator
from models.registry import ModelIdentity
from models.stay_curve import HORIZON, StayCurves
from models.stay_model import (
    DAY_COLUMN,
    NCTR_WAIT_KEY,
    WITHIN_DAY_KEY,
    NctrWait,
    nctr_days,
    stay_curves,
)
from models.within_day import estimate_shape
from training.prepare import PreparedData
from training.stay_days import (
    ROWS_PER_SPELL,
    PatientDays,
    SpellMatrix,
    data_end,
    hazard_params,
    hazard_rows,
    spell_matrix,
)

log = logging.getLogger(__name__)

MIN_NCTR_WAITS = 20
"""The NCTR wait model is fitted only on at least this many NCTR spells with a ready date."""
AGREEMENT_DAYS = (7, 21)
"""P(LOS >= d) from the curve is compared with the `long_stay` models at these days."""
_DAY = pd.Timedelta(days=1)


@dataclass
class StayRun:
    """The trained stay model: bundle, test-period curves and evaluation, agreement with the
    long-stay flag models."""

    target: Target
    bundle: ModelBundle
    test_index: np.ndarray
    curves: StayCurves
    evaluation: DistributionEvaluation
    agreement: dict[str, dict[str, float | None]] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    nctr_days: dict[str, float | None] = field(default_factory=dict)
    identity: ModelIdentity | None = None  # once registered (`training.stay_register`)


def fit_hazard(
    prepared: PreparedData,
    admissions: pd.DataFrame,
    config: TrainingConfig,
    matrix: SpellMatrix | None = None,
) -> tuple[ModelBundle, dict[str, int]]:
    """The hazard booster (train, early stopping on validation), its Platt calibration on
    the calibration period's patient-days and the training period's within-day shape, as a
    bundle of `stay_distribution_target()`. `matrix`: `spell_matrix(prepared, admissions)`,
    when the caller has it already."""
    target = stay_distribution_target()
    drawn = hazard_rows(prepared, admissions, config, matrix)
    period, stayed, ended = drawn.matrix.period, drawn.stayed, drawn.ended
    # the patient-day rows are built and binned a block at a time (`PatientDaySequence`): at a
    # million spells the training rows alone would be ~600 MB of float64
    # (the validation set names the same features and categoricals, so that `lgb.train`
    # finds nothing to reset on a set whose rows are gone)
    params = hazard_params(config)
    names = [*prepared.encoder.columns_, DAY_COLUMN]
    categorical = prepared.encoder.categorical_indices

    def binned(
        period: str, reference: lgb.Dataset | None = None
    ) -> tuple[lgb.Dataset, PatientDays]:
        x, d = drawn.sequence(period)
        dataset = lgb.Dataset(
            x,
            label=d.event,
            weight=d.weight,
            reference=reference,
            feature_name=names,
            categorical_feature=categorical,
            params=dict(params),
        ).construct()
        return dataset, d  # the rows were built and binned a block at a time

    train, d_tr = binned("train")
    valid, d_va = binned("validation", reference=train)
    booster = lgb.train(
        params,
        train,
        num_boost_round=config.lightgbm.n_estimators,
        valid_sets=[valid],
        valid_names=["validation"],
        callbacks=[lgb.early_stopping(config.lightgbm.early_stopping_rounds, verbose=False)],
    )
    del train, valid
    # every patient-day of the calibration period (nothing sampled: its draws change nothing
    # above, so making them after the fit keeps the training rows as they were)
    x_ca, d_ca = drawn.sequence("calibration", float(HORIZON))
    raw = [
        np.asarray(booster.predict(x_ca[start : start + x_ca.batch_size], raw_score=True))
        for start in range(0, len(x_ca), x_ca.batch_size)
    ]
    calibrator = PlattCalibrator().fit(np.concatenate([np.empty(0), *raw]), d_ca.event)
    del x_ca, raw
    counts = {
        "train_patient_days": len(d_tr.event),
        "validation_patient_days": len(d_va.event),
        "calibration_patient_days": len(d_ca.event),
        "censored_spells": int((~ended).sum()),
    }
    bundle = ModelBundle(
        target=target.name,
        booster=booster,
        encoder=prepared.encoder,
        calibrator=calibrator,
        threshold=0.5,  # a curve has no flag: threshold and bands are not used
        high_cut=1.0,
        base_rate=float(d_tr.event @ d_tr.weight / max(d_tr.weight.sum(), 1e-12)),
        metadata={
            "target": target.name,
            "description": target.description,
            "registered_name": target.registered_name,
            "data_window": prepared.boundaries.as_dict(),
            "best_iteration": booster.best_iteration,
            "horizon_days": HORIZON,
            "day_column": DAY_COLUMN,
            "rows_per_spell": ROWS_PER_SPELL,
            "seed": config.seed,
            "rows": counts,
        },
        target_definition=target,
    )
    trained = (period == "train").to_numpy() & ended
    bundle.metadata[WITHIN_DAY_KEY] = estimate_shape(stayed[trained], HORIZON).tolist()
    tr = np.flatnonzero(prepared.mask("train"))
    waits = nctr_waits(prepared.admissions.iloc[tr])
    with_wait = tr[np.isfinite(waits)]
    wait = fit_nctr_wait(stay_curves(bundle, prepared.x[with_wait]), waits[np.isfinite(waits)])
    if wait is not None:
        bundle.metadata[NCTR_WAIT_KEY] = wait.to_dict()
    return bundle, counts


def nctr_waits(spells: pd.DataFrame) -> np.ndarray:
    """Days from ready to discharge of NCTR spells with a ready date (NaN for the others: no
    ready date, a delay under a day, a death, or still in hospital)."""
    no_ready = pd.Series(pd.NaT, index=spells.index)
    ready = pd.to_datetime(spells.get("discharge_ready_datetime", no_ready))
    delay = ((pd.to_datetime(spells["discharge_datetime"]) - ready) / _DAY).to_numpy(float)
    died = spells.get("discharge_destination", no_ready).astype("string").str.strip()
    alive = ~died.eq(DIED_DESTINATION).fillna(False).to_numpy(bool)
    return np.where((delay >= NCTR_DELAY_DAYS) & alive, delay, np.nan)


def fit_nctr_wait(curves: StayCurves, waits: np.ndarray) -> NctrWait | None:
    """Least squares of the wait on the curve's mean stay, over rows with a wait (None when
    fewer than `MIN_NCTR_WAITS`)."""
    known = np.isfinite(waits)
    if known.sum() < MIN_NCTR_WAITS:
        return None
    mean = curves.mean_days()[known]
    design = np.column_stack([np.ones(len(mean)), mean])
    (intercept, slope), *_ = np.linalg.lstsq(design, waits[known], rcond=None)
    return NctrWait(float(intercept), float(slope), int(known.sum()))


def agreement(
    curves: StayCurves, flags: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]
) -> dict[str, dict[str, float | None]]:
    """Per threshold d: mean |P(LOS >= d) from the curve - the flag model's probability|, and
    both AUROCs, on the flag model's labelled test rows. `flags[d]` = (rows of the curves,
    labels, flag probabilities)."""
    out: dict[str, dict[str, float | None]] = {}
    for days, (rows, y, p_flag) in flags.items():
        p_curve = curves.probability_at_least(days)[rows]
        out[f"long_stay_{days}"] = {
            "n": float(len(rows)),
            "mean_abs_difference": float(np.mean(np.abs(p_curve - p_flag))) if len(rows) else None,
            "auroc_curve": safe_auroc(y, p_curve),
            "auroc_flag": safe_auroc(y, p_flag),
        }
    return out


GATE_DAY = 7
"""The stay model's calibration gate is judged at this many days."""


def stay_gates(evaluation: DistributionEvaluation, config: TrainingConfig) -> list[GateResult]:
    """The stay model's own gates: concordance at least `gates.min_auroc` (the flags' ranking
    floor), calibration error of P(LOS >= 7) at most `gates.max_calibration_error`."""
    model = evaluation.model
    limit_c, limit_e = config.gates.min_auroc, config.gates.max_calibration_error
    error = model.calibration[GATE_DAY].calibration_error
    return [
        GateResult(
            "stay_concordance", model.concordance, limit_c, bool(model.concordance >= limit_c),
            f"concordance {model.concordance:.3f} (minimum {limit_c})",
        ),
        GateResult(
            "stay_calibration_7d", error, limit_e, bool(error <= limit_e),
            f"calibration error of P(stay >= {GATE_DAY} days) {error:.3f} (maximum {limit_e})",
        ),
    ]  # fmt: skip


def oracle_curves(admissions: pd.DataFrame, rows: pd.DataFrame) -> Any:
    """The generator's true curves of `rows`, history from the whole extract `admissions`."""
    from features.history import with_history
    from features.synthetic.stay_truth import true_stay

    whole = with_history(admissions)
    return true_stay(whole.loc[rows.index])


def evaluation_sample(spells: np.ndarray, config: TrainingConfig) -> np.ndarray:
    """`spells` (sorted positions), or a seeded random sample of `evaluation.stay_sample` of
    them, in the same order, when there are more."""
    size = config.evaluation.stay_sample
    if size is None or len(spells) <= size:
        return spells
    rng = np.random.default_rng(config.seed)
    return spells[np.sort(rng.choice(len(spells), size=size, replace=False))]


def _rows_within(
    evaluated: np.ndarray, rows: np.ndarray, y: np.ndarray, p: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A flag model's test rows (positions in the prepared spells), labels and probabilities,
    kept for the rows in `evaluated` and given as positions within it."""
    position = np.full(int(max(evaluated.max(initial=-1), rows.max(initial=-1))) + 1, -1)
    position[evaluated] = np.arange(len(evaluated))
    at = position[rows]
    kept = at >= 0
    return at[kept], np.asarray(y)[kept], np.asarray(p)[kept]


def fit_stay(
    prepared: PreparedData,
    admissions: pd.DataFrame,
    config: TrainingConfig,
    flags: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None,
    nctr: ModelBundle | None = None,
    progress: Callable[[str], None] = lambda _message: None,
) -> StayRun:
    """Fit the stay model and evaluate it on the test period (ended spells, as the flag models
    are), with the oracle when `config.targets.stay_oracle` says the extract is generated.
    `flags` maps a long-stay threshold to its flag model's (test rows within the prepared
    spells, labels, probabilities) for the agreement figures; `nctr` (the NCTR flag model)
    gives the expected NCTR days, compared with the truth's when the oracle is known."""
    matrix = spell_matrix(prepared, admissions)
    bundle, counts = fit_hazard(prepared, admissions, config, matrix)
    progress("evaluating the length-of-stay distribution")  # test curves on, as for the flags
    # evaluated: the test period's ended spells (first, as `curves`) and those still in hospital,
    # or a seeded sample of them (`evaluation.stay_sample`)
    every = np.flatnonzero((matrix.period == "test").to_numpy())
    in_test = len(every)
    every = evaluation_sample(every, config)
    te = every[every < len(prepared.admissions)]
    still_in = every[every >= len(prepared.admissions)]
    test = prepared.admissions.iloc[te]
    curves = stay_curves(bundle, prepared.x[te])
    evaluated = np.concatenate([te, still_in])
    all_curves = StayCurves(
        np.vstack([curves.survival, stay_curves(bundle, matrix.rows(still_in)).survival]),
        curves.within_day,
    )
    truth = None
    if config.targets.stay_oracle:
        truth = oracle_curves(admissions, admissions.loc[matrix.source[evaluated]])
    evaluation = evaluate_distribution(
        matrix.spells_at(evaluated), all_curves, truth, config, as_of=data_end(admissions)
    )
    evaluation.gates = stay_gates(evaluation, config) + evaluation.gates
    evaluation.sampled_from = in_test if len(evaluated) < in_test else None
    flag_rows = {d: _rows_within(te, *flag) for d, flag in (flags or {}).items()}
    agree = agreement(curves, flag_rows)
    for name, figures in agree.items():
        log.info("stay curve vs %s: %s", name, figures)
    counts["test"] = len(te)
    counts["test_still_in_hospital"] = len(still_in)
    counts["test_period_spells"] = in_test
    nctr_figures: dict[str, float | None] = {}
    if nctr is not None:
        days = nctr_days(bundle, curves, nctr.probability(prepared.x[te], test))
        finite = np.isfinite(days)
        nctr_figures["mean_expected_days"] = float(days[finite].mean()) if finite.any() else None
        if truth is not None and finite.any():
            true_days = np.asarray(truth.nctr_expected_days, dtype=float)[: len(te)]
            nctr_figures["mean_true_days"] = float(true_days.mean())
            nctr_figures["mean_abs_error_days"] = float(np.abs(days - true_days)[finite].mean())
        log.info("expected NCTR days on the test period: %s", nctr_figures)
    bundle.metadata["nctr_days_test"] = nctr_figures
    bundle.metadata["agreement"] = agree
    return StayRun(bundle.label_target, bundle, te, curves, evaluation, agree, counts, nctr_figures)

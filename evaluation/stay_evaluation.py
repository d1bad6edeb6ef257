"""Evaluation of a length-of-stay distribution model (issue 13, items 2 and 5): the figures of
`evaluation.stay_metrics` for the model (and for the oracle, when the generator's truth is
known), interval coverage and median error by group, and the coverage gate.

Groups follow the flag models' fairness rules (`evaluation.fairness`): the same attributes'
groups (`evaluation.groups`), groups under `gates.min_group_size` shown with their size only,
percentile bootstrap 95% intervals from `evaluation.n_bootstrap` resamples within each group.
The gate (`stay_interval_coverage`, per attribute, and overall) holds the interval's coverage
inside `gates.stay_coverage_band` in every assessed group; with `gates.fairness_evidence:
interval` a group fails only when its estimate and its whole interval are outside the band
(`not_conclusive` when only the estimate is), as the fairness gates judge.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from evaluation.bootstrap import bootstrap_sums, ratio
from evaluation.fairness import _interval
from evaluation.gates import GateResult, GateStatus
from evaluation.group_metrics import NO_CI, Interval
from evaluation.groups import assign_groups, group_label, group_order
from evaluation.stay_metrics import (
    CALIBRATION_DAYS,
    HorizonCalibration,
    PerSpell,
    StayCurvesLike,
    Stays,
    calibration_at,
    concordance,
    integrated_brier,
    per_spell,
    predicted_mean_stay,
    weighted_mean,
)
from los.config import TrainingConfig

STAY_ATTRIBUTES = ("ethnic_group", "imd_quintile", "sex", "age_band")
COVERAGE_GATE = "stay_interval_coverage"


@dataclass(frozen=True)
class StaySummary:
    """One curve's figures on the evaluated spells (the model's, or the oracle's)."""

    n: int
    n_ended: int
    coverage: float
    coverage_ci: Interval
    below_p10: float
    above_p90: float
    median_error_days: float | None  # vs the true median; None without the truth
    median_error_observed_days: float  # vs the observed stay, both capped at 60 days (IPCW)
    integrated_brier: float
    integrated_brier_reference: float  # a constant curve: the spells' own share still in
    concordance: float
    calibration: dict[int, HorizonCalibration]

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if k != "calibration"}
        out["coverage_ci"] = list(self.coverage_ci)
        out["calibration"] = {str(d): c.to_dict() for d, c in self.calibration.items()}
        return out


@dataclass(frozen=True)
class StayGroupMetrics:
    """One group's row: size, interval coverage and median errors with 95% intervals."""

    n: int
    suppressed: bool = False
    coverage: float | None = None
    coverage_ci: Interval = NO_CI
    below_p10: float | None = None
    above_p90: float | None = None
    median_error_days: float | None = None
    median_error_days_ci: Interval = NO_CI
    median_error_observed_days: float | None = None
    median_error_observed_days_ci: Interval = NO_CI

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


@dataclass
class DistributionEvaluation:
    """metrics.json `distribution`: the model's figures, the oracle's (generated data only),
    per-attribute group tables and the gates."""

    model: StaySummary
    oracle: StaySummary | None = None
    groups: dict[str, dict[str, StayGroupMetrics]] = field(default_factory=dict)
    gates: list[GateResult] = field(default_factory=list)
    # the test-period spells the evaluated ones were sampled from (None: every one evaluated)
    sampled_from: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "sampled_from": self.sampled_from,
            "model": self.model.to_dict(),
            "oracle": None if self.oracle is None else self.oracle.to_dict(),
            "groups": {
                attribute: {group: row.to_dict() for group, row in table.items()}
                for attribute, table in self.groups.items()
            },
            "gates": {g.name: g.to_dict() for g in self.gates},
        }


def _means_ci(
    pairs: list[tuple[np.ndarray, np.ndarray]], n_boot: int, rng: np.random.Generator
) -> list[tuple[float, Interval]]:
    """Each (values, weights) pair's weighted mean and bootstrap interval, every pair on the
    same draws (one bootstrap of the rows: `bootstrap_sums` of each pair's weights and weighted
    values)."""
    columns = np.column_stack([c for values, weights in pairs for c in (weights, values * weights)])
    sums = bootstrap_sums(columns, n_boot, rng)
    out = []
    for i, (values, weights) in enumerate(pairs):
        replicates = ratio(sums[:, 2 * i + 1], sums[:, 2 * i])  # NaN where nothing weighs
        out.append((weighted_mean(values, weights), _interval(replicates)))
    return out


def _group_row(
    spell: PerSpell, rows: np.ndarray, n_boot: int, rng: np.random.Generator
) -> StayGroupMetrics:
    w = spell.coverage_weight[rows]
    pairs = [
        (spell.inside[rows], w),
        (spell.error_observed[rows], spell.error_observed_weight[rows]),
    ]
    if spell.error_true is not None:
        pairs.append((spell.error_true[rows], np.ones(len(rows))))
    (coverage, coverage_ci), (observed, observed_ci), *true = _means_ci(pairs, n_boot, rng)
    true_error: float | None = None
    true_ci: Interval = NO_CI
    if true:
        true_error, true_ci = true[0]
    return StayGroupMetrics(
        n=len(rows),
        coverage=coverage,
        coverage_ci=coverage_ci,
        below_p10=weighted_mean(spell.below[rows], w),
        above_p90=weighted_mean(spell.above[rows], w),
        median_error_days=true_error,
        median_error_days_ci=true_ci,
        median_error_observed_days=observed,
        median_error_observed_days_ci=observed_ci,
    )


def summarise(
    curves: StayCurvesLike,
    stays: Stays,
    true_median: np.ndarray | None,
    config: TrainingConfig,
) -> StaySummary:
    """Every figure of one curve on all evaluated spells."""
    survival = np.asarray(curves.survival, dtype=float)
    spell = per_spell(curves, stays, true_median)
    rng = np.random.default_rng(config.seed)
    [(coverage, coverage_ci)] = _means_ci(
        [(spell.inside, spell.coverage_weight)], config.evaluation.n_bootstrap, rng
    )
    brier, reference = integrated_brier(survival, stays)
    bins = config.evaluation.calibration_bins
    return StaySummary(
        n=len(stays.days),
        n_ended=int(stays.ended.sum()),
        coverage=coverage,
        coverage_ci=coverage_ci,
        below_p10=weighted_mean(spell.below, spell.coverage_weight),
        above_p90=weighted_mean(spell.above, spell.coverage_weight),
        median_error_days=None if spell.error_true is None else float(spell.error_true.mean()),
        median_error_observed_days=weighted_mean(spell.error_observed, spell.error_observed_weight),
        integrated_brier=brier,
        integrated_brier_reference=reference,
        concordance=concordance(predicted_mean_stay(survival), stays),
        calibration={d: calibration_at(survival, stays, d, bins) for d in CALIBRATION_DAYS},
    )


def stay_groups(
    admissions: pd.DataFrame,
    spell: PerSpell,
    config: TrainingConfig,
    attributes: tuple[str, ...] = STAY_ATTRIBUTES,
) -> dict[str, dict[str, StayGroupMetrics]]:
    """Per attribute, each group's coverage and median errors (small groups suppressed)."""
    groups = assign_groups(admissions, attributes)
    rng = np.random.default_rng(config.seed)
    min_size = max(config.gates.min_group_size, 1)
    out: dict[str, dict[str, StayGroupMetrics]] = {}
    for attribute in attributes:
        labels = groups[attribute].to_numpy()
        table: dict[str, StayGroupMetrics] = {}
        for group in group_order(attribute, list(pd.unique(labels))):
            rows = np.flatnonzero(labels == group)
            if len(rows) < min_size:
                table[group] = StayGroupMetrics(n=len(rows), suppressed=True)
                continue
            table[group] = _group_row(spell, rows, config.evaluation.n_bootstrap, rng)
        out[attribute] = table
    return out


def _outside(value: float, band: tuple[float, float]) -> float:
    """How far `value` lies outside `band` (0 inside)."""
    return max(band[0] - value, value - band[1], 0.0)


def _judge(value: float, ci: Interval, band: tuple[float, float], evidence: str) -> GateStatus:
    if _outside(value, band) == 0:
        return "pass"
    lo, hi = ci
    if evidence == "estimate" or lo is None or hi is None:
        return "fail"
    whole_outside = hi < band[0] or lo > band[1]
    return "fail" if whole_outside else "not_conclusive"


def _gate(
    attribute: str | None,
    rows: dict[str, StayGroupMetrics],
    band: tuple[float, float],
    evidence: str,
) -> GateResult:
    """One coverage gate over `rows`: the group furthest outside the band decides (when all are
    inside, the one nearest an edge is named)."""
    coverage = {
        g: r.coverage
        for g, r in rows.items()
        if not r.suppressed and r.coverage is not None and math.isfinite(r.coverage)
    }
    if not coverage:
        name = "overall" if attribute is None else attribute
        return GateResult(
            COVERAGE_GATE, None, list(band), True, f"{name}: no group large enough to judge",
            attribute=attribute,
        )  # fmt: skip
    worst = max(
        coverage,
        key=lambda g: (_outside(coverage[g], band), -min(abs(coverage[g] - b) for b in band)),
    )
    row, value = rows[worst], coverage[worst]
    status = _judge(value, row.coverage_ci, band, evidence)
    lo, hi = row.coverage_ci
    ci = "95% CI n/a" if lo is None or hi is None else f"95% CI {lo:.1%}-{hi:.1%}"
    who = "all spells" if attribute is None else f"{group_label(attribute, worst)} ({attribute})"
    side = "below" if value < band[0] else "above" if value > band[1] else "inside"
    return GateResult(
        COVERAGE_GATE,
        value,
        list(band),
        status != "fail",
        f"80% stay interval holds {value:.1%} of actual stays for {who} ({ci}), {side} the "
        f"band {band[0]:.0%}-{band[1]:.0%}"
        + ("" if attribute is None else f"; worst of {len(coverage)} groups judged"),
        status=status,
        attribute=attribute,
        group=None if attribute is None else worst,
    )


def coverage_gates(evaluation: DistributionEvaluation, config: TrainingConfig) -> list[GateResult]:
    """The coverage gate overall and per assessed attribute."""
    band = (float(config.gates.stay_coverage_band[0]), float(config.gates.stay_coverage_band[1]))
    evidence = config.gates.fairness_evidence
    overall = StayGroupMetrics(
        n=evaluation.model.n,
        coverage=evaluation.model.coverage,
        coverage_ci=evaluation.model.coverage_ci,
    )
    gates = [_gate(None, {"all": overall}, band, evidence)]
    gates += [_gate(a, table, band, evidence) for a, table in evaluation.groups.items()]
    return gates


def evaluate_distribution(
    admissions: pd.DataFrame,
    survival: StayCurvesLike,
    truth: StayCurvesLike | None = None,
    config: TrainingConfig | None = None,
    *,
    as_of: pd.Timestamp | None = None,
) -> DistributionEvaluation:
    """Evaluate stay curves (one row per row of `admissions`) on the spells' actual stays.

    `truth` is the generator's true curve for the same rows (the oracle:
    `true_stay(with_history(whole extract).loc[rows])`, `features.synthetic.stay_truth`; history
    from the whole extract, not the test rows alone): with it, the median error against the true
    median is reported and the oracle is scored by the same metrics. `as_of` is the data's end
    (default: its latest admission or discharge time).
    """
    config = config or TrainingConfig()
    if len(survival.survival) != len(admissions):
        raise ValueError(
            f"{len(survival.survival)} curves for {len(admissions)} spells: one curve per spell"
        )
    stays = Stays.from_admissions(admissions, as_of)
    true_median = None if truth is None else np.asarray(truth.quantile(0.5), dtype=float)
    evaluation = DistributionEvaluation(
        model=summarise(survival, stays, true_median, config),
        oracle=None if truth is None else summarise(truth, stays, true_median, config),
        groups=stay_groups(admissions, per_spell(survival, stays, true_median), config),
    )
    evaluation.gates = coverage_gates(evaluation, config)
    return evaluation

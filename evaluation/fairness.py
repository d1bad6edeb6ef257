"""Fairness by group: metrics with bootstrap intervals and disparities against a reference group.

The flag triggers extra discharge planning (an assistive intervention), so the harm is *missing*
a patient who goes on to need it: the primary measures are FNR parity and calibration within
groups; AUROC by group, FPR, PPV and flag rate are reported alongside (see docs/fairness.md). The
gates built on these metrics live in `evaluation.fairness_gates` (re-exported here).

Intervals are percentile bootstraps within each group (`evaluation.bootstrap`: draws counted
per distinct key, in blocks of replicates); the draws are those of one `(n_bootstrap, n)` call,
so the intervals equal the row-by-row computation's for the same seed
(tests/unit/test_fairness_bootstrap.py). A group's point AUROC is read the same way, from its
own keys each counted once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from evaluation.bootstrap import BLOCK_CELLS, Levels, group_replicates, ratio
from evaluation.fairness_gates import fairness_gates
from evaluation.group_metrics import NO_CI, Breakdown, GroupMetrics, Interval
from evaluation.groups import ATTRIBUTES, assign_groups, group_order
from evaluation.metrics import calibration_curve, confusion_rates
from los.config import TrainingConfig

__all__ = [
    "FairnessResult",
    "assess_fairness",
    "fairness_gates",
    "group_metrics",
]


@dataclass
class FairnessResult:
    """The breakdown of each attribute (metrics.json `groups`) and per-group calibration curves."""

    groups: dict[str, Breakdown] = field(default_factory=dict)
    curves: dict[str, dict[str, list[dict[str, float]]]] = field(default_factory=dict)

    @property
    def reference(self) -> dict[str, str | None]:
        """Each attribute's reference group (None when every group is suppressed)."""
        return {attribute: b.reference for attribute, b in self.groups.items()}


def _interval(replicates: np.ndarray) -> Interval:
    """Percentile 95% interval of the finite replicates; (None, None) when too few."""
    finite = replicates[np.isfinite(replicates)]
    if len(finite) < max(10, len(replicates) // 2):
        return NO_CI
    lo, hi = np.percentile(finite, [2.5, 97.5])
    return (float(lo), float(hi))


def _log_interval(replicates: np.ndarray, point: float | None) -> Interval:
    """95% interval of a ratio: point x exp(+-1.96 sd) of the log replicates. Steadier than
    percentiles with few draws or few events; (None, None) when too few replicates are usable."""
    usable = replicates[np.isfinite(replicates) & (replicates > 0)]
    if point is None or point <= 0 or len(usable) < max(10, 0.9 * len(replicates)):
        return NO_CI
    half = 1.96 * float(np.std(np.log(usable), ddof=1))
    return (point * math.exp(-half), point * math.exp(half))


def _calibration_bins(p: np.ndarray, bins: int, min_bin: int) -> np.ndarray:
    """Quantile-bin index of each row; fewer bins for small groups so bins keep `min_bin` rows
    (tiny bins make the calibration error mostly noise)."""
    k = int(max(1, min(bins, len(p) // min_bin)))
    rank = np.empty(len(p), dtype=int)
    rank[np.argsort(p, kind="stable")] = np.arange(len(p))
    return (rank * k) // max(len(p), 1)


def _standard_miss(y: np.ndarray, flagged: np.ndarray, age: pd.Series) -> np.ndarray:
    """Per positive row, the FNR of its age band in the whole evaluated population: the
    standard for indirectly age-standardised FNR (expected misses given a group's ages)."""
    band = age.to_numpy()
    out = np.zeros(len(y))
    for b in np.unique(band):
        rows = (band == b) & (y == 1)
        if rows.any():
            out[rows] = np.mean(~flagged[rows])
    return out


@dataclass(frozen=True)
class _Replicates:
    """One reported group's bootstrap replicates, and its point age-standardised miss ratio
    (observed over expected misses), which only the age-adjusted FNR ratio uses."""

    auroc: np.ndarray
    fnr: np.ndarray
    smr: np.ndarray
    oe: np.ndarray
    calibration_error: np.ndarray
    smr_point: float


def _group_stats(
    y: np.ndarray, p: np.ndarray, flagged: np.ndarray, expected_miss: np.ndarray,
    bins: np.ndarray, n_boot: int, rng: np.random.Generator, block_cells: int = BLOCK_CELLS,
) -> tuple[GroupMetrics, _Replicates]:  # fmt: skip
    """Point metrics of one group, and the bootstrap replicates of those with intervals."""
    rates = confusion_rates(y, flagged)
    onehot = np.eye(bins.max() + 1)[bins]
    missed = y * ~flagged
    levels = Levels.of(y, p, flagged, expected_miss, bins)
    reps = _Replicates(
        **group_replicates(levels, len(y), n_boot, rng, block_cells),
        smr_point=float(ratio(missed.sum(), expected_miss.sum())),
    )
    stats = GroupMetrics(
        n=len(y),
        n_positive=int(y.sum()),
        prevalence=float(y.mean()),
        mean_predicted=float(p.mean()),
        observed_to_expected=float(ratio(y.sum(), p.sum())),
        observed_to_expected_ci=_interval(reps.oe),
        flag_rate=rates.flag_rate,
        auroc=float(levels.statistics(levels.totals(), len(y))["auroc"][0]),
        auroc_ci=_interval(reps.auroc),
        tpr=rates.tpr,
        fnr=rates.fnr,
        fnr_ci=_interval(reps.fnr),
        fpr=rates.fpr,
        ppv=rates.ppv,
        for_=rates.for_,
        calibration_error=float(np.abs(onehot.T @ (y - p)).sum() / len(y)),
        calibration_error_ci=_interval(reps.calibration_error),
    )
    return stats, reps


def _reference(attribute: str, table: dict[str, GroupMetrics], config: TrainingConfig) -> str:
    """The configured reference group when it is present and reportable, else the largest."""
    shown = {g: t for g, t in table.items() if not t.suppressed}
    wanted = config.evaluation.reference_groups.get(attribute, config.evaluation.reference_group)
    return wanted if wanted in shown else max(shown, key=lambda g: shown[g].n)


def _safe_div(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or not (math.isfinite(a) and math.isfinite(b)) or b == 0:
        return None
    return a / b


def _minus(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def _disparities(
    row: GroupMetrics, g: _Replicates, ref: GroupMetrics, rr: _Replicates
) -> GroupMetrics:
    """Ratios and the AUROC gap of a reported group against the reference group, with intervals
    (the groups are resampled independently, so replicate i of a group pairs with replicate i
    of the reference)."""
    fnr_ratio = _safe_div(row.fnr, ref.fnr)
    adjusted = _safe_div(g.smr_point, rr.smr_point)
    calibration_ratio = _safe_div(row.observed_to_expected, ref.observed_to_expected)
    auroc_gap = _minus(ref.auroc, row.auroc)  # positive: the group is ranked worse
    gap = rr.auroc - g.auroc
    gap = gap[np.isfinite(gap)]
    half = 1.96 * float(np.std(gap, ddof=1)) if len(gap) > 9 else math.nan
    gap_ci = NO_CI
    if auroc_gap is not None and math.isfinite(auroc_gap) and math.isfinite(half):
        gap_ci = (auroc_gap - half, auroc_gap + half)
    return replace(
        row,
        fnr_ratio=fnr_ratio,
        fnr_ratio_ci=_log_interval(ratio(g.fnr, rr.fnr), fnr_ratio),
        fnr_ratio_age_adjusted=adjusted,
        fnr_ratio_age_adjusted_ci=_log_interval(ratio(g.smr, rr.smr), adjusted),
        calibration_ratio=calibration_ratio,
        calibration_ratio_ci=_log_interval(ratio(g.oe, rr.oe), calibration_ratio),
        tpr_ratio=_safe_div(row.tpr, ref.tpr),
        auroc_gap=auroc_gap,
        auroc_gap_ci=gap_ci,
    )


def _breakdown(
    attribute: str,
    table: dict[str, GroupMetrics],
    reps: dict[str, _Replicates],
    config: TrainingConfig,
) -> Breakdown:
    """The attribute's rows with the reference group marked and disparities against it."""
    if reps:
        ref = _reference(attribute, table, config)
        table = {
            group: row if row.suppressed else _disparities(row, reps[group], table[ref], reps[ref])
            for group, row in table.items()
        }
        table[ref] = replace(table[ref], reference=True)
    if attribute == "age_band":  # standardising by age within age bands is circular
        table = {
            group: replace(row, fnr_ratio_age_adjusted=None, fnr_ratio_age_adjusted_ci=NO_CI)
            for group, row in table.items()
        }
    return Breakdown(attribute, table)


def assess_fairness(
    admissions: pd.DataFrame,
    y: np.ndarray,
    p: np.ndarray,
    threshold: float,
    config: TrainingConfig,
    attributes: tuple[str, ...] = ATTRIBUTES,
) -> FairnessResult:
    """Metrics, intervals, disparities and calibration curves for every group of `attributes`.

    Groups smaller than `gates.min_group_size` are listed with their size only (suppressed).
    """
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    flagged = p >= threshold
    groups = assign_groups(admissions, tuple(dict.fromkeys([*attributes, "age_band"])))
    expected_miss = _standard_miss(y, flagged, groups["age_band"])
    rng = np.random.default_rng(config.seed)
    ev, min_size = config.evaluation, max(config.gates.min_group_size, 1)
    result = FairnessResult()
    for attribute in attributes:
        labels = groups[attribute].to_numpy()
        table: dict[str, GroupMetrics] = {}
        reps: dict[str, _Replicates] = {}
        curves: dict[str, list[dict[str, float]]] = {}
        for group in group_order(attribute, list(pd.unique(labels))):
            rows = np.flatnonzero(labels == group)
            if len(rows) < min_size:  # shown with its size only
                table[group] = GroupMetrics(n=len(rows), suppressed=True)
                continue
            yg, pg = y[rows], p[rows]
            bins = _calibration_bins(pg, ev.calibration_bins, ev.group_calibration_min_bin)
            table[group], reps[group] = _group_stats(
                yg, pg, flagged[rows], expected_miss[rows], bins, ev.n_bootstrap, rng
            )
            curves[group] = calibration_curve(yg, pg, int(bins.max()) + 1)
        result.groups[attribute] = _breakdown(attribute, table, reps, config)
        result.curves[attribute] = curves
    return result


def group_metrics(
    admissions: pd.DataFrame,
    y: np.ndarray,
    p: np.ndarray,
    threshold: float,
    config: TrainingConfig,
) -> dict[str, Breakdown]:
    """Per attribute, the breakdown of its groups (CONTRACT §4 `groups`)."""
    return assess_fairness(admissions, y, p, threshold, config).groups

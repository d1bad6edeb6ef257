"""Fairness by group: metrics with bootstrap intervals and disparities against a reference group.

The flag triggers extra discharge planning (an assistive intervention), so the harm is *missing*
a patient who goes on to need it: the primary measures are FNR parity and calibration within
groups; AUROC by group, FPR, PPV and flag rate are reported alongside (see docs/fairness.md). The
gates built on these metrics live in `evaluation.fairness_gates` (re-exported here).

Intervals are percentile bootstraps within each group, vectorised: a group is resampled
`n_bootstrap` times at once as a matrix of draw counts, and AUROC is computed from ranks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from evaluation.fairness_gates import fairness_gates
from evaluation.groups import ATTRIBUTES, assign_groups, group_order
from evaluation.metrics import calibration_curve, confusion_rates, safe_auroc
from los.config import TrainingConfig

Interval = list[float | None]
_NO_CI: Interval = [None, None]
__all__ = [
    "FairnessResult",
    "assess_fairness",
    "bootstrap_auroc",
    "fairness_gates",
    "group_metrics",
]


@dataclass
class FairnessResult:
    """Group metrics per attribute (metrics.json `groups`) and per-group calibration curves."""

    groups: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    curves: dict[str, dict[str, list[dict[str, float]]]] = field(default_factory=dict)
    reference: dict[str, str | None] = field(default_factory=dict)


def _counts(n: int, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """(n_boot, n) matrix: how often each row is drawn in each bootstrap replicate."""
    draws = rng.integers(0, n, size=(n_boot, n)) + n * np.arange(n_boot)[:, None]
    return np.bincount(draws.ravel(), minlength=n_boot * n).reshape(n_boot, n).astype(float)


def bootstrap_auroc(y: np.ndarray, p: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """AUROC of each replicate (rows of `counts`) from ranks, ties counted as half; NaN when a
    replicate has only one class."""
    order = np.argsort(p, kind="stable")
    ps, ys, cs = p[order], y[order].astype(bool), counts[:, order]
    starts = np.flatnonzero(np.r_[True, ps[1:] != ps[:-1]])  # tied scores form one level
    pos = cs * ys
    neg = cs - pos
    if len(starts) < len(ps):
        pos, neg = np.add.reduceat(pos, starts, axis=1), np.add.reduceat(neg, starts, axis=1)
    below = np.cumsum(neg, axis=1) - neg
    pairs = pos.sum(axis=1) * neg.sum(axis=1)
    wins = (pos * (below + 0.5 * neg)).sum(axis=1)
    return _ratio(wins, pairs)


def _ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1), np.nan)


def _interval(replicates: np.ndarray) -> Interval:
    """Percentile 95% interval of the finite replicates; [None, None] when too few."""
    finite = replicates[np.isfinite(replicates)]
    if len(finite) < max(10, len(replicates) // 2):
        return list(_NO_CI)
    lo, hi = np.percentile(finite, [2.5, 97.5])
    return [float(lo), float(hi)]


def _log_interval(replicates: np.ndarray, point: float | None) -> Interval:
    """95% interval of a ratio: point x exp(+-1.96 sd) of the log replicates. Steadier than
    percentiles with few draws or few events; [None, None] when too few replicates are usable."""
    usable = replicates[np.isfinite(replicates) & (replicates > 0)]
    if point is None or point <= 0 or len(usable) < max(10, 0.9 * len(replicates)):
        return list(_NO_CI)
    half = 1.96 * float(np.std(np.log(usable), ddof=1))
    return [point * math.exp(-half), point * math.exp(half)]


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


def _group_stats(
    y: np.ndarray, p: np.ndarray, flagged: np.ndarray, expected_miss: np.ndarray,
    counts: np.ndarray, bins: np.ndarray,
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:  # fmt: skip
    """Point metrics of one group, and the bootstrap replicates of those with intervals."""
    rates = confusion_rates(y, flagged)
    onehot = np.eye(bins.max() + 1)[bins]
    obs, pred = counts @ (onehot * y[:, None]), counts @ (onehot * p[:, None])
    missed = y * ~flagged
    reps = {
        "auroc": bootstrap_auroc(y, p, counts),
        "fnr": _ratio(counts @ missed, counts @ y),
        "smr": _ratio(counts @ missed, counts @ expected_miss),
        "oe": _ratio(counts @ y, counts @ p),
        "calibration_error": np.abs(obs - pred).sum(axis=1) / counts.sum(axis=1),
    }
    stats = {
        "n": len(y),
        "n_positive": int(y.sum()),
        "prevalence": float(y.mean()),
        "mean_predicted": float(p.mean()),
        "observed_to_expected": float(_ratio(y.sum(), p.sum())),
        "observed_to_expected_ci": _interval(reps["oe"]),
        "flag_rate": rates.flag_rate,
        "auroc": safe_auroc(y, p),
        "auroc_ci": _interval(reps["auroc"]),
        "tpr": rates.tpr,
        "fnr": rates.fnr,
        "fnr_ci": _interval(reps["fnr"]),
        "fpr": rates.fpr,
        "ppv": rates.ppv,
        "for": rates.for_,
        "calibration_error": float(np.abs(onehot.T @ (y - p)).sum() / len(y)),
        "calibration_error_ci": _interval(reps["calibration_error"]),
        "_smr": float(_ratio(missed.sum(), expected_miss.sum())),
    }
    return stats, reps


_RATIOS = (  # (row key, replicate key, point key): disparity ratios against the reference
    ("fnr_ratio", "fnr", "fnr"),
    ("fnr_ratio_age_adjusted", "smr", "_smr"),
    ("calibration_ratio", "oe", "observed_to_expected"),
)


def _suppressed(n: int) -> dict[str, Any]:
    """A group under the minimum size: its size only (contract keys present, metrics null)."""
    keys = ("n_positive", "prevalence", "mean_predicted", "observed_to_expected", "flag_rate",
            "auroc", "tpr", "fnr", "fpr", "ppv", "for", "calibration_error", "tpr_ratio",
            "auroc_gap", *(r[0] for r in _RATIOS))  # fmt: skip
    cis = ("auroc_ci", "fnr_ci", "observed_to_expected_ci", "calibration_error_ci",
           "auroc_gap_ci", *(f"{r[0]}_ci" for r in _RATIOS))  # fmt: skip
    return {"n": n, **dict.fromkeys(keys), **{k: list(_NO_CI) for k in cis}, "suppressed": True}


def _reference(attribute: str, table: dict[str, dict[str, Any]], config: TrainingConfig) -> str:
    """The configured reference group when it is present and reportable, else the largest."""
    shown = {g: t for g, t in table.items() if not t["suppressed"]}
    wanted = config.evaluation.reference_groups.get(attribute, config.evaluation.reference_group)
    return wanted if wanted in shown else max(shown, key=lambda g: shown[g]["n"])


def _safe_div(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or not (math.isfinite(a) and math.isfinite(b)) or b == 0:
        return None
    return a / b


def _disparities(
    table: dict[str, dict[str, Any]], reps: dict[str, dict[str, np.ndarray]], ref: str
) -> None:
    """Ratios and the AUROC gap against the reference group, with intervals (the groups are
    resampled independently, so replicate i of a group pairs with replicate i of the reference)."""
    r, rr = table[ref], reps[ref]
    for group, row in table.items():
        row["reference"] = group == ref
        if row["suppressed"]:
            continue
        g = reps[group]
        for key, rep, point in _RATIOS:
            row[key] = _safe_div(row[point], r[point])
            row[f"{key}_ci"] = _log_interval(_ratio(g[rep], rr[rep]), row[key])
        row["tpr_ratio"] = _safe_div(row["tpr"], r["tpr"])
        row["auroc_gap"] = r["auroc"] - row["auroc"]  # positive: the group is ranked worse
        gap = rr["auroc"] - g["auroc"]
        gap = gap[np.isfinite(gap)]
        half = 1.96 * float(np.std(gap, ddof=1)) if len(gap) > 9 else math.nan
        ok = math.isfinite(row["auroc_gap"]) and math.isfinite(half)
        row["auroc_gap_ci"] = [row["auroc_gap"] - half, row["auroc_gap"] + half] if ok else _NO_CI


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
        table: dict[str, dict[str, Any]] = {}
        reps: dict[str, dict[str, np.ndarray]] = {}
        curves: dict[str, list[dict[str, float]]] = {}
        for group in group_order(attribute, list(pd.unique(labels))):
            rows = np.flatnonzero(labels == group)
            if len(rows) < min_size:
                table[group] = _suppressed(len(rows))
                continue
            yg, pg = y[rows], p[rows]
            counts = _counts(len(rows), ev.n_bootstrap, rng)
            bins = _calibration_bins(pg, ev.calibration_bins, ev.group_calibration_min_bin)
            stats, reps[group] = _group_stats(
                yg, pg, flagged[rows], expected_miss[rows], counts, bins
            )
            table[group] = {**stats, "suppressed": False}
            curves[group] = calibration_curve(yg, pg, int(bins.max()) + 1)
        ref = _reference(attribute, table, config) if reps else None
        if ref is not None:
            _disparities(table, reps, ref)
        for row in table.values():
            row.setdefault("reference", False)
            row.pop("_smr", None)
            if attribute == "age_band":  # standardising by age within age bands is circular
                row["fnr_ratio_age_adjusted"], row["fnr_ratio_age_adjusted_ci"] = None, _NO_CI
        result.groups[attribute], result.curves[attribute] = table, curves
        result.reference[attribute] = ref
    return result


def group_metrics(
    admissions: pd.DataFrame,
    y: np.ndarray,
    p: np.ndarray,
    threshold: float,
    config: TrainingConfig,
) -> dict[str, dict[str, dict[str, Any]]]:
    """Per attribute, per group metrics (CONTRACT §4 `groups`)."""
    return assess_fairness(admissions, y, p, threshold, config).groups

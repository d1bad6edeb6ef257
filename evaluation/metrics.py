"""Discrimination, calibration and threshold metrics for one binary target."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score


def calibration_error(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error: size-weighted mean |observed - predicted| over quantile bins."""
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    if len(y) == 0:
        return float("nan")
    order = np.argsort(p, kind="stable")
    total = 0.0
    for chunk in np.array_split(order, min(bins, len(order))):
        if len(chunk):
            total += len(chunk) * abs(y[chunk].mean() - p[chunk].mean())
    return float(total / len(y))


def calibration_curve(y: np.ndarray, p: np.ndarray, bins: int = 10) -> list[dict[str, float]]:
    """Mean predicted vs observed rate per quantile bin (for plots)."""
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    order = np.argsort(p, kind="stable")
    points = []
    for chunk in np.array_split(order, min(bins, max(len(order), 1))):
        if len(chunk):
            points.append(
                {
                    "predicted": float(p[chunk].mean()),
                    "observed": float(y[chunk].mean()),
                    "n": len(chunk),
                }
            )
    return points


def safe_auroc(y: np.ndarray, p: np.ndarray) -> float:
    """AUROC, NaN when only one class is present."""
    y = np.asarray(y)
    if len(np.unique(y)) < 2:
        return float("nan")
    return float(roc_auc_score(y, p))


@dataclass(frozen=True)
class ConfusionRates:
    """Rates of the flag at a threshold."""

    flag_rate: float
    tpr: float
    fnr: float
    fpr: float
    ppv: float
    npv: float
    for_: float


def confusion_rates(y: np.ndarray, flagged: np.ndarray) -> ConfusionRates:
    """TPR, FNR, FPR, PPV, NPV, FOR and flag rate; NaN where undefined."""
    y = np.asarray(y).astype(bool)
    f = np.asarray(flagged).astype(bool)
    tp, fp = np.sum(y & f), np.sum(~y & f)
    fn, tn = np.sum(y & ~f), np.sum(~y & ~f)

    def ratio(a: float, b: float) -> float:
        return float(a / b) if b > 0 else float("nan")

    return ConfusionRates(
        flag_rate=ratio(tp + fp, len(y)),
        tpr=ratio(tp, tp + fn),
        fnr=ratio(fn, tp + fn),
        fpr=ratio(fp, fp + tn),
        ppv=ratio(tp, tp + fp),
        npv=ratio(tn, tn + fn),
        for_=ratio(fn, fn + tn),
    )


@dataclass(frozen=True)
class OverallMetrics:
    """The `overall` block of metrics.json (CONTRACT §4)."""

    n: int
    prevalence: float
    auroc: float
    auprc: float
    brier: float
    calibration_error: float
    threshold: float
    flag_rate: float
    sensitivity: float
    specificity: float
    ppv: float
    fnr: float
    fpr: float
    mean_predicted: float

    def to_dict(self) -> dict[str, float | int]:
        """Plain dict for JSON and MLflow."""
        return asdict(self)


def overall_metrics(
    y: np.ndarray, p: np.ndarray, threshold: float, bins: int = 10
) -> OverallMetrics:
    """All overall metrics of calibrated probabilities `p` against labels `y`."""
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    rates = confusion_rates(y, p >= threshold)
    both = len(np.unique(y)) == 2
    return OverallMetrics(
        n=len(y),
        prevalence=float(y.mean()) if len(y) else float("nan"),
        auroc=safe_auroc(y, p),
        auprc=float(average_precision_score(y, p)) if both else float("nan"),
        brier=float(brier_score_loss(y, p)) if len(y) else float("nan"),
        calibration_error=calibration_error(y, p, bins),
        threshold=float(threshold),
        flag_rate=rates.flag_rate,
        sensitivity=rates.tpr,
        specificity=1.0 - rates.fpr if not np.isnan(rates.fpr) else float("nan"),
        ppv=rates.ppv,
        fnr=rates.fnr,
        fpr=rates.fpr,
        mean_predicted=float(p.mean()) if len(p) else float("nan"),
    )

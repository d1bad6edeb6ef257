"""Calibration step (Platt scaling fitted on the calibration period) and threshold choice."""

from __future__ import annotations

import numpy as np

from los.config import ThresholdConfig
from models.calibration import PlattCalibrator


def choose_threshold(p: np.ndarray, y: np.ndarray, config: ThresholdConfig) -> float:
    """The flag threshold, chosen on the calibration period by the configured rule.

    `sensitivity`: the highest threshold whose sensitivity is at least the target, so that the
    share of true long stays/NCTR missed is at most 1 - target. `alert_rate`: flag the top share.
    """
    p = np.asarray(p, dtype=float)
    y = np.asarray(y, dtype=float)
    if config.rule == "alert_rate":
        return float(np.quantile(p, 1.0 - config.alert_rate))
    positives = np.sort(p[y == 1])[::-1]
    if len(positives) == 0:
        return 1.0
    k = int(np.ceil(config.target_sensitivity * len(positives))) - 1
    return float(positives[min(max(k, 0), len(positives) - 1)])


def high_band_cut(p: np.ndarray, threshold: float, top_share: float = 0.1) -> float:
    """Probability from which a flagged admission is in the `high` band (top decile by default)."""
    return max(float(np.quantile(np.asarray(p, dtype=float), 1.0 - top_share)), threshold)


def fit_calibrator(raw: np.ndarray, y: np.ndarray) -> PlattCalibrator:
    """Fit Platt scaling on the held-aside calibration period."""
    return PlattCalibrator().fit(raw, y)

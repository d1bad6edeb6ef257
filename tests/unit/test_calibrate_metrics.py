"""Calibration, threshold choice and metrics against known answers."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit

from evaluation.metrics import calibration_error, confusion_rates, overall_metrics
from los.config import ThresholdConfig
from los.errors import NotFittedError
from models.calibration import PlattCalibrator
from training.calibrate import choose_threshold


def test_platt_recovers_known_slope_and_intercept() -> None:
    rng = np.random.default_rng(0)
    raw = rng.normal(0, 2, 50_000)
    y = (rng.random(50_000) < expit(0.6 * raw - 0.8)).astype(float)
    cal = PlattCalibrator().fit(raw, y)
    assert cal.slope_ == pytest.approx(0.6, abs=0.03)
    assert cal.intercept_ == pytest.approx(-0.8, abs=0.04)
    assert calibration_error(y, cal.transform(raw)) < 0.01


def test_platt_unfitted() -> None:
    with pytest.raises(NotFittedError):
        PlattCalibrator().transform(np.zeros(3))


def test_threshold_hits_target_sensitivity() -> None:
    rng = np.random.default_rng(1)
    p = rng.random(10_000)
    y = (rng.random(10_000) < p).astype(float)
    t = choose_threshold(p, y, ThresholdConfig(rule="sensitivity", target_sensitivity=0.8))
    sens = ((p >= t) & (y == 1)).sum() / (y == 1).sum()
    assert 0.8 <= sens < 0.802
    t2 = choose_threshold(p, y, ThresholdConfig(rule="alert_rate", alert_rate=0.25))
    assert np.mean(p >= t2) == pytest.approx(0.25, abs=0.002)


def test_metrics_known_answers() -> None:
    y = np.array([1, 1, 0, 0, 1, 0])
    p = np.array([0.9, 0.6, 0.4, 0.2, 0.3, 0.7])
    m = overall_metrics(y, p, threshold=0.5)
    assert m.n == 6 and m.prevalence == 0.5
    assert m.auroc == pytest.approx(6 / 9)  # 6 of 9 positive-negative pairs ordered
    rates = confusion_rates(y, p >= 0.5)
    assert (rates.tpr, rates.fpr, rates.ppv) == (
        pytest.approx(2 / 3),
        pytest.approx(1 / 3),
        pytest.approx(2 / 3),
    )
    assert rates.for_ == pytest.approx(1 / 3)
    # perfectly calibrated in each bin -> zero error; a constant offset shows as that offset
    yy = np.repeat([0.0, 1.0], 500)
    assert calibration_error(yy, np.repeat([0.0, 1.0], 500), bins=2) == 0.0
    assert calibration_error(yy, np.repeat([0.1, 0.9], 500), bins=2) == pytest.approx(0.1)

"""Calibration, part of a model: `PlattCalibrator` maps the booster's log-odds to calibrated
probabilities; `calibrate` then applies a group recalibration when the model has one
(`models.group_recalibration`, a mitigation an evaluator chooses)."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import expit

from features.build import Columns, n_rows
from los.errors import NotFittedError
from models.group_recalibration import GroupRecalibrator


class PlattCalibrator:
    """p = sigmoid(a * raw_log_odds + b), fitted by maximum likelihood on a held-aside period.

    A monotone map keeps the ranking (AUROC) and lets per-feature log-odds contributions be
    rescaled by `a` into the calibrated log-odds space.
    """

    def __init__(self, regularisation: float = 1e-6) -> None:
        self.regularisation = regularisation

    def fit(self, raw: np.ndarray, y: np.ndarray) -> PlattCalibrator:
        """Fit slope and intercept by minimising log-loss."""
        # imported here: scipy.optimize costs ~0.3 s of every scoring command, which never fits
        from scipy.optimize import minimize

        raw = np.asarray(raw, dtype=float)
        y = np.asarray(y, dtype=float)

        def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
            z = w[0] * raw + w[1]
            p = expit(z)
            eps = 1e-12
            nll = -np.mean(y * np.log(p + eps) + (1 - y) * np.log(1 - p + eps))
            g = p - y
            grad = np.array([np.mean(g * raw), np.mean(g)])
            reg = self.regularisation * (w[0] - 1.0) ** 2
            grad[0] += 2 * self.regularisation * (w[0] - 1.0)
            return float(nll + reg), grad

        result = minimize(loss, x0=np.array([1.0, 0.0]), jac=True, method="L-BFGS-B")
        self.slope_, self.intercept_ = float(result.x[0]), float(result.x[1])
        return self

    def log_odds(self, raw: np.ndarray) -> np.ndarray:
        """Calibrated log-odds from raw log-odds."""
        if not hasattr(self, "slope_"):
            raise NotFittedError("PlattCalibrator is not fitted: call fit() first")
        return self.slope_ * np.asarray(raw, dtype=float) + self.intercept_

    def transform(self, raw: np.ndarray) -> np.ndarray:
        """Calibrated probabilities from raw log-odds."""
        return np.asarray(expit(self.log_odds(raw)))

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable state."""
        return {"slope": self.slope_, "intercept": self.intercept_}

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> PlattCalibrator:
        """Rebuild a fitted calibrator."""
        cal = cls()
        cal.slope_, cal.intercept_ = float(state["slope"]), float(state["intercept"])
        return cal


def calibrate(
    raw: np.ndarray,
    calibrator: PlattCalibrator,
    recalibrator: GroupRecalibrator | None = None,
    admissions: Columns | None = None,
) -> np.ndarray:
    """Probabilities from booster log-odds: Platt scaling, then the group shifts when there is a
    recalibrator, read from `admissions` (the same rows, in order; required then)."""
    if recalibrator is None:
        return calibrator.transform(raw)
    if admissions is None:
        raise ValueError(
            "a group recalibration needs the admissions (ethnic_category, imd_decile), not only "
            "the booster's scores"
        )
    if n_rows(admissions) != len(raw):
        raise ValueError(
            f"{n_rows(admissions)} admissions for {len(raw)} scores: not the same rows"
        )
    return np.asarray(expit(calibrator.log_odds(raw) + recalibrator.offset(admissions)))

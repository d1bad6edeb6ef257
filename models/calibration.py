"""`PlattCalibrator`: maps the booster's log-odds to calibrated probabilities (part of a model)."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit

from los.errors import NotFittedError


class PlattCalibrator:
    """p = sigmoid(a * raw_log_odds + b), fitted by maximum likelihood on a held-aside period.

    A monotone map keeps the ranking (AUROC) and lets per-feature log-odds contributions be
    rescaled by `a` into the calibrated log-odds space.
    """

    def __init__(self, regularisation: float = 1e-6) -> None:
        self.regularisation = regularisation

    def fit(self, raw: np.ndarray, y: np.ndarray) -> PlattCalibrator:
        """Fit slope and intercept by minimising log-loss."""
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

    def transform(self, raw: np.ndarray) -> np.ndarray:
        """Calibrated probabilities from raw log-odds."""
        if not hasattr(self, "slope_"):
            raise NotFittedError("PlattCalibrator is not fitted: call fit() first")
        return np.asarray(expit(self.slope_ * np.asarray(raw, dtype=float) + self.intercept_))

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable state."""
        return {"slope": self.slope_, "intercept": self.intercept_}

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> PlattCalibrator:
        """Rebuild a fitted calibrator."""
        cal = cls()
        cal.slope_, cal.intercept_ = float(state["slope"]), float(state["intercept"])
        return cal

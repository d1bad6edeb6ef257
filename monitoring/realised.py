"""Realised performance where labels have arrived, and the observed/expected ratio.

A recent extract is censored: a spell still in hospital has no label yet, and the spells that
have ended are the shorter ones, which less often carry a long stay or an NCTR delay. Comparing
their outcomes with the model's probabilities as they are would read that selection as a fall in
risk. So the expected count is matched on the reference: a recent spell admitted `a` days before
the extract ends is labelled only if it stayed under `a` days, and among reference spells of the
same segment that stayed under `a` days, observed/predicted was k(a). Its expected events are
p x k(a). The reference's own calibration is thus the baseline: observed/expected = 1 means "as
on the reference", whatever the censoring. k is shrunk towards the whole reference's ratio
(`SHRINK` expected events) so a small segment does not carry noise into its baseline.

The alert test: observed events against that expectation, z = (O - E) / sqrt(sum e (1 - e)),
two-sided, at the run's family-wise level, and O/E outside a band (both needed).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import norm

SHRINK = 20.0  # expected events a segment's censoring baseline is shrunk with
MAX_DAYS = 400


@dataclass(frozen=True)
class CensoringBaseline:
    """Cumulative observed and predicted events of reference spells by whole days of stay."""

    observed: np.ndarray  # observed[d]: events among reference spells that stayed < d days
    predicted: np.ndarray

    @classmethod
    def fit(cls, stay_days: np.ndarray, y: np.ndarray, p: np.ndarray) -> CensoringBaseline:
        """From labelled reference spells: their stay (days), label and probability."""
        day = np.minimum(np.floor(stay_days).astype(int), MAX_DAYS)  # stays < d: day <= d - 1
        obs = np.bincount(day, weights=y, minlength=MAX_DAYS + 1)
        pred = np.bincount(day, weights=p, minlength=MAX_DAYS + 1)
        return cls(np.r_[0.0, np.cumsum(obs)], np.r_[0.0, np.cumsum(pred)])

    def ratio(self, age_days: np.ndarray, prior: CensoringBaseline | None = None) -> np.ndarray:
        """k(a) per recent spell admitted `age_days` before the extract ends."""
        d = np.clip(np.ceil(age_days).astype(int), 0, MAX_DAYS + 1)
        obs, pred = self.observed[d], self.predicted[d]
        if prior is None:
            with np.errstate(invalid="ignore", divide="ignore"):
                return np.where(pred > 0, obs / np.where(pred > 0, pred, 1), 1.0)
        base = prior.ratio(age_days)
        return (obs + SHRINK * base) / (pred + SHRINK)


@dataclass(frozen=True)
class ObservedExpected:
    """Observed events against the censoring-matched expectation."""

    observed: float
    expected: float
    ratio: float | None
    p_value: float
    n: int

    def to_dict(self) -> dict[str, float | int | None]:
        """Rounded, for monitor.json."""
        return {
            "observed": round(self.observed, 1),
            "expected": round(self.expected, 1),
            "ratio": None if self.ratio is None else round(self.ratio, 3),
            "p_value": float(f"{self.p_value:.3g}"),
            "n": self.n,
        }


def observed_expected(y: np.ndarray, expected: np.ndarray) -> ObservedExpected:
    """O/E of labelled rows `y` with per-row expected probabilities `expected` (p x k)."""
    e = np.clip(expected, 0.0, 1.0)
    o, total = float(np.sum(y)), float(np.sum(e))
    var = float(np.sum(e * (1 - e)))
    z = (o - total) / np.sqrt(var) if var > 0 else 0.0
    ratio = o / total if total > 0 else None
    return ObservedExpected(o, total, ratio, float(2 * norm.sf(abs(z))), len(y))

"""What a bed forecast needs from a stay model: per patient and day ahead, P(in a bed) and
P(in a bed and past the discharge-ready date), and where such probabilities come from.

The forecast (`models.forecast`) takes any `BedProvider`: the Kaplan-Meier baseline
(`models.stay_table.StayTable`), the served stay model (`models.stay_provider`), and
`SurvivalProvider`, which turns per-patient survival curves on whole days (the stay
distribution model's `StayCurves.survival`, (n, 61), P(LOS >= d days)) into the same arrays,
reading the curve between whole days linearly.

Times: the forecast's origin is the midnight census at the end of the list date; day h ahead is
the midnight census h days later. A patient's elapsed stay at the origin, `elapsed` (days,
fractional), comes from the admission time; P(in bed on day h) = S(elapsed + h) / S(elapsed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd

from models.stay_curve import survival_at as model_survival_at


@dataclass(frozen=True)
class BedProbabilities:
    """Per patient (rows) and day ahead (columns, day 1 first)."""

    in_bed: np.ndarray  # (n, days): P(still in a bed at the day's midnight census)
    nctr: np.ndarray  # (n, days): P(in a bed then and past the discharge-ready date)

    def __post_init__(self) -> None:
        if self.in_bed.shape != self.nctr.shape:
            raise ValueError("in_bed and nctr must have the same shape")


class BedProvider(Protocol):
    """Anything that gives `BedProbabilities` for a census at an origin."""

    @property
    def name(self) -> str:
        """Said on every output: which model the forecast rests on."""
        ...

    def bed_probabilities(
        self, census: pd.DataFrame, origin: pd.Timestamp, days: int
    ) -> BedProbabilities:
        """Probabilities for each census row for days 1..`days` after `origin`."""
        ...


def elapsed_days(census: pd.DataFrame, origin: pd.Timestamp) -> np.ndarray:
    """Days from each admission to the origin (0 for one admitted after it)."""
    admitted = pd.to_datetime(census["admission_datetime"]).to_numpy("datetime64[ns]")
    span = (origin.to_datetime64().astype("datetime64[ns]") - admitted) / np.timedelta64(1, "D")
    return np.clip(span.astype(float), 0.0, None)


def ready_by(census: pd.DataFrame, origin: pd.Timestamp) -> np.ndarray:
    """True where a discharge-ready date is recorded at or before the origin."""
    if "discharge_ready_datetime" not in census:
        return np.zeros(len(census), dtype=bool)
    ready = pd.to_datetime(census["discharge_ready_datetime"])
    return (ready.notna() & (ready <= origin)).to_numpy(bool)


def survival_at(survival: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Each row's curve (n, D + 1) on whole days read at times `t` (n, k), linearly between days;
    beyond the last day the curve is carried flat (as the stay model carries P(LOS >= D))."""
    last = survival.shape[1] - 1
    t = np.clip(t, 0.0, float(last))
    lo = np.floor(t).astype(int)
    hi = np.minimum(lo + 1, last)
    frac = t - lo
    rows = np.arange(survival.shape[0])[:, None]
    return survival[rows, lo] * (1.0 - frac) + survival[rows, hi] * frac


@dataclass(frozen=True)
class SurvivalProvider:
    """A provider from per-patient survival curves on whole days, one row per census row.

    `nctr_share[:, d]`, when given, is each patient's P(past ready | in bed on elapsed day d)
    on the same grid; without it no patient is counted as waiting.
    """

    survival: np.ndarray  # (n, D + 1): P(LOS >= d days)
    nctr_share: np.ndarray | None = None
    name: str = "stay distribution model"
    # the stay model's shape of when within a day stays end (`StayCurves.within_day`): read
    # S(t) between whole days as the model's quantiles are read; None: linearly
    within_day: np.ndarray | None = None

    def _survival(self, t: np.ndarray) -> np.ndarray:
        if self.within_day is None:
            return survival_at(self.survival, t)
        return model_survival_at(self.survival, t, self.within_day)

    def bed_probabilities(
        self, census: pd.DataFrame, origin: pd.Timestamp, days: int
    ) -> BedProbabilities:
        """P(in bed) = S(elapsed + h) / S(elapsed), h = 1..days."""
        if len(census) != self.survival.shape[0]:
            raise ValueError("one survival curve per census row is needed")
        elapsed = elapsed_days(census, origin)
        ahead = elapsed[:, None] + np.arange(1, days + 1)[None, :]
        now = self._survival(elapsed[:, None])
        later = self._survival(ahead)
        in_bed = np.divide(later, now, out=np.ones_like(later), where=now > 0)
        in_bed = np.clip(in_bed, 0.0, 1.0)
        if self.nctr_share is None:
            return BedProbabilities(in_bed, np.zeros_like(in_bed))
        share = survival_at(self.nctr_share, ahead)
        share = np.where(ready_by(census, origin)[:, None], 1.0, share)
        return BedProbabilities(in_bed, in_bed * np.clip(share, 0.0, 1.0))

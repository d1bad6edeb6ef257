"""The length-of-stay distribution model: a discrete-time hazard model held in a `ModelBundle`.

The bundle's booster predicts the hazard h(k | x) = P(LOS < k + 1 | LOS >= k, x) from a spell's
admission features (the one feature path, the flag models' columns, `bundle.encoder`) plus the
day in hospital `k` (0..HORIZON - 1) as the last input column, `DAY_COLUMN`. Its Platt
calibrator maps the booster's log-odds to calibrated hazards (fitted on the calibration
period's patient-days, `training.stay_fit`). The curve is `StayCurves.from_hazards`: monotone
by construction, read between whole days by the training period's within-day shape of when
stays end (`models.within_day`, kept in the bundle's metadata, `within_day`; a bundle without
one reads linearly).

NCTR days (`nctr_days`): the NCTR flag model's probability times the expected wait of an NCTR
spell, `NctrWait`: wait = intercept + slope * E[min(LOS, 60) | x] from this curve, at least a
day, fitted by least squares on the training period's NCTR spells with a ready date (the
generator's wait is a share of the stay, so the curve's mean carries the patient's information;
two numbers kept in the bundle's metadata, `nctr_wait`). Deaths: the NCTR model's label excludes
them, so its probability is P(NCTR | survive); there is no death model, so the expectation is
not reduced by P(death) (`models.stay_curve.nctr_expected_days` takes it where known).

Reasons: SHAP of the hazard's log-odds on day 0 (`day_zero_contributions`), the same tree SHAP
the flag models use. A feature that raises the day-0 hazard shortens the stay, so the reasons
report the negated values (`stay_contributions`): positive means "longer stay".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from models.bundle import ModelBundle
from models.stay_curve import HORIZON, StayCurves, nctr_expected_days
from models.stay_hazards import daily_raw_scores

DAY_COLUMN = "day_in_hospital"
"""The hazard model's extra input, after the encoder's columns."""
NCTR_WAIT_KEY = "nctr_wait"
"""The bundle metadata key of the NCTR wait model (`NctrWait.to_dict`)."""
WITHIN_DAY_KEY = "within_day"
"""The bundle metadata key of the within-day shape (`models.within_day`, a list of lists)."""


@dataclass(frozen=True)
class NctrWait:
    """Expected NCTR wait in days of a spell that has one: intercept + slope * mean stay."""

    intercept: float
    slope: float
    n: int  # NCTR spells it was fitted on

    def expected(self, curves: StayCurves) -> np.ndarray:
        """Expected wait per row, at least a day (an NCTR delay is a day or more)."""
        return np.maximum(self.intercept + self.slope * curves.mean_days(), 1.0)

    def to_dict(self) -> dict[str, Any]:
        return {"intercept": self.intercept, "slope": self.slope, "n": self.n}

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> NctrWait:
        return cls(float(state["intercept"]), float(state["slope"]), int(state["n"]))


def nctr_wait_of(bundle: ModelBundle) -> NctrWait | None:
    """The bundle's NCTR wait model (None when training had too few NCTR spells with a ready
    date to fit one)."""
    state = bundle.metadata.get(NCTR_WAIT_KEY)
    return NctrWait.from_dict(state) if state else None


def nctr_days(bundle: ModelBundle, curves: StayCurves, p_nctr: np.ndarray | None) -> np.ndarray:
    """Expected NCTR days per row (NaN without an NCTR probability or a wait model)."""
    wait = nctr_wait_of(bundle)
    if p_nctr is None or wait is None:
        return np.full(len(curves), np.nan)
    return nctr_expected_days(p_nctr, wait.expected(curves))


def stay_description(bundle: ModelBundle) -> dict[str, Any]:
    """What a stay distribution model gives instead of a threshold (`/v1/models`): its horizon,
    the interval it reports and that interval's coverage and median error on the test period,
    its concordance, and the NCTR wait model."""
    test = bundle.metadata.get("test_metrics", {})
    wait = nctr_wait_of(bundle)
    return {
        "horizon_days": int(bundle.metadata.get("horizon_days", HORIZON)),
        "interval": [0.1, 0.9],
        "interval_coverage": test.get("coverage"),
        "interval_coverage_ci": test.get("coverage_ci"),
        "median_error_days": test.get("median_error_days"),
        "concordance": test.get("concordance"),
        "nctr_wait": wait.to_dict() if wait is not None else None,
    }


def with_day(x: np.ndarray, days: np.ndarray) -> np.ndarray:
    """Encoded admission rows `x` with the day in hospital appended as the last column."""
    return np.column_stack([x, np.asarray(days, dtype=float)])


def within_day_of(bundle: ModelBundle) -> np.ndarray | None:
    """The bundle's within-day shape (None: read linearly between days)."""
    shape = bundle.metadata.get(WITHIN_DAY_KEY)
    return None if shape is None else np.asarray(shape, dtype=float)


CURVE_BLOCK = 2048
"""Admission rows whose patient-day rows (HORIZON each) are predicted at a time: a million
rows at once would build a 60-million-row matrix. Each row's hazards are its own, so the
curves are the same in blocks as at once."""


def stay_curves(bundle: ModelBundle, x: np.ndarray) -> StayCurves:
    """The calibrated stay curves of encoded admission rows `x` (one curve per row)."""
    shape = within_day_of(bundle)
    if len(x) == 0:
        return StayCurves(np.ones((0, HORIZON + 1)), shape)
    hazard = np.empty((len(x), HORIZON))
    for start in range(0, len(x), CURVE_BLOCK):  # blocks bound the patient-day matrix
        block = x[start : start + CURVE_BLOCK]
        raw = daily_raw_scores(bundle, block)  # one prediction per run of days (`stay_hazards`)
        hazard[start : start + len(block)] = bundle.calibrator.transform(raw.ravel()).reshape(
            len(block), HORIZON
        )
    return StayCurves.from_hazards(hazard, shape)


def stay_contributions(bundle: ModelBundle, x: np.ndarray) -> np.ndarray:
    """Per-feature SHAP values of the day-0 hazard's calibrated log-odds, negated so a positive
    value lengthens the stay; the day column (constant) is dropped and the last column is the
    expected value, as `ModelBundle.contributions` lays them out."""
    contrib = bundle.contributions(with_day(x, np.zeros(len(x))))
    day = contrib.shape[1] - 2  # the day column sits just before the expected value
    kept = np.delete(contrib, day, axis=1)
    return np.asarray(-kept * bundle.calibrator.slope_, dtype=float)

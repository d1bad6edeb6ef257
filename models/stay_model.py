"""The length-of-stay distribution model: a discrete-time hazard model held in a `ModelBundle`.

The bundle's booster predicts the hazard h(k | x) = P(LOS < k + 1 | LOS >= k, x) from a spell's
admission features (the one feature path, the flag models' columns, `bundle.encoder`) plus the
day in hospital `k` (0..HORIZON - 1) as the last input column, `DAY_COLUMN`. Its Platt
calibrator maps the booster's log-odds to calibrated hazards (fitted on the calibration
period's patient-days, `training.stay_fit`). The curve is `StayCurves.from_hazards`: monotone
by construction.

Reasons: SHAP of the hazard's log-odds on day 0 (`day_zero_contributions`), the same tree SHAP
the flag models use. A feature that raises the day-0 hazard shortens the stay, so the reasons
report the negated values (`stay_contributions`): positive means "longer stay".
"""

from __future__ import annotations

import numpy as np

from models.bundle import ModelBundle
from models.stay_curve import HORIZON, StayCurves

DAY_COLUMN = "day_in_hospital"
"""The hazard model's extra input, after the encoder's columns."""


def with_day(x: np.ndarray, days: np.ndarray) -> np.ndarray:
    """Encoded admission rows `x` with the day in hospital appended as the last column."""
    return np.column_stack([x, np.asarray(days, dtype=float)])


def patient_days(x: np.ndarray) -> np.ndarray:
    """Each row of `x` repeated for days 0..HORIZON - 1 (row-major: spell, then day)."""
    days = np.tile(np.arange(HORIZON, dtype=float), len(x))
    return with_day(np.repeat(x, HORIZON, axis=0), days)


def stay_curves(bundle: ModelBundle, x: np.ndarray) -> StayCurves:
    """The calibrated stay curves of encoded admission rows `x` (one curve per row)."""
    if len(x) == 0:
        return StayCurves(np.ones((0, HORIZON + 1)))
    raw = bundle.raw_score(patient_days(x))
    hazard = bundle.calibrator.transform(raw).reshape(len(x), HORIZON)
    return StayCurves.from_hazards(hazard)


def stay_contributions(bundle: ModelBundle, x: np.ndarray) -> np.ndarray:
    """Per-feature SHAP values of the day-0 hazard's calibrated log-odds, negated so a positive
    value lengthens the stay; the day column (constant) is dropped and the last column is the
    expected value, as `ModelBundle.contributions` lays them out."""
    contrib = bundle.contributions(with_day(x, np.zeros(len(x))))
    day = contrib.shape[1] - 2  # the day column sits just before the expected value
    kept = np.delete(contrib, day, axis=1)
    return np.asarray(-kept * bundle.calibrator.slope_, dtype=float)

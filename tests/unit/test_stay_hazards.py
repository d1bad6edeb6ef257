"""The stay model's daily raw scores predicted once per run of days equal the day-by-day ones."""

from __future__ import annotations

import numpy as np
import pytest

from features.encoder import FeatureEncoder
from models.bundle import ModelBundle
from models.calibration import PlattCalibrator
from models.lightgbm_api import lgb
from models.stay_curve import HORIZON
from models.stay_hazards import daily_raw_scores, day_runs, patient_days


def _bundle(params: dict[str, object], categorical_day: bool = False) -> ModelBundle:
    """A hazard-shaped booster: three admission columns and the day last, the hazard changing
    at a few days only (so its trees split on few distinct days)."""
    rng = np.random.default_rng(3)
    n = 6_000
    x = rng.normal(size=(n, 3))
    day = rng.integers(0, HORIZON, n).astype(float)
    logit = x[:, 0] - 0.5 * x[:, 1] + np.where(day < 4, 0.8, 0.0) - np.where(day > 20, 1.0, 0.0)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    data = lgb.Dataset(
        np.column_stack([x, day]), y, categorical_feature=[3] if categorical_day else "auto"
    )
    booster = lgb.train({"objective": "binary", "verbose": -1, **params}, data, 40)
    calibrator = PlattCalibrator.from_dict({"slope": 1.0, "intercept": 0.0})
    return ModelBundle("stay", booster, FeatureEncoder(), calibrator, 0.5, 0.9, 0.1)


def _day_by_day(bundle: ModelBundle, x: np.ndarray) -> np.ndarray:
    return bundle.raw_score(patient_days(x)).reshape(len(x), HORIZON)


@pytest.mark.parametrize(
    "params",
    [{"num_leaves": 15}, {"num_leaves": 31, "zero_as_missing": True}, {"max_depth": 2}],
)
def test_runs_of_days_give_the_day_by_day_scores_exactly(params: dict[str, object]) -> None:
    bundle = _bundle(params)
    x = np.random.default_rng(4).normal(size=(70, 3))  # 70 * 60 rows: OpenMP's many-row path
    runs = day_runs(bundle.booster)
    assert runs is not None and runs[0] == 0 and runs[1] == 1
    assert len(runs) < HORIZON  # the point: fewer predictions than days
    np.testing.assert_array_equal(daily_raw_scores(bundle, x), _day_by_day(bundle, x))
    np.testing.assert_array_equal(daily_raw_scores(bundle, x[:1]), _day_by_day(bundle, x[:1]))


def test_a_categorical_day_is_predicted_day_by_day() -> None:
    bundle = _bundle({"num_leaves": 15, "min_data_per_group": 5}, categorical_day=True)
    assert day_runs(bundle.booster) is None
    x = np.random.default_rng(5).normal(size=(4, 3))
    np.testing.assert_array_equal(daily_raw_scores(bundle, x), _day_by_day(bundle, x))


def test_no_rows_give_no_scores() -> None:
    bundle = _bundle({"num_leaves": 7})
    assert daily_raw_scores(bundle, np.zeros((0, 3))).shape == (0, HORIZON)

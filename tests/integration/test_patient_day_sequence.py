"""The stay model's patient-day rows given to LightGBM a block at a time (`PatientDaySequence`,
issue 17's training memory) bin and train exactly as the whole matrix does."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pytest

from features.generate import generate_admissions
from los.config import TrainingConfig
from models.stay_model import DAY_COLUMN
from training.prepare import prepare
from training.stay_days import PatientDaySequence, hazard_params, hazard_rows, patient_day_matrix


@pytest.fixture(scope="module")
def drawn() -> tuple[PatientDaySequence, np.ndarray, list[str], list[int]]:
    admissions = generate_admissions(6_000, seed=9).admissions
    config = TrainingConfig()
    prepared = prepare(admissions, config)
    rows, days = hazard_rows(prepared, admissions, config).sequence("train")
    names = [*prepared.encoder.columns_, DAY_COLUMN]
    return rows, days.event, names, prepared.encoder.categorical_indices


def test_every_kind_of_access_gives_the_whole_matrixs_rows(
    drawn: tuple[PatientDaySequence, np.ndarray, list[str], list[int]],
) -> None:
    rows = drawn[0]
    whole = patient_day_matrix(rows.matrix, rows.spell, rows.day)
    assert len(rows) == len(whole) > 10_000
    np.testing.assert_array_equal(rows[0 : len(rows)], whole)
    np.testing.assert_array_equal(rows[100:5_000:7], whole[100:5_000:7])
    np.testing.assert_array_equal(rows[[3, 17, 9_000]], whole[[3, 17, 9_000]])
    for i in (0, 1, 4_095, 4_096, 9_999, len(rows) - 1, -1, 5):  # ascending and back again
        np.testing.assert_array_equal(rows[i], whole[i])


def test_the_booster_is_the_one_the_whole_matrix_trains(
    drawn: tuple[PatientDaySequence, np.ndarray, list[str], list[int]],
) -> None:
    rows, event, names, categorical = drawn
    # bins from a sample smaller than the rows, so which rows LightGBM samples matters
    params = {**hazard_params(TrainingConfig()), "bin_construct_sample_cnt": 2_000}
    whole = patient_day_matrix(rows.matrix, rows.spell, rows.day)

    def booster(data: object) -> str:
        dataset = lgb.Dataset(
            data, label=event, feature_name=names, categorical_feature=categorical,
            params=dict(params),
        )  # fmt: skip
        return lgb.train(params, dataset, num_boost_round=15).model_to_string()

    assert booster(rows) == booster(whole)

"""Training's memory savings change no value: stay curves predicted in blocks, the hazard
model's patient-day rows filled into one allocation, and the spell matrix read across its two
parts without concatenating them (each compared with the one-matrix computation it replaced)."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from features.encoder import FeatureEncoder
from models import stay_model
from models.bundle import ModelBundle
from models.calibration import PlattCalibrator
from models.stay_curve import HORIZON, StayCurves
from models.stay_hazards import day_runs, patient_days
from models.stay_model import stay_curves, with_day
from training.stay_days import SpellMatrix, patient_day_matrix


def _hazard_bundle(width: int) -> ModelBundle:
    """A small real hazard booster on `width` features plus the day column."""
    rng = np.random.default_rng(3)
    x = with_day(rng.normal(size=(3_000, width)), rng.integers(0, HORIZON, 3_000))
    y = (rng.random(3_000) < 0.2 + 0.1 * (x[:, 0] > 0)).astype(float)
    booster = lgb.train(
        {"objective": "binary", "num_leaves": 7, "verbosity": -1, "seed": 1},
        lgb.Dataset(x, y),
        num_boost_round=20,
    )
    raw = booster.predict(x, raw_score=True)
    return ModelBundle(
        target="stay_distribution",
        booster=booster,
        encoder=FeatureEncoder(),
        calibrator=PlattCalibrator().fit(np.asarray(raw), y),
        threshold=0.5,
        high_cut=1.0,
        base_rate=float(y.mean()),
    )


def test_stay_curves_in_blocks_are_the_curves_at_once_and_bound_the_matrix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bundle = _hazard_bundle(width=4)
    x = np.random.default_rng(5).normal(size=(11, 4))
    raw = bundle.raw_score(patient_days(x))  # the whole matrix at once, as before blocks
    at_once = StayCurves.from_hazards(bundle.calibrator.transform(raw).reshape(11, HORIZON))
    sizes: list[int] = []
    predict = ModelBundle.raw_score

    def counted(self: ModelBundle, rows: np.ndarray) -> np.ndarray:
        sizes.append(len(rows))
        return predict(self, rows)

    monkeypatch.setattr(ModelBundle, "raw_score", counted)
    monkeypatch.setattr(stay_model, "CURVE_BLOCK", 4)
    in_blocks = stay_curves(bundle, x)
    np.testing.assert_array_equal(in_blocks.survival, at_once.survival)
    runs = day_runs(bundle.booster)  # days predicted per admission (`models.stay_hazards`)
    k = HORIZON if runs is None else len(runs)
    assert sizes == [4 * k, 4 * k, 3 * k]


def _two_part_matrix() -> tuple[SpellMatrix, np.ndarray, pd.DataFrame]:
    """A spell matrix of 5 ended and 3 open spells, with the one matrix and table it stands
    for."""
    rng = np.random.default_rng(9)
    x_ended, x_open = rng.normal(size=(5, 3)), rng.normal(size=(3, 3))
    ended = pd.DataFrame(
        {"spell_id": [f"E{i}" for i in range(5)], "age": rng.integers(20, 90, 5).astype(float)}
    )
    still_in = pd.DataFrame(
        {"spell_id": [f"O{i}" for i in range(3)], "age": rng.integers(20, 90, 3).astype(float)},
        index=[40, 41, 42],
    )
    period = pd.Series(["train"] * 8, name="period")
    matrix = SpellMatrix(ended, still_in, pd.Index(range(8)), x_ended, x_open, period)
    whole = pd.concat([ended, still_in], ignore_index=True)
    return matrix, np.vstack([x_ended, x_open]), whole


def test_spell_matrix_reads_both_parts_as_one() -> None:
    matrix, x, whole = _two_part_matrix()
    positions = np.array([7, 0, 5, 5, 2, 6])
    np.testing.assert_array_equal(matrix.rows(positions), x[positions])
    np.testing.assert_array_equal(matrix.rows(np.array([1, 3])), x[[1, 3]])
    assert len(matrix) == 8
    pd.testing.assert_series_equal(matrix.column("age"), whole["age"])
    evaluated = np.array([1, 4, 5, 7])  # ended first, then still in hospital, as evaluated
    pd.testing.assert_frame_equal(matrix.spells_at(evaluated), whole.iloc[evaluated])
    with pytest.raises(ValueError, match="ended spells first"):
        matrix.spells_at(np.array([6, 1]))


def test_patient_day_rows_are_the_gathered_rows_with_their_day(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import training.stay_days

    matrix, x, _ = _two_part_matrix()
    idx = np.array([0, 2, 3, 6, 7])  # a period's spells
    spell = np.array([0, 0, 1, 3, 3, 3, 4])  # sampled days, as positions within the period
    day = np.array([0, 1, 0, 0, 1, 2, 0])
    before = with_day(x[idx][spell], day)  # how the hazard model's rows were built
    monkeypatch.setattr(training.stay_days, "_BLOCK", 3)  # fill across several blocks
    np.testing.assert_array_equal(patient_day_matrix(matrix, idx[spell], day), before)

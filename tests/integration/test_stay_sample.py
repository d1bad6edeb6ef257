"""The stay model evaluated on a seeded sample of the test period (`evaluation.stay_sample`,
issue 17): the model is the one every spell would give, the sampled spells' curves are those
spells' own curves, the figures say what they were sampled from, and the report says so."""

from __future__ import annotations

import numpy as np
import pytest

from evaluation.stay_section import distribution_view
from features.generate import generate_admissions
from los.config import TrainingConfig
from training.prepare import prepare
from training.stay_fit import _rows_within, evaluation_sample, fit_stay


def _config(sample: int | None) -> TrainingConfig:
    return TrainingConfig.model_validate({"evaluation": {"n_bootstrap": 20, "stay_sample": sample}})


def test_a_sample_is_seeded_sorted_and_only_taken_above_the_size() -> None:
    spells = np.arange(0, 10_000, 3)
    config = _config(1_000)
    sample = evaluation_sample(spells, config)
    assert len(sample) == 1_000 and np.all(np.diff(sample) > 0)
    assert np.isin(sample, spells).all()
    assert np.array_equal(sample, evaluation_sample(spells, config))  # seeded
    assert np.array_equal(evaluation_sample(spells[:1_000], config), spells[:1_000])
    assert np.array_equal(evaluation_sample(spells, _config(None)), spells)


def test_flag_rows_outside_the_sample_are_dropped_and_the_rest_renumbered() -> None:
    evaluated = np.array([2, 5, 9])
    rows, y, p = _rows_within(evaluated, np.array([9, 3, 2, 12]), np.array([1, 0, 1, 0]),
                              np.array([0.9, 0.1, 0.8, 0.2]))  # fmt: skip
    assert rows.tolist() == [2, 0] and y.tolist() == [1, 1] and p.tolist() == [0.9, 0.8]


@pytest.mark.slow
def test_sampled_evaluation_scores_the_same_model_on_its_own_spells() -> None:
    admissions = generate_admissions(12_000, seed=5).admissions
    whole_config, sampled_config = _config(None), _config(1_000)
    prepared = prepare(admissions, whole_config)
    whole = fit_stay(prepared, admissions, whole_config)
    sampled = fit_stay(prepare(admissions, sampled_config), admissions, sampled_config)
    in_test = whole.evaluation.model.n
    assert in_test > 1_000 and whole.evaluation.sampled_from is None
    assert sampled.evaluation.model.n == 1_000
    assert sampled.evaluation.sampled_from == in_test == sampled.rows["test_period_spells"]
    # sampling comes after the fit: the same booster, calibrator and curves
    assert sampled.bundle.booster.model_to_string() == whole.bundle.booster.model_to_string()
    assert np.isin(sampled.test_index, whole.test_index).all()
    at = np.searchsorted(whole.test_index, sampled.test_index)
    np.testing.assert_array_equal(sampled.curves.survival, whole.curves.survival[at])
    # a sample of 1,000 lands within a few standard errors of every spell's coverage
    se = np.sqrt(0.16 / 1_000)
    assert abs(sampled.evaluation.model.coverage - whole.evaluation.model.coverage) < 4 * se
    view = distribution_view(sampled.evaluation, with_plots=False)
    assert view["sampled_from"] == in_test
    assert distribution_view(whole.evaluation, with_plots=False)["sampled_from"] is None
    assert sampled.evaluation.to_dict()["sampled_from"] == in_test

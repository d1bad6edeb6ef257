"""The stay model's training pieces: patient-day expansion, honest sampling weights, the NCTR
wait model, and the stay distribution's target definition."""

from __future__ import annotations

import numpy as np
import pytest

from los.targets import Target, label, stay_distribution_target
from models.stay_curve import HORIZON, StayCurves
from models.stay_hazards import patient_days
from models.stay_model import NctrWait, with_day
from training.stay_days import expand, sample_days
from training.stay_fit import fit_nctr_wait


def test_expand_gives_one_row_per_day_and_the_event_on_the_last() -> None:
    spell, day, event = expand(np.array([2.5, 0.3, 3.9]), np.array([True, True, False]))
    # ended 2.5 days: days 0, 1, 2 (event on 2); ended 0.3: day 0 (event); censored 3.9: 0-2
    assert spell.tolist() == [0, 0, 0, 1, 2, 2, 2]
    assert day.tolist() == [0, 1, 2, 0, 0, 1, 2]
    assert event.tolist() == [0, 0, 1, 1, 0, 0, 0]


def test_expand_caps_at_the_horizon_without_an_event() -> None:
    spell, day, event = expand(np.array([75.0]), np.array([True]))
    assert len(spell) == HORIZON and day.max() == HORIZON - 1 and event.sum() == 0


def test_sampling_keeps_every_event_and_weights_the_rest_honestly() -> None:
    rng = np.random.default_rng(0)
    stayed = rng.exponential(8.0, 4_000)
    ended = rng.random(4_000) < 0.95
    _, _, full_event = expand(stayed, ended)
    sampled = sample_days(stayed, ended, np.random.default_rng(1), per_spell=3.0)
    assert sampled.event.sum() == full_event.sum()
    assert len(sampled.event) <= 3.3 * len(stayed)
    non_events = sampled.weight[sampled.event == 0].sum()
    assert non_events == pytest.approx((full_event == 0).sum(), rel=0.03)


def test_patient_days_lays_out_spell_then_day() -> None:
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    rows = patient_days(x)
    assert rows.shape == (2 * HORIZON, 3)
    np.testing.assert_array_equal(rows[HORIZON], [3.0, 4.0, 0.0])
    np.testing.assert_array_equal(rows[HORIZON - 1], [1.0, 2.0, HORIZON - 1])
    np.testing.assert_array_equal(with_day(x, np.array([5, 6]))[:, -1], [5, 6])


def test_nctr_wait_recovers_a_linear_rule_and_never_says_under_a_day() -> None:
    hazards = np.linspace(0.02, 0.5, 40)[:, None] * np.ones((1, HORIZON))
    curves = StayCurves.from_hazards(hazards)
    waits = 0.5 + 0.4 * curves.mean_days()
    fitted = fit_nctr_wait(curves, waits)
    assert fitted is not None and fitted.n == 40
    assert fitted.intercept == pytest.approx(0.5) and fitted.slope == pytest.approx(0.4)
    assert fit_nctr_wait(curves, np.full(40, np.nan)) is None
    assert (NctrWait(-5.0, 0.1, 1).expected(curves) == 1.0).all()
    assert NctrWait.from_dict(fitted.to_dict()) == fitted


def test_stay_distribution_target_round_trips_and_has_no_label() -> None:
    target = stay_distribution_target()
    assert target.registered_name == "los-stay-distribution"
    assert Target.from_definition(target.name, target.definition) == target
    assert Target.derived("stay_distribution") == target
    assert "length-of-stay distribution" in target.description and target.title
    with pytest.raises(ValueError, match="no 0/1 label"):
        label(None, target)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="horizon"):
        Target.from_definition(
            "stay_distribution", {"kind": "stay_distribution", "horizon_days": 30}
        )

"""StayCurves: monotone curves from hazards, exact quantiles on known curves, conditional maths."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from models.stay_curve import HORIZON, StayCurves, nctr_expected_days, survival_at


def _linear_curve(last_day: float) -> np.ndarray:
    """S(d) = max(0, 1 - d / last_day): a uniform stay on [0, last_day]."""
    d = np.arange(HORIZON + 1)
    return np.clip(1 - d / last_day, 0, 1)[None, :]


def test_quantiles_exact_on_a_uniform_stay() -> None:
    curves = StayCurves(_linear_curve(20.0))
    assert curves.quantile(0.1)[0] == pytest.approx(2.0)
    assert curves.quantile(0.5)[0] == pytest.approx(10.0)
    assert curves.quantile(0.9)[0] == pytest.approx(18.0)


def test_constant_hazard_gives_geometric_curve_and_its_quantiles() -> None:
    curves = StayCurves.from_hazards(np.full((1, HORIZON), 0.25))
    np.testing.assert_allclose(curves.survival[0], 0.75 ** np.arange(HORIZON + 1))
    # S(3) = 0.421875 > 0.4 >= S(4) = 0.31640625: the 0.6-quantile lies in day 3, linearly.
    expected = 3 + (0.421875 - 0.4) / (0.421875 - 0.31640625)
    assert curves.quantile(0.6)[0] == pytest.approx(expected)


def test_quantile_past_the_horizon_follows_the_geometric_tail() -> None:
    curves = StayCurves.from_hazards(np.full((1, HORIZON), 0.01))
    s60 = 0.99**60
    expected = 60 + np.log(0.1 / s60) / np.log(0.99)  # S(t) = 0.99**t = 0.1
    assert curves.quantile(0.9)[0] == pytest.approx(expected)
    assert expected == pytest.approx(np.log(0.1) / np.log(0.99))


def test_conditional_is_the_ratio_of_survivals() -> None:
    curves = StayCurves(_linear_curve(40.0))
    cond = curves.conditional(np.array([10.0]))
    # P(LOS >= 10 + d | LOS >= 10) = (30 - d) / 30: uniform on the 30 days left.
    np.testing.assert_allclose(cond.survival[0, :31], 1 - np.arange(31) / 30)
    assert cond.quantile(0.5)[0] == pytest.approx(15.0)


def test_conditional_of_a_constant_hazard_is_itself() -> None:
    curves = StayCurves.from_hazards(np.full((2, HORIZON), 0.2))
    cond = curves.conditional(np.array([0.0, 7.0]))
    np.testing.assert_allclose(cond.survival, curves.survival, rtol=1e-9)


def test_conditional_where_no_mass_is_left_says_discharge_within_the_day() -> None:
    cond = StayCurves(_linear_curve(5.0)).conditional(np.array([9.0]))
    assert cond.survival[0, 0] == 1.0
    assert (cond.survival[0, 1:] == 0).all()


def test_rejects_curves_that_rise_or_do_not_start_at_one() -> None:
    bad = _linear_curve(10.0).copy()
    bad[0, 5] = 0.9
    with pytest.raises(ValueError, match="non-increasing"):
        StayCurves(bad)
    with pytest.raises(ValueError, match="must be 1"):
        StayCurves(_linear_curve(10.0) * 0.5)
    with pytest.raises(ValueError, match="strictly between"):
        StayCurves(_linear_curve(10.0)).quantile(1.0)


def test_survival_at_interpolates_within_a_day() -> None:
    s = StayCurves.from_hazards(np.full((1, HORIZON), 0.5)).survival
    assert survival_at(s, np.array([1.5]))[0] == pytest.approx(0.375)


def test_nctr_expected_days_counts_deaths_as_zero() -> None:
    days = nctr_expected_days(np.array([0.5, 0.5]), np.array([4.0, 4.0]), np.array([0.0, 0.25]))
    np.testing.assert_allclose(days, [2.0, 1.5])
    np.testing.assert_allclose(nctr_expected_days(np.array([0.2]), np.array([10.0])), [2.0])


hazards = arrays(
    float, (3, HORIZON), elements=st.floats(0.0, 1.0, allow_nan=False, allow_subnormal=False)
)


@settings(max_examples=60, deadline=None)
@given(hazards, st.floats(0.0, 80.0))
def test_curves_are_monotone_and_quantiles_ordered(h: np.ndarray, stayed: float) -> None:
    curves = StayCurves.from_hazards(h)
    assert (np.diff(curves.survival, axis=1) <= 1e-12).all()
    q = [curves.quantile(p) for p in (0.1, 0.5, 0.9)]
    assert (q[0] <= q[1] + 1e-9).all() and (q[1] <= q[2] + 1e-9).all()
    # the quantile inverts the curve: S just before it is above 1 - q
    s_at = survival_at(curves.survival, np.maximum(q[1] - 1e-6, 0))
    assert (s_at >= 0.5 - 1e-6).all()
    cond = curves.conditional(np.full(3, stayed))
    assert (np.diff(cond.survival, axis=1) <= 1e-12).all()
    assert (cond.survival[:, 0] == 1).all()


def test_mean_days_is_the_area_under_the_curve() -> None:
    assert StayCurves(_linear_curve(20.0)).mean_days()[0] == pytest.approx(10.0)
    assert StayCurves(_linear_curve(1e9)).mean_days()[0] == pytest.approx(60.0, rel=1e-6)

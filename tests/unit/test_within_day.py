"""When within its day a stay ends: the shape's estimate, and stay curves read with it (exact
quantiles on known within-day distributions, conditional quantiles, the area under the curve)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.special import betainc

from models.stay_curve import HORIZON, StayCurves, survival_at
from models.within_day import (
    MIN_STAYS,
    STEPS,
    check_shape,
    estimate_shape,
    fraction_at,
    share_ended,
    uniform_shape,
)

KNOTS = np.linspace(0.0, 1.0, STEPS + 1)


def test_the_estimate_recovers_each_days_shape_and_pools_sparse_days() -> None:
    rng = np.random.default_rng(5)
    day0 = 0.25 + 0.5 * rng.random(20_000)  # same-day stays: uniform on [0.25, 0.75]
    day1 = 1 + rng.beta(1.0, 3.0, 20_000)  # front-loaded within day 1
    late = 30 + rng.random(MIN_STAYS) ** 2  # just enough for day 30's own shape
    shape = estimate_shape(np.concatenate([day0, day1, late]), HORIZON)
    check_shape(shape, HORIZON)
    np.testing.assert_allclose(shape[0], np.clip((KNOTS - 0.25) / 0.5, 0, 1), atol=0.015)
    np.testing.assert_allclose(shape[1], betainc(1.0, 3.0, KNOTS), atol=0.015)
    # days 2-29 have no stays of their own: they share the pool of all later ones (day 30's
    # stays, F(f) = sqrt(f))
    np.testing.assert_allclose(shape[5], np.sqrt(KNOTS), atol=0.1)
    np.testing.assert_array_equal(shape[5], shape[30])
    np.testing.assert_array_equal(shape[40], uniform_shape(1)[0])  # nothing past: uniform


def test_the_inverse_reads_the_least_fraction_reaching_a_share() -> None:
    shape = uniform_shape(2)
    shape[0] = np.clip((KNOTS - 0.25) / 0.5, 0, 1)
    day = np.zeros(4, dtype=int)
    np.testing.assert_allclose(fraction_at(shape, day, np.array([0.0, 0.1, 0.5, 1.0])),
                               [0.0, 0.3, 0.5, 0.75])  # fmt: skip
    np.testing.assert_allclose(share_ended(shape, day, np.array([0.1, 0.3, 0.5, 0.9])),
                               [0.0, 0.1, 0.5, 1.0])  # fmt: skip
    falls = uniform_shape(2)
    falls[1, 10] = 0.9
    with pytest.raises(ValueError, match="must not fall"):
        check_shape(falls, 2)
    with pytest.raises(ValueError, match="must be"):
        check_shape(uniform_shape(3), 2)


def test_quantiles_follow_the_within_day_shape() -> None:
    # every stay ends in day 0 at a uniform time in [0.25, 0.75]: p10 0.3, median 0.5, p90 0.7
    survival = np.zeros((1, HORIZON + 1))
    survival[0, 0] = 1.0
    shape = uniform_shape(HORIZON)
    shape[0] = np.clip((KNOTS - 0.25) / 0.5, 0, 1)
    curves = StayCurves(survival, shape)
    for q, want in ((0.1, 0.3), (0.5, 0.5), (0.9, 0.7)):
        assert curves.quantile(q)[0] == pytest.approx(want)
    assert StayCurves(survival).quantile(0.1)[0] == pytest.approx(0.1)  # linear: wrong here
    assert survival_at(survival, np.array([0.6]), shape)[0] == pytest.approx(0.3)
    assert curves.probability_at_least(0.2)[0] == pytest.approx(1.0)
    assert curves.mean_days()[0] == pytest.approx(0.5)
    # a whole-day grid of a uniform stay on [0, 20] read with a uniform shape: unchanged
    linear = np.clip(1 - np.arange(HORIZON + 1) / 20.0, 0, 1)[None, :]
    assert StayCurves(linear, uniform_shape(HORIZON)).quantile(0.5)[0] == pytest.approx(10.0)


def test_the_quantile_of_the_stay_to_come_is_read_at_full_resolution() -> None:
    linear = np.clip(1 - np.arange(HORIZON + 1) / 40.0, 0, 1)[None, :].repeat(3, axis=0)
    curves = StayCurves(linear)
    stayed = np.array([0.0, 10.0, 12.5])
    # uniform on [0, 40]: after s days, uniform on the 40 - s left
    np.testing.assert_allclose(curves.quantile(0.5, stayed), [20.0, 15.0, 13.75])
    gone = StayCurves(np.clip(1 - np.arange(HORIZON + 1) / 5.0, 0, 1)[None, :])
    assert gone.quantile(0.9, np.array([9.0]))[0] == pytest.approx(0.9)  # within the day
    with pytest.raises(ValueError, match="one value per row"):
        curves.quantile(0.5, np.zeros(2))


shares = arrays(float, (3, STEPS - 1), elements=st.floats(0.0, 1.0, allow_nan=False))


@settings(max_examples=60, deadline=None)
@given(shares, st.floats(0.01, 0.99), st.floats(0.0, 30.0))
def test_the_quantile_inverts_the_curve_read_with_any_shape(
    raw: np.ndarray, q: float, stayed: float
) -> None:
    shape = uniform_shape(HORIZON)
    shape[:3, 1:-1] = np.sort(raw, axis=1)  # any non-decreasing shape on the first days
    hazard = np.full((1, HORIZON), 0.3)
    curves = StayCurves.from_hazards(hazard, shape)
    t = curves.quantile(q)
    assert survival_at(curves.survival, t, shape)[0] <= 1 - q + 1e-9
    assert survival_at(curves.survival, np.maximum(t - 1e-6, 0), shape)[0] >= 1 - q - 1e-6
    ahead = curves.quantile(q, np.array([stayed]))
    start = survival_at(curves.survival, np.array([stayed]), shape)[0]
    assert ahead[0] >= 0
    assert survival_at(curves.survival, stayed + ahead, shape)[0] <= (1 - q) * start + 1e-9

"""The generator's true stay distribution (CONTRACT §7 truth): exact maths against its own draws.

Each risk stratum is one spell copied 20,000 times and drawn through the generator's own
`draw_outcomes`: the copies share one true distribution, so the share of draws at or below a
computed quantile is binomial around q, and the mean NCTR wait is a mean of independent draws.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.generate import generate_admissions, true_probabilities
from features.history import with_history
from features.synthetic.labels import draw_outcomes
from features.synthetic.stay_truth import HORIZON, TrueStay, true_stay, true_survival
from features.synthetic.tables import DAY

DRAWS = 20_000
Z = 4.5  # binomial tolerance in standard errors (30 checks per stratum: no false alarms)


@pytest.fixture(scope="module")
def spells() -> pd.DataFrame:
    data = generate_admissions(3_000, seed=21)
    return with_history(data.admissions).join(data.truth.drop(columns="spell_id"))


@pytest.fixture(scope="module")
def strata(spells: pd.DataFrame) -> pd.DataFrame:
    """Five spells spanning the risks: short, typical and long medians, the largest expected NCTR
    wait, the highest chance of death."""
    median = spells["los_median_days"].rank(pct=True)
    picks = [
        (median - 0.02).abs().idxmin(),
        (median - 0.5).abs().idxmin(),
        (median - 0.99).abs().idxmin(),
        spells["nctr_expected_days"].idxmax(),
        true_probabilities(spells)["p_death"].idxmax(),
    ]
    return spells.loc[picks]


def _draws(strata: pd.DataFrame, i: int, seed: int, draws: int = DRAWS) -> pd.DataFrame:
    """The generator's outcomes for `draws` copies of spell `i` (never cut short by the end)."""
    frame = strata.iloc[np.repeat(i, draws)].reset_index(drop=True).assign(_adm=0)
    out = draw_outcomes(np.random.default_rng(seed), frame, horizon=10**9)
    delay = (out["discharge_datetime"] - out["discharge_ready_datetime"]).dt.total_seconds() / 86400
    return pd.DataFrame({"los": out["_dis"] / DAY, "wait": delay.where(delay >= 1, 0.0)})


def test_quantiles_survival_and_nctr_days_match_the_generators_draws(
    strata: pd.DataFrame,
) -> None:
    truth = true_stay(strata)
    survival = truth.survival
    for i in range(len(strata)):
        drawn = _draws(strata, i, seed=100 + i)
        los = drawn["los"].to_numpy()
        for q in (0.1, 0.25, 0.5, 0.75, 0.9):
            share = np.mean(los <= truth.quantile(q)[i])
            assert abs(share - q) < Z * np.sqrt(q * (1 - q) / DRAWS), (i, q, share)
        for d in (1, 2, 3, 5, 7, 10, 14, 21, 30, 45, 60):
            p = survival[i, d]
            se = np.sqrt(max(p * (1 - p), 1 / DRAWS) / DRAWS)
            assert abs(np.mean(los >= d) - p) < Z * se, (i, d, np.mean(los >= d), p)
        wait = drawn["wait"].to_numpy()
        expected = truth.nctr_expected_days[i]
        assert abs(wait.mean() - expected) < Z * wait.std() / np.sqrt(DRAWS) + 1e-3, (i, expected)
    # the spell most likely to wait, drawn 100,000 times: the mean wait within about 2%
    wait = _draws(strata, 3, seed=99, draws=100_000)["wait"].to_numpy()
    expected = truth.nctr_expected_days[3]
    assert abs(wait.mean() - expected) < Z * wait.std() / np.sqrt(len(wait)), (
        wait.mean(),
        expected,
    )
    # the truth columns written by the generator are these same numbers
    np.testing.assert_allclose(truth.quantile(0.5), strata["los_median_days"], rtol=1e-9)
    np.testing.assert_allclose(truth.nctr_expected_days, strata["nctr_expected_days"], rtol=1e-9)


def test_the_curve_is_a_survival_curve_that_agrees_with_the_flag_truth(
    spells: pd.DataFrame,
) -> None:
    survival = true_survival(spells)
    assert survival.shape == (len(spells), HORIZON + 1)
    np.testing.assert_allclose(survival[:, 0], 1.0)
    assert (np.diff(survival, axis=1) <= 1e-12).all()
    np.testing.assert_allclose(survival[:, 7], spells["p_long_stay"], atol=1e-12)
    np.testing.assert_allclose(survival[:, 21], spells["p_long_stay_21"], atol=1e-12)
    p10, p50, p90 = (spells[f"los_{k}_days"].to_numpy() for k in ("p10", "median", "p90"))
    assert ((p10 <= p50) & (p50 <= p90) & (p10 > 0)).all()
    assert (spells["nctr_expected_days"] >= 0).all()


def test_quantile_inverts_the_curve() -> None:
    rng = np.random.default_rng(0)
    weights = rng.dirichlet(np.ones(5), size=200)
    truth = TrueStay(weights, np.zeros(200))
    for q in (0.05, 0.1, 0.5, 0.9, 0.97):
        t = truth.quantile(q)
        at = np.diag(truth.survival_at(t))
        just_before = np.diag(truth.survival_at(t - 1e-6))
        assert (at <= 1 - q + 1e-9).all() and (just_before >= 1 - q - 1e-9).all()
    with pytest.raises(ValueError, match="strictly between"):
        truth.quantile(1.0)

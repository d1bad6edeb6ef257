"""The bed forecast: exact Poisson-binomial counts, their summaries, the stay-curve providers and
the per-ward forecast. The DP is checked against brute-force enumeration and scipy's binomial;
UCL's `patientflow` agreed to the last bit on the same probabilities (checked once outside the
project: it pulls in xgboost and a CUDA library, too heavy for a dev dependency)."""

from __future__ import annotations

import itertools
from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binom

from models import poisson_binomial as pb
from models.bed_provider import SurvivalProvider, survival_at
from models.forecast import baseline_forecast, build_forecast
from models.stay_table import StayTable, as_known_at

probabilities = st.lists(st.floats(0.0, 1.0, allow_nan=False), min_size=0, max_size=10)


def brute_force(p: list[float]) -> np.ndarray:
    """P(count = k) by summing over every one of the 2^n outcomes."""
    out = np.zeros(len(p) + 1)
    for outcome in itertools.product((0, 1), repeat=len(p)):
        out[sum(outcome)] += np.prod([q if o else 1 - q for q, o in zip(p, outcome, strict=True)])
    return out


@given(probabilities)
@settings(max_examples=150, deadline=None)
def test_dp_equals_brute_force_enumeration(p: list[float]) -> None:
    assert np.allclose(pb.count_distribution(np.array(p)), brute_force(p), atol=1e-12)


@given(st.integers(0, 300), st.sampled_from([0.0, 1.0]) | st.floats(1e-6, 1 - 1e-6))
@settings(max_examples=40, deadline=None)
def test_equal_probabilities_give_scipy_binomial(n: int, q: float) -> None:
    expected = binom.pmf(np.arange(n + 1), n, q)
    assert np.allclose(pb.count_distribution(np.full(n, q)), expected, atol=1e-10)


def test_days_are_columns_computed_independently() -> None:
    rng = np.random.default_rng(1)
    p = rng.random((25, 4))
    batched = pb.count_distribution(p)
    for day in range(4):
        assert np.allclose(batched[day], pb.count_distribution(p[:, day]), atol=1e-14)


def test_fft_tree_above_the_threshold_agrees_with_the_dp() -> None:
    rng = np.random.default_rng(2)
    p = rng.random((pb.FFT_ABOVE + 300, 2)) ** 3
    fast = pb.count_distribution(p)
    exact = pb._dp(p)
    assert np.abs(fast - exact).max() < 1e-12
    assert np.allclose(fast.sum(axis=1), 1.0)


def test_quantiles_and_tail_probabilities_on_a_known_distribution() -> None:
    pmf = np.array([0.05, 0.05, 0.4, 0.3, 0.15, 0.05])  # cdf .05 .1 .5 .8 .95 1
    s = pb.summarise(pmf, at_least=(0, 3, 5, 6))
    assert (s.p10, s.p50, s.p90) == (1, 2, 4)
    assert s.expected == pytest.approx(float(np.arange(6) @ pmf))
    assert s.p_at_least == pytest.approx({0: 1.0, 3: 0.5, 5: 0.05, 6: 0.0})
    assert s.band_mass == pytest.approx(0.9)
    assert s.to_dict()["p_at_least_3"] == 0.5


@given(probabilities.filter(bool))
@settings(max_examples=60, deadline=None)
def test_band_holds_at_least_80_percent_and_quantiles_are_ordered(p: list[float]) -> None:
    s = pb.summarise(pb.count_distribution(np.array(p)))
    assert s.p10 <= s.p50 <= s.p90
    assert s.band_mass >= 0.8 - 1e-9


def test_randomised_pit_share_is_80_percent_when_calibrated() -> None:
    coin = pb.summarise(np.array([0.5, 0.5]))
    assert coin.pit_inside(0) == pytest.approx(0.8) and coin.pit_inside(1) == pytest.approx(0.8)
    assert coin.pit_inside(5) == 0.0  # a count the forecast says is impossible
    rng = np.random.default_rng(4)
    p = rng.random(8)
    s = pb.summarise(pb.count_distribution(p))
    draws = (rng.random((20_000, 8)) < p).sum(axis=1)
    share = np.mean([s.pit_inside(int(y)) for y in draws])
    assert share == pytest.approx(0.8, abs=0.01)
    inside = np.mean((s.p10 <= draws) & (draws <= s.p90))
    assert inside == pytest.approx(s.band_mass, abs=0.01) and s.band_mass > 0.85


def _spells(durations: list[float], ended: list[bool], start: str = "2024-01-01") -> pd.DataFrame:
    admitted = pd.Timestamp(start) + pd.to_timedelta(np.arange(len(durations)), "h")
    discharged = admitted + pd.to_timedelta(durations, "D")
    return pd.DataFrame(
        {
            "spell_id": [f"s{i}" for i in range(len(durations))],
            "patient_id": [f"p{i}" for i in range(len(durations))],
            "site": "S1",
            "ward": "W1",
            "specialty": "300",
            "age": 80,
            "admission_datetime": admitted,
            "discharge_datetime": discharged.where(ended),
        }
    )


def test_kaplan_meier_counts_censored_spells_at_risk() -> None:
    # stays 1, 3 days and one still in at the cut-off (censored at ~60 days, not dropped):
    # S(1.5) = 2/3, S(3.5) = 2/3 x 1/2 (two at risk at 3 days); dropping it would give 0
    spells = _spells([1.0, 2.0, 3.0], [True, False, True])  # the 2-day one not yet ended
    curve = StayTable(min_at_risk=1).fit(spells, pd.Timestamp("2024-03-01")).curves_[()]
    assert curve.at(np.array([1.5, 2.5, 3.5])) == pytest.approx([2 / 3, 2 / 3, 1 / 3])


def test_provider_is_conditional_on_days_stayed() -> None:
    spells = _spells([1.0, 2.0, 3.0, 4.0], [True] * 4)
    table = StayTable(min_at_risk=1).fit(spells, pd.Timestamp("2024-03-01"))
    census = spells.iloc[:1].assign(discharge_datetime=pd.NaT)
    origin = pd.Timestamp("2024-01-01") + pd.Timedelta(days=1.5)  # stayed 1.5 days
    got = table.bed_probabilities(census, origin, 3).in_bed[0]
    # S(1.5) = 3/4; S(2.5) = 2/4, S(3.5) = 1/4, S(4.5) = 0
    assert got == pytest.approx([2 / 3, 1 / 3, 0.0])


def test_stratum_too_small_falls_back_to_everyone() -> None:
    long = _spells([10.0] * 30, [True] * 30).assign(specialty="100")
    short = _spells([0.5], [True]).assign(specialty="300", spell_id="x", patient_id="y")
    table = StayTable(min_at_risk=5).fit(pd.concat([long, short]), pd.Timestamp("2024-03-01"))
    census = short.assign(discharge_datetime=pd.NaT)
    # stratum 300 (one half-day stay: 0) has too few at risk: read from everyone (30 of 31 stay)
    got = table.bed_probabilities(census, pd.Timestamp("2024-01-01"), 2).in_bed[0]
    assert got == pytest.approx([30 / 31, 30 / 31])


def test_waiting_share_is_conditional_on_not_ready_when_the_feed_records_ready_dates() -> None:
    # ten 5-day stays: five ready after a day, five never ready
    spells = _spells([5.0] * 10, [True] * 10)
    ready = spells["admission_datetime"] + pd.Timedelta(days=1)
    spells["discharge_ready_datetime"] = ready.where(spells.index < 5)
    table = StayTable(min_at_risk=1).fit(spells, pd.Timestamp("2024-03-01"))
    origin = pd.Timestamp("2024-02-01")
    census = pd.DataFrame(
        {
            "specialty": "300",
            "age": 80,
            "admission_datetime": [origin - pd.Timedelta(days=2.5)] * 2,
            "discharge_ready_datetime": [pd.NaT, origin - pd.Timedelta(days=1)],
        }
    )
    live = table.bed_probabilities(census, origin, 1)
    # the first is not ready 2.5 days in: like the never-ready half, it will not wait
    assert live.nctr[0, 0] == 0.0 and live.nctr[1, 0] == pytest.approx(live.in_bed[1, 0])
    plain = table.bed_probabilities(
        census.iloc[:1].assign(discharge_ready_datetime=pd.NaT), origin, 1
    )
    assert plain.nctr[0, 0] == pytest.approx(0.5 * plain.in_bed[0, 0])  # ready dates not live


def test_nothing_after_the_cutoff_is_seen() -> None:
    spells = _spells([1.0, 5.0], [True, True]).assign(
        discharge_ready_datetime=lambda f: f["discharge_datetime"] - pd.Timedelta(days=1)
    )
    known = as_known_at(spells, pd.Timestamp("2024-01-03"))
    assert known["discharge_datetime"].isna().tolist() == [False, True]
    assert known["discharge_ready_datetime"].isna().tolist() == [False, True]
    assert spells["discharge_datetime"].notna().all()  # the input is not changed


def test_survival_provider_reads_curves_between_days() -> None:
    survival = np.array([[1.0, 0.8, 0.4, 0.2, 0.0]])
    assert survival_at(survival, np.array([[1.5, 9.0]]))[0] == pytest.approx([0.6, 0.0])
    census = pd.DataFrame({"admission_datetime": [pd.Timestamp("2024-01-01 12:00")]})
    share = np.full((1, 5), 0.5)
    provider = SurvivalProvider(survival, share)
    probs = provider.bed_probabilities(census, pd.Timestamp("2024-01-02"), 2)
    assert probs.in_bed[0] == pytest.approx([0.6 / 0.9, 0.3 / 0.9])
    assert probs.nctr[0] == pytest.approx(0.5 * probs.in_bed[0])


def _ward_census() -> pd.DataFrame:
    admitted = pd.Timestamp("2024-02-01 09:00")
    rows = []
    for i, (site, ward) in enumerate([("A", "W1")] * 3 + [("A", "W2")] * 2 + [("B", "W9")]):
        rows.append(
            {
                "spell_id": f"s{i}",
                "patient_id": f"p{i}",
                "site": site,
                "ward": ward,
                "admission_datetime": admitted,
                "discharge_datetime": pd.NaT,
                "discharge_ready_datetime": admitted if i == 0 else pd.NaT,
            }
        )
    return pd.DataFrame(rows)


def test_forecast_per_ward_and_site_from_provider_arrays() -> None:
    census = _ward_census()
    survival = np.tile(np.linspace(1.0, 0.0, 61), (len(census), 1))
    provider = SurvivalProvider(survival, np.zeros_like(survival), name="test curves")
    result = build_forecast(census, provider, on=date(2024, 2, 1), days=3, at_least=(2,))
    assert [(g.site, g.ward, g.patients) for g in result.wards] == [
        ("A", "W1", 3),
        ("A", "W2", 2),
        ("B", "W9", 1),
    ]
    probs = provider.bed_probabilities(census, pd.Timestamp("2024-02-02"), 3)
    w1 = result.wards[0].days[0].occupied_beds
    assert w1.expected == pytest.approx(probs.in_bed[:3, 0].sum())
    assert w1.p_at_least[2] == pytest.approx(pb.count_distribution(probs.in_bed[:3, 0])[2:].sum())
    site_a = result.sites[0].days[2].occupied_beds.expected
    assert site_a == pytest.approx(sum(g.days[2].occupied_beds.expected for g in result.wards[:2]))
    # the patient ready before the origin waits in every bed-day they hold
    waiting = result.wards[0].days[0].nctr_bed_days.expected
    assert waiting == pytest.approx(probs.in_bed[0, 0])
    frame = result.to_frame()
    assert set(frame["measure"]) == {"occupied_beds", "nctr_bed_days"}
    assert {"expected", "p10", "p50", "p90", "p_at_least_2"} <= set(frame.columns)
    assert len(frame) == (3 + 2) * 3 * 2


def test_baseline_forecast_ignores_what_happened_after_the_list_date() -> None:
    rng = np.random.default_rng(3)
    n = 400
    admitted = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.random(n) * 60, "D")
    stays = pd.to_timedelta(rng.exponential(5, n), "D")
    frame = pd.DataFrame(
        {
            "spell_id": [f"s{i}" for i in range(n)],
            "patient_id": [f"p{i}" for i in range(n)],
            "site": "A",
            "ward": rng.choice(["W1", "W2"], n),
            "specialty": "300",
            "age": 70,
            "admission_datetime": admitted,
            "discharge_datetime": admitted + stays,
        }
    )
    on = date(2024, 2, 10)
    first = baseline_forecast(frame, on=on, days=4).to_dict()
    later = frame["discharge_datetime"] > pd.Timestamp("2024-02-11")
    changed = frame.assign(
        discharge_datetime=frame["discharge_datetime"].where(~later, pd.Timestamp("2024-12-01"))
    )
    second = baseline_forecast(changed, on=on, days=4).to_dict()
    first.pop("generated_at"), second.pop("generated_at")
    assert first == second
    # in hospital at the list date's midnight (and the census's hour of grace for late entries)
    in_then = int(((frame["admission_datetime"] < "2024-02-11 01:00") & later).sum())
    assert first["counts"]["inpatients"] == in_then > 20
    assert sum(w["patients"] for w in first["wards"]) == in_then

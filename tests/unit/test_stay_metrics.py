"""Evaluation of a stay distribution: known answers on generated spells (the true curve is the
perfect model), hand-built concordance, and properties of the censoring weights."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evaluation.stay_evaluation import COVERAGE_GATE, evaluate_distribution
from evaluation.stay_metrics import (
    Stays,
    calibration_at,
    concordance,
    integrated_brier,
    per_spell,
    weighted_mean,
)
from features.generate import generate_admissions
from features.history import with_history
from features.synthetic.stay_truth import TrueStay, true_stay
from los.config import TrainingConfig


@dataclass(frozen=True)
class Shifted:
    """The true curve moved `days` later: every quantile `days` more."""

    truth: TrueStay
    days: float

    @property
    def survival(self) -> np.ndarray:
        return self.truth.survival_at(np.arange(61) - self.days)

    def quantile(self, q: float) -> np.ndarray:
        return self.truth.quantile(q) + self.days


@pytest.fixture(scope="module")
def test_period() -> tuple[pd.DataFrame, TrueStay]:
    """The last 4,000 spells of a generated extract (some still in hospital) and their truth."""
    data = generate_admissions(16_000, seed=8)
    spells = with_history(data.admissions).iloc[-4_000:]
    return data.admissions.iloc[-4_000:].reset_index(drop=True), true_stay(spells)


@pytest.fixture(scope="module")
def config() -> TrainingConfig:
    return TrainingConfig.model_validate({"evaluation": {"n_bootstrap": 100}})


def test_the_true_curve_covers_80_percent_and_passes(
    test_period: tuple[pd.DataFrame, TrueStay], config: TrainingConfig
) -> None:
    admissions, truth = test_period
    assert admissions["discharge_datetime"].isna().any()  # censored spells are in play
    ev = evaluate_distribution(admissions, truth, truth, config)
    model = ev.model
    assert abs(model.coverage - 0.8) < 3 * np.sqrt(0.16 / model.n)
    assert abs(model.below_p10 - 0.1) < 0.025 and abs(model.above_p90 - 0.1) < 0.025
    assert model.median_error_days == 0.0
    for day, calibration in model.calibration.items():
        assert abs(calibration.observed - calibration.mean_predicted) < 0.02, day
        assert calibration.calibration_error < 0.04, day
        assert len(calibration.points) == 10
    assert model.integrated_brier < model.integrated_brier_reference
    assert 0.6 < model.concordance < 0.8
    overall = next(g for g in ev.gates if g.attribute is None)
    assert overall.kind == COVERAGE_GATE and overall.passed and overall.status == "pass"
    assert {g.attribute for g in ev.gates} == {
        None,
        "ethnic_group",
        "imd_quintile",
        "sex",
        "age_band",
    }
    assert all(g.status != "fail" for g in ev.gates)
    # the oracle's figures are the model's when the model is the truth
    assert ev.oracle is not None and ev.oracle.coverage == model.coverage
    # groups: small ones show only their size; reported ones carry bootstrap intervals
    sizes = {g: r.n for g, r in ev.groups["ethnic_group"].items()}
    assert sum(sizes.values()) == len(admissions)
    for row in ev.groups["ethnic_group"].values():
        if row.n < config.gates.min_group_size:
            assert row.suppressed and row.coverage is None
        else:
            lo, hi = row.coverage_ci
            assert lo is not None and hi is not None and lo <= (row.coverage or 0) <= hi
    out = json.loads(json.dumps(ev.to_dict(), allow_nan=False))
    assert set(out) == {"sampled_from", "model", "oracle", "groups", "gates"}
    assert out["sampled_from"] is None  # every spell evaluated
    assert set(out["model"]["calibration"]) == {"3", "7", "14", "21"}
    assert out["gates"]["stay_interval_coverage:sex"]["passed"] is True


def test_a_curve_shifted_later_fails_the_gate_and_its_median_error_is_the_shift(
    test_period: tuple[pd.DataFrame, TrueStay], config: TrainingConfig
) -> None:
    admissions, truth = test_period
    ev = evaluate_distribution(admissions, Shifted(truth, 3.0), truth, config)
    assert ev.model.median_error_days == pytest.approx(3.0)
    assert ev.model.coverage < 0.7 and ev.model.below_p10 > 0.25
    overall = next(g for g in ev.gates if g.attribute is None)
    assert not overall.passed and overall.status == "fail" and "below the band" in overall.detail
    sex = next(g for g in ev.gates if g.attribute == "sex")
    assert not sex.passed and sex.group in ("Female", "Male")
    assert ev.model.integrated_brier > ev.oracle.integrated_brier  # type: ignore[union-attr]
    assert ev.model.calibration[7].mean_predicted > ev.model.calibration[7].observed + 0.05


def test_the_band_and_evidence_rule_come_from_the_config(
    test_period: tuple[pd.DataFrame, TrueStay],
) -> None:
    admissions, truth = test_period
    strict = TrainingConfig.model_validate(
        {"gates": {"stay_coverage_band": [0.81, 0.9]}, "evaluation": {"n_bootstrap": 50}}
    )
    ev = evaluate_distribution(admissions, truth, None, strict)
    overall = next(g for g in ev.gates if g.attribute is None)
    assert overall.limit == [0.81, 0.9] and ev.oracle is None
    assert ev.model.median_error_days is None
    assert overall.status in ("fail", "not_conclusive") and overall.value is not None
    assert overall.value < 0.81


def test_mismatched_rows_are_refused(test_period: tuple[pd.DataFrame, TrueStay]) -> None:
    admissions, truth = test_period
    with pytest.raises(ValueError, match="one curve per spell"):
        evaluate_distribution(admissions.iloc[:10], truth)


def _stays(days: list[float], ended: list[bool] | None = None) -> Stays:
    d = np.asarray(days, dtype=float)
    e = np.ones(len(d), bool) if ended is None else np.asarray(ended)
    return Stays(d, e, np.full(len(d), 1e6))


def test_concordance_known_answers() -> None:
    stays = _stays([1, 2, 3, 4, 5])
    assert concordance(np.array([1, 2, 3, 4, 5.0]), stays) == 1.0
    assert concordance(np.array([5, 4, 3, 2, 1.0]), stays) == 0.0
    assert concordance(np.ones(5), stays) == 0.5
    # a spell still in hospital after 2 days is known longer than the one that left at 1, but
    # not shorter than the one that left at 3 (as an ended stay, that pair would be discordant)
    censored = _stays([1, 2, 3], [True, False, True])
    assert concordance(np.array([0, 2, 1.0]), censored) == 1.0
    assert concordance(np.array([0, 2, 1.0]), _stays([1, 2, 3])) == pytest.approx(2 / 3)


def _brute_concordance(score: np.ndarray, days: np.ndarray, ended: np.ndarray) -> float:
    num = den = 0.0
    for i in range(len(days)):
        for j in range(len(days)):
            if ended[i] and days[i] < days[j]:
                den += 1
                num += 1.0 if score[i] < score[j] else 0.5 if score[i] == score[j] else 0.0
    return num / den if den else float("nan")


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 6), st.integers(0, 5), st.booleans()), min_size=2, max_size=40
    )
)
def test_concordance_matches_the_pairwise_definition(rows: list[tuple[int, int, bool]]) -> None:
    days = np.array([r[0] for r in rows], dtype=float)
    score = np.array([r[1] for r in rows], dtype=float)
    ended = np.array([r[2] for r in rows])
    expected = _brute_concordance(score, days, ended)
    got = concordance(score, Stays(days, ended, np.full(len(days), 100.0)))
    assert (np.isnan(got) and np.isnan(expected)) or got == pytest.approx(expected)


@dataclass(frozen=True)
class Fixed:
    """Curves given by their interval and median only (the survival is not read here)."""

    p10: np.ndarray
    p50: np.ndarray
    p90: np.ndarray

    @property
    def survival(self) -> np.ndarray:
        return np.ones((len(self.p10), 61))

    def quantile(self, q: float) -> np.ndarray:
        return {0.1: self.p10, 0.5: self.p50, 0.9: self.p90}[q]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0.01, 80), st.floats(0, 80), st.floats(0.01, 30), st.floats(0, 200)),
        min_size=1,
        max_size=50,
    )
)
def test_coverage_without_censoring_is_the_plain_share_and_parts_add_up(
    rows: list[tuple[float, float, float, float]],
) -> None:
    stay, p10, width, follow = (np.array(c) for c in zip(*rows, strict=True))
    curves = Fixed(p10, p10 + width / 2, p10 + width)
    complete = per_spell(curves, Stays(stay, np.ones(len(stay), bool), stay + 1e6))
    plain = np.mean((stay >= p10) & (stay <= p10 + width))
    assert weighted_mean(complete.inside, complete.coverage_weight) == pytest.approx(plain)
    # with censoring: every answered spell is below, inside or above, never two
    ended = stay <= follow
    stays = Stays(np.where(ended, stay, follow), ended, np.maximum(follow, 0))
    spell = per_spell(curves, stays)
    answered = spell.coverage_weight > 0
    parts = spell.inside + spell.below + spell.above
    assert (parts[answered] == 1).all()
    assert (spell.coverage_weight[answered] >= 1).all()


@dataclass(frozen=True)
class Exponential:
    """Exponential stays with mean `mean` days per spell: a curve with closed-form quantiles."""

    mean: np.ndarray

    @property
    def survival(self) -> np.ndarray:
        return np.exp(-np.arange(61)[None, :] / self.mean[:, None])

    def quantile(self, q: float) -> np.ndarray:
        return -self.mean * np.log(1 - q)


def test_censoring_weights_recover_coverage_and_calibration_when_many_are_still_in() -> None:
    rng = np.random.default_rng(3)
    n = 20_000
    mean = rng.uniform(2, 12, n)  # every p90 (<= 27.6 days) can be followed to (positivity)
    stay = rng.exponential(mean)
    follow = rng.uniform(0, 40, n)  # admitted up to 40 days before the end: ~20% still in
    ended = stay <= follow
    stays = Stays(np.where(ended, stay, follow), ended, follow)
    curves = Exponential(mean)
    spell = per_spell(curves, stays)
    coverage = weighted_mean(spell.inside, spell.coverage_weight)
    assert 1 - ended.mean() > 0.15 and abs(coverage - 0.8) < 0.015
    naive = spell.inside[ended].mean()  # ended spells only: long stays are missing
    assert naive - coverage > 0.02
    for day in (3, 7, 14, 21):
        calibration = calibration_at(curves.survival, stays, day)
        assert abs(calibration.observed - calibration.mean_predicted) < 0.015, day
    brier, constant = integrated_brier(curves.survival, stays)
    assert brier < constant

"""Group metrics (known answers on a hand-built frame), bootstrap AUROC and fairness gates."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from evaluation.bootstrap import bootstrap_auroc
from evaluation.evaluate import TargetEvaluation, evaluate_target
from evaluation.fairness import assess_fairness, fairness_gates
from evaluation.group_metrics import Breakdown
from los.config import GatesConfig, TrainingConfig
from tests.factories import CONTRACT_GROUP_KEYS

# White (A): TP 2, FN 2, FP 1, TN 3.  Black (M): TP 3, FN 1, FP 1, TN 5.  Other (R): 3 rows.
WHITE_Y = [1, 1, 1, 1, 0, 0, 0, 0]
WHITE_P = [0.9, 0.8, 0.3, 0.2, 0.7, 0.1, 0.1, 0.1]
BLACK_Y = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]
BLACK_P = [0.9, 0.8, 0.7, 0.3, 0.6, 0.2, 0.2, 0.1, 0.1, 0.1]
OTHER_Y = [1, 0, 0]
OTHER_P = [0.6, 0.4, 0.2]


@pytest.fixture(scope="module")
def hand_built() -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    codes = ["A"] * 8 + ["M"] * 10 + ["R"] * 3
    admissions = pd.DataFrame(
        {"ethnic_category": codes, "sex": "2", "age": 80.0, "imd_decile": 3.0}
    )
    y = np.array(WHITE_Y + BLACK_Y + OTHER_Y, dtype=float)
    p = np.array(WHITE_P + BLACK_P + OTHER_P)
    return admissions, y, p


def _config(**gates: Any) -> TrainingConfig:
    return TrainingConfig.model_validate(
        {"gates": {"min_group_size": 5, **gates}, "evaluation": {"n_bootstrap": 50}}
    )


def test_group_metrics_known_answer(
    hand_built: tuple[pd.DataFrame, np.ndarray, np.ndarray],
) -> None:
    admissions, y, p = hand_built
    result = assess_fairness(admissions, y, p, 0.5, _config())
    table = result.groups["ethnic_group"]
    white, black = table["White"], table["Black or Black British"]
    assert white.n == 8 and white.n_positive == 4
    assert white.prevalence == pytest.approx(0.5)
    assert white.flag_rate == pytest.approx(3 / 8)
    assert white.tpr == pytest.approx(0.5)
    assert white.fnr == pytest.approx(0.5)
    assert white.fpr == pytest.approx(0.25)
    assert white.ppv == pytest.approx(2 / 3)
    assert white.for_ == pytest.approx(2 / 5)
    assert white.auroc == pytest.approx(14 / 16)
    assert white.calibration_error == pytest.approx(0.1)  # one bin: |0.5 - 0.4|
    assert black.fnr == pytest.approx(0.25)
    assert black.fpr == pytest.approx(1 / 6)
    assert black.ppv == pytest.approx(0.75)
    assert black.for_ == pytest.approx(1 / 6)
    assert black.auroc == pytest.approx(23 / 24)
    assert black.calibration_error == pytest.approx(0.0, abs=1e-12)
    # the largest group is the reference; disparities are measured against it
    assert black.reference and not white.reference
    assert result.reference["ethnic_group"] == "Black or Black British"
    assert white.fnr_ratio == pytest.approx(2.0)
    assert white.fnr_ratio_age_adjusted == pytest.approx(2.0)  # one age band: as crude
    assert white.observed_to_expected == pytest.approx(0.5 / 0.4)
    assert white.calibration_ratio == pytest.approx(1.25)  # reference O/E is exactly 1
    assert white.tpr_ratio == pytest.approx(0.5 / 0.75)
    assert white.auroc_gap == pytest.approx(23 / 24 - 14 / 16)
    lo, hi = white.auroc_ci
    assert 0 <= lo <= hi <= 1


def test_small_groups_are_shown_suppressed_and_every_group_is_listed(
    hand_built: tuple[pd.DataFrame, np.ndarray, np.ndarray],
) -> None:
    admissions, y, p = hand_built
    groups = assess_fairness(admissions, y, p, 0.5, _config()).groups
    eg = groups["ethnic_group"]
    assert list(eg) == [
        "White",
        "Mixed",
        "Asian or Asian British",
        "Black or Black British",
        "Other",
        "Not stated",
        "Not known",
    ]
    other = eg["Other"]
    assert other.suppressed is True and other.n == 3
    assert other.auroc is None and other.fnr is None and other.auroc_ci == (None, None)
    assert eg["Not known"] == replace(eg["Not known"], n=0, suppressed=True)
    assert len(groups["ethnic_category"]) == 18
    for attribute in ("ethnic_group", "ethnic_category", "sex", "age_band", "imd_quintile"):
        for row in groups[attribute].values():
            keys = set(row.to_dict())
            assert keys >= CONTRACT_GROUP_KEYS, (attribute, CONTRACT_GROUP_KEYS - keys)
            assert len(row.auroc_ci) == 2


def test_age_adjusted_fnr_ratio_removes_age_mix() -> None:
    """Both groups miss half their young and none of their old positive patients; Black
    patients here are mostly young, so their crude FNR is three times White's."""
    young, old = 30.0, 80.0
    white = [(young, 1, 0.1), (young, 1, 0.9)] + [(old, 1, 0.9)] * 6 + [(old, 0, 0.1)] * 4
    black = [(young, 1, 0.1)] * 3 + [(young, 1, 0.9)] * 3 + [(old, 1, 0.9)] * 2
    black += [(young, 0, 0.1)] * 4
    rows = [("A", *r) for r in white] + [("M", *r) for r in black]
    admissions = pd.DataFrame(
        {"ethnic_category": [r[0] for r in rows], "age": [r[1] for r in rows], "sex": "1"}
    )
    y = np.array([r[2] for r in rows], dtype=float)
    p = np.array([r[3] for r in rows])
    config = TrainingConfig.model_validate(
        {
            "gates": {"min_group_size": 5},
            "evaluation": {"n_bootstrap": 20, "reference_groups": {"ethnic_group": "White"}},
        }
    )
    black_row = assess_fairness(admissions, y, p, 0.5, config).groups["ethnic_group"][
        "Black or Black British"
    ]
    assert black_row.fnr == pytest.approx(3 / 8)
    assert black_row.fnr_ratio == pytest.approx(3.0)
    assert black_row.fnr_ratio_age_adjusted == pytest.approx(1.0)


def test_configured_reference_group(
    hand_built: tuple[pd.DataFrame, np.ndarray, np.ndarray],
) -> None:
    admissions, y, p = hand_built
    config = TrainingConfig.model_validate(
        {
            "gates": {"min_group_size": 5},
            "evaluation": {"n_bootstrap": 20, "reference_groups": {"ethnic_group": "White"}},
        }
    )
    table = assess_fairness(admissions, y, p, 0.5, config).groups["ethnic_group"]
    assert table["White"].reference
    assert table["Black or Black British"].fnr_ratio == pytest.approx(0.5)


def test_bootstrap_auroc_matches_weighted_sklearn() -> None:
    rng = np.random.default_rng(3)
    y = (rng.random(400) < 0.3).astype(float)
    p = np.round(rng.random(400) * 0.5 + 0.4 * y, 2)  # rounded: many ties
    ones = np.ones((1, 400))
    assert bootstrap_auroc(y, p, ones)[0] == pytest.approx(roc_auc_score(y, p))
    counts = rng.integers(0, 3, size=(5, 400)).astype(float)
    expected = [roc_auc_score(y, p, sample_weight=c) for c in counts]
    np.testing.assert_allclose(bootstrap_auroc(y, p, counts), expected, rtol=1e-12)
    one_class = np.where(y == 1, 1.0, 0.0)[None, :]
    assert np.isnan(bootstrap_auroc(y, p, one_class)[0])


def _synthetic(
    n: int, seed: int, uplift: float = 1.0
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Labels drawn from p itself (fair), with Black patients' risk multiplied by `uplift`."""
    rng = np.random.default_rng(seed)
    admissions = pd.DataFrame(
        {
            "ethnic_category": rng.choice(["A", "A", "A", "H", "M", "Z", "99"], n),
            "sex": rng.choice(["1", "2"], n),
            "age": rng.integers(18, 100, n).astype(float),
            "imd_decile": rng.integers(1, 11, n).astype(float),
        }
    )
    p = rng.beta(2, 6, n)
    truth = np.where(admissions["ethnic_category"] == "M", np.minimum(p * uplift, 1), p)
    return admissions, (rng.random(n) < truth).astype(float), p


def _gates(admissions: pd.DataFrame, y: np.ndarray, p: np.ndarray, **gates: Any) -> dict[str, Any]:
    config = TrainingConfig.model_validate({"gates": gates, "evaluation": {"n_bootstrap": 100}})
    ev = evaluate_target("t", admissions, y, p, 0.3, config)
    return {g.name: g for g in fairness_gates(ev, config.gates)}


def test_fair_labels_pass_and_a_planted_disparity_fails() -> None:
    admissions, y, p = _synthetic(30_000, seed=11)
    fair = _gates(admissions, y, p)
    assert {n.split(":")[1] for n in fair} == {
        "ethnic_group",
        "sex",
        "age_band",
        "imd_quintile",
        "ethnicity_deprivation",
    }
    assert all(g.passed for g in fair.values()), [g.detail for g in fair.values() if not g.passed]

    admissions, y, p = _synthetic(30_000, seed=11, uplift=1.8)
    unfair = _gates(admissions, y, p)
    gate = unfair["group_calibration_error:ethnic_group"]
    assert not gate.passed
    assert "Black or Black British" in gate.detail and "under-estimated" in gate.detail
    assert gate.value is not None and gate.value > 0.10
    ratio = unfair["calibration_ratio:ethnic_group"]
    assert not ratio.passed and ratio.value is not None and ratio.value > 1.5
    assert "flagged less often than their risk warrants" in ratio.detail
    assert unfair["fnr_ratio:ethnic_group"].passed  # uplift in risk, not in ranking: FNR similar
    assert all(g.passed for n, g in unfair.items() if "ethnic" not in n)
    assert "fnr_ratio:age_band" not in unfair  # age is reported, not gated, on FNR


def _row(n: int, fnr: float, ci: tuple[float, float], **extra: Any) -> dict[str, Any]:
    return {
        "n": n,
        "n_positive": n // 4,
        "suppressed": False,
        "reference": False,
        "fnr": fnr,
        "fnr_ratio": fnr / 0.2,
        "fnr_ratio_ci": list(ci),
        "fnr_ratio_age_adjusted": fnr / 0.2,
        "fnr_ratio_age_adjusted_ci": list(ci),
        "observed_to_expected": 1.0,
        "calibration_ratio": 1.0,
        "calibration_ratio_ci": [0.9, 1.1],
        "auroc": 0.75,
        "auroc_gap": 0.0,
        "auroc_gap_ci": [-0.02, 0.02],
        "calibration_error": 0.02,
        "calibration_error_ci": [0.01, 0.04],
        "prevalence": 0.25,
        "mean_predicted": 0.24,
        **extra,
    }


def _evaluation(table: dict[str, dict[str, Any]]) -> TargetEvaluation:
    groups = {"sex": Breakdown.from_dict("sex", table)}
    return TargetEvaluation("t", overall=None, groups=groups)  # type: ignore[arg-type]


def test_fnr_gate_estimate_vs_interval_rule() -> None:
    table = {
        "Female": _row(1000, 0.2, (1.0, 1.0), reference=True),
        "Male": _row(800, 0.3, (1.1, 1.9)),  # ratio 1.5: beyond, but the interval overlaps
    }
    interval = GatesConfig(fairness_attributes=["sex"])
    estimate = GatesConfig(fairness_attributes=["sex"], fairness_evidence="estimate")
    by_interval = {g.name: g for g in fairness_gates(_evaluation(table), interval)}
    by_estimate = {g.name: g for g in fairness_gates(_evaluation(table), estimate)}
    assert by_interval["fnr_ratio:sex"].passed
    assert "not conclusive" in by_interval["fnr_ratio:sex"].detail
    assert not by_estimate["fnr_ratio:sex"].passed
    assert by_estimate["fnr_ratio:sex"].value == pytest.approx(1.5)
    assert by_estimate["fnr_ratio:sex"].limit == [0.8, 1.25]
    assert by_estimate["fnr_ratio:sex"].to_dict().keys() >= {"value", "limit", "passed"}

    table["Male"] = _row(800, 0.3, (1.3, 1.9))  # whole interval beyond 1.25
    failed = {g.name: g for g in fairness_gates(_evaluation(table), interval)}["fnr_ratio:sex"]
    assert not failed.passed
    assert "Male" in failed.detail and "30%" in failed.detail and "Female" in failed.detail


def test_suppressed_and_eventless_groups_neither_pass_nor_fail() -> None:
    table = {
        "Female": _row(1000, 0.2, (1.0, 1.0), reference=True),
        "Male": _row(800, 0.21, (0.9, 1.2)),
        "Indeterminate": {"n": 30, "suppressed": True, "reference": False},
        "Not known": _row(200, 0.9, (3.0, 6.0), n_positive=4),  # too few positives to judge
    }
    config = GatesConfig(fairness_attributes=["sex"], min_group_events=10)
    gates = {g.name: g for g in fairness_gates(_evaluation(table), config)}
    assert gates["fnr_ratio:sex"].passed
    assert gates["fnr_ratio:sex"].value == pytest.approx(1.05)
    assert "Indeterminate (n=30)" in gates["fnr_ratio:sex"].detail
    table["Not known"]["n_positive"] = 50
    gates = {g.name: g for g in fairness_gates(_evaluation(table), config)}
    assert not gates["fnr_ratio:sex"].passed and "Not known" in gates["fnr_ratio:sex"].detail


def test_calibration_and_auroc_gates_use_their_limits() -> None:
    table = {
        "Female": _row(1000, 0.2, (1.0, 1.0), reference=True),
        "Male": _row(
            800,
            0.2,
            (0.9, 1.1),
            calibration_error=0.15,
            calibration_error_ci=[0.12, 0.2],
            auroc_gap=0.2,
            auroc_gap_ci=[0.15, 0.25],
        ),
    }
    gates = {
        g.name: g
        for g in fairness_gates(_evaluation(table), GatesConfig(fairness_attributes=["sex"]))
    }
    assert not gates["group_calibration_error:sex"].passed
    assert gates["group_calibration_error:sex"].limit == pytest.approx(0.10)
    assert not gates["auroc_gap:sex"].passed and gates["auroc_gap:sex"].value == pytest.approx(0.2)
    relaxed = GatesConfig(
        fairness_attributes=["sex"], max_group_calibration_error=0.25, max_group_auroc_gap=0.3
    )
    assert all(g.passed for g in fairness_gates(_evaluation(table), relaxed))


def test_attribute_without_group_metrics_fails_the_gate() -> None:
    gates = fairness_gates(_evaluation({}), GatesConfig(fairness_attributes=["sex"]))
    assert [(g.name, g.passed) for g in gates] == [("fairness:sex", False)]


def test_fairness_is_seeded() -> None:
    admissions, y, p = _synthetic(5_000, seed=5)
    config = TrainingConfig.model_validate({"evaluation": {"n_bootstrap": 30}})
    a = assess_fairness(admissions, y, p, 0.3, config).groups
    b = assess_fairness(admissions, y, p, 0.3, config).groups
    other = assess_fairness(admissions, y, p, 0.3, config.model_copy(update={"seed": 6})).groups
    assert a == b
    assert a["ethnic_group"]["White"].auroc_ci != other["ethnic_group"]["White"].auroc_ci

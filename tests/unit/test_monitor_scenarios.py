"""The generator's planted changes for the monitor (issue 14, CONTRACT §8)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.generate import generate_admissions
from features.history import compute_history
from features.synthetic.labels import true_probabilities
from los.config import TargetsConfig
from los.targets import label, targets_from_config
from models.segments import OTHER_SITE, site_labels

WINDOW = {"start": "2024-01-01", "end": "2024-12-31", "scenario_start": "2024-07-01"}


@pytest.fixture(scope="module")
def runs() -> dict[str, object]:
    return {
        name: generate_admissions(12_000, 5, scenario=name, scenario_site="R1K01", **WINDOW)
        for name in ("none", "site-capacity-shock", "coding-change")
    }


def test_none_keeps_the_truth_as_it_was(runs: dict) -> None:
    plain = generate_admissions(12_000, 5, start=WINDOW["start"], end=WINDOW["end"])
    pd.testing.assert_frame_equal(runs["none"].admissions, plain.admissions)
    assert list(runs["none"].truth.columns) == [
        "spell_id",
        "p_long_stay",
        "p_long_stay_21",
        "p_nctr",
        "los_p10_days",  # CONTRACT §7: the true stay quantiles and NCTR days
        "los_median_days",
        "los_p90_days",
        "nctr_expected_days",
    ]


def test_capacity_shock_raises_nctr_at_the_site_from_the_start_only(runs: dict) -> None:
    data = runs["site-capacity-shock"]
    a, truth = data.admissions, data.truth
    hit = truth["scenario_affected"].to_numpy()
    expected = (a["site"].eq("R1K01") & (a["admission_datetime"] >= "2024-07-01")).to_numpy()
    assert (hit == expected).all() and truth["scenario_site"].eq("R1K01").all()
    # the truth is the shifted one: recomputed with the scenario it matches, without it is lower
    spells = pd.concat([a, compute_history(a, a)], axis=1)
    shifted = true_probabilities(spells, data.scenario)
    np.testing.assert_allclose(shifted["p_nctr"], truth["p_nctr"], atol=1e-12)
    plain = true_probabilities(spells)
    odds = lambda p: p / (1 - p)  # noqa: E731
    ratio = odds(truth["p_nctr"]) / odds(plain["p_nctr"])
    np.testing.assert_allclose(ratio[hit], np.e, rtol=1e-9)
    np.testing.assert_allclose(ratio[~hit], 1.0, rtol=1e-9)
    # and the outcomes follow the shifted truth, not the old one (spells with time to end)
    nctr = next(t for t in targets_from_config(TargetsConfig()) if t.name == "nctr")
    y = label(a, nctr).to_numpy()
    rows = hit & ~np.isnan(y) & (a["admission_datetime"] < "2024-10-01").to_numpy()
    observed, shifted_p, plain_p = y[rows].sum(), truth["p_nctr"][rows], plain["p_nctr"][rows]
    assert abs(observed - shifted_p.sum()) < 4 * np.sqrt((shifted_p * (1 - shifted_p)).sum())
    assert observed > plain_p.sum() + 3 * np.sqrt((plain_p * (1 - plain_p)).sum())


def test_coding_change_changes_the_recording_not_the_outcomes(runs: dict) -> None:
    none, coded = runs["none"], runs["coding-change"]
    hit = coded.truth["scenario_affected"].to_numpy()
    assert hit.sum() > 500
    pd.testing.assert_frame_equal(
        none.truth, coded.truth.drop(columns=["scenario_site", "scenario_affected"])
    )
    before, after = none.admissions["frailty_score"], coded.admissions["frailty_score"]
    np.testing.assert_array_equal(before[~hit], after[~hit])
    recorded = after[hit].dropna()
    assert recorded.between(1, 9).all() and recorded.round().eq(recorded).all()
    assert (before[hit].dropna() > 9).any()  # the Hospital Frailty Risk Score ran past 9
    pd.testing.assert_frame_equal(
        none.admissions.drop(columns="frailty_score"),
        coded.admissions.drop(columns="frailty_score"),
    )


def test_an_unknown_scenario_or_a_start_outside_the_window_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown scenario"):
        generate_admissions(100, 1, scenario="flood")
    with pytest.raises(ValueError, match="outside"):
        generate_admissions(100, 1, scenario="coding-change", scenario_start="2030-01-01")
    with pytest.raises(ValueError, match="unknown site"):
        generate_admissions(100, 1, scenario="coding-change", scenario_site="XYZ")


def test_service_site_labels_fold_unknown_sites_into_other() -> None:
    columns = {"site": np.array(["R1K01", "NEW99", None, " R1K01 "], dtype=object)}
    got = site_labels(columns, frozenset({"R1K01", "RAS01"}))
    assert list(got) == ["R1K01", OTHER_SITE, OTHER_SITE, "R1K01"]

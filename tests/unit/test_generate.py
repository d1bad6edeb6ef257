"""The synthetic admissions generator: schema, determinism, realistic marginals, exact truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from features.generate import (
    PLANTED_ETHNIC,
    PLANTED_NCTR_ODDS_RATIO,
    GeneratedData,
    generate_admissions,
    true_probabilities,
)
from features.history import compute_history
from los.schema import (
    ADMISSION_METHOD_CODES,
    ADMISSION_SOURCE_CODES,
    CARE_HOME_CODES,
    COLUMNS,
    DISCHARGE_DESTINATION_CODES,
    ETHNIC_CODES,
)

ROWS = 40_000
END = pd.Timestamp("2025-06-30")
GROUP = {**dict.fromkeys("ABC", "white"), **dict.fromkeys("DEFG", "mixed")}
GROUP |= {**dict.fromkeys("HJKL", "asian"), **dict.fromkeys("MNP", "black"), "R": "other"}
GROUP |= {"S": "other", "Z": "not_stated", "99": "not_known"}


@pytest.fixture(scope="module")
def data() -> GeneratedData:
    return generate_admissions(ROWS, seed=11)


@pytest.fixture(scope="module")
def spells(data: GeneratedData) -> pd.DataFrame:
    """Admissions with derived labels, history and truth, for the marginal checks."""
    a = data.admissions
    los = (a["discharge_datetime"] - a["admission_datetime"]).dt.total_seconds() / 86400
    delay = (a["discharge_datetime"] - a["discharge_ready_datetime"]).dt.total_seconds() / 86400
    return a.join(compute_history(a)).assign(
        los=los,
        delay=delay,
        died=a["discharge_destination"].eq("79"),
        nctr=delay >= 1,
        group=a["admission_method"].str[0].map({"1": "el", "2": "em", "3": "mat", "8": "other"}),
        ethnic_group=a["ethnic_category"].map(GROUP).fillna("not_known"),
        # every spell admitted 401+ days before the end has ended (stays are capped at 400 days)
        complete=a["admission_datetime"] < END - pd.Timedelta(days=400),
        **data.truth.drop(columns="spell_id"),
    )


def _share(mask: pd.Series) -> float:
    return float(mask.mean())


def test_exact_rows_schema_and_order(data: GeneratedData) -> None:
    for rows in (1, 7, 333):
        small = generate_admissions(rows, seed=rows)
        assert len(small.admissions) == len(small.truth) == rows
    a, truth = data.admissions, data.truth
    assert len(a) == ROWS
    assert list(a.columns) == [c.name for c in COLUMNS]
    assert list(truth.columns) == [
        "spell_id", "p_long_stay", "p_long_stay_21", "p_nctr",
        "los_p10_days", "los_median_days", "los_p90_days", "nctr_expected_days",
    ]  # fmt: skip
    assert truth["spell_id"].tolist() == a["spell_id"].tolist()
    assert a["spell_id"].is_unique and a["spell_id"].str.fullmatch(r"S\d{7}").all()
    assert a["patient_id"].str.fullmatch(r"P\d{6}").all()
    assert a["admission_datetime"].is_monotonic_increasing
    assert truth[["p_long_stay", "p_long_stay_21", "p_nctr"]].stack().between(0, 1).all()
    assert (truth["p_long_stay_21"] <= truth["p_long_stay"]).all()


def test_dtypes_codes_and_real_missing_values(data: GeneratedData) -> None:
    a = data.admissions
    for column in COLUMNS:
        values = a[column.name]
        if column.kind == "str":
            assert pd.api.types.is_string_dtype(values), column.name
            assert not values.isin(["nan", "None", "NaN", ""]).any(), column.name
        elif column.kind == "datetime":
            assert pd.api.types.is_datetime64_dtype(values), column.name
        else:
            assert pd.api.types.is_numeric_dtype(values), column.name
    assert a["age"].dtype == np.int64 and a["age"].between(0, 110).all()
    assert set(a["sex"]) <= {"1", "2", "9"}
    assert set(a["ethnic_category"].dropna()) <= set(ETHNIC_CODES)
    assert set(a["admission_method"]) <= set(ADMISSION_METHOD_CODES)
    assert set(a["admission_source"].dropna()) <= set(ADMISSION_SOURCE_CODES)
    assert set(a["discharge_destination"].dropna()) <= set(DISCHARGE_DESTINATION_CODES)
    assert set(a["imd_decile"].dropna()) <= set(range(1, 11))
    assert set(a["discharge_pathway"].dropna()) <= {0, 1, 2, 3}
    assert a["frailty_score"].dropna().between(0, 200).all()
    for nullable in ("ethnic_category", "imd_decile", "primary_diagnosis", "frailty_score"):
        assert 0.005 < a[nullable].isna().mean() < 0.1, nullable
    assert a["ward"].dropna().str.fullmatch(r"[A-Z0-9]{5}-[A-Z0-9-]+").all()
    assert (a["ward"].str[:5] == a["site"]).where(a["ward"].notna(), True).all()


def test_same_seed_same_data_other_seed_other_data() -> None:
    first, again = generate_admissions(3000, seed=5), generate_admissions(3000, seed=5)
    pd.testing.assert_frame_equal(first.admissions, again.admissions)
    pd.testing.assert_frame_equal(first.truth, again.truth)
    other = generate_admissions(3000, seed=6)
    assert not first.admissions.equals(other.admissions)
    assert not np.allclose(first.truth["p_long_stay"], other.truth["p_long_stay"])


def test_custom_window_and_bad_arguments() -> None:
    data = generate_admissions(200, seed=1, start="2024-01-01", end="2024-03-31")
    admitted = data.admissions["admission_datetime"]
    assert len(admitted) == 200
    assert admitted.min() >= pd.Timestamp("2024-01-01")
    assert admitted.max() < pd.Timestamp("2024-04-01")
    with pytest.raises(ValueError):
        generate_admissions(0, seed=1)
    with pytest.raises(ValueError):
        generate_admissions(10, seed=1, start="2024-02-01", end="2024-01-01")


def test_ethnicity_matches_documented_targets(spells: pd.DataFrame) -> None:
    shares = spells["ethnic_group"].value_counts(normalize=True)
    targets = {"white": 0.46, "asian": 0.21, "black": 0.08, "mixed": 0.055, "other": 0.06}
    for group, target in targets.items():
        assert shares[group] == pytest.approx(target, abs=0.025), group
    unknown = shares["not_stated"] + shares["not_known"]
    assert unknown == pytest.approx(0.13, abs=0.02)  # Nuffield Trust: 13% of inpatients
    asian = spells["ethnic_group"].eq("asian")
    assert (
        _share(asian[spells["site"] == "R1K01"]) > _share(asian[spells["site"] == "RQM01"]) + 0.15
    )
    white_british = spells["ethnic_category"].eq("A")
    assert _share(white_british[spells["age"] >= 75]) > _share(white_british[spells["age"] < 45])


def test_deprivation_skews_to_london_and_by_ethnicity(spells: pd.DataFrame) -> None:
    imd = spells["imd_decile"]
    assert 0.01 < imd.isna().mean() < 0.06
    shares = imd.value_counts(normalize=True)
    assert shares[[2, 3, 4]].sum() > 0.38 and shares[[8, 9, 10]].sum() < 0.25
    assert shares[1] < 0.06  # London has few LSOAs in England's most deprived decile
    deprived = imd <= 2
    assert _share(deprived[spells["ethnic_group"] == "black"]) > _share(
        deprived[spells["ethnic_category"] == "A"]
    )


def test_admission_mix_by_age(spells: pd.DataFrame) -> None:
    group, age = spells["group"], spells["age"]
    assert 0.35 <= _share(group == "el") <= 0.44
    assert 0.42 <= _share(group == "em") <= 0.52
    assert _share((group == "em")[age >= 85]) == pytest.approx(0.65, abs=0.05)
    assert _share((group == "em")[age < 65]) < 0.42
    maternity = spells[group == "mat"]
    assert (maternity["sex"] == "2").all() and maternity["age"].between(16, 45).all()
    births = spells[spells["admission_method"].isin(["82", "83"])]
    assert len(births) > 0 and (births["age"] == 0).all()
    care_home = spells["admission_source"].isin(CARE_HOME_CODES)
    assert 0.02 < _share(care_home) < 0.1 and spells.loc[care_home, "age"].median() > 80
    bed_days = spells.loc[spells["los"].notna()]
    old_share = bed_days.loc[bed_days["age"] >= 65, "los"].sum() / bed_days["los"].sum()
    assert 0.5 < old_share < 0.65  # HSCIC: 65+ hold 54% of bed days


def test_length_of_stay_targets(spells: pd.DataFrame) -> None:
    done = spells[spells["complete"]]
    emergency = done[done["group"] == "em"]
    assert 0.25 <= _share(emergency["los"] >= 7) <= 0.35
    assert 0.04 <= _share(emergency["los"] >= 21) <= 0.09
    assert 7.0 <= emergency["los"].mean() <= 9.5
    assert emergency.loc[emergency["age"] >= 85, "los"].mean() > 11
    assert _share(done.loc[done["group"] == "el", "los"] >= 7) < 0.15
    assert 0.2 <= _share(emergency["los"] < 1) <= 0.4  # same-day emergency stays
    assert 0.18 <= _share(done["los"] >= 7) <= 0.30
    assert done["los"].max() > 60  # heavy right tail


def test_deaths_pathways_and_destinations(spells: pd.DataFrame) -> None:
    ended = spells[spells["discharge_datetime"].notna()]
    died = ended["died"]
    assert 0.02 <= _share(died) <= 0.04
    emergency = ended["group"] == "em"
    assert _share(died[emergency & (ended["age"] >= 85)]) > 4 * _share(died[ended["age"] < 65])
    assert ended.loc[died, "discharge_pathway"].isna().all()
    assert ended.loc[died, "discharge_ready_datetime"].isna().all()
    alive = ended[~died]
    pathway = alive["discharge_pathway"].value_counts(normalize=True)
    assert pathway[0] >= 0.5 and 0.33 <= pathway[1] <= 0.47
    assert pathway[2] <= 0.04 and pathway[3] <= 0.01
    assert (
        alive.loc[alive["discharge_pathway"] == 3, "discharge_destination"]
        .isin(CARE_HOME_CODES)
        .all()
    )
    residents = alive[alive["admission_source"].isin(CARE_HOME_CODES)]
    assert (residents["discharge_pathway"] == 0).all()
    assert (residents["discharge_destination"] == residents["admission_source"]).all()
    assert _share(alive.loc[alive["nctr"], "discharge_pathway"] > 0) > 0.6


def test_labels_are_consistent_and_inpatients_have_none(spells: pd.DataFrame) -> None:
    ended = spells[spells["discharge_datetime"].notna()]
    alive = ended[~ended["died"]]
    assert alive["discharge_ready_datetime"].notna().all()
    assert (alive["discharge_ready_datetime"] >= alive["admission_datetime"]).all()
    assert (alive["discharge_datetime"] >= alive["discharge_ready_datetime"]).all()
    assert (alive.loc[alive["nctr"], "los"] >= 2).all()
    assert 0.3 <= _share(alive.loc[alive["nctr"], "delay"] < 3) <= 0.6  # §5: ~40% short
    assert 0.03 <= _share(alive["nctr"]) <= 0.10
    inpatients = spells[spells["discharge_datetime"].isna()]
    assert 0 < len(inpatients) < 0.02 * len(spells)
    labels = ["discharge_ready_datetime", "discharge_destination", "discharge_pathway"]
    assert inpatients[labels].isna().all().all()
    assert spells["admission_datetime"].max() < END + pd.Timedelta(days=1)
    assert (ended["discharge_datetime"] < END + pd.Timedelta(days=1)).all()


def test_frailty_follows_the_hospital_frailty_risk_score(spells: pd.DataFrame) -> None:
    older = spells.loc[(spells["age"] >= 75) & (spells["group"] == "em"), "frailty_score"]
    older = older.dropna()
    assert _share(older < 5) == pytest.approx(0.424, abs=0.05)  # Gilbert et al. 2018
    assert _share(older > 15) == pytest.approx(0.20, abs=0.04)
    assert spells.loc[spells["age"] < 40, "frailty_score"].median() < 1
    comorbid = spells["comorbidity_count"]
    assert comorbid[spells["age"] >= 75].mean() > 2 * comorbid[spells["age"] < 45].mean()


def test_repeat_patients_have_history_and_never_overlap(spells: pd.DataFrame) -> None:
    assert 0.3 <= _share(spells["patient_id"].duplicated()) <= 0.6
    assert _share(spells["prior_admissions_365d"] > 0) > 0.2
    ordered = spells.sort_values(["patient_id", "admission_datetime"])
    same = ordered["patient_id"].eq(ordered["patient_id"].shift())
    previous_end = ordered["discharge_datetime"].shift()
    assert (ordered.loc[same, "admission_datetime"] > previous_end[same]).all()
    per_patient = spells.groupby("patient_id").agg(
        n=("spell_id", "size"), f=("frailty_score", "max")
    )
    assert per_patient.loc[per_patient["f"] > 15, "n"].mean() > 1.5 * per_patient["n"].mean()


def test_truth_is_a_function_of_admission_fields_and_history(
    data: GeneratedData, spells: pd.DataFrame
) -> None:
    """Recomputed from the output table alone (history by features.history): identical."""
    recomputed = true_probabilities(spells)
    for column in ("p_long_stay", "p_long_stay_21", "p_nctr"):
        np.testing.assert_allclose(recomputed[column], data.truth[column], rtol=0, atol=1e-12)
    labels = [c.name for c in COLUMNS if c.label]
    scrambled = spells.drop(columns=labels).assign(ward="X", spell_id="S", patient_id="P")
    np.testing.assert_allclose(true_probabilities(scrambled)["p_nctr"], data.truth["p_nctr"])


@pytest.mark.parametrize(
    ("target", "label", "rows"),
    [
        ("p_long_stay", "los >= 7", "complete"),
        ("p_long_stay_21", "los >= 21", "complete"),
        ("p_nctr", "nctr", "complete and not died"),
    ],
)
def test_truth_is_calibrated(spells: pd.DataFrame, target: str, label: str, rows: str) -> None:
    """Observed rates match the mean truth overall and by decile, within binomial noise."""
    done = spells.query(rows)
    p, y = done[target].to_numpy(), done.eval(label).to_numpy(float)

    def within_noise(p_bin: np.ndarray, y_bin: np.ndarray) -> bool:
        sd = np.sqrt((p_bin * (1 - p_bin)).sum()) / len(p_bin)
        return abs(y_bin.mean() - p_bin.mean()) <= 4 * sd + 0.002

    assert within_noise(p, y)
    deciles = pd.qcut(p, 10, labels=False, duplicates="drop")
    for d in np.unique(deciles):
        assert within_noise(p[deciles == d], y[deciles == d]), d
    ranking = roc_auc_score(y, p)
    assert ranking > 0.75


def test_long_stay_oracle_strength(spells: pd.DataFrame) -> None:
    done = spells[spells["complete"]]
    auroc = roc_auc_score(done["los"] >= 7, done["p_long_stay"])
    assert 0.75 <= auroc <= 0.87
    assert 0.18 <= done["p_long_stay"].mean() <= 0.30


def test_planted_nctr_disparity() -> None:
    """Black, Pakistani and Bangladeshi patients in IMD 1-2 have twice the NCTR odds."""
    data = generate_admissions(100_000, seed=3)  # enough NCTR events in the planted group
    a = data.admissions.join(compute_history(data.admissions))
    truth = data.truth["p_nctr"]
    blind = true_probabilities(a.assign(ethnic_category=None))
    planted = a["ethnic_category"].isin(PLANTED_ETHNIC) & (a["imd_decile"] <= 2)
    ratio = (truth / (1 - truth)) / (blind["p_nctr"] / (1 - blind["p_nctr"]))
    np.testing.assert_allclose(ratio[planted], PLANTED_NCTR_ODDS_RATIO)
    np.testing.assert_allclose(ratio[~planted], 1.0)
    # the drawn labels show it: far more NCTR in the planted group than the admission fields
    # explain, as many as the truth says, and nothing hidden elsewhere
    complete = a["admission_datetime"] < END - pd.Timedelta(days=400)
    alive = complete & a["discharge_destination"].ne("79")
    nctr = (a["discharge_datetime"] - a["discharge_ready_datetime"]) >= pd.Timedelta(days=1)

    def z_score(mask: pd.Series, p: pd.Series) -> float:
        return float((nctr[mask].sum() - p[mask].sum()) / np.sqrt((p[mask] * (1 - p[mask])).sum()))

    assert z_score(alive & planted, blind["p_nctr"]) > 3.5
    assert abs(z_score(alive & planted, truth)) < 4
    assert abs(z_score(alive & ~planted, blind["p_nctr"])) < 4
    # long stay carries only a small knock-on effect of the extra NCTR
    assert (data.truth["p_long_stay"] - blind["p_long_stay"])[planted].mean() < 0.05


def test_seasons_and_weekdays(spells: pd.DataFrame) -> None:
    admitted = spells["admission_datetime"]
    emergency = spells[spells["group"] == "em"]
    days = admitted.dt.normalize().groupby(admitted.dt.month).nunique()
    rate = emergency.groupby(emergency["admission_datetime"].dt.month).size() / days
    assert rate[[12, 1, 2]].mean() > 1.05 * rate[[6, 7, 8]].mean()
    weekend = admitted.dt.day_of_week >= 5
    assert _share(weekend[spells["group"] == "el"]) < 0.1
    assert _share(weekend[spells["group"] == "em"]) > 0.2

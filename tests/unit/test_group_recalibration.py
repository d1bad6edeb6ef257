"""Group recalibration (the `mitigation` an evaluator can choose): the adjustment's math, its
shrinkage, which groups it moves, the bundle format it needs, and that off changes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from features.build import FeatureSpec, derive_features
from features.encoder import FeatureEncoder
from features.groups import group_keys
from los.config import MitigationConfig, TrainingConfig
from los.errors import ConfigError
from los.targets import targets_from_config
from models.bundle import ModelBundle
from models.calibration import PlattCalibrator, calibrate
from models.group_recalibration import GroupRecalibrator
from tests.conftest import fast_config
from training.mitigation import (
    SCORING_NOTICE,
    check_targets,
    fit_group_recalibration,
    flagged_groups,
)
from training.pipeline import fit_target
from training.prepare import prepare

ATTR = "ethnicity_deprivation"
PLANTED = "Black or Black British, Core20"
WHITE = "White, not Core20"
# (ethnic category, IMD decile) -> ethnicity_deprivation group
CELLS = {
    PLANTED: ("M", 1.0),
    WHITE: ("A", 6.0),
    "Asian or Asian British, not Core20": ("H", 8.0),
    "Mixed, Core20": ("D", 2.0),
    "Other, not Core20": ("R", 5.0),
}


def _synthetic(
    sizes: dict[str, int], shifts: dict[str, float], seed: int = 0
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Base log-odds, labels drawn with a known shift per group, and the admissions columns."""
    rng = np.random.default_rng(seed)
    groups = np.concatenate([np.full(n, g, dtype=object) for g, n in sizes.items()])
    logit = rng.normal(-1.5, 1.0, len(groups))
    truth = logit + np.array([shifts.get(g, 0.0) for g in groups])
    y = (rng.random(len(groups)) < expit(truth)).astype(float)
    admissions = pd.DataFrame(
        {
            "ethnic_category": np.array([CELLS[g][0] for g in groups], dtype=object),
            "imd_decile": np.array([CELLS[g][1] for g in groups]),
            "age": rng.integers(18, 95, len(groups)),
        }
    )
    return logit, y, admissions


def _fit(
    logit: np.ndarray,
    y: np.ndarray,
    admissions: pd.DataFrame,
    prior_sd: float = 0.5,
    groups: dict[str, list[str]] | None = None,
) -> GroupRecalibrator:
    return GroupRecalibrator((ATTR,), 100, prior_sd).fit(logit, y, admissions, groups)


def test_the_synthetic_cells_are_the_reports_groups() -> None:
    _, _, admissions = _synthetic({g: 2 for g in CELLS}, {})
    assert list(dict.fromkeys(group_keys(admissions, ATTR))) == list(CELLS)


def test_recovers_known_shifts_and_brings_oe_to_one() -> None:
    truth = {PLANTED: 0.7, WHITE: 0.0, "Asian or Asian British, not Core20": -0.4}
    logit, y, admissions = _synthetic({g: 12_000 for g in truth}, truth)
    fitted = _fit(logit, y, admissions)
    for group, shift in truth.items():  # a group's whole adjustment: intercept + its shift
        total = fitted.intercept_ + fitted.shifts_[ATTR][group]
        assert total == pytest.approx(shift, abs=0.08)
    planted = next(g for g in fitted.groups_ if g["group"] == PLANTED)
    assert planted["oe_before"] > 1.4  # the model under-predicts the planted group ...
    assert planted["oe_after"] == pytest.approx(1.0, abs=0.02)  # ... and no longer does


def test_the_fit_is_the_penalised_likelihood_optimum() -> None:
    """First-order conditions of the MAP fit: per shifted group sum(p' - y) + shift / sd^2 = 0,
    and over all rows sum(p' - y) = 0 (the intercept has no prior: overall O/E stays 1)."""
    logit, y, admissions = _synthetic(
        {PLANTED: 400, WHITE: 3000, "Mixed, Core20": 300}, {PLANTED: 0.9}
    )
    fitted = _fit(logit, y, admissions, 0.3, {ATTR: [PLANTED, "Mixed, Core20"]})
    assert set(fitted.shifts_[ATTR]) == {PLANTED, "Mixed, Core20"}
    p = expit(logit + fitted.offset(admissions))
    keys = group_keys(admissions, ATTR)
    assert float(np.sum(p - y)) == pytest.approx(0.0, abs=1e-6)
    for group, shift in fitted.shifts_[ATTR].items():
        score = float(np.sum(p[keys == group] - y[keys == group]))
        assert score + shift / 0.3**2 == pytest.approx(0.0, abs=1e-6)


def test_small_groups_shrink_and_tiny_groups_get_no_shift() -> None:
    sizes = {WHITE: 20_000, PLANTED: 20_000, "Mixed, Core20": 120, "Other, not Core20": 60}
    shifts = {PLANTED: 1.0, "Mixed, Core20": 1.0, "Other, not Core20": 1.0}
    logit, y, admissions = _synthetic(sizes, shifts, seed=3)
    moving = {ATTR: [PLANTED, "Mixed, Core20", "Other, not Core20"]}  # White pins the intercept

    def fit(prior_sd: float) -> dict[str, float]:
        return _fit(logit, y, admissions, prior_sd, moving).shifts_[ATTR]

    free, default, tight = fit(1e3), fit(0.5), fit(0.1)  # 1e3: practically the group's own MLE
    assert "Other, not Core20" not in free  # under min_group_size: never shifted
    small, large = "Mixed, Core20", PLANTED
    assert 0 < tight[small] < default[small] < free[small]
    # the small group (information ~ 120 x p(1-p) ~ 25 against the prior's 1/0.5^2 = 4) is
    # pulled towards 0 far more than the large one (~ 4,000 against 4)
    assert default[small] / free[small] < 0.92 < 0.99 < default[large] / free[large]


def test_only_flagged_groups_move() -> None:
    """The findings rule on the calibration rows flags the planted group (O/E ~1.9), not a group
    a little off (~1.15, inside the band): `flagged` moves only the planted group, `all` both."""
    sizes = {WHITE: 8000, PLANTED: 1500, "Asian or Asian British, not Core20": 1500}
    shifts = {PLANTED: 0.8, "Asian or Asian British, not Core20": 0.18}
    logit, y, admissions = _synthetic(sizes, shifts, seed=11)
    config = fast_config(mitigation={"group_recalibration": True})
    assert flagged_groups(logit, y, admissions, config) == {ATTR: [PLANTED]}
    flagged, meta = fit_group_recalibration("nctr", logit, y, admissions, config)
    assert flagged is not None and set(flagged.shifts_[ATTR]) == {PLANTED}
    assert [g["group"] for g in meta["mitigation"]["groups"]] == [PLANTED]
    every = fast_config(mitigation={"group_recalibration": True, "groups": "all"})
    fitted_all, _ = fit_group_recalibration("nctr", logit, y, admissions, every)
    assert fitted_all is not None
    assert set(fitted_all.shifts_[ATTR]) == set(sizes)


def test_nothing_flagged_means_no_recalibration_and_says_so() -> None:
    logit, y, admissions = _synthetic({WHITE: 5000, PLANTED: 800}, {})
    config = fast_config(mitigation={"group_recalibration": True})
    fitted, meta = fit_group_recalibration("nctr", logit, y, admissions, config)
    assert fitted is None  # the model will read no group at scoring time
    assert meta["mitigation"]["applied"] is False
    assert "no group of" in meta["mitigation"]["reason"]


def test_unseen_groups_and_missing_values_get_no_shift() -> None:
    logit, y, admissions = _synthetic({PLANTED: 500, WHITE: 500}, {PLANTED: 1.0})
    fitted = _fit(logit, y, admissions, groups={ATTR: [PLANTED]})
    rows = {
        "ethnic_category": np.array([" m ", "m", None, "X", "Z"], dtype=object),
        "imd_decile": np.array([1.0, 2.0, 1.0, np.nan, 11.0]),
    }
    planted = fitted.intercept_ + fitted.shifts_[ATTR][PLANTED]
    common = fitted.intercept_
    assert fitted.offset(rows).tolist() == [planted, planted, common, common, common]
    assert fitted.offset({"age": np.array([50.0])}).tolist() == [common]  # no group columns


def test_one_row_dict_and_frame_give_the_same_offset() -> None:
    logit, y, admissions = _synthetic({g: 300 for g in CELLS}, {PLANTED: 0.8})
    fitted = GroupRecalibrator((ATTR, "ethnic_group"), 100, 0.5).fit(logit, y, admissions)
    whole = fitted.offset(admissions)
    columns = {k: admissions[k].to_numpy() for k in ("ethnic_category", "imd_decile")}
    one = [fitted.offset({k: v[i : i + 1] for k, v in columns.items()})[0] for i in (0, 400)]
    assert one == [whole[0], whole[400]]
    assert whole[0] == pytest.approx(
        fitted.intercept_
        + fitted.shifts_[ATTR][PLANTED]
        + fitted.shifts_["ethnic_group"]["Black or Black British"]
    )


def _tiny_bundle(recalibrator: GroupRecalibrator | None) -> tuple[ModelBundle, pd.DataFrame]:
    import lightgbm as lgb

    rng = np.random.default_rng(5)
    n = 400
    admissions = pd.DataFrame(
        {
            "age": rng.integers(18, 95, n),
            "admission_datetime": pd.Timestamp("2024-01-01")
            + pd.to_timedelta(rng.integers(0, 10_000, n), unit="h"),
            "sex": rng.choice(["1", "2"], n),
            "admission_method": "21",
            "ethnic_category": rng.choice(["A", "M", "H", None], n),
            "imd_decile": rng.choice([1.0, 5.0, 9.0, np.nan], n),
        }
    )
    features = derive_features(admissions, FeatureSpec())
    encoder = FeatureEncoder(FeatureSpec(), min_count=5).fit(features)
    x = encoder.transform(features)
    y = (admissions["age"].to_numpy() + rng.normal(0, 20, n) > 70).astype(float)
    params = {"objective": "binary", "verbosity": -1, "num_leaves": 4, "seed": 1}
    booster = lgb.train(params, lgb.Dataset(x, label=y), num_boost_round=5)
    calibrator = PlattCalibrator().fit(booster.predict(x, raw_score=True), y)
    bundle = ModelBundle("nctr", booster, encoder, calibrator, 0.3, 0.6, 0.2, {}, recalibrator)
    return bundle, admissions


def test_off_gives_exactly_platt_probabilities_and_an_unchanged_file(tmp_path: Path) -> None:
    bundle, admissions = _tiny_bundle(None)
    x = bundle.encode(admissions)
    platt = bundle.calibrator.transform(bundle.raw_score(x))
    np.testing.assert_array_equal(bundle.probability(x), platt)
    np.testing.assert_array_equal(bundle.probability(x, admissions), platt)
    assert bundle.format == "1"
    state = json.loads((bundle.save(tmp_path) / "bundle.json").read_text())
    assert set(state) == {
        "target",
        "encoder",
        "calibrator",
        "threshold",
        "high_cut",
        "base_rate",
        "metadata",
    }  # fmt: skip  (exactly what code that knows only format "1" reads)
    zeros = np.zeros(3)
    assert fit_group_recalibration("nctr", zeros, zeros, admissions, TrainingConfig()) == (None, {})
    only_nctr = TrainingConfig(
        mitigation=MitigationConfig(group_recalibration=True, targets=["nctr"])
    )
    assert fit_group_recalibration("long_stay", zeros, zeros, admissions, only_nctr) == (None, {})


def test_a_recalibrated_bundle_round_trips_as_format_2(tmp_path: Path) -> None:
    logit, y, groups = _synthetic({PLANTED: 300, WHITE: 300}, {PLANTED: 1.0})
    recalibrator = _fit(logit, y, groups, groups={ATTR: [PLANTED]})
    bundle, admissions = _tiny_bundle(recalibrator)
    x = bundle.encode(admissions)
    p = bundle.probability(x, admissions)
    raw = bundle.raw_score(x)
    np.testing.assert_array_equal(p, calibrate(raw, bundle.calibrator, recalibrator, admissions))
    planted = (admissions["ethnic_category"].eq("M") & admissions["imd_decile"].eq(1)).to_numpy()
    assert planted.any()
    shift = recalibrator.intercept_ + recalibrator.shifts_[ATTR][PLANTED]
    logit_p = np.log(p / (1 - p)) - bundle.calibrator.log_odds(raw)
    np.testing.assert_allclose(logit_p[planted], shift, atol=1e-9)
    np.testing.assert_allclose(logit_p[~planted], recalibrator.intercept_, atol=1e-9)
    assert bundle.format == "2"
    loaded = ModelBundle.load(bundle.save(tmp_path / "b"))
    np.testing.assert_array_equal(loaded.probability(loaded.encode(admissions), admissions), p)
    with pytest.raises(ValueError, match="needs the admissions"):
        bundle.probability(x)  # never silently scored without its groups
    with pytest.raises(ValueError, match="not the same rows"):
        bundle.probability(x, admissions.head(3))

    state = json.loads((tmp_path / "b" / "bundle.json").read_text())
    broken = [({**state, "format": "3"}, "format 3"), ({**state, "format": "1"}, "does not match")]
    for changed, message in broken:
        (tmp_path / "b" / "bundle.json").write_text(json.dumps(changed))
        with pytest.raises(ValueError, match=message):
            ModelBundle.load(tmp_path / "b")


def test_config_rejects_unknown_attributes_and_targets() -> None:
    with pytest.raises(ValueError):
        MitigationConfig.model_validate({"attributes": ["religion"]})
    with pytest.raises(ValueError):
        MitigationConfig.model_validate({"attributes": []})
    with pytest.raises(ValueError):
        MitigationConfig.model_validate({"groups": "some"})
    config = TrainingConfig.model_validate({"mitigation": {"targets": ["nctr", "long_stay_9"]}})
    with pytest.raises(ConfigError, match="long_stay_9 not among the targets trained"):
        check_targets(config)
    check_targets(TrainingConfig.model_validate({"mitigation": {"targets": ["long_stay_21"]}}))


def test_off_trains_the_same_model_and_on_changes_only_the_calibration(
    generated: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    """Default config, mitigation off, and on for another target: identical NCTR models. On for
    NCTR (every group, so it applies on small data): the same trees (ethnicity is not an
    input), different probabilities."""
    lightgbm = {"n_estimators": 30, "tune": False, "min_child_samples": 50}
    on = {"group_recalibration": True, "groups": "all", "min_group_size": 30}
    configs = {
        "default": fast_config(lightgbm=lightgbm),
        "off": fast_config(lightgbm=lightgbm, mitigation={"group_recalibration": False}),
        "other target": fast_config(lightgbm=lightgbm, mitigation={**on, "targets": ["long_stay"]}),
        "on": fast_config(lightgbm=lightgbm, mitigation=on),
    }
    prepared = prepare(generated[0].iloc[:6000], configs["default"])
    nctr = next(t for t in targets_from_config(configs["default"].targets) if t.name == "nctr")
    runs = {name: fit_target(prepared, nctr, cfg) for name, cfg in configs.items()}
    for name in ("off", "other target"):
        np.testing.assert_array_equal(runs[name].p_test, runs["default"].p_test)
        assert runs[name].bundle.threshold == runs["default"].bundle.threshold
        assert runs[name].bundle.group_recalibrator is None
        assert "mitigation" not in runs[name].bundle.metadata
    mitigated = runs["on"].bundle
    assert mitigated.booster.model_to_string() == runs["default"].bundle.booster.model_to_string()
    assert "ethnic_category" not in mitigated.feature_names
    assert mitigated.group_recalibrator is not None
    assert not np.array_equal(runs["on"].p_test, runs["default"].p_test)
    assert mitigated.metadata["mitigation"]["notice"] == SCORING_NOTICE
    assert mitigated.metadata["mitigation"]["uses_ethnicity"] is True


def test_every_scorer_path_applies_the_recalibration() -> None:
    """No reasons, reasons for flagged rows, reasons for all rows, and the service's dict of
    arrays: the same recalibrated probabilities, which differ from Platt's for the group."""
    from models.registry import LoadedModel, ModelIdentity
    from models.scorer import Scorer
    from serving.request_rows import rows_to_columns, with_request_history

    logit, y, groups = _synthetic({PLANTED: 300, WHITE: 300}, {PLANTED: 1.0})
    bundle, admissions = _tiny_bundle(_fit(logit, y, groups, groups={ATTR: [PLANTED]}))
    scorer = Scorer({"nctr": LoadedModel(bundle, ModelIdentity("los-nctr", "1", "champion"))})
    x = bundle.encode(admissions)
    expected = bundle.probability(x, admissions)
    rows = [
        {k: (None if pd.isna(v) else v) for k, v in r.items()}
        | {"spell_id": str(i), "patient_id": str(i)}
        for i, r in enumerate(admissions.to_dict("records"))
    ]
    columns = with_request_history(rows_to_columns(rows), rows, None)
    got = {
        "plain": scorer.score(admissions, reasons=False)["nctr"].probability,
        "flagged": scorer.score(admissions, reasons_for="flagged")["nctr"].probability,
        "all": scorer.score(admissions)["nctr"].probability,
        "dict": scorer.score(columns)["nctr"].probability,
    }
    for name, p in got.items():
        np.testing.assert_allclose(p, expected, rtol=0, atol=1e-12, err_msg=name)
    planted = (admissions["ethnic_category"].eq("M") & admissions["imd_decile"].eq(1)).to_numpy()
    platt = bundle.calibrator.transform(bundle.raw_score(x))
    assert np.all(np.abs(got["dict"][planted] - platt[planted]) > 1e-3)

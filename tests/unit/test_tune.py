"""Tests of training.tune: the seeded search over LightGBM settings on the validation period."""

from __future__ import annotations

import json
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from evaluation.metrics import safe_auroc
from los.config import LightGBMConfig, Settings, TrainingConfig
from los.errors import ConfigError
from training.fit import fit_booster
from training.tune import (
    AUROC_TOLERANCE,
    MAX_TRIALS,
    MIN_TRIALS,
    MIN_VALIDATION_CASES,
    SEARCH_SPACE,
    SearchResult,
    Trial,
    candidate_settings,
    choose,
    configured_setting,
    search_budget,
    tune_booster,
)

Data = tuple[np.ndarray, np.ndarray]


def _table(n: int, seed: int) -> Data:
    """An interaction (XOR of two features) plus a 12-level categorical with its own effect."""
    rng = np.random.default_rng(seed)
    a, b, noise = rng.random(n), rng.random(n), rng.normal(size=n)
    level = rng.integers(0, 12, n).astype(float)
    logit = 3.0 * np.where((a > 0.5) ^ (b > 0.5), 1.0, -1.0) + 0.4 * (level - 5.5) / 5.5
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(float)
    return np.column_stack([a, b, noise, level]), y


def _tune(
    config: LightGBMConfig, train: Data, valid: Data, seed: int = 42
) -> tuple[lgb.Booster, SearchResult]:
    return tune_booster(
        *train,
        *valid,
        feature_names=["a", "b", "noise", "level"],
        categorical=[3],
        config=config,
        seed=seed,
    )


FAST = LightGBMConfig(n_estimators=60, early_stopping_rounds=10, num_threads=1)


def test_same_seed_same_choice_and_same_model() -> None:
    train, valid = _table(400, 1), _table(400, 2)
    config = FAST.model_copy(update={"tune_trials": 6})
    first, search_a = _tune(config, train, valid)
    second, search_b = _tune(config, train, valid)
    assert search_a.summary() == search_b.summary()
    assert [t.params for t in search_a.trials] == [t.params for t in search_b.trials]
    assert first.model_to_string() == second.model_to_string()
    # the seed does matter: another seed draws other candidates
    other = candidate_settings(config, 400, 6, seed=43)
    assert other[1:] != candidate_settings(config, 400, 6, seed=42)[1:]


def test_search_runs_exactly_its_trial_budget() -> None:
    train, valid = _table(400, 1), _table(400, 2)
    _, search = _tune(FAST.model_copy(update={"tune_trials": 5}), train, valid)
    assert [t.number for t in search.trials] == [0, 1, 2, 3, 4]
    assert search.stopped_by == "budget" and search.budget == 5
    assert search.trials[0].params == configured_setting(FAST)  # trial 0: the configured values
    distinct = {tuple(t.params.values()) for t in search.trials}
    assert len(distinct) == 5


def test_time_budget_cuts_at_a_trial_boundary_and_says_so() -> None:
    train, valid = _table(400, 1), _table(400, 2)
    config = FAST.model_copy(update={"tune_trials": 10, "tune_seconds": 1e-9})
    _, search = _tune(config, train, valid)
    assert len(search.trials) == 1  # the configured trial always completes
    assert search.stopped_by == "seconds"
    assert search.summary()["trials_run"] == 1 and search.summary()["budget"] == 10


def test_budget_scales_with_rows() -> None:
    config = LightGBMConfig()
    assert search_budget(600, config) == MAX_TRIALS
    assert search_budget(120_000, config) == 17  # the default 200k spells
    assert search_budget(3_000_000, config) == MIN_TRIALS
    sizes = [1_000, 20_000, 60_000, 120_000, 600_000]
    budgets = [search_budget(n, config) for n in sizes]
    assert budgets == sorted(budgets, reverse=True) and budgets[0] > budgets[-1]
    assert search_budget(600, config.model_copy(update={"tune_trials": 3})) == 3


def test_disabled_tune_trains_the_configured_defaults() -> None:
    train, valid = _table(400, 1), _table(400, 2)
    config = FAST.model_copy(update={"tune": False})
    booster, search = _tune(config, train, valid)
    plain = fit_booster(
        *train,
        *valid,
        feature_names=["a", "b", "noise", "level"],
        categorical=[3],
        config=config,
        seed=42,
    )
    assert booster.model_to_string() == plain.model_to_string()
    assert search.stopped_by == "disabled" and len(search.trials) == 1
    assert not search.summary()["tuned"]
    # the defaults are the settings the product trained with before the search existed
    assert configured_setting(LightGBMConfig()) == {
        "num_leaves": 31,
        "learning_rate": 0.1,
        "min_child_samples": 100,
        "feature_fraction": 0.9,
        "lambda_l2": 1.0,
        "cat_smooth": 10.0,
        "min_data_per_group": 100,  # LightGBM's own default, now explicit
    }


@pytest.mark.parametrize("rare_class", [0.0, 1.0])
def test_a_validation_period_too_small_to_compare_settings_keeps_the_defaults(
    rare_class: float,
) -> None:
    """Fewer than MIN_VALIDATION_CASES of either class: no search, the configured model."""
    train, (x_valid, y_valid) = _table(400, 1), _table(600, 2)
    rare = np.flatnonzero(y_valid == rare_class)[: MIN_VALIDATION_CASES - 1]
    keep = np.concatenate([np.flatnonzero(y_valid != rare_class), rare])
    valid = (x_valid[keep], y_valid[keep])
    config = FAST.model_copy(update={"tune_trials": 6})
    booster, search = _tune(config, train, valid)
    assert search.stopped_by == "few_cases" and len(search.trials) == 1
    assert not search.summary()["tuned"]
    plain, _ = _tune(config.model_copy(update={"tune": False}), train, valid)
    assert booster.model_to_string() == plain.model_to_string()
    # one more case of the rarer class and the search runs
    keep = np.concatenate(
        [keep, np.flatnonzero(y_valid == rare_class)[MIN_VALIDATION_CASES - 1 :][:1]]
    )
    _, search = _tune(config, train, (x_valid[keep], y_valid[keep]))
    assert search.stopped_by == "budget" and len(search.trials) == 6


def test_on_few_rows_the_search_beats_defaults_that_cannot_split() -> None:
    """240 training rows: min_child_samples 100 allows only stumps, which cannot learn an XOR."""
    train, valid, test = _table(240, 1), _table(300, 2), _table(2000, 3)
    config = LightGBMConfig(n_estimators=200, early_stopping_rounds=20, num_threads=1)
    booster, search = _tune(config, train, valid)
    configured, chosen = search.trials[0], search.trials[search.chosen]
    assert search.chosen != 0
    assert chosen.params["min_child_samples"] < 100
    assert chosen.valid_auroc > configured.valid_auroc + 0.1, (chosen, configured)
    # and it holds on rows neither saw
    default_model, _ = _tune(config.model_copy(update={"tune": False}), train, valid)
    tuned_auroc = safe_auroc(test[1], booster.predict(test[0]))
    default_auroc = safe_auroc(test[1], default_model.predict(test[0]))
    assert tuned_auroc > default_auroc + 0.1, (tuned_auroc, default_auroc)


def _trial(number: int, auroc: float, size: int, logloss: float = 0.5) -> Trial:
    return Trial(number, {"num_leaves": 31}, 10, size, auroc, logloss, 0.1)


@pytest.mark.parametrize(
    ("big_auroc", "chosen"),
    [
        (0.8000 + AUROC_TOLERANCE / 2, 1),  # not worth a model four times the size
        (0.8000 + AUROC_TOLERANCE * 2, 0),  # clearly better: the bigger model wins
    ],
)
def test_choice_prefers_the_smaller_model_only_within_the_tolerance(
    big_auroc: float, chosen: int
) -> None:
    trials = [_trial(0, big_auroc, 4000), _trial(1, 0.8000, 1000), _trial(2, 0.7000, 10)]
    assert choose(trials).number == chosen


def test_choice_without_an_auroc_falls_back_to_log_loss() -> None:
    trials = [_trial(0, float("nan"), 10, 0.6), _trial(1, float("nan"), 99, 0.4)]
    assert choose(trials).number == 1


def test_row_scaled_minimums_shrink_with_the_table() -> None:
    small = candidate_settings(LightGBMConfig(), 600, 40, seed=0)
    assert all(c["min_child_samples"] <= 30 for c in small[1:])  # 600 rows / 20
    assert all(c["min_data_per_group"] <= 30 for c in small[1:])
    large = candidate_settings(LightGBMConfig(), 120_000, 40, seed=0)
    assert max(c["min_child_samples"] for c in large) == 400


def test_fixed_parameters_are_kept_and_a_small_grid_ends() -> None:
    fixed = [n for n in SEARCH_SPACE if n != "num_leaves"]
    config = LightGBMConfig(learning_rate=0.07, tune_fixed=fixed)  # type: ignore[arg-type]
    candidates = candidate_settings(config, 100_000, 50, seed=0)
    # the configured 31 leaves plus the three other grid values, then the grid is exhausted
    assert sorted(c["num_leaves"] for c in candidates) == [7, 15, 31, 63]
    assert all(c["learning_rate"] == 0.07 for c in candidates)


@pytest.mark.parametrize(
    ("yaml_text", "where"),
    [
        ("lightgbm: {tune_trials: 0}\n", "lightgbm.tune_trials"),
        ("lightgbm: {tune_seconds: -5}\n", "lightgbm.tune_seconds"),
        ("lightgbm: {tune_fixed: [max_depth]}\n", "lightgbm.tune_fixed.0"),
        ("lightgbm: {tune: maybe}\n", "lightgbm.tune"),
    ],
)
def test_bad_search_settings_are_refused_with_their_key(
    tmp_path: Path, yaml_text: str, where: str
) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(yaml_text)
    with pytest.raises(ConfigError, match=rf"{where}: "):
        TrainingConfig.from_file(path)


def test_training_with_the_search_is_reproducible(
    generated: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    from training.pipeline import train_all

    config = TrainingConfig.model_validate(
        {
            "targets": {"extra_long_stay_days": [], "nctr": False},
            "lightgbm": {"n_estimators": 80, "tune_trials": 4, "num_threads": 1},
            "evaluation": {"n_bootstrap": 5, "shap_sample": 100},
        }
    )
    a, b = (train_all(generated[0].iloc[:5000], config).targets[0] for _ in range(2))
    assert a.search is not None and b.search is not None
    assert a.search.summary() == b.search.summary() and len(a.search.trials) == 4
    np.testing.assert_array_equal(a.p_test, b.p_test)
    assert a.bundle.metadata["lightgbm"] == a.search.summary()


def test_chosen_settings_are_logged_to_mlflow_and_kept_with_the_model(
    tmp_path: Path, generated: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    from models import registry
    from training.register import train_and_register

    config = TrainingConfig.model_validate(
        {
            "targets": {"extra_long_stay_days": [], "nctr": False},
            "lightgbm": {"n_estimators": 80, "tune_trials": 3, "num_threads": 1},
            "evaluation": {"n_bootstrap": 5, "shap_sample": 100},
            "gates": {"min_group_size": 100_000},
        }
    )
    settings = Settings(los_data_dir=tmp_path, mlflow_tracking_uri=None)  # type: ignore[call-arg]
    summary = train_and_register(generated[0].iloc[:5000], config, settings, tmp_path / "r")
    assert summary.result is not None
    search = summary.result.targets[0].search
    assert search is not None and len(search.trials) == 3
    store = registry.open_registry(settings.tracking_uri)
    run = store.client.get_run(summary.run_id)
    for name, value in search.params.items():
        assert run.data.params[f"long_stay.lightgbm.{name}"] == str(value)
    assert run.data.params["long_stay.lightgbm.tune_trials_run"] == "3"
    table = json.loads(registry.read_run_text(summary.run_id, "tuning/long_stay.json", store))
    assert [t["number"] for t in table["trials"]] == [0, 1, 2]
    assert table["chosen_trial"] == search.chosen and table["params"] == search.params
    bundle, _ = registry.load_bundle("los-long-stay", summary.outcomes[0].version, registry=store)
    assert bundle.metadata["lightgbm"]["params"] == search.params
    assert bundle.booster.num_trees() == summary.result.targets[0].bundle.booster.num_trees()
